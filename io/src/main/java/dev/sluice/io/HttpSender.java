package dev.sluice.io;

import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.util.BackOff;
import org.apache.beam.sdk.util.Sleeper;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * The worker side of the notification sinks ({@link WebhookIO}, {@link AlertmanagerIO}): posts JSON
 * to one URL with the {@link HttpSettings}' timeouts, attempts, backoff and address checks, and
 * redacts what it reports. Built in a DoFn's {@code @Setup} (it owns an {@link HttpClient}); one
 * thread at a time, as DoFns are called.
 *
 * <p>A {@code POST} answered 2xx is delivered; 408, 429, 5xx, timeouts and I/O errors are retried
 * with exponential backoff ({@link Backoffs#doubling}), honouring {@code Retry-After} seconds on
 * 429 and 503 (capped at the maximum backoff); redirects are never followed and, like other 4xx,
 * fail at once. Unless private addresses are allowed, the host name is resolved before every
 * attempt and the request refused (no request sent) when any of its addresses is forbidden ({@link
 * AddressChecks#forbiddenReason}: loopback, private, link-local, carrier-grade NAT, multicast or a
 * cloud metadata address).
 */
final class HttpSender {
  private final HttpSettings settings;
  private final URI uri;
  private final String host;
  private final HttpClient client;
  private final Counter retries;

  /** {@code retries} counts every attempt after the first. */
  HttpSender(HttpSettings settings, URI uri, Counter retries) {
    this.settings = settings;
    this.uri = uri;
    this.host = uri.getHost();
    this.retries = retries;
    this.client =
        HttpClient.newBuilder()
            // A redirect could point anywhere, past the address checks and the allow-list.
            .followRedirects(HttpClient.Redirect.NEVER)
            .connectTimeout(java.time.Duration.ofMillis(settings.connectTimeout().getMillis()))
            // Without this, plain-http requests carry an h2c upgrade some receivers mishandle.
            .version(HttpClient.Version.HTTP_1_1)
            .build();
  }

  /** The host posted to, as written in the URL. */
  String host() {
    return host;
  }

  /**
   * Posts {@code body} as {@code application/json} with {@code extraHeaders} and the configured
   * headers, in at most {@code maxAttempts} attempts (the settings' own limit for a notification,
   * fewer for a keep-alive). Returns {@code null} when delivered, else why not.
   */
  @Nullable String post(String body, Map<String, String> extraHeaders, int maxAttempts) {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(uri)
            .timeout(java.time.Duration.ofMillis(settings.readTimeout().getMillis()))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
    extraHeaders.forEach(request::header);
    settings.headers().forEach(request::header);
    HttpRequest built = request.build();
    BackOff backoff =
        Backoffs.doubling(settings.initialBackoff(), settings.maxBackoff(), maxAttempts - 1);
    Attempt last = null;
    for (int attempt = 1; attempt <= maxAttempts; attempt++) {
      if (last != null) {
        retries.inc();
        long delay =
            retryDelayMillis(backoff, last.retryAfterMillis(), settings.maxBackoff().getMillis());
        try {
          Sleeper.DEFAULT.sleep(delay);
        } catch (InterruptedException e) {
          // The worker is shutting down: keep the alert as a dead letter and let it stop.
          Thread.currentThread().interrupt();
          return "interrupted before attempt " + attempt + "; last: " + last.error();
        }
      }
      last = attemptOnce(built);
      if (last.outcome() == Outcome.DELIVERED) {
        return null;
      }
      if (last.outcome() == Outcome.FINAL) {
        return attempt == 1 ? last.error() : last.error() + " (attempt " + attempt + ")";
      }
    }
    return "gave up after " + maxAttempts + " attempts; last: " + last.error();
  }

  private Attempt attemptOnce(HttpRequest request) {
    if (!settings.allowPrivateAddresses()) {
      Attempt refused = checkResolvedAddresses();
      if (refused != null) {
        return refused;
      }
    }
    try {
      HttpResponse<InputStream> response =
          client.send(request, HttpResponse.BodyHandlers.ofInputStream());
      // The status decides; closing unread spares us a receiver that trickles a large body.
      response.body().close();
      int status = response.statusCode();
      if (status >= 200 && status < 300) {
        return new Attempt(Outcome.DELIVERED, null, -1);
      }
      if (status >= 300 && status < 400) {
        return new Attempt(Outcome.FINAL, "HTTP " + status + " redirect, not followed", -1);
      }
      if (status == 408 || status == 429 || status >= 500) {
        long retryAfter = -1;
        if (status == 429 || status == 503) {
          retryAfter = retryAfterMillis(response.headers().firstValue("Retry-After").orElse(null));
        }
        String kind = status >= 500 ? "server error" : "retryable client error";
        return new Attempt(Outcome.RETRY, "HTTP " + status + " " + kind, retryAfter);
      }
      return new Attempt(Outcome.FINAL, "HTTP " + status + " client error, not retried", -1);
    } catch (HttpConnectTimeoutException e) {
      return new Attempt(
          Outcome.RETRY, "connect timeout: no connection within " + settings.connectTimeout(), -1);
    } catch (HttpTimeoutException e) {
      return new Attempt(
          Outcome.RETRY, "read timeout: no response within " + settings.readTimeout(), -1);
    } catch (ConnectException e) {
      return new Attempt(
          Outcome.RETRY,
          "connection failed (refused or unreachable)" + describe(e.getMessage()),
          -1);
    } catch (IOException e) {
      return new Attempt(
          Outcome.RETRY,
          "I/O error: " + e.getClass().getSimpleName() + describe(e.getMessage()),
          -1);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new Attempt(Outcome.FINAL, "interrupted while waiting for the response", -1);
    }
  }

  /** A refusal when any address of the host is forbidden; {@code null} when all are public. */
  private @Nullable Attempt checkResolvedAddresses() {
    InetAddress[] addresses;
    try {
      addresses = InetAddress.getAllByName(host);
    } catch (UnknownHostException e) {
      // Often a transient resolver failure; a permanent one ends after maxAttempts.
      return new Attempt(Outcome.RETRY, "cannot resolve host " + host, -1);
    }
    for (InetAddress address : addresses) {
      String reason = AddressChecks.forbiddenReason(address);
      if (reason != null) {
        return new Attempt(
            Outcome.FINAL,
            "refused: "
                + host
                + " resolves to "
                + address.getHostAddress()
                + ", "
                + reason
                + "; no request sent (withAllowPrivateAddresses(true) allows it)",
            -1);
      }
    }
    return null;
  }

  /** Delta-seconds {@code Retry-After} in milliseconds; -1 when absent or an HTTP date. */
  private static long retryAfterMillis(@Nullable String value) {
    if (value == null) {
      return -1;
    }
    try {
      long seconds = Long.parseLong(value.trim());
      return seconds < 0 ? -1 : Math.min(seconds, Long.MAX_VALUE / 1000) * 1000;
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /**
   * An exception message for a dead letter or a log line, as {@code ": <message>"}, with the URL's
   * query and any header value blanked out in case a library echoed them; empty when there is no
   * message.
   */
  String describe(@Nullable String message) {
    if (message == null || message.isBlank()) {
      return "";
    }
    String redacted = message;
    String query = uri.getRawQuery();
    if (query != null && !query.isEmpty()) {
      redacted = redacted.replace(query, "***");
    }
    for (String value : settings.headers().values()) {
      // Shorter values would blank innocent words and are no secret worth the name.
      if (value.length() >= 4) {
        redacted = redacted.replace(value, "***");
      }
    }
    return ": " + redacted;
  }

  /**
   * Delay before the next retry: {@code Retry-After} when the server sent one ({@code
   * retryAfterMillis >= 0}), capped at {@code maxMillis}, else the backoff's next delay (which is
   * advanced either way, so the retries after a {@code Retry-After} keep growing).
   */
  static long retryDelayMillis(BackOff backoff, long retryAfterMillis, long maxMillis) {
    long next = backoff.nextBackOffMillis();
    if (retryAfterMillis >= 0) {
      return Math.min(retryAfterMillis, maxMillis);
    }
    return next;
  }

  private enum Outcome {
    DELIVERED,
    RETRY,
    FINAL
  }

  /** One attempt's outcome; {@code retryAfterMillis} is -1 unless the server asked for a delay. */
  private record Attempt(Outcome outcome, @Nullable String error, long retryAfterMillis) {}
}

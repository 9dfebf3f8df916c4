package dev.sluice.io;

import com.google.auto.value.AutoValue;
import dev.sluice.transforms.Checks;
import java.io.IOException;
import java.io.InputStream;
import java.io.Serializable;
import java.net.ConnectException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.util.BackOff;
import org.apache.beam.sdk.util.Sleeper;
import org.checkerframework.checker.nullness.qual.Nullable;
import org.joda.time.Duration;

/**
 * The HTTP machinery the notification sinks share ({@link WebhookIO}, {@link AlertmanagerIO}): the
 * {@link Settings} with their checks (URL, server-side request forgery, allow-list, headers as
 * secrets, timeouts, attempts, backoff) and display data, and the worker-side {@link Sender} that
 * posts with retries and redacts what it reports.
 *
 * <p>A {@code POST} answered 2xx is delivered; 408, 429, 5xx, timeouts and I/O errors are retried
 * with exponential backoff ({@link Backoffs#doubling}), honouring {@code Retry-After} seconds on
 * 429 and 503 (capped at the maximum backoff); redirects are never followed and, like other 4xx,
 * fail at once. Unless private addresses are allowed, the host name is resolved before every
 * attempt and the request refused (no request sent) when any of its addresses is loopback, private,
 * link-local, carrier-grade NAT, multicast or a cloud metadata address.
 */
final class HttpDelivery {
  static final int MAX_ATTEMPTS_LIMIT = 20;

  /** An RFC 9110 token: the characters allowed in a header name. */
  private static final Pattern TOKEN = Pattern.compile("[A-Za-z0-9!#$%&'*+.^_`|~-]+");

  /** What an allow-list entry may look like: a host name or IP, nothing around it. */
  private static final Pattern HOST_NAME = Pattern.compile("[A-Za-z0-9._:\\[\\]-]+");

  private static final Pattern DOTTED_QUAD = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");

  private static final Pattern NUMERIC_HOST = Pattern.compile("[0-9.]+");

  /** Set by the sinks themselves, or refused by the JDK client (which manages them). */
  private static final Set<String> RESERVED_HEADERS =
      Set.of(
          "content-type",
          "idempotency-key",
          "host",
          "connection",
          "content-length",
          "expect",
          "upgrade");

  private static final List<byte[]> METADATA_ADDRESSES =
      List.of(
          literal("169.254.169.254").getAddress(), // AWS, GCP, Azure, OpenStack
          literal("fd00:ec2::254").getAddress(), // AWS over IPv6
          literal("100.100.100.200").getAddress()); // Alibaba Cloud

  private HttpDelivery() {}

  /**
   * The settings of an HTTP sink, checked as they are set; immutable and serializable, one field of
   * each sink's transform. {@code sink} names the sink in messages ("webhook", "Alertmanager").
   * {@link #toString()} shows header names only: their values are secrets.
   */
  @AutoValue
  abstract static class Settings implements Serializable {
    abstract String sink();

    abstract String url();

    /** The environment variable the URL is read from on the worker, if set. */
    abstract @Nullable String urlEnv();

    abstract Duration connectTimeout();

    abstract Duration readTimeout();

    abstract int maxAttempts();

    abstract Duration initialBackoff();

    abstract Duration maxBackoff();

    /** Lower-case host names; empty means any host. */
    abstract Set<String> allowedHosts();

    /** Case-insensitive names to values. The values are secrets. */
    abstract Map<String, String> headers();

    abstract boolean allowPrivateAddresses();

    abstract Builder toBuilder();

    /**
     * Connect timeout 5 s, read timeout 10 s, 5 attempts, backoff from 500 ms up to 30 s, any
     * public host, no extra headers, no URL yet.
     */
    static Settings defaults(String sink) {
      return new AutoValue_HttpDelivery_Settings.Builder()
          .setSink(sink)
          .setUrl("")
          .setConnectTimeout(Duration.standardSeconds(5))
          .setReadTimeout(Duration.standardSeconds(10))
          .setMaxAttempts(5)
          .setInitialBackoff(Duration.millis(500))
          .setMaxBackoff(Duration.standardSeconds(30))
          .setAllowedHosts(Set.of())
          .setHeaders(headerMap(Map.of()))
          .setAllowPrivateAddresses(false)
          .build();
    }

    Settings to(String url) {
      URI uri = parseUrl(url);
      checkAllowed(uri, allowedHosts());
      return toBuilder().setUrl(url).setUrlEnv(null).build();
    }

    Settings toUrlFromEnv(String variable) {
      Checks.notBlank("urlEnv", variable);
      return toBuilder().setUrl("").setUrlEnv(variable).build();
    }

    Settings withConnectTimeout(Duration connectTimeout) {
      Checks.positive("connectTimeout", connectTimeout);
      return toBuilder().setConnectTimeout(connectTimeout).build();
    }

    Settings withReadTimeout(Duration readTimeout) {
      Checks.positive("readTimeout", readTimeout);
      return toBuilder().setReadTimeout(readTimeout).build();
    }

    Settings withMaxAttempts(int maxAttempts) {
      if (maxAttempts < 1 || maxAttempts > MAX_ATTEMPTS_LIMIT) {
        throw new IllegalArgumentException(
            "maxAttempts must be between 1 and " + MAX_ATTEMPTS_LIMIT + ", got " + maxAttempts);
      }
      return toBuilder().setMaxAttempts(maxAttempts).build();
    }

    Settings withInitialBackoff(Duration initialBackoff) {
      Checks.positive("initialBackoff", initialBackoff);
      return toBuilder().setInitialBackoff(initialBackoff).build();
    }

    Settings withMaxBackoff(Duration maxBackoff) {
      Checks.positive("maxBackoff", maxBackoff);
      return toBuilder().setMaxBackoff(maxBackoff).build();
    }

    Settings withAllowedHosts(Set<String> allowedHosts) {
      Checks.notNull("allowedHosts", allowedHosts);
      Set<String> normalized = new TreeSet<>();
      for (String host : allowedHosts) {
        Checks.notBlank("allowedHosts entry", host);
        if (!HOST_NAME.matcher(host).matches()) {
          throw new IllegalArgumentException(
              "allowedHosts entries must be bare host names or IP addresses (no scheme, port or"
                  + " path), got '"
                  + host
                  + "'");
        }
        normalized.add(host.toLowerCase(Locale.ROOT));
      }
      if (!url().isEmpty()) {
        checkAllowed(parseUrl(url()), normalized);
      }
      return toBuilder().setAllowedHosts(Collections.unmodifiableSet(normalized)).build();
    }

    Settings withHeader(String name, String value) {
      Checks.notBlank("header name", name);
      if (!TOKEN.matcher(name).matches()) {
        throw new IllegalArgumentException(
            "header name must be an HTTP token (letters, digits and !#$%&'*+-.^_`|~), got '"
                + name
                + "'");
      }
      if (RESERVED_HEADERS.contains(name.toLowerCase(Locale.ROOT))) {
        throw new IllegalArgumentException(
            "header '"
                + name
                + "' is set by the "
                + sink()
                + " sink or the HTTP client and cannot be set");
      }
      if (value == null) {
        throw new IllegalArgumentException("header '" + name + "' value must not be null");
      }
      // The value itself is never echoed: it is typically a credential.
      for (int i = 0; i < value.length(); i++) {
        char c = value.charAt(i);
        if (c == '\r' || c == '\n' || c == '\0') {
          throw new IllegalArgumentException(
              "header '"
                  + name
                  + "' value must not contain CR, LF or NUL (value not shown: header values are"
                  + " secret)");
        }
      }
      Map<String, String> headers = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
      headers.putAll(headers());
      headers.remove(name); // so the new spelling of the name is the one kept
      headers.put(name, value);
      return toBuilder().setHeaders(headerMap(headers)).build();
    }

    Settings withAllowPrivateAddresses(boolean allowPrivateAddresses) {
      return toBuilder().setAllowPrivateAddresses(allowPrivateAddresses).build();
    }

    /** The checks of required settings and combinations, run when the sink is applied. */
    void validate() {
      if (url().isEmpty() && urlEnv() == null) {
        throw new IllegalArgumentException("url must be set with to(url) or toUrlFromEnv(name)");
      }
      if (urlEnv() == null) {
        URI uri = parseUrl(url());
        checkAllowed(uri, allowedHosts());
        if (!allowPrivateAddresses()) {
          checkLiteralHost(uri.getHost(), sink());
        }
      }
      if (initialBackoff().isLongerThan(maxBackoff())) {
        throw new IllegalArgumentException(
            "initialBackoff " + initialBackoff() + " must not exceed maxBackoff " + maxBackoff());
      }
    }

    /** The URL to post to: {@link #to}'s, or the variable's value on this worker, checked. */
    String resolveUrl() {
      if (urlEnv() == null) {
        return url();
      }
      String value = System.getenv(urlEnv());
      if (value == null || value.isBlank()) {
        throw new IllegalStateException(
            "the " + sink() + " URL variable " + urlEnv() + " is not set on this worker");
      }
      URI uri = parseUrl(value);
      checkAllowed(uri, allowedHosts());
      if (!allowPrivateAddresses()) {
        checkLiteralHost(uri.getHost(), sink());
      }
      return value;
    }

    /** Every setting but the header values (credentials) and the URL's path and query. */
    void populateDisplayData(DisplayData.Builder builder) {
      builder
          .addIfNotNull(DisplayData.item("url", url().isEmpty() ? null : withoutQuery(url())))
          .addIfNotNull(DisplayData.item("urlEnv", urlEnv()))
          .add(DisplayData.item("connectTimeout", connectTimeout()))
          .add(DisplayData.item("readTimeout", readTimeout()))
          .add(DisplayData.item("maxAttempts", maxAttempts()))
          .add(DisplayData.item("initialBackoff", initialBackoff()))
          .add(DisplayData.item("maxBackoff", maxBackoff()))
          .addIfNotNull(
              DisplayData.item(
                  "allowedHosts",
                  allowedHosts().isEmpty() ? null : String.join(",", allowedHosts())))
          // Names only: header values are credentials.
          .addIfNotNull(
              DisplayData.item(
                  "headers", headers().isEmpty() ? null : String.join(",", headers().keySet())))
          .add(DisplayData.item("allowPrivateAddresses", allowPrivateAddresses()));
    }

    @Override
    public final String toString() {
      return sink()
          + " settings {url="
          + (url().isEmpty() ? "" : withoutQuery(url()))
          + ", urlEnv="
          + urlEnv()
          + ", headers="
          + headers().keySet()
          + "}";
    }

    @AutoValue.Builder
    abstract static class Builder {
      abstract Builder setSink(String value);

      abstract Builder setUrl(String value);

      abstract Builder setUrlEnv(String value);

      abstract Builder setConnectTimeout(Duration value);

      abstract Builder setReadTimeout(Duration value);

      abstract Builder setMaxAttempts(int value);

      abstract Builder setInitialBackoff(Duration value);

      abstract Builder setMaxBackoff(Duration value);

      abstract Builder setAllowedHosts(Set<String> value);

      abstract Builder setHeaders(Map<String, String> value);

      abstract Builder setAllowPrivateAddresses(boolean value);

      abstract Settings build();
    }
  }

  /** Sorted, case-insensitive and serializable (the comparator and both maps are). */
  private static Map<String, String> headerMap(Map<String, String> headers) {
    Map<String, String> sorted = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
    sorted.putAll(headers);
    return Collections.unmodifiableMap(sorted);
  }

  /**
   * A valid http(s) URL without user info whose host is not a literal loopback, private, link-local
   * or metadata address (unless {@code allowPrivateAddresses}); {@code sink} names the sink in the
   * message.
   *
   * @throws IllegalArgumentException naming the problem (never the URL's path or query string)
   */
  static URI checkUrl(String url, boolean allowPrivateAddresses, String sink) {
    URI uri = parseUrl(url);
    if (!allowPrivateAddresses) {
      checkLiteralHost(uri.getHost(), sink);
    }
    return uri;
  }

  static URI parseUrl(String url) {
    Checks.notBlank("url", url);
    URI uri;
    try {
      uri = new URI(url);
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException(
          "url is not a valid URI (" + e.getReason() + "), got '" + withoutQuery(url) + "'");
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    if (!scheme.equals("http") && !scheme.equals("https")) {
      throw new IllegalArgumentException(
          "url scheme must be http or https, got '"
              + (uri.getScheme() == null ? "" : uri.getScheme())
              + "' in '"
              + withoutQuery(url)
              + "'");
    }
    if (uri.getRawUserInfo() != null) {
      // Credentials in the URL would end up in logs and display data; the message hides them too.
      throw new IllegalArgumentException(
          "url must not contain user info; send credentials with withHeader(\"Authorization\","
              + " ...), got '"
              + scheme
              + "://***@"
              + uri.getHost()
              + "'");
    }
    if (uri.getHost() == null) {
      throw new IllegalArgumentException(
          "url must have a valid host name or IP address, got '" + withoutQuery(url) + "'");
    }
    return uri;
  }

  private static void checkAllowed(URI uri, Set<String> allowedHosts) {
    String host = uri.getHost().toLowerCase(Locale.ROOT);
    if (!allowedHosts.isEmpty() && !allowedHosts.contains(host)) {
      throw new IllegalArgumentException(
          "url host '" + host + "' is not in allowedHosts " + new TreeSet<>(allowedHosts));
    }
  }

  /**
   * Refuses a forbidden literal IP host without any DNS lookup; names are checked at delivery, when
   * they are resolved.
   */
  private static void checkLiteralHost(String host, String sink) {
    boolean ipv6 = host.startsWith("[");
    if (!ipv6 && !NUMERIC_HOST.matcher(host).matches()) {
      return;
    }
    if (!ipv6 && !DOTTED_QUAD.matcher(host).matches()) {
      // Forms like 2130706433 resolve to an address on some stacks: a classic filter bypass.
      throw new IllegalArgumentException(
          "url host '" + host + "' is a numeric address in a non-standard form; use a dotted quad");
    }
    InetAddress address;
    try {
      // A literal: parsed, never looked up.
      address = InetAddress.getByName(host);
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException("url host '" + host + "' is not a valid IP address");
    }
    String reason = forbiddenReason(address);
    if (reason != null) {
      throw new IllegalArgumentException(
          "url host "
              + host
              + " is "
              + reason
              + "; "
              + (sink.equals("webhook") ? "webhooks" : sink + " requests")
              + " to it are refused unless withAllowPrivateAddresses(true)");
    }
  }

  /**
   * The URL's scheme, host and port only: query, fragment and path may all carry tokens (a Slack
   * incoming-webhook URL has its credential in the path).
   */
  static String withoutQuery(String url) {
    int hostStart = url.indexOf("://");
    int end = url.length();
    for (char c : new char[] {'/', '?', '#'}) {
      int at = url.indexOf(c, hostStart < 0 ? 0 : hostStart + 3);
      if (at >= 0 && at < end) {
        end = at;
      }
    }
    return end < url.length() ? url.substring(0, end) + "/..." : url;
  }

  private static InetAddress literal(String address) {
    try {
      return InetAddress.getByName(address);
    } catch (UnknownHostException e) {
      throw new IllegalStateException("not an IP literal: " + address, e);
    }
  }

  /**
   * Why a notification must not be sent to {@code address} ("a loopback address", ...), or {@code
   * null} when it is a public address. IPv6 addresses that embed an IPv4 address (IPv4-compatible,
   * IPv4-mapped, NAT64 {@code 64:ff9b::/96}, 6to4 {@code 2002::/16}) are judged by the embedded
   * address, since they can route to it.
   */
  static @Nullable String forbiddenReason(InetAddress address) {
    byte[] b = address.getAddress();
    for (byte[] metadata : METADATA_ADDRESSES) {
      if (Arrays.equals(metadata, b)) {
        return "a cloud metadata address";
      }
    }
    if (address.isAnyLocalAddress()) {
      return "an any-local (unspecified) address";
    }
    if (address.isLoopbackAddress()) {
      return "a loopback address";
    }
    if (address.isLinkLocalAddress()) {
      return "a link-local address";
    }
    if (address.isSiteLocalAddress()) {
      return "a private (site-local) address";
    }
    if (address.isMulticastAddress()) {
      return "a multicast address";
    }
    if (address instanceof Inet6Address) {
      if ((b[0] & 0xfe) == 0xfc) {
        return "a unique-local IPv6 address (fc00::/7)";
      }
      byte[] embedded = embeddedIpv4(b);
      if (embedded != null) {
        try {
          String reason = forbiddenReason(InetAddress.getByAddress(embedded));
          return reason == null ? null : reason + " embedded in an IPv6 address";
        } catch (UnknownHostException e) {
          throw new IllegalStateException("4 bytes are always an IPv4 address", e);
        }
      }
      return null;
    }
    int b0 = b[0] & 0xff;
    int b1 = b[1] & 0xff;
    if (b0 == 0) {
      return "an unspecified ('this network', 0.0.0.0/8) address";
    }
    if (b0 == 127) {
      return "a loopback address";
    }
    if (b0 == 100 && (b1 & 0xc0) == 64) {
      return "a carrier-grade NAT address (100.64.0.0/10)";
    }
    if (b0 >= 240) {
      return "a reserved or broadcast address (240.0.0.0/4)";
    }
    return null;
  }

  private static byte @Nullable [] embeddedIpv4(byte[] b) {
    boolean zeroPrefix = true;
    for (int i = 0; i < 10; i++) {
      zeroPrefix &= b[i] == 0;
    }
    boolean compatible = zeroPrefix && b[10] == 0 && b[11] == 0; // ::a.b.c.d
    boolean mapped = zeroPrefix && b[10] == (byte) 0xff && b[11] == (byte) 0xff; // ::ffff:a.b.c.d
    boolean nat64 = b[0] == 0 && b[1] == 0x64 && b[2] == (byte) 0xff && b[3] == (byte) 0x9b;
    for (int i = 4; nat64 && i < 12; i++) {
      nat64 = b[i] == 0;
    }
    if (compatible || mapped || nat64) {
      return Arrays.copyOfRange(b, 12, 16);
    }
    if (b[0] == 0x20 && b[1] == 0x02) { // 6to4: 2002:aabb:ccdd::/48
      return Arrays.copyOfRange(b, 2, 6);
    }
    return null;
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

  /**
   * Posts JSON to one URL with the settings' timeouts, attempts, backoff and address checks. Built
   * in a DoFn's {@code @Setup} (it owns an {@link HttpClient}); one thread at a time, as DoFns are
   * called.
   */
  static final class Sender {
    private final Settings settings;
    private final URI uri;
    private final String host;
    private final HttpClient client;
    private final Counter retries;

    /** {@code retries} counts every attempt after the first. */
    Sender(Settings settings, URI uri, Counter retries) {
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
            retryAfter =
                retryAfterMillis(response.headers().firstValue("Retry-After").orElse(null));
          }
          String kind = status >= 500 ? "server error" : "retryable client error";
          return new Attempt(Outcome.RETRY, "HTTP " + status + " " + kind, retryAfter);
        }
        return new Attempt(Outcome.FINAL, "HTTP " + status + " client error, not retried", -1);
      } catch (HttpConnectTimeoutException e) {
        return new Attempt(
            Outcome.RETRY,
            "connect timeout: no connection within " + settings.connectTimeout(),
            -1);
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
        String reason = forbiddenReason(address);
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
     * An exception message for a dead letter or a log line, as {@code ": <message>"}, with the
     * URL's query and any header value blanked out in case a library echoed them; empty when there
     * is no message.
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
  }

  private enum Outcome {
    DELIVERED,
    RETRY,
    FINAL
  }

  /** One attempt's outcome; {@code retryAfterMillis} is -1 unless the server asked for a delay. */
  private record Attempt(Outcome outcome, @Nullable String error, long retryAfterMillis) {}
}

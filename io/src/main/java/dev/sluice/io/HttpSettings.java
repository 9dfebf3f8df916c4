package dev.sluice.io;

import com.google.auto.value.AutoValue;
import dev.sluice.transforms.Checks;
import java.io.Serializable;
import java.net.URI;
import java.util.Collections;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.checkerframework.checker.nullness.qual.Nullable;
import org.joda.time.Duration;

/**
 * The HTTP settings the notification sinks share ({@link WebhookIO}, {@link AlertmanagerIO}): URL
 * (or the environment variable it is read from on the worker), timeouts, attempts, backoff,
 * allow-list, extra headers and whether private addresses are allowed, checked as they are set
 * (single values in the {@code withX} methods, combinations in {@link #validate()}); the URL and
 * address checks themselves are {@link AddressChecks}'. Immutable and serializable, one field of
 * each sink's transform; {@link HttpSender} posts with them on the worker. {@code sink} names the
 * sink in messages ("webhook", "Alertmanager"). {@link #toString()} and the display data show
 * header names only: their values are secrets.
 */
@AutoValue
abstract class HttpSettings implements Serializable {
  static final int MAX_ATTEMPTS_LIMIT = 20;

  /** An RFC 9110 token: the characters allowed in a header name. */
  private static final Pattern TOKEN = Pattern.compile("[A-Za-z0-9!#$%&'*+.^_`|~-]+");

  /** What an allow-list entry may look like: a host name or IP, nothing around it. */
  private static final Pattern HOST_NAME = Pattern.compile("[A-Za-z0-9._:\\[\\]-]+");

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
   * Connect timeout 5 s, read timeout 10 s, 5 attempts, backoff from 500 ms up to 30 s, any public
   * host, no extra headers, no URL yet.
   */
  static HttpSettings defaults(String sink) {
    return new AutoValue_HttpSettings.Builder()
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

  HttpSettings to(String url) {
    URI uri = AddressChecks.parseUrl(url);
    AddressChecks.checkAllowed(uri, allowedHosts());
    return toBuilder().setUrl(url).setUrlEnv(null).build();
  }

  HttpSettings toUrlFromEnv(String variable) {
    Checks.notBlank("urlEnv", variable);
    return toBuilder().setUrl("").setUrlEnv(variable).build();
  }

  HttpSettings withConnectTimeout(Duration connectTimeout) {
    Checks.positive("connectTimeout", connectTimeout);
    return toBuilder().setConnectTimeout(connectTimeout).build();
  }

  HttpSettings withReadTimeout(Duration readTimeout) {
    Checks.positive("readTimeout", readTimeout);
    return toBuilder().setReadTimeout(readTimeout).build();
  }

  HttpSettings withMaxAttempts(int maxAttempts) {
    if (maxAttempts < 1 || maxAttempts > MAX_ATTEMPTS_LIMIT) {
      throw new IllegalArgumentException(
          "maxAttempts must be between 1 and " + MAX_ATTEMPTS_LIMIT + ", got " + maxAttempts);
    }
    return toBuilder().setMaxAttempts(maxAttempts).build();
  }

  HttpSettings withInitialBackoff(Duration initialBackoff) {
    Checks.positive("initialBackoff", initialBackoff);
    return toBuilder().setInitialBackoff(initialBackoff).build();
  }

  HttpSettings withMaxBackoff(Duration maxBackoff) {
    Checks.positive("maxBackoff", maxBackoff);
    return toBuilder().setMaxBackoff(maxBackoff).build();
  }

  HttpSettings withAllowedHosts(Set<String> allowedHosts) {
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
      AddressChecks.checkAllowed(AddressChecks.parseUrl(url()), normalized);
    }
    return toBuilder().setAllowedHosts(Collections.unmodifiableSet(normalized)).build();
  }

  HttpSettings withHeader(String name, String value) {
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

  HttpSettings withAllowPrivateAddresses(boolean allowPrivateAddresses) {
    return toBuilder().setAllowPrivateAddresses(allowPrivateAddresses).build();
  }

  /** The checks of required settings and combinations, run when the sink is applied. */
  void validate() {
    if (url().isEmpty() && urlEnv() == null) {
      throw new IllegalArgumentException("url must be set with to(url) or toUrlFromEnv(name)");
    }
    if (urlEnv() == null) {
      URI uri = AddressChecks.parseUrl(url());
      AddressChecks.checkAllowed(uri, allowedHosts());
      if (!allowPrivateAddresses()) {
        AddressChecks.checkLiteralHost(uri.getHost(), sink());
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
    URI uri = AddressChecks.parseUrl(value);
    AddressChecks.checkAllowed(uri, allowedHosts());
    if (!allowPrivateAddresses()) {
      AddressChecks.checkLiteralHost(uri.getHost(), sink());
    }
    return value;
  }

  /** Every setting but the header values (credentials) and the URL's path and query. */
  void populateDisplayData(DisplayData.Builder builder) {
    builder
        .addIfNotNull(
            DisplayData.item("url", url().isEmpty() ? null : AddressChecks.withoutQuery(url())))
        .addIfNotNull(DisplayData.item("urlEnv", urlEnv()))
        .add(DisplayData.item("connectTimeout", connectTimeout()))
        .add(DisplayData.item("readTimeout", readTimeout()))
        .add(DisplayData.item("maxAttempts", maxAttempts()))
        .add(DisplayData.item("initialBackoff", initialBackoff()))
        .add(DisplayData.item("maxBackoff", maxBackoff()))
        .addIfNotNull(
            DisplayData.item(
                "allowedHosts", allowedHosts().isEmpty() ? null : String.join(",", allowedHosts())))
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
        + (url().isEmpty() ? "" : AddressChecks.withoutQuery(url()))
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

    abstract HttpSettings build();
  }

  /** Sorted, case-insensitive and serializable (the comparator and both maps are). */
  private static Map<String, String> headerMap(Map<String, String> headers) {
    Map<String, String> sorted = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
    sorted.putAll(headers);
    return Collections.unmodifiableMap(sorted);
  }
}

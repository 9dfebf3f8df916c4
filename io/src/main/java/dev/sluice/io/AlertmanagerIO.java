package dev.sluice.io;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.auto.value.AutoValue;
import dev.sluice.model.Alert;
import dev.sluice.model.DeadLetter;
import dev.sluice.transforms.Checks;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.apache.beam.sdk.coders.InstantCoder;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.state.StateSpec;
import org.apache.beam.sdk.state.StateSpecs;
import org.apache.beam.sdk.state.TimeDomain;
import org.apache.beam.sdk.state.Timer;
import org.apache.beam.sdk.state.TimerSpec;
import org.apache.beam.sdk.state.TimerSpecs;
import org.apache.beam.sdk.state.ValueState;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.WithKeys;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.transforms.windowing.DefaultTrigger;
import org.apache.beam.sdk.transforms.windowing.GlobalWindows;
import org.apache.beam.sdk.transforms.windowing.Window;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.checkerframework.checker.nullness.qual.Nullable;
import org.joda.time.Duration;
import org.joda.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Alerts to a Prometheus Alertmanager, through its API ({@code POST <url>/api/v2/alerts}), as
 * Prometheus sends them: Alertmanager then groups, de-duplicates, silences, inhibits and routes
 * them to its receivers.
 *
 * <pre>{@code
 * PCollection<DeadLetter> undelivered = alerts.apply("NotifyAlertmanager",
 *     AlertmanagerIO.write()
 *         .to("http://alertmanager.internal:9093")
 *         .withAllowPrivateAddresses(true)                  // an internal address
 *         .withAllowedHosts(Set.of("alertmanager.internal"))
 *         .withResendInterval(Duration.standardMinutes(1)));
 * undelivered.apply("WriteDeadLetters", deadLetterSink);
 * }</pre>
 *
 * <p><b>What is sent.</b> One postable alert per request (a JSON list of one):
 *
 * <table>
 *   <caption>Sluice alert to Alertmanager alert</caption>
 *   <tr><th>Sluice</th><th>Alertmanager</th></tr>
 *   <tr><td>{@code rule_id}</td><td>label {@code alertname}</td></tr>
 *   <tr><td>{@code key}, {@code metric}</td><td>labels {@code key}, {@code metric}</td></tr>
 *   <tr><td>{@code severity}</td><td>label {@code severity}, lower case ({@code critical},
 *       {@code warning}, {@code info}), the Prometheus convention</td></tr>
 *   <tr><td>the rule's {@code labels}</td><td>labels, names made Prometheus label names
 *       ({@code team.name} becomes {@code team_name}, {@code 2fa} becomes {@code _2fa}); one whose name is
 *       taken (by the four above, or another rule label) is the annotation
 *       {@code rule_label_<name>} instead, so a rule can neither rename an alert nor change its
 *       identity</td></tr>
 *   <tr><td>{@code message}</td><td>annotation {@code summary}</td></tr>
 *   <tr><td>{@code alert_id}, {@code rule_version}, {@code value}, {@code threshold},
 *       {@code window_start}, {@code window_end}</td><td>annotations of the same names</td></tr>
 *   <tr><td>FIRING: {@code window_start} (when the condition started to hold)</td>
 *       <td>{@code startsAt}</td></tr>
 *   <tr><td>FIRING: now + 4 &times; resend interval</td><td>{@code endsAt}</td></tr>
 *   <tr><td>RESOLVED: {@code window_end} (the resolution)</td><td>{@code endsAt}</td></tr>
 *   <tr><td>{@link Write#withGeneratorUrl}</td><td>{@code generatorURL}, when set</td></tr>
 * </table>
 *
 * Labels are what Alertmanager identifies an alert by (its fingerprint is their hash), so they hold
 * only what every notification of an episode shares; what changes is in annotations. Times are
 * clamped so that Alertmanager, which judges them by its own clock, takes them as meant: {@code
 * startsAt} is never later than the moment of sending, and a resolution's {@code endsAt} neither
 * (an alert whose {@code endsAt} is in the past is resolved at once). The RESOLVED request repeats
 * the episode's first {@code startsAt}.
 *
 * <p><b>Re-sending.</b> Alertmanager resolves an alert by itself once its {@code endsAt} passes
 * without a fresh copy, so, as Prometheus does, every FIRING is sent with {@code endsAt} = now + 4
 * &times; the resend interval and sent again every interval (default 1 minute, {@link
 * Write#withResendInterval}) until its episode's RESOLVED arrives; a re-notification (the same
 * alert id, a later window) replaces what is re-sent. This is a stateful {@code DoFn} keyed by the
 * alert id (the episode) in the global window, with a processing-time timer that holds no watermark
 * (so it delays no downstream window); state and timer ids, a compatibility contract: value states
 * {@value #STATE_LAST_FIRING} (the FIRING re-sent) and {@value #STATE_STARTS_AT} (the episode's
 * {@code startsAt}), processing-time timer {@value #TIMER_RESEND}. A RESOLVED clears them and ends
 * the re-sends. A re-send is tried once, without retries (the next one is its retry); a failed one
 * is counted and logged, not a dead letter. Re-sends need a running pipeline: a bounded one ends
 * with its input, and so do they.
 *
 * <p><b>Silences.</b> Alerts a silence covered ({@link Alert#silenced()}) are not sent (counted as
 * {@value #SKIPPED_SILENCED}). A silenced FIRING of a new episode starts no re-sends; once the
 * silence ends the engine sends the FIRING again, and it is sent. A silenced re-notification of an
 * episode already sent does not stop the re-sends, since the condition still holds. A silenced
 * RESOLVED ends the re-sends without being sent, so Alertmanager resolves the alert by itself when
 * its {@code endsAt} passes.
 *
 * <p><b>Delivery guarantee: at least once</b>, which Alertmanager absorbs: a repeated alert (same
 * labels) refreshes the one it has. FIRING, re-notification and RESOLVED requests that cannot be
 * delivered, after the retries of {@link Write#withMaxAttempts}, become {@code SINK_REJECTED}
 * {@link DeadLetter}s of stage {@value #STAGE} with the alert JSON as payload and {@code
 * alertmanager:<host>} as source; the re-sends of a FIRING that was dead-lettered go on and deliver
 * it once Alertmanager answers. Addresses, allow-list, headers (secrets, never shown), timeouts,
 * retries and backoff work as for {@link WebhookIO}, with the same protection against server-side
 * request forgery. Counters in namespace {@value #METRICS_NAMESPACE}: {@value #DELIVERED}, {@value
 * #RETRIES}, {@value #REJECTED}, {@value #RESENT}, {@value #RESEND_FAILED}, {@value
 * #SKIPPED_SILENCED}. Retries block the worker thread, which suits alert volumes, not event
 * volumes.
 */
public final class AlertmanagerIO {
  public static final String METRICS_NAMESPACE = "sluice.alertmanager";

  /** FIRING, re-notification and RESOLVED requests Alertmanager accepted. */
  public static final String DELIVERED = "delivered";

  public static final String RETRIES = "retries";

  /** Requests finally not delivered: each one a dead letter. */
  public static final String REJECTED = "rejected";

  /** Re-sends of firing alerts Alertmanager accepted. */
  public static final String RESENT = "resent";

  /** Re-sends that failed (retried at the next interval, not dead letters). */
  public static final String RESEND_FAILED = "resend_failed";

  /** Alerts not sent because a silence covered them. */
  public static final String SKIPPED_SILENCED = "skipped_silenced";

  /** The {@code stage} of this sink's dead letters. */
  public static final String STAGE = "alertmanager";

  /** The path of Alertmanager's alerts API under the base URL. */
  public static final String API_PATH = "/api/v2/alerts";

  /** Value state: the FIRING alert being re-sent (a compatibility contract). */
  public static final String STATE_LAST_FIRING = "lastFiring";

  /** Value state: the episode's {@code startsAt} as first sent (a compatibility contract). */
  public static final String STATE_STARTS_AT = "startsAt";

  /** Processing-time timer: the next re-send (a compatibility contract). */
  public static final String TIMER_RESEND = "resend";

  /** {@code endsAt} of a firing alert is this many resend intervals ahead, as in Prometheus. */
  static final int ENDS_AT_INTERVALS = 4;

  private static final Logger LOG = LoggerFactory.getLogger(AlertmanagerIO.class);

  private AlertmanagerIO() {}

  /**
   * An Alertmanager sink with defaults: resend interval 1 minute, connect timeout 5 s, read timeout
   * 10 s, 5 attempts, backoff from 500 ms up to 30 s, any public host, no extra headers; then call
   * {@link Write#to}.
   */
  public static Write write() {
    return new AutoValue_AlertmanagerIO_Write.Builder()
        .setHttp(HttpSettings.defaults("Alertmanager"))
        .setResendInterval(Duration.standardMinutes(1))
        .build();
  }

  /**
   * Checks an Alertmanager base URL as a launcher or {@code validate} does, before any job runs: a
   * valid http(s) URL without user info, query or fragment, not already ending in {@value
   * #API_PATH}, whose host is not a literal loopback, private, link-local or metadata address
   * (unless {@code allowPrivateAddresses}).
   *
   * @throws IllegalArgumentException naming the problem (never the URL's path or query)
   */
  public static void checkUrl(String url, boolean allowPrivateAddresses) {
    checkBase(AddressChecks.checkUrl(url, allowPrivateAddresses, "Alertmanager"));
  }

  private static URI checkBase(URI uri) {
    if (uri.getRawQuery() != null || uri.getRawFragment() != null) {
      throw new IllegalArgumentException(
          "url must be Alertmanager's base URL, without query or fragment, e.g."
              + " http://alertmanager:9093");
    }
    String path = uri.getRawPath() == null ? "" : uri.getRawPath();
    if (path.endsWith(API_PATH) || path.endsWith(API_PATH + "/")) {
      throw new IllegalArgumentException(
          "url must be Alertmanager's base URL; the sink adds " + API_PATH + " itself");
    }
    return uri;
  }

  /** {@code <base>/api/v2/alerts}, the base's path (a route prefix) kept. */
  static URI endpoint(String base) {
    URI uri = checkBase(AddressChecks.parseUrl(base));
    String path = uri.getRawPath() == null ? "" : uri.getRawPath();
    while (path.endsWith("/")) {
      path = path.substring(0, path.length() - 1);
    }
    try {
      return new URI(uri.getScheme(), uri.getRawAuthority(), path + API_PATH, null, null);
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException("url: cannot add " + API_PATH + " to the base URL", e);
    }
  }

  /** Sends alerts to Alertmanager and keeps firing ones alive; see {@link AlertmanagerIO}. */
  @AutoValue
  public abstract static class Write
      extends PTransform<PCollection<Alert>, PCollection<DeadLetter>> {

    abstract HttpSettings http();

    abstract Duration resendInterval();

    abstract @Nullable String generatorUrl();

    abstract Builder toBuilder();

    private Write http(HttpSettings http) {
      return toBuilder().setHttp(http).build();
    }

    /**
     * Alertmanager's base URL, e.g. {@code http://alertmanager:9093} (with a path when it runs
     * under a route prefix); alerts go to {@code <url>/api/v2/alerts}. {@code http} or {@code
     * https}, without user info (send credentials with {@link #withHeader}), query or fragment. A
     * forbidden literal IP host (see {@link #withAllowPrivateAddresses}) is refused when the
     * transform is applied.
     */
    public Write to(String url) {
      checkBase(AddressChecks.parseUrl(url));
      return http(http().to(url));
    }

    /**
     * The base URL is read from this environment variable on the worker (at setup), so it is never
     * part of the job graph or a template; the checks of {@link #to} apply to it there.
     */
    public Write toUrlFromEnv(String variable) {
      return http(http().toUrlFromEnv(variable));
    }

    /**
     * How often a firing alert is sent again, and a quarter of how far ahead its {@code endsAt}
     * lies. Default 1 minute (Prometheus' default {@code --rules.alert.resend-delay} is too).
     */
    public Write withResendInterval(Duration resendInterval) {
      Checks.positive("resendInterval", resendInterval);
      return toBuilder().setResendInterval(resendInterval).build();
    }

    /**
     * The {@code generatorURL} of every alert: the link Alertmanager shows as the alert's source,
     * e.g. a dashboard. An absolute {@code http} or {@code https} URL; none by default.
     */
    public Write withGeneratorUrl(String generatorUrl) {
      Checks.notBlank("generatorUrl", generatorUrl);
      String scheme;
      try {
        URI uri = new URI(generatorUrl);
        scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
      } catch (URISyntaxException e) {
        scheme = "";
      }
      if (!scheme.equals("http") && !scheme.equals("https")) {
        throw new IllegalArgumentException(
            "generatorUrl must be an absolute http or https URL, got '"
                + AddressChecks.withoutQuery(generatorUrl)
                + "'");
      }
      return toBuilder().setGeneratorUrl(generatorUrl).build();
    }

    /** How long to wait for a TCP (and TLS) connection. Default 5 s. */
    public Write withConnectTimeout(Duration connectTimeout) {
      return http(http().withConnectTimeout(connectTimeout));
    }

    /** How long to wait for the response status after sending, per attempt. Default 10 s. */
    public Write withReadTimeout(Duration readTimeout) {
      return http(http().withReadTimeout(readTimeout));
    }

    /** Attempts per FIRING or RESOLVED, the first included, 1 to 20. Default 5. */
    public Write withMaxAttempts(int maxAttempts) {
      return http(http().withMaxAttempts(maxAttempts));
    }

    /** The first retry's delay (±50 % jitter); doubles per retry. Default 500 ms. */
    public Write withInitialBackoff(Duration initialBackoff) {
      return http(http().withInitialBackoff(initialBackoff));
    }

    /** Cap of every retry delay, {@code Retry-After} included. Default 30 s. */
    public Write withMaxBackoff(Duration maxBackoff) {
      return http(http().withMaxBackoff(maxBackoff));
    }

    /** Host names the URL may use (exact, case-insensitive). Empty, the default, allows any. */
    public Write withAllowedHosts(Set<String> allowedHosts) {
      return http(http().withAllowedHosts(allowedHosts));
    }

    /**
     * Adds a request header, e.g. {@code Authorization} for an Alertmanager behind an
     * authenticating proxy; the value is a secret, shown nowhere. {@code Content-Type} and the
     * headers the HTTP client manages cannot be set.
     */
    public Write withHeader(String name, String value) {
      return http(http().withHeader(name, value));
    }

    /**
     * Allows loopback, private, link-local and metadata addresses; Alertmanager usually runs on an
     * internal address, so set this for it (with {@link #withAllowedHosts} to pin the host).
     * Default {@code false}.
     */
    public Write withAllowPrivateAddresses(boolean allowPrivateAddresses) {
      return http(http().withAllowPrivateAddresses(allowPrivateAddresses));
    }

    @Override
    public PCollection<DeadLetter> expand(PCollection<Alert> alerts) {
      http().validate();
      return alerts
          // Per-episode state must outlive any window the alerts came in.
          .apply(
              "AlertsToGlobalWindow",
              Window.<Alert>into(new GlobalWindows())
                  .triggering(DefaultTrigger.of())
                  .withAllowedLateness(Duration.ZERO)
                  .discardingFiredPanes())
          .apply(
              "KeyByEpisode",
              WithKeys.of((Alert a) -> a.alertId()).withKeyType(TypeDescriptors.strings()))
          .setCoder(KvCoder.of(StringUtf8Coder.of(), Alert.AlertCoder.of()))
          .apply("PostToAlertmanager", ParDo.of(new PostFn(this)))
          .setCoder(DeadLetter.DeadLetterCoder.of());
    }

    @Override
    public void populateDisplayData(DisplayData.Builder builder) {
      super.populateDisplayData(builder);
      http().populateDisplayData(builder);
      builder
          .add(DisplayData.item("resendInterval", resendInterval()))
          .addIfNotNull(
              DisplayData.item(
                  "generatorUrl",
                  generatorUrl() == null ? null : AddressChecks.withoutQuery(generatorUrl())));
    }

    @AutoValue.Builder
    abstract static class Builder {
      abstract Builder setHttp(HttpSettings value);

      abstract Builder setResendInterval(Duration value);

      abstract Builder setGeneratorUrl(String value);

      abstract Write build();
    }
  }

  /**
   * Sends each episode's transitions at once and re-sends its FIRING on a processing-time timer
   * until the RESOLVED; emits the transitions finally not delivered.
   */
  static final class PostFn extends DoFn<KV<String, Alert>, DeadLetter> {
    @StateId(STATE_LAST_FIRING)
    private final StateSpec<ValueState<Alert>> lastFiringSpec =
        StateSpecs.value(Alert.AlertCoder.of());

    @StateId(STATE_STARTS_AT)
    private final StateSpec<ValueState<Instant>> startsAtSpec = StateSpecs.value(InstantCoder.of());

    @TimerId(TIMER_RESEND)
    private final TimerSpec resendSpec = TimerSpecs.timer(TimeDomain.PROCESSING_TIME);

    private final Write spec;
    private transient HttpSender sender;
    private transient ObjectMapper mapper;
    private transient String source;
    private transient Counter delivered;
    private transient Counter rejected;
    private transient Counter resent;
    private transient Counter resendFailed;
    private transient Counter skippedSilenced;

    PostFn(Write spec) {
      this.spec = spec;
    }

    @Setup
    public void setup() {
      URI uri = endpoint(spec.http().resolveUrl());
      sender = new HttpSender(spec.http(), uri, Metrics.counter(METRICS_NAMESPACE, RETRIES));
      source = "alertmanager:" + sender.host().toLowerCase(Locale.ROOT);
      mapper = new ObjectMapper();
      delivered = Metrics.counter(METRICS_NAMESPACE, DELIVERED);
      rejected = Metrics.counter(METRICS_NAMESPACE, REJECTED);
      resent = Metrics.counter(METRICS_NAMESPACE, RESENT);
      resendFailed = Metrics.counter(METRICS_NAMESPACE, RESEND_FAILED);
      skippedSilenced = Metrics.counter(METRICS_NAMESPACE, SKIPPED_SILENCED);
    }

    @Teardown
    public void teardown() {
      sender = null;
    }

    @ProcessElement
    public void process(
        @Element KV<String, Alert> element,
        @StateId(STATE_LAST_FIRING) ValueState<Alert> lastFiring,
        @StateId(STATE_STARTS_AT) ValueState<Instant> startsAtState,
        @TimerId(TIMER_RESEND) Timer resend,
        OutputReceiver<DeadLetter> out) {
      Alert alert = element.getValue();
      Instant now = Instant.now();
      Instant startsAt = startsAtState.read();
      if (alert.status() == Alert.Status.FIRING) {
        if (alert.silenced()) {
          // An episode already sent keeps being re-sent: its condition still holds.
          skippedSilenced.inc();
          return;
        }
        if (startsAt == null) {
          startsAt = earliest(alert.windowStart(), now);
          startsAtState.write(startsAt);
        }
        lastFiring.write(alert);
        // No output timestamp: a timer that fires for as long as an episode lasts must not hold
        // the watermark of the dead letters (and of every window downstream of them).
        resend.offset(spec.resendInterval()).withNoOutputTimestamp().setRelative();
        send(alert, startsAt, firingEndsAt(now), out);
        return;
      }
      lastFiring.clear();
      startsAtState.clear();
      resend.clear();
      if (alert.silenced()) {
        // Not sent: Alertmanager resolves the alert itself once the last endsAt passes.
        skippedSilenced.inc();
        return;
      }
      Instant endsAt = earliest(alert.windowEnd(), now);
      Instant start = startsAt != null ? startsAt : alert.windowStart();
      send(alert, earliest(start, endsAt), endsAt, out);
    }

    @OnTimer(TIMER_RESEND)
    public void onResend(
        @StateId(STATE_LAST_FIRING) ValueState<Alert> lastFiring,
        @StateId(STATE_STARTS_AT) ValueState<Instant> startsAtState,
        @TimerId(TIMER_RESEND) Timer resend) {
      Alert alert = lastFiring.read();
      if (alert == null) {
        return; // resolved in the meantime
      }
      resend.offset(spec.resendInterval()).withNoOutputTimestamp().setRelative();
      Instant now = Instant.now();
      Instant startsAt = startsAtState.read();
      String error;
      try {
        error =
            sender.post(
                body(
                    alert,
                    startsAt != null ? startsAt : earliest(alert.windowStart(), now),
                    firingEndsAt(now)),
                Map.of(),
                1);
      } catch (RuntimeException e) {
        error = "unexpected error: " + e.getClass().getName() + sender.describe(e.getMessage());
      }
      if (error == null) {
        resent.inc();
      } else {
        resendFailed.inc();
        LOG.warn(
            "Re-sending alert {} ({} {}) to Alertmanager failed, next try in {}: {}",
            alert.alertId(),
            alert.ruleId(),
            alert.key(),
            spec.resendInterval(),
            error);
      }
    }

    private void send(
        Alert alert, Instant startsAt, Instant endsAt, OutputReceiver<DeadLetter> out) {
      String error;
      try {
        error = sender.post(body(alert, startsAt, endsAt), Map.of(), spec.http().maxAttempts());
      } catch (RuntimeException e) {
        // Whatever went wrong with this alert, the pipeline goes on; the alert is kept.
        error = "unexpected error: " + e.getClass().getName() + sender.describe(e.getMessage());
      }
      if (error == null) {
        delivered.inc();
        return;
      }
      rejected.inc();
      out.output(
          DeadLetter.of(
              STAGE,
              DeadLetter.Reason.SINK_REJECTED,
              error,
              alert.toJson(),
              source,
              Instant.now()));
    }

    private String body(Alert alert, Instant startsAt, Instant endsAt) {
      return AlertmanagerJson.postBody(mapper, alert, startsAt, endsAt, spec.generatorUrl());
    }

    private Instant firingEndsAt(Instant now) {
      return now.plus(spec.resendInterval().multipliedBy(ENDS_AT_INTERVALS));
    }

    private static Instant earliest(Instant a, Instant b) {
      return a.isBefore(b) ? a : b;
    }
  }
}

package dev.sluice.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.auto.value.AutoValue;
import dev.sluice.model.Alert;
import dev.sluice.model.DeadLetter;
import dev.sluice.model.JsonSupport;
import java.net.URI;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.values.PCollection;
import org.joda.time.Duration;
import org.joda.time.Instant;

/**
 * Alert notifications to an HTTP webhook: one JSON {@code POST} per {@link Alert}.
 *
 * <pre>{@code
 * PCollection<DeadLetter> undelivered = alerts.apply("NotifyWebhook",
 *     WebhookIO.write()
 *         .to("https://hooks.example.com/alerts")
 *         .withAllowedHosts(Set.of("hooks.example.com"))
 *         .withHeader("Authorization", "Bearer " + token)
 *         .withMaxAttempts(5));
 * undelivered.apply("WriteDeadLetters", deadLetterSink);
 * }</pre>
 *
 * <p>The body is the alert's contract JSON ({@link Alert#toJson()}); with {@link
 * Write#withSlackFormat()} a Slack incoming-webhook message {@code {"text": "<severity> <status>
 * <rule_id> <key>: <message>"}}; with {@link Write#withAlertmanagerFormat()} the message
 * Alertmanager posts to its webhook receivers (version 4, one alert per message), for receivers
 * built for Alertmanager. Every request carries {@code Content-Type: application/json} and {@code
 * Idempotency-Key: <alert_id>:<status>:<window_end>} (the same for retries and replays of a
 * notification, different for FIRING, RESOLVED and each re-notification of an episode). Alerts a
 * silence covered ({@link Alert#silenced()}) are not posted: they are counted as {@value
 * #SKIPPED_SILENCED}, not dead letters.
 *
 * <p>Works on bounded and unbounded input alike: it is element-wise and keeps no state. The output
 * holds the alerts that could not be delivered, as {@code SINK_REJECTED} {@link DeadLetter}s of
 * stage {@code webhook} with the alert JSON as payload and {@code webhook:<host>} as source; a
 * failed delivery never fails or stalls the pipeline. 2xx is delivered; 408, 429, 5xx, timeouts and
 * I/O errors are retried with exponential backoff (Beam's {@code FluentBackoff}: doubling, ±50 %
 * jitter, each delay capped at the maximum backoff), honouring {@code Retry-After} seconds on 429
 * and 503 (capped at the maximum backoff too); redirects are never followed and, like other 4xx,
 * fail at once. Counters in namespace {@value #METRICS_NAMESPACE}: {@value #DELIVERED}, {@value
 * #RETRIES}, {@value #REJECTED}, {@value #SKIPPED_SILENCED}.
 *
 * <p><b>Delivery guarantee: at least once.</b> A runner may retry a bundle after some of its alerts
 * were delivered, and a timed-out request may still have reached the receiver, so receivers must
 * de-duplicate on {@code Idempotency-Key} (the deterministic alert id). The {@code FIRING} and
 * {@code RESOLVED} notifications of one episode share that id, as PagerDuty's {@code dedup_key}
 * does, so a receiver that keeps one state per id sees the episode resolve; a receiver that drops
 * repeated keys should key on {@code Idempotency-Key} plus the {@code X-Sluice-Notification} header
 * ({@code <status> <window_end>}, also deterministic), which tells the notifications of an episode
 * apart. Retries block the worker thread (at most {@code maxAttempts} times the timeouts plus the
 * backoffs per alert), which suits alert volumes, not event volumes. Order of delivery is not
 * guaranteed.
 *
 * <p><b>Server-side request forgery.</b> Only {@code http} and {@code https} URLs without user info
 * are accepted. Unless {@link Write#withAllowPrivateAddresses withAllowPrivateAddresses(true)}, a
 * literal IP host that is loopback, private, link-local, carrier-grade NAT, multicast or a cloud
 * metadata address is refused when the transform is applied, and before every attempt the host name
 * is resolved and the delivery refused (dead letter, no request sent) if any of its addresses is
 * such an address. Residual risk: the JDK HTTP client resolves the name again when it connects, so
 * a DNS server that answers differently within that instant (DNS rebinding) could still steer a
 * request inward; the JVM's DNS cache usually returns the checked answer, redirects are never
 * followed, and {@link Write#withAllowedHosts} pins the URL to names you control. Header values
 * (credentials) are never logged or shown in display data or error messages, but like every
 * transform setting they travel inside the serialized pipeline.
 */
public final class WebhookIO {
  public static final String METRICS_NAMESPACE = "sluice.webhook";
  public static final String DELIVERED = "delivered";
  public static final String RETRIES = "retries";
  public static final String REJECTED = "rejected";

  /** Alerts not posted because a silence covered them. */
  public static final String SKIPPED_SILENCED = "skipped_silenced";

  /** The {@code stage} of this sink's dead letters. */
  public static final String STAGE = "webhook";

  private WebhookIO() {}

  /**
   * A webhook sink with defaults: connect timeout 5 s, read timeout 10 s, 5 attempts, backoff from
   * 500 ms up to 30 s, alert JSON body, any public host, no extra headers; then call {@link
   * Write#to}.
   */
  public static Write write() {
    return new AutoValue_WebhookIO_Write.Builder()
        .setHttp(HttpSettings.defaults("webhook"))
        .setFormat(Format.ALERT_JSON)
        .build();
  }

  /**
   * Checks a webhook URL as a launcher or {@code validate} does, before any job runs: a valid
   * http(s) URL without user info whose host is not a literal loopback, private, link-local or
   * metadata address (unless {@code allowPrivateAddresses}).
   *
   * @throws IllegalArgumentException naming the problem (never the URL's query string)
   */
  public static void checkUrl(String url, boolean allowPrivateAddresses) {
    AddressChecks.checkUrl(url, allowPrivateAddresses, "webhook");
  }

  /** The body of the requests. */
  enum Format {
    ALERT_JSON("alert_json"),
    SLACK("slack"),
    ALERTMANAGER("alertmanager");

    final String displayName;

    Format(String displayName) {
      this.displayName = displayName;
    }
  }

  /** Posts each alert to the webhook; see {@link WebhookIO}. */
  @AutoValue
  public abstract static class Write
      extends PTransform<PCollection<Alert>, PCollection<DeadLetter>> {

    abstract HttpSettings http();

    abstract Format format();

    abstract Builder toBuilder();

    private Write http(HttpSettings http) {
      return toBuilder().setHttp(http).build();
    }

    /**
     * The webhook URL: {@code http} or {@code https}, with a host and without user info (send
     * credentials with {@link #withHeader}). A forbidden literal IP host (see {@link
     * #withAllowPrivateAddresses}) is refused when the transform is applied, so the order of the
     * {@code withX} calls does not matter.
     */
    public Write to(String url) {
      return http(http().to(url));
    }

    /**
     * The webhook URL is read from this environment variable where the alerts are posted (on the
     * worker, at setup), so it is never part of the job graph or a template; the same checks as for
     * {@link #to} apply to it there, and a missing variable fails the setup.
     */
    public Write toUrlFromEnv(String variable) {
      return http(http().toUrlFromEnv(variable));
    }

    /** How long to wait for a TCP (and TLS) connection. Default 5 s. */
    public Write withConnectTimeout(Duration connectTimeout) {
      return http(http().withConnectTimeout(connectTimeout));
    }

    /** How long to wait for the response status after sending, per attempt. Default 10 s. */
    public Write withReadTimeout(Duration readTimeout) {
      return http(http().withReadTimeout(readTimeout));
    }

    /** Attempts per alert, the first included, 1 to 20. Default 5. */
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

    /**
     * Sends a Slack incoming-webhook message {@code {"text": "<severity> <status> <rule_id> <key>:
     * <message>"}} instead of the alert JSON.
     */
    public Write withSlackFormat() {
      return toBuilder().setFormat(Format.SLACK).build();
    }

    /**
     * Sends the message Alertmanager posts to a {@code webhook_config} receiver (version {@code
     * "4"}) instead of the alert JSON, one alert per message, for receivers that take that format:
     *
     * <pre>{@code
     * {"version": "4", "groupKey": "{}:{alertname=\"<rule_id>\"}", "truncatedAlerts": 0,
     *  "status": "firing" | "resolved", "receiver": "sluice",
     *  "groupLabels": {"alertname": "<rule_id>"}, "commonLabels": {...}, "commonAnnotations": {...},
     *  "externalURL": "",
     *  "alerts": [{"status": "firing" | "resolved", "labels": {...}, "annotations": {...},
     *              "startsAt": "<window_start>", "endsAt": "0001-01-01T00:00:00Z" | "<window_end>",
     *              "generatorURL": "", "fingerprint": "<alert_id>"}]}
     * }</pre>
     *
     * Labels and annotations are those {@link AlertmanagerIO} sends (see there); the common labels
     * and annotations are the alert's own, as it is alone in its message. {@code endsAt} is Go's
     * zero time while firing, as Alertmanager sends it, and the window end once resolved; the
     * fingerprint is the alert id (32 hex digits, where Alertmanager has 16 of its own).
     */
    public Write withAlertmanagerFormat() {
      return toBuilder().setFormat(Format.ALERTMANAGER).build();
    }

    /**
     * Host names the URL may use (exact, case-insensitive; no wildcards). Empty, the default,
     * allows any host.
     */
    public Write withAllowedHosts(Set<String> allowedHosts) {
      return http(http().withAllowedHosts(allowedHosts));
    }

    /**
     * Adds a request header, e.g. {@code Authorization}; replaces an earlier one of the same name.
     * The value is treated as a secret: it appears in no display data, log or error message. {@code
     * Content-Type}, {@code Idempotency-Key} and the headers the HTTP client manages itself ({@code
     * Host}, {@code Connection}, {@code Content-Length}, {@code Expect}, {@code Upgrade}) cannot be
     * set.
     */
    public Write withHeader(String name, String value) {
      return http(http().withHeader(name, value));
    }

    /**
     * Allows loopback, private, link-local and metadata addresses (for tests and trusted internal
     * receivers). Default {@code false}.
     */
    public Write withAllowPrivateAddresses(boolean allowPrivateAddresses) {
      return http(http().withAllowPrivateAddresses(allowPrivateAddresses));
    }

    @Override
    public PCollection<DeadLetter> expand(PCollection<Alert> alerts) {
      http().validate();
      return alerts
          .apply("PostToWebhook", ParDo.of(new DeliverFn(this)))
          .setCoder(DeadLetter.DeadLetterCoder.of());
    }

    @Override
    public void populateDisplayData(DisplayData.Builder builder) {
      super.populateDisplayData(builder);
      http().populateDisplayData(builder);
      builder.add(DisplayData.item("format", format().displayName));
    }

    @AutoValue.Builder
    abstract static class Builder {
      abstract Builder setHttp(HttpSettings value);

      abstract Builder setFormat(Format value);

      abstract Write build();
    }
  }

  /** Posts alerts one at a time, retrying in place; emits the ones finally not delivered. */
  static final class DeliverFn extends DoFn<Alert, DeadLetter> {
    private final Write spec;
    private transient HttpSender sender;
    private transient ObjectMapper mapper;
    private transient String source;
    private transient Counter delivered;
    private transient Counter rejected;
    private transient Counter skippedSilenced;

    DeliverFn(Write spec) {
      this.spec = spec;
    }

    @Setup
    public void setup() {
      URI uri = URI.create(spec.http().resolveUrl());
      sender = new HttpSender(spec.http(), uri, Metrics.counter(METRICS_NAMESPACE, RETRIES));
      source = "webhook:" + sender.host().toLowerCase(Locale.ROOT);
      mapper = new ObjectMapper();
      delivered = Metrics.counter(METRICS_NAMESPACE, DELIVERED);
      rejected = Metrics.counter(METRICS_NAMESPACE, REJECTED);
      skippedSilenced = Metrics.counter(METRICS_NAMESPACE, SKIPPED_SILENCED);
    }

    @Teardown
    public void teardown() {
      // Java 17's HttpClient has no close(); its selector thread ends once the client is garbage.
      sender = null;
    }

    @ProcessElement
    public void process(@Element Alert alert, OutputReceiver<DeadLetter> out) {
      if (alert.silenced()) {
        // Stored by the storage sinks; a notification is exactly what a silence suppresses.
        skippedSilenced.inc();
        return;
      }
      String json = alert.toJson();
      String error;
      try {
        error =
            sender.post(
                body(alert, json),
                Map.of(
                    "Idempotency-Key",
                    idempotencyKey(alert),
                    "X-Sluice-Notification",
                    alert.status() + " " + JsonSupport.formatInstant(alert.windowEnd())),
                spec.http().maxAttempts());
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
              STAGE, DeadLetter.Reason.SINK_REJECTED, error, json, source, Instant.now()));
    }

    private String body(Alert alert, String json) {
      switch (spec.format()) {
        case SLACK:
          return slackBody(alert);
        case ALERTMANAGER:
          return AlertmanagerJson.webhookMessage(mapper, alert);
        default:
          return json;
      }
    }

    /**
     * {@code <alert_id>:<status>:<window_end>}: the same for every retry and replay of one
     * notification, different for the FIRING, the RESOLVED and each re-notification (a later
     * window) of the same episode, so a receiver that de-duplicates on it drops only repeats.
     */
    static String idempotencyKey(Alert alert) {
      return alert.alertId()
          + ":"
          + alert.status()
          + ":"
          + JsonSupport.formatInstant(alert.windowEnd());
    }

    private String slackBody(Alert alert) {
      String text =
          alert.severity()
              + " "
              + alert.status()
              + " "
              + alert.ruleId()
              + " "
              + alert.key()
              + ": "
              + alert.message();
      // Slack reads <...> as links and mentions (<!channel>); its docs ask for these three escapes.
      text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
      try {
        return mapper.writeValueAsString(Map.of("text", text));
      } catch (JsonProcessingException e) {
        throw new IllegalStateException("a one-field string map is always serializable", e);
      }
    }
  }
}

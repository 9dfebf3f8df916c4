package dev.sluice.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sluice.io.HttpReceiver.Received;
import dev.sluice.model.Alert;
import dev.sluice.model.DeadLetter;
import dev.sluice.model.JsonSupport;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.testing.TestPipelineExtension;
import org.apache.beam.sdk.testing.TestStream;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.values.PCollection;
import org.joda.time.Duration;
import org.joda.time.Instant;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(TestPipelineExtension.class)
class AlertmanagerIOTest {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final Duration MINUTE = Duration.standardMinutes(1);

  private HttpReceiver alertmanager;

  @AfterEach
  void stopReceiver() {
    if (alertmanager != null) {
      alertmanager.close();
    }
  }

  // --- what is sent -----------------------------------------------------------------------------

  @Test
  void aFiringAlertIsPostedToTheAlertsApiAsAListOfOneEndingFourIntervalsAhead(TestPipeline pipeline)
      throws IOException {
    alertmanager = new HttpReceiver((attempt, exchange) -> 200);
    Alert firing = alert("a1", Alert.Status.FIRING, "2026-01-01T00:01:00Z", Map.of("team", "ops"));

    Instant before = Instant.now();
    PCollection<DeadLetter> deadLetters =
        pipeline
            .apply(Create.of(firing).withCoder(Alert.AlertCoder.of()))
            .apply(
                fast(alertmanager.url("/prefix/"))
                    .withHeader("Authorization", "Bearer s3cr3t")
                    .withGeneratorUrl("https://grafana.example.com/d/sensors"));
    PAssert.that(deadLetters).empty();
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();
    Instant after = Instant.now();

    assertThat(alertmanager.requests)
        .extracting(Received::method, Received::path, Received::contentType)
        .containsExactly(
            org.assertj.core.api.Assertions.tuple(
                "POST", "/prefix/api/v2/alerts", "application/json"));
    assertThat(alertmanager.requests.get(0).authorization()).isEqualTo("Bearer s3cr3t");
    JsonNode list = MAPPER.readTree(alertmanager.requests.get(0).body());
    assertThat(list.isArray()).isTrue();
    assertThat(list).hasSize(1);
    JsonNode sent = list.get(0);
    assertThat(fieldNames(sent))
        .containsExactlyInAnyOrder("labels", "annotations", "startsAt", "endsAt", "generatorURL");
    assertThat(sent.get("labels").toString())
        .isEqualTo(
            "{\"alertname\":\"hot\",\"key\":\"sensor-001\",\"metric\":\"temperature\","
                + "\"severity\":\"critical\",\"team\":\"ops\"}");
    assertThat(sent.get("annotations").toString())
        .isEqualTo(
            "{\"alert_id\":\"a1\",\"rule_version\":\"3\",\"summary\":\"too hot\","
                + "\"threshold\":\"40\",\"value\":\"42.5\","
                + "\"window_end\":\"2026-01-01T00:01:00.000Z\","
                + "\"window_start\":\"2026-01-01T00:00:00.000Z\"}");
    assertThat(sent.get("startsAt").asText()).isEqualTo("2026-01-01T00:00:00.000Z");
    Instant endsAt = JsonSupport.parseInstant(sent.get("endsAt").asText());
    assertThat(endsAt)
        .isBetween(before.plus(MINUTE.multipliedBy(4)), after.plus(MINUTE.multipliedBy(4)));
    assertThat(sent.get("generatorURL").asText())
        .isEqualTo("https://grafana.example.com/d/sensors");
    assertThat(counter(result, AlertmanagerIO.DELIVERED)).isEqualTo(1);
  }

  @Test
  void firingIsResentEveryIntervalWithTheLatestNotificationUntilResolvedThenStops(
      TestPipeline pipeline) throws IOException {
    alertmanager = new HttpReceiver((attempt, exchange) -> 200);
    Alert firing = alert("a1", Alert.Status.FIRING, "2026-01-01T00:01:00Z", Map.of());
    Alert renotified =
        Alert.fromJson(
            firing
                .toJson()
                .replace("\"value\":42.5", "\"value\":45.0")
                .replace("00:01:00.000Z\",\"message", "00:05:00.000Z\",\"message"));
    Alert resolved = alert("a1", Alert.Status.RESOLVED, "2026-01-01T00:09:00Z", Map.of());
    TestStream.Builder<Alert> events = TestStream.create(Alert.AlertCoder.of()).addElements(firing);
    events = oneInterval(events).addElements(renotified);
    events = oneInterval(events).addElements(resolved);
    TestStream<Alert> stream = oneInterval(oneInterval(events)).advanceWatermarkToInfinity();

    PCollection<DeadLetter> deadLetters = pipeline.apply(stream).apply(fast(alertmanager.url("")));
    PAssert.that(deadLetters).empty();
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    List<JsonNode> sent = sentAlerts();
    assertThat(sent)
        .extracting(a -> a.get("annotations").get("value").asText())
        .containsExactly("42.5", "42.5", "45", "45", "0");
    // One alert to Alertmanager: the same labels and start throughout.
    assertThat(sent).extracting(a -> a.get("labels")).containsOnly(sent.get(0).get("labels"));
    assertThat(sent)
        .extracting(a -> a.get("startsAt").asText())
        .containsOnly("2026-01-01T00:00:00.000Z");
    Instant now = Instant.now();
    for (JsonNode firingCopy : sent.subList(0, 4)) {
      assertThat(JsonSupport.parseInstant(firingCopy.get("endsAt").asText())).isGreaterThan(now);
    }
    assertThat(sent.get(4).get("endsAt").asText()).isEqualTo("2026-01-01T00:09:00.000Z");
    assertThat(counter(result, AlertmanagerIO.DELIVERED)).isEqualTo(3);
    assertThat(counter(result, AlertmanagerIO.RESENT)).isEqualTo(2);
  }

  @Test
  void silencedAlertsAreNotSentAndASilencedResolvedEndsTheResends(TestPipeline pipeline)
      throws IOException {
    alertmanager = new HttpReceiver((attempt, exchange) -> 200);
    Alert silencedEpisode =
        alert("quiet", Alert.Status.FIRING, "2026-01-01T00:01:00Z", Map.of()).withSilenced(true);
    Alert firing = alert("loud", Alert.Status.FIRING, "2026-01-01T00:01:00Z", Map.of());
    Alert silencedRenotification =
        Alert.fromJson(firing.toJson().replace("\"value\":42.5", "\"value\":50.0"))
            .withSilenced(true);
    Alert silencedResolved =
        alert("loud", Alert.Status.RESOLVED, "2026-01-01T00:09:00Z", Map.of()).withSilenced(true);
    TestStream.Builder<Alert> events =
        TestStream.create(Alert.AlertCoder.of()).addElements(silencedEpisode, firing);
    events = oneInterval(events).addElements(silencedRenotification);
    events = oneInterval(events).addElements(silencedResolved);
    TestStream<Alert> stream = oneInterval(oneInterval(events)).advanceWatermarkToInfinity();

    PCollection<DeadLetter> deadLetters = pipeline.apply(stream).apply(fast(alertmanager.url("")));
    PAssert.that(deadLetters).empty();
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    // The silenced episode never; the other: its FIRING and two re-sends of it (the silenced
    // re-notification is not sent, but the condition still holds), then nothing.
    assertThat(sentAlerts())
        .extracting(
            a -> a.get("annotations").get("alert_id").asText(),
            a -> a.get("annotations").get("value").asText())
        .containsExactly(
            org.assertj.core.api.Assertions.tuple("loud", "42.5"),
            org.assertj.core.api.Assertions.tuple("loud", "42.5"),
            org.assertj.core.api.Assertions.tuple("loud", "42.5"));
    assertThat(counter(result, AlertmanagerIO.SKIPPED_SILENCED)).isEqualTo(3);
    assertThat(counter(result, AlertmanagerIO.RESENT)).isEqualTo(2);
  }

  @Test
  void anUndeliverableAlertBecomesADeadLetterOfStageAlertmanager(TestPipeline pipeline)
      throws IOException {
    alertmanager = new HttpReceiver((attempt, exchange) -> 503);
    Alert firing = alert("a1", Alert.Status.FIRING, "2026-01-01T00:01:00Z", Map.of());

    PCollection<DeadLetter> deadLetters =
        pipeline
            .apply(Create.of(firing).withCoder(Alert.AlertCoder.of()))
            .apply(fast(alertmanager.url("")).withMaxAttempts(2));
    PAssert.that(deadLetters)
        .satisfies(
            letters -> {
              assertThat(letters)
                  .singleElement()
                  .satisfies(
                      l -> {
                        assertThat(l.stage()).isEqualTo("alertmanager");
                        assertThat(l.reason()).isEqualTo(DeadLetter.Reason.SINK_REJECTED);
                        assertThat(l.error()).contains("503").contains("2 attempts");
                        assertThat(l.payload()).isEqualTo(firing.toJson());
                        assertThat(l.source()).isEqualTo("alertmanager:127.0.0.1");
                      });
              return null;
            });
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    assertThat(alertmanager.requests).hasSize(2);
    assertThat(counter(result, AlertmanagerIO.REJECTED)).isEqualTo(1);
    assertThat(counter(result, AlertmanagerIO.RETRIES)).isEqualTo(1);
  }

  @Test
  void ruleLabelsBecomePrometheusLabelsAndCannotOverrideSluicesOwn() {
    Map<String, String> ruleLabels = new TreeMap<>();
    ruleLabels.put("team.name", "ops");
    ruleLabels.put("team_name", "also ops");
    ruleLabels.put("2fa", "on");
    ruleLabels.put("alertname", "renamed");
    ruleLabels.put("key", "other");
    AlertmanagerJson.Mapped mapped =
        AlertmanagerJson.map(
            alert("a1", Alert.Status.FIRING, "2026-01-01T00:01:00Z", ruleLabels)
                .withSilenced(false));

    assertThat(mapped.labels())
        .containsExactlyEntriesOf(
            new TreeMap<>(
                Map.of(
                    "_2fa", "on",
                    "alertname", "hot",
                    "key", "sensor-001",
                    "metric", "temperature",
                    "severity", "critical",
                    "team_name", "ops")));
    assertThat(mapped.annotations())
        .containsEntry("rule_label_alertname", "renamed")
        .containsEntry("rule_label_key", "other")
        .containsEntry("rule_label_team_name", "also ops");
    assertThat(AlertmanagerJson.labelName("a-b.c_9")).isEqualTo("a_b_c_9");
  }

  // --- construction -----------------------------------------------------------------------------

  @Test
  void theUrlIsABaseUrlToWhichTheApiPathIsAdded() {
    assertThat(AlertmanagerIO.endpoint("http://am.example.com:9093").toString())
        .isEqualTo("http://am.example.com:9093/api/v2/alerts");
    assertThat(AlertmanagerIO.endpoint("https://am.example.com/alertmanager/").toString())
        .isEqualTo("https://am.example.com/alertmanager/api/v2/alerts");
    assertThatThrownBy(() -> AlertmanagerIO.write().to("http://am.example.com/api/v2/alerts"))
        .hasMessage("url must be Alertmanager's base URL; the sink adds /api/v2/alerts itself");
    assertThatThrownBy(() -> AlertmanagerIO.write().to("http://am.example.com/?token=s3cr3t"))
        .hasMessageContaining("without query or fragment")
        .hasMessageNotContaining("s3cr3t");
    assertThatThrownBy(() -> AlertmanagerIO.write().to("ftp://am.example.com"))
        .hasMessageContaining("url scheme must be http or https");
  }

  @Test
  void aPrivateAddressIsRefusedUnlessAllowed() {
    Pipeline pipeline = Pipeline.create(PipelineOptionsFactory.create());
    PCollection<Alert> alerts =
        pipeline.apply(
            Create.of(alert("a1", Alert.Status.FIRING, "2026-01-01T00:01:00Z", Map.of()))
                .withCoder(Alert.AlertCoder.of()));

    assertThatThrownBy(() -> alerts.apply(AlertmanagerIO.write().to("http://10.0.0.5:9093")))
        .hasMessage(
            "url host 10.0.0.5 is a private (site-local) address; Alertmanager requests to it are"
                + " refused unless withAllowPrivateAddresses(true)");
    alerts.apply(
        "Allowed",
        AlertmanagerIO.write().to("http://10.0.0.5:9093").withAllowPrivateAddresses(true));
    assertThatThrownBy(() -> alerts.apply("NoUrl", AlertmanagerIO.write()))
        .hasMessage("url must be set with to(url) or toUrlFromEnv(name)");
    assertThatThrownBy(() -> AlertmanagerIO.checkUrl("http://127.0.0.1:9093", false))
        .hasMessageContaining("loopback");
  }

  @Test
  void settingsAreCheckedNamingTheArgument() {
    assertThatThrownBy(() -> AlertmanagerIO.write().withResendInterval(Duration.ZERO))
        .hasMessage("resendInterval must be a positive duration, got PT0S");
    assertThatThrownBy(() -> AlertmanagerIO.write().withGeneratorUrl("javascript:alert(1)"))
        .hasMessage(
            "generatorUrl must be an absolute http or https URL, got 'javascript:alert(1)'");
    assertThatThrownBy(() -> AlertmanagerIO.write().withMaxAttempts(0))
        .hasMessage("maxAttempts must be between 1 and 20, got 0");
    assertThatThrownBy(() -> AlertmanagerIO.write().withHeader("Content-Type", "text/plain"))
        .hasMessage(
            "header 'Content-Type' is set by the Alertmanager sink or the HTTP client and cannot be"
                + " set");
  }

  @Test
  void displayDataShowsSettingsAndHeaderNamesButNoHeaderValues() {
    AlertmanagerIO.Write transform =
        AlertmanagerIO.write()
            .to("http://am.example.com:9093")
            .withHeader("Authorization", "Bearer s3cr3t-value")
            .withResendInterval(Duration.standardSeconds(30));

    DisplayData displayData = DisplayData.from(transform);

    assertThat(displayData.items())
        .anySatisfy(
            item -> {
              assertThat(item.getKey()).isEqualTo("resendInterval");
              assertThat(item.getValue()).isEqualTo(Duration.standardSeconds(30).getMillis());
            })
        .anySatisfy(
            item -> {
              assertThat(item.getKey()).isEqualTo("url");
              assertThat(item.getValue()).isEqualTo("http://am.example.com:9093");
            })
        .anySatisfy(
            item -> {
              assertThat(item.getKey()).isEqualTo("headers");
              assertThat(item.getValue()).isEqualTo("Authorization");
            });
    assertThat(displayData.toString()).doesNotContain("s3cr3t-value");
    assertThat(transform.toString()).doesNotContain("s3cr3t-value");
  }

  // --- helpers ----------------------------------------------------------------------------------

  /** A loopback receiver, quick retries: the settings of most tests here. */
  private static AlertmanagerIO.Write fast(String url) {
    return AlertmanagerIO.write()
        .to(url)
        .withAllowPrivateAddresses(true)
        .withInitialBackoff(Duration.millis(10))
        .withMaxBackoff(Duration.millis(50))
        .withConnectTimeout(Duration.standardSeconds(2))
        .withReadTimeout(Duration.standardSeconds(2));
  }

  /** Processing time passes by one resend interval, and the timers it is due for fire. */
  private static TestStream.Builder<Alert> oneInterval(TestStream.Builder<Alert> events) {
    // The Direct runner delivers the timers an advance of processing time fires along with the
    // next TestStream event; a 1 ms step makes them fire before whatever comes next.
    return events.advanceProcessingTime(MINUTE).advanceProcessingTime(Duration.millis(1));
  }

  /** Every alert Alertmanager was sent, in the order of the requests. */
  private List<JsonNode> sentAlerts() {
    List<JsonNode> alerts = new ArrayList<>();
    for (Received request : alertmanager.requests) {
      try {
        MAPPER.readTree(request.body()).forEach(alerts::add);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return alerts;
  }

  private static Alert alert(
      String alertId, Alert.Status status, String windowEnd, Map<String, String> labels) {
    return new Alert(
        alertId,
        "hot",
        3,
        "sensor-001",
        "temperature",
        status,
        Alert.Severity.CRITICAL,
        status == Alert.Status.FIRING ? 42.5 : 0,
        40.0,
        JsonSupport.parseInstant("2026-01-01T00:00:00Z"),
        JsonSupport.parseInstant(windowEnd),
        status == Alert.Status.FIRING ? "too hot" : "cool again",
        JsonSupport.parseInstant(windowEnd).plus(Duration.millis(500)),
        new TreeMap<>(labels));
  }

  private static List<String> fieldNames(JsonNode node) {
    List<String> names = new ArrayList<>();
    node.fieldNames().forEachRemaining(names::add);
    return names;
  }

  private static long counter(PipelineResult result, String name) {
    return dev.sluice.testing.Counters.attempted(result, AlertmanagerIO.METRICS_NAMESPACE, name);
  }
}

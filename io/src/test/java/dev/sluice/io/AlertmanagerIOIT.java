package dev.sluice.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.model.Alert;
import dev.sluice.model.DeadLetter;
import dev.sluice.model.JsonSupport;
import dev.sluice.testing.Counters;
import dev.sluice.testing.RunnerPipelines;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.beam.runners.direct.DirectOptions;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.io.GenerateSequence;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.PCollection;
import org.joda.time.Instant;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link AlertmanagerIO} against a real Prometheus Alertmanager 0.25 ({@link AlertmanagerServer}),
 * from a running, unbounded pipeline on the Direct runner and on embedded Flink, so that re-sends
 * happen in real time. Each runner's alerts have a rule (alertname) of their own.
 */
class AlertmanagerIOIT {
  @RegisterExtension static final AlertmanagerServer alertmanager = new AlertmanagerServer();

  /** What the running pipeline sends next: the test adds, the pipeline drains (one JVM). */
  private static final Queue<Alert> FEED = new ConcurrentLinkedQueue<>();

  private static final List<DeadLetter> DEAD_LETTERS = new CopyOnWriteArrayList<>();

  private static final Duration WAIT = Duration.ofSeconds(20);

  @ParameterizedTest
  @ValueSource(strings = {"direct", "flink"})
  void alertsArriveGroupedStayActiveWhileResentThenResolveAndSilencedOnesNeverArrive(String runner)
      throws IOException {
    FEED.clear();
    DEAD_LETTERS.clear();
    String rule = "hot-" + runner;
    Pipeline pipeline;
    if (runner.equals("direct")) {
      pipeline = Pipeline.create();
      pipeline.getOptions().as(DirectOptions.class).setBlockOnRun(false);
    } else {
      // Detached: run() returns at once with a result that can cancel the job.
      pipeline =
          Pipeline.create(RunnerPipelines.embeddedFlinkOptions(true, "--attachedMode=false"));
    }
    PCollection<DeadLetter> undelivered =
        pipeline
            // Unbounded ticks keep the pipeline, and so its re-send timers, running.
            .apply(
                "Ticks", GenerateSequence.from(0).withRate(10, org.joda.time.Duration.millis(1000)))
            .apply("Feed", ParDo.of(new FeedFn()))
            .setCoder(Alert.AlertCoder.of())
            .apply(
                "NotifyAlertmanager",
                AlertmanagerIO.write()
                    .to(alertmanager.url())
                    .withAllowPrivateAddresses(true)
                    .withResendInterval(org.joda.time.Duration.standardSeconds(1)));
    undelivered.apply("KeepDeadLetters", ParDo.of(new KeepFn()));
    PipelineResult result = pipeline.run();
    try {
      Instant episodeStart = secondsAgo(60);
      FEED.addAll(
          List.of(
              alert(rule, "sensor-1", Alert.Status.FIRING, episodeStart, false),
              alert(rule, "sensor-2", Alert.Status.FIRING, episodeStart, false),
              alert(rule, "sensor-3", Alert.Status.FIRING, episodeStart, true)));

      // Arrived, with their labels and annotations, as active alerts.
      await("both alerts active in Alertmanager")
          .atMost(WAIT)
          .untilAsserted(
              () ->
                  assertThat(keys(active(rule))).containsExactlyInAnyOrder("sensor-1", "sensor-2"));
      JsonNode one = byKey(active(rule), "sensor-1");
      assertThat(one.get("labels").toString())
          .isEqualTo(
              "{\"alertname\":\""
                  + rule
                  + "\",\"key\":\"sensor-1\",\"metric\":\"temperature\","
                  + "\"severity\":\"critical\",\"team\":\"ops\"}");
      assertThat(one.get("annotations").get("summary").asText()).isEqualTo("sensor-1 too hot");
      assertThat(one.get("annotations").get("alert_id").asText())
          .isEqualTo("id-" + rule + "-sensor-1");
      assertThat(one.get("status").get("state").asText()).isEqualTo("active");
      assertThat(JsonSupport.parseInstant(one.get("startsAt").asText())).isEqualTo(episodeStart);

      // Grouped: two keys of one rule, one group, one notification with both.
      String groupLabels = "{\"alertname\":\"" + rule + "\"}";
      List<JsonNode> groups = new ArrayList<>();
      for (JsonNode group : alertmanager.get("/api/v2/alerts/groups")) {
        if (group.get("labels").toString().equals(groupLabels)) {
          groups.add(group);
        }
      }
      assertThat(groups).hasSize(1);
      assertThat(keys(groups.get(0).get("alerts")))
          .containsExactlyInAnyOrder("sensor-1", "sensor-2");
      await("a grouped notification of both alerts")
          .atMost(WAIT)
          .until(
              () ->
                  alertmanager.notifications().stream()
                      .anyMatch(
                          n ->
                              n.get("status").asText().equals("firing")
                                  && n.get("groupLabels").toString().equals(groupLabels)
                                  && n.get("alerts").size() == 2));

      // Re-sends keep them active past the endsAt each copy carries (now + 4 x 1 s).
      Instant firstEndsAt = JsonSupport.parseInstant(one.get("endsAt").asText());
      assertThat(firstEndsAt)
          .isLessThan(Instant.now().plus(org.joda.time.Duration.standardSeconds(6)));
      await("wall-clock time past the first endsAt")
          .atMost(WAIT)
          .until(
              () ->
                  Instant.now()
                      .isAfter(firstEndsAt.plus(org.joda.time.Duration.standardSeconds(2))));
      JsonNode stillActive = active(rule);
      assertThat(keys(stillActive)).containsExactlyInAnyOrder("sensor-1", "sensor-2");
      for (JsonNode alert : stillActive) {
        assertThat(alert.get("status").get("state").asText()).isEqualTo("active");
        assertThat(JsonSupport.parseInstant(alert.get("endsAt").asText()))
            .isGreaterThan(Instant.now());
      }

      // The silenced alert never arrived.
      assertThat(alertmanager.notifications().toString()).doesNotContain(rule + "-sensor-3");

      // Resolved: gone from the active alerts, and notified as resolved at the RESOLVED's time.
      Instant resolvedAt = secondsAgo(1);
      FEED.addAll(
          List.of(
              alert(rule, "sensor-1", Alert.Status.RESOLVED, resolvedAt, false),
              alert(rule, "sensor-2", Alert.Status.RESOLVED, resolvedAt, false),
              alert(rule, "sensor-3", Alert.Status.RESOLVED, resolvedAt, true)));
      // GET /api/v2/alerts lists no alert whose endsAt has passed, whatever its filters.
      await("no active alert left")
          .atMost(WAIT)
          .untilAsserted(() -> assertThat(active(rule)).isEmpty());
      await("a resolved notification of both alerts")
          .atMost(WAIT)
          .untilAsserted(
              () -> {
                JsonNode resolved = lastNotification(groupLabels, "resolved");
                assertThat(resolved).isNotNull();
                assertThat(keys(resolved.get("alerts")))
                    .containsExactlyInAnyOrder("sensor-1", "sensor-2");
                for (JsonNode alert : resolved.get("alerts")) {
                  assertThat(JsonSupport.parseInstant(alert.get("endsAt").asText()))
                      .isEqualTo(resolvedAt);
                  assertThat(JsonSupport.parseInstant(alert.get("startsAt").asText()))
                      .isEqualTo(episodeStart);
                }
              });
      assertThat(alertmanager.notifications().toString()).doesNotContain(rule + "-sensor-3");
      assertThat(DEAD_LETTERS).isEmpty();
    } finally {
      result.cancel();
    }
    if (!runner.equals("direct")) {
      return; // a detached Flink job reports no metrics to its client
    }
    String ns = AlertmanagerIO.METRICS_NAMESPACE;
    assertThat(Counters.attempted(result, ns, AlertmanagerIO.DELIVERED)).isEqualTo(4);
    assertThat(Counters.attempted(result, ns, AlertmanagerIO.RESENT)).isGreaterThanOrEqualTo(4);
    assertThat(Counters.attempted(result, ns, AlertmanagerIO.SKIPPED_SILENCED)).isEqualTo(2);
  }

  private static Instant secondsAgo(int seconds) {
    long now = System.currentTimeMillis() / 1000 * 1000;
    return new Instant(now - seconds * 1000L);
  }

  private static Alert alert(
      String rule, String key, Alert.Status status, Instant at, boolean silenced) {
    boolean firing = status == Alert.Status.FIRING;
    return new Alert(
        "id-" + rule + "-" + key,
        rule,
        1,
        key,
        "temperature",
        status,
        Alert.Severity.CRITICAL,
        firing ? 42.5 : 20.0,
        40.0,
        firing ? at : at.minus(org.joda.time.Duration.standardMinutes(1)),
        firing ? at.plus(org.joda.time.Duration.standardMinutes(1)) : at,
        key + (firing ? " too hot" : " cool again"),
        Instant.now(),
        new TreeMap<>(Map.of("team", "ops")),
        silenced);
  }

  /** The active alerts of {@code rule} (its alertname). */
  private static JsonNode active(String rule) throws IOException {
    com.fasterxml.jackson.databind.node.ArrayNode mine =
        new com.fasterxml.jackson.databind.ObjectMapper().createArrayNode();
    for (JsonNode alert : alertmanager.get("/api/v2/alerts")) {
      if (alert.get("labels").get("alertname").asText().equals(rule)) {
        mine.add(alert);
      }
    }
    return mine;
  }

  private static List<String> keys(JsonNode alerts) {
    List<String> keys = new ArrayList<>();
    alerts.forEach(a -> keys.add(a.get("labels").get("key").asText()));
    return keys;
  }

  private static JsonNode byKey(JsonNode alerts, String key) {
    for (JsonNode alert : alerts) {
      if (alert.get("labels").get("key").asText().equals(key)) {
        return alert;
      }
    }
    throw new AssertionError("no alert with key " + key + " in " + alerts);
  }

  private static JsonNode lastNotification(String groupLabels, String status) {
    JsonNode last = null;
    for (JsonNode n : alertmanager.notifications()) {
      if (n.get("status").asText().equals(status)
          && n.get("groupLabels").toString().equals(groupLabels)) {
        last = n;
      }
    }
    return last;
  }

  /** Emits what the test has queued, on every tick. */
  private static final class FeedFn extends DoFn<Long, Alert> {
    @ProcessElement
    public void process(OutputReceiver<Alert> out) {
      for (Alert alert = FEED.poll(); alert != null; alert = FEED.poll()) {
        out.output(alert);
      }
    }
  }

  private static final class KeepFn extends DoFn<DeadLetter, Void> {
    @ProcessElement
    public void process(@Element DeadLetter letter) {
      DEAD_LETTERS.add(letter);
    }
  }
}

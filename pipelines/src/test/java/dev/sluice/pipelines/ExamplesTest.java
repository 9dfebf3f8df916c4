package dev.sluice.pipelines;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.model.Alert;
import dev.sluice.model.DeadLetter;
import dev.sluice.pipelines.spec.PipelineSpec;
import dev.sluice.pipelines.spec.SpecReader;
import dev.sluice.testing.OutputFiles;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The three example specs of {@code examples/}, end to end on the Direct runner: the alerts their
 * data was made to trigger (see {@code examples/data/generate.py}) and every bad line as a dead
 * letter with its file and line. Output paths are moved into a temporary directory.
 */
class ExamplesTest {
  private static final Path EXAMPLES = Path.of("..", "examples").toAbsolutePath().normalize();

  private static PipelineSpec example(String name, Path out) throws Exception {
    String text = Files.readString(EXAMPLES.resolve(name + ".yaml"));
    text =
        text.replace("examples/data/", EXAMPLES.resolve("data") + "/")
            .replace("output/", out + "/");
    return SpecReader.parse(name + ".yaml", text);
  }

  private static String run(PipelineSpec spec) {
    ByteArrayOutputStream printed = new ByteArrayOutputStream();
    PipelineResult.State state =
        SpecJob.run(
            spec,
            PipelineOptionsFactory.fromArgs("--runner=DirectRunner").create(),
            new PrintStream(printed, true, StandardCharsets.UTF_8));
    assertThat(state).isEqualTo(PipelineResult.State.DONE);
    return printed.toString(StandardCharsets.UTF_8);
  }

  private static List<String> alerts(Path dir) throws Exception {
    List<String> alerts = new ArrayList<>();
    for (String line : OutputFiles.jsonLines(dir, "alerts")) {
      Alert a = Alert.fromJson(line);
      alerts.add(a.ruleId() + " " + a.key() + " " + a.status() + " " + a.windowStart());
    }
    return alerts;
  }

  private static List<String> deadLetters(Path dir) throws Exception {
    List<String> letters = new ArrayList<>();
    for (String line : OutputFiles.jsonLines(dir, "deadletters")) {
      DeadLetter d = DeadLetter.fromJson(line);
      letters.add(d.reason() + " " + Path.of(d.source()).getFileName());
    }
    return letters;
  }

  @Test
  void iotSensorsHotAndHumidEpisodesADeadSensorAndEveryBadLine(@TempDir Path out) throws Exception {
    String printed = run(example("iot", out));
    Path dir = out.resolve("iot-sensors");
    assertThat(alerts(dir))
        .containsExactlyInAnyOrder(
            // above the default limit of 50 (sensors.csv says 50 for sensor-03 too)
            "temperature-high plant-a/sensor-03 FIRING 2026-01-01T00:10:00.000Z",
            "temperature-high plant-a/sensor-03 RESOLVED 2026-01-01T00:13:00.000Z",
            // above sensor-04's own limit of 26 (sensors.csv), far below the default
            "temperature-high plant-b/sensor-04 FIRING 2026-01-01T00:22:00.000Z",
            "temperature-high plant-b/sensor-04 RESOLVED 2026-01-01T00:25:00.000Z",
            "humidity-high plant-a/sensor-02 FIRING 2026-01-01T00:15:00.000Z",
            // resolve_after: 2 clear windows (00:17 and 00:18)
            "humidity-high plant-a/sensor-02 RESOLVED 2026-01-01T00:18:00.000Z",
            // silent from 00:20; the deadline of 5 minutes passes at 00:25
            "dead-sensor plant-b/sensor-05 FIRING 2026-01-01T00:20:00.000Z");
    List<String> thresholds = new ArrayList<>();
    for (String line : OutputFiles.jsonLines(dir, "alerts")) {
      Alert a = Alert.fromJson(line);
      if (a.ruleId().equals("temperature-high") && a.status() == Alert.Status.FIRING) {
        thresholds.add(a.key() + " " + a.threshold());
      }
    }
    assertThat(thresholds)
        .containsExactlyInAnyOrder("plant-a/sensor-03 50.0", "plant-b/sensor-04 26.0");
    assertThat(deadLetters(dir))
        .containsExactlyInAnyOrder(
            "MALFORMED_JSON readings-1.jsonl:101",
            "BAD_TYPE readings-2.jsonl:188",
            "MALFORMED_JSON readings-2.jsonl:513",
            // no device: the key expression cannot be evaluated
            "EXPRESSION_ERROR readings-2.jsonl:514");
    // The lab rig's 180 readings and 3 glitches are dropped by the filter, not dead letters.
    assertThat(printed).containsPattern("\\| filtered out +\\| +183 \\|");
    List<String> stats = OutputFiles.jsonLines(dir, "stats");
    // 30 minutes x 5 sensors x 3 metrics, less sensor-05's last 10 minutes.
    assertThat(stats).hasSize(30 * 5 * 3 - 10 * 3);
    assertThat(windows(stats)).isEqualTo(IndependentIot.windows(EXAMPLES.resolve("data/iot")));
    assertThat(printed).contains("embedded PostgreSQL at jdbc:postgresql://localhost:");
    // The embedded store holds the same rows (started again on its data directory).
    try (dev.sluice.local.EmbeddedPostgresStore store =
            dev.sluice.local.EmbeddedPostgresStore.start(dir.resolve("postgres"));
        Connection c = store.connect();
        Statement s = c.createStatement();
        ResultSet r =
            s.executeQuery(
                "SELECT (SELECT count(*) FROM sluice.window_stats),"
                    + " (SELECT count(*) FROM sluice.alerts),"
                    + " (SELECT count(*) FROM sluice.dead_letters)")) {
      r.next();
      assertThat(List.of(r.getLong(1), r.getLong(2), r.getLong(3)))
          .containsExactly((long) stats.size(), 7L, 4L);
    }
  }

  /** Stats rows as {@code key metric window_start count min max sum}, sorted. */
  static java.util.SortedSet<String> windows(List<String> stats) {
    java.util.SortedSet<String> rows = new java.util.TreeSet<>();
    for (String line : stats) {
      dev.sluice.model.WindowStats w = dev.sluice.model.WindowStats.fromJson(line);
      rows.add(
          IndependentIot.row(
              w.key(),
              w.metric(),
              w.windowStart().toString(),
              w.count(),
              w.min(),
              w.max(),
              w.sum()));
    }
    return rows;
  }

  @Test
  void paymentsOneCardsBurstTripsVelocityAndAnomalyRules(@TempDir Path out) throws Exception {
    run(example("payments", out));
    Path dir = out.resolve("payments");
    List<String> expected = new ArrayList<>();
    for (String rule : List.of("card-velocity-count", "card-velocity-sum", "amount-anomaly")) {
      expected.add(rule + " card-007 FIRING 2026-01-01T00:12:00.000Z");
      expected.add(rule + " card-007 RESOLVED 2026-01-01T00:13:00.000Z");
    }
    assertThat(alerts(dir)).containsExactlyInAnyOrderElementsOf(expected);
    assertThat(deadLetters(dir))
        .containsExactlyInAnyOrder(
            "MALFORMED_CSV transactions.csv:1234",
            "MALFORMED_CSV transactions.csv:1235",
            "BAD_TYPE transactions.csv:1236");
  }

  @Test
  void serviceLatencySearchBreaksTheP99SloInSlidingWindows(@TempDir Path out) throws Exception {
    run(example("latency", out));
    Path dir = out.resolve("service-latency");
    assertThat(alerts(dir))
        .containsExactlyInAnyOrder(
            "latency-slo /api/search FIRING 2026-01-01T00:04:00.000Z",
            "latency-slo /api/search RESOLVED 2026-01-01T00:10:00.000Z",
            "latency-p95-warning /api/search FIRING 2026-01-01T00:05:00.000Z",
            "latency-p95-warning /api/search RESOLVED 2026-01-01T00:09:00.000Z");
    assertThat(deadLetters(dir)).containsExactly("NON_FINITE_VALUE requests.jsonl:51");
    // 5-minute windows every minute over 20 minutes: 24 windows per endpoint, 3 endpoints.
    assertThat(OutputFiles.jsonLines(dir, "stats")).hasSize(24 * 3);
  }

  @Test
  void aSpecWithoutRulesWritesStatsOnly(@TempDir Path out) throws Exception {
    String spec =
        String.join(
            "\n",
            "name: stats-only",
            "source: {type: file, path: " + EXAMPLES.resolve("data/latency/requests.jsonl") + "}",
            "parse: {event_id: request_id, key: endpoint, event_time: ts,"
                + " values: {latency_ms: latency_ms}}",
            "windows: [{type: tumbling, size: 1m}]",
            "sinks:",
            "  stats: [{type: jsonl, path: " + out.resolve("stats") + "}]",
            "");
    run(SpecReader.parse("stats-only.yaml", spec));
    // 20 minutes x 3 endpoints.
    assertThat(OutputFiles.jsonLines(out, "stats")).hasSize(20 * 3);
  }
}

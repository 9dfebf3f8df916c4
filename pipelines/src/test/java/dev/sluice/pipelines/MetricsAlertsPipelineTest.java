package dev.sluice.pipelines;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.model.Alert;
import dev.sluice.model.DeadLetter;
import dev.sluice.model.DeadLetter.Reason;
import dev.sluice.model.JsonSupport;
import dev.sluice.model.ModelFixtures;
import dev.sluice.model.RawPayload;
import dev.sluice.model.WindowStats;
import dev.sluice.pipelines.spec.SpecPipeline;
import dev.sluice.testing.OutputFiles;
import dev.sluice.transforms.ComputeMetricsAndAlerts;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.testing.TestPipelineExtension;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TypeDescriptor;
import org.joda.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

@ExtendWith(TestPipelineExtension.class)
class MetricsAlertsPipelineTest {
  private static final Instant T0 = ModelFixtures.T0;

  private static String event(String id, String key, String metric, double value, int second) {
    return String.format(
        java.util.Locale.ROOT,
        "{\"event_id\":\"%s\",\"key\":\"%s\",\"metric\":\"%s\",\"value\":%s,\"event_time\":\"%s\"}",
        id,
        key,
        metric,
        value,
        JsonSupport.formatInstant(T0.plus(second * 1000L)));
  }

  private static MetricsAlertsPipeline.Options options(String... args) {
    PipelineOptionsFactory.register(MetricsAlertsPipeline.Options.class);
    return PipelineOptionsFactory.fromArgs(args).as(MetricsAlertsPipeline.Options.class);
  }

  @Test
  void handMadeInputGivesExactStatsOneAlertEpisodeAndADeadLetterPerMalformedPayload(
      TestPipeline pipeline) {
    Map<String, Reason> malformed = new HashMap<>();
    malformed.put("{\"event_id\":\"x1\",\"key\":", Reason.MALFORMED_JSON);
    malformed.put(
        "{\"event_id\":\"x2\",\"metric\":\"temperature\",\"value\":1,"
            + "\"event_time\":\"2026-01-01T00:00:01Z\"}",
        Reason.MISSING_FIELD);
    malformed.put(
        event("x3", "s1", "temperature", 1, 1).replace(":1.0,", ":\"hot\","), Reason.BAD_TYPE);
    malformed.put(
        event("x4", "s1", "temperature", 1, 1).replace(":1.0,", ":NaN,"), Reason.NON_FINITE_VALUE);
    malformed.put(
        event("x5", "s1", "temperature", 1, 1)
            .replace("2026-01-01T00:00:01.000Z", "1970-01-01T00:00:00Z"),
        Reason.TIMESTAMP_OUT_OF_RANGE);

    List<String> payloads = new ArrayList<>(malformed.keySet());
    payloads.addAll(
        List.of(
            event("e1", "s1", "temperature", 10, 5),
            event("e2", "s1", "temperature", 20, 30),
            event("e3", "s1", "temperature", 60, 59),
            event("e4", "s1", "temperature", 55, 61),
            event("e5", "s1", "temperature", 65, 119),
            event("e6", "s1", "humidity", 40, 10),
            event("e7", "s2", "temperature", 49, 70),
            event("e8", "s1", "temperature", 40, 130)));

    // The main job's processing: its bundled spec's ComputeMetricsAndAlerts.
    ComputeMetricsAndAlerts.Result outputs =
        pipeline
            .apply("Payloads", Create.of(payloads))
            .apply(
                "ToRawPayload",
                MapElements.into(TypeDescriptor.of(RawPayload.class))
                    .via(text -> new RawPayload(text.getBytes(StandardCharsets.UTF_8), null)))
            .apply(
                SpecPipeline.PROCESS_STEP,
                SpecPipeline.processing(
                    MetricsAlertsPipeline.spec(options("--temperatureThreshold=50"))));

    // Windows this small keep every value, so the quantiles are exact order statistics.
    PAssert.that(outputs.stats().get(0))
        .containsInAnyOrder(
            ModelFixtures.withQuantiles(
                ModelFixtures.onTimeMinute(
                    "s1", "temperature", 0, 3, 90.0, 10.0, 60.0, Math.sqrt(1400.0 / 3)),
                20.0,
                60.0,
                60.0),
            ModelFixtures.withQuantiles(
                ModelFixtures.onTimeMinute("s1", "temperature", 1, 2, 120.0, 55.0, 65.0, 5.0),
                55.0,
                65.0,
                65.0),
            ModelFixtures.withQuantiles(
                ModelFixtures.onTimeMinute("s1", "humidity", 0, 1, 40.0, 40.0, 40.0, 0.0),
                40.0,
                40.0,
                40.0),
            ModelFixtures.withQuantiles(
                ModelFixtures.onTimeMinute("s2", "temperature", 1, 1, 49.0, 49.0, 49.0, 0.0),
                49.0,
                49.0,
                49.0),
            ModelFixtures.withQuantiles(
                ModelFixtures.onTimeMinute("s1", "temperature", 2, 1, 40.0, 40.0, 40.0, 0.0),
                40.0,
                40.0,
                40.0));

    // emitted_at is the processing time; everything else is determined by the input.
    PCollection<Alert> alerts =
        outputs
            .alerts()
            .apply(
                "NoEmittedAt",
                MapElements.into(TypeDescriptor.of(Alert.class)).via(a -> a.withEmittedAt(T0)));
    PAssert.that(alerts)
        .containsInAnyOrder(
            new Alert(
                Alert.fingerprint("temperature-high", "s1", "temperature", T0.plus(60_000)),
                "temperature-high",
                1,
                "s1",
                "temperature",
                Alert.Status.FIRING,
                Alert.Severity.CRITICAL,
                60.0,
                50.0,
                T0.plus(60_000),
                T0.plus(120_000),
                "FIRING: mean temperature of s1 is 60 in "
                    + "[2026-01-01T00:01:00.000Z, 2026-01-01T00:02:00.000Z), threshold 50",
                T0),
            // The next window is back at or below the threshold: the episode resolves, same id.
            new Alert(
                Alert.fingerprint("temperature-high", "s1", "temperature", T0.plus(60_000)),
                "temperature-high",
                1,
                "s1",
                "temperature",
                Alert.Status.RESOLVED,
                Alert.Severity.CRITICAL,
                40.0,
                50.0,
                T0.plus(120_000),
                T0.plus(180_000),
                "RESOLVED: mean temperature of s1 is 40 in "
                    + "[2026-01-01T00:02:00.000Z, 2026-01-01T00:03:00.000Z), threshold 50",
                T0));

    PAssert.that(outputs.deadLetters())
        .satisfies(
            letters -> {
              Map<String, Reason> actual = new HashMap<>();
              for (DeadLetter letter : letters) {
                actual.put(letter.payload(), letter.reason());
                assertThat(letter.error()).isNotBlank();
              }
              assertThat(actual).isEqualTo(malformed);
              return null;
            });
    pipeline.run().waitUntilFinish();
  }

  @Test
  void theWholeJobWritesContractJsonLinesAndLosesNothing(TestPipeline pipeline, @TempDir Path dir)
      throws Exception {
    int numEvents = 5_000;
    MetricsAlertsPipeline.Options options =
        options(
            "--numEvents=" + numEvents,
            "--numKeys=10",
            "--spikeKeys=sensor-007",
            "--malformedFraction=0.02",
            "--outputDir=" + dir);
    ByteArrayOutputStream printed = new ByteArrayOutputStream();
    List<String> stored;
    // By default the job also stores everything in an embedded PostgreSQL under the output dir.
    try (MetricsAlertsPipeline.Job job = MetricsAlertsPipeline.launch(pipeline, options)) {
      PipelineResult.State state =
          SpecJob.runBuilt(
              job.spec(),
              pipeline,
              job.servers(),
              new PrintStream(printed, true, StandardCharsets.UTF_8),
              org.joda.time.Duration.standardSeconds(2));
      assertThat(state).isEqualTo(PipelineResult.State.DONE);
      assertThat(job.servers().embedded()).hasSize(1);
      assertThat(job.servers().embedded().get(0).dataDirectory())
          .isEqualTo(dir.resolve("postgres"));
      stored = query(job.servers().embedded().get(0));
    }
    assertThat(Files.exists(dir.resolve("postgres").resolve("PG_VERSION"))).isTrue();

    List<String> stats = OutputFiles.jsonLines(dir, "stats");
    List<String> alerts = OutputFiles.jsonLines(dir, "alerts");
    List<String> deadLetters = OutputFiles.jsonLines(dir, "deadletters");
    assertThat(stats).isNotEmpty();
    assertThat(alerts).isNotEmpty();
    assertThat(deadLetters).isNotEmpty();

    long counted = 0;
    for (String line : stats) {
      assertThat(ModelFixtures.fieldNames(line))
          .containsExactlyElementsOf(ModelFixtures.windowStatsFieldsWithout("distinct"));
      counted += WindowStats.fromJson(line).count();
    }
    // Every generated payload is either counted in a window or a dead letter.
    assertThat(counted + deadLetters.size()).isEqualTo(numEvents);
    for (String line : alerts) {
      Alert alert = Alert.fromJson(line);
      // The synthetic spikes of sensor-007 push its mean temperature above the threshold.
      assertThat(alert.key()).isEqualTo("sensor-007");
      assertThat(alert.value()).isGreaterThan(50.0);
    }
    for (String line : deadLetters) {
      DeadLetter letter = DeadLetter.fromJson(line);
      assertThat(letter.stage()).isEqualTo("parse");
      assertThat(letter.payload()).isNotEmpty();
    }

    // The same stats, alerts and dead letters are in PostgreSQL, one row each.
    assertThat(stored)
        .containsExactly(
            "window_stats " + stats.size(),
            "alerts " + alerts.size(),
            "dead_letters " + deadLetters.size(),
            "sum(count) " + counted);

    // The summary table reports what the files hold.
    String summary = printed.toString(StandardCharsets.UTF_8);
    assertThat(summary)
        .contains("| pipeline state                 |            DONE |")
        .contains(String.format("| events read                    | %15s |", "5,000"))
        .contains(
            String.format(
                "| windows emitted (stats rows)   | %15s |", String.format("%,d", stats.size())))
        .contains(
            String.format(
                "| alerts                         | %15s |", String.format("%,d", alerts.size())))
        .contains(
            String.format(
                "| dead letters                   | %15s |",
                String.format("%,d", deadLetters.size())))
        .contains(String.format("stats*.jsonl: %,d lines in ", stats.size()));
  }

  @Test
  void invalidOptionsFailBeforeAnythingRunsNamingTheOptionAndValue() {
    assertThatThrownBy(() -> MetricsAlertsPipeline.spec(options("--numEvents=0")))
        .hasMessage(
            "--numEvents: main-job.yaml:5: source.events: must be a whole number from 1 to"
                + " 9223372036854775807, got 0");
    assertThatThrownBy(() -> MetricsAlertsPipeline.spec(options("--windowSeconds=-60")))
        .hasMessage("--windowSeconds must be between 1 and 316224000, got -60");
    assertThatThrownBy(() -> MetricsAlertsPipeline.spec(options("--durationSeconds=60")))
        .hasMessage(
            "--durationSeconds applies only with --unbounded=true, got 60 with a bounded source");
    assertThatThrownBy(
            () -> MetricsAlertsPipeline.spec(options("--unbounded=true", "--numEvents=10")))
        .hasMessageStartingWith("--numEvents applies to a bounded source");
    assertThatThrownBy(() -> MetricsAlertsPipeline.spec(options("--malformedFraction=1.5")))
        .hasMessageStartingWith("--malformedFraction: main-job.yaml:")
        .hasMessageEndingWith(
            "source.malformed_fraction: must be a number from 0.0 to 1.0, got 1.5");
    assertThatThrownBy(
            () -> MetricsAlertsPipeline.spec(options("--unbounded=true", "--durationSeconds=-1")))
        .hasMessage("--durationSeconds must be between 0 and 316224000, got -1");
    assertThatThrownBy(() -> MetricsAlertsPipeline.spec(options("--ruleUpdates=rules/*.json")))
        .hasMessage(
            "--ruleUpdates watches files while the job runs; it needs --unbounded, got"
                + " --ruleUpdates=rules/*.json");
  }

  @Test
  void spikeKeysMustBeGeneratedKeys() {
    // Checked where the source is built, as for any spec.
    assertThatThrownBy(
            () ->
                SpecPipeline.build(
                    Pipeline.create(),
                    MetricsAlertsPipeline.spec(options("--numKeys=5", "--spikeKeys=sensor-007"))))
        .hasMessageStartingWith("spikeKeys: 'sensor-007' is not a generated key");
  }

  @Test
  void aRulesFileReplacesTheDefaultRuleAndABadOneFailsNamingFileLineAndField(@TempDir Path dir)
      throws Exception {
    Path rules = dir.resolve("rules.jsonl");
    java.nio.file.Files.writeString(
        rules,
        "{\"id\":\"busy\",\"condition\":\"count(temperature) > 100\"}\n"
            + "{\"id\":\"dead\",\"condition\":\"absent(*) for 5m\",\"severity\":\"INFO\"}\n");
    assertThat(MetricsAlertsPipeline.spec(options("--rulesFile=" + rules)).rules())
        .extracting(r -> r.id() + " " + r.condition())
        .containsExactly("busy count(temperature) > 100", "dead absent(*) for 5m");
    java.nio.file.Files.writeString(rules, "{\"id\":\"busy\",\"condition\":\"avg(x) > 1\"}\n");
    assertThatThrownBy(() -> MetricsAlertsPipeline.spec(options("--rulesFile=" + rules)))
        .hasMessageContaining(rules + ":1: rule 'busy': condition 'avg(x) > 1': unknown aggregate")
        .hasMessageStartingWith("--rulesFile: ");
  }

  private static List<String> query(dev.sluice.local.EmbeddedPostgresStore store) throws Exception {
    List<String> rows = new java.util.ArrayList<>();
    try (java.sql.Connection c = store.connect();
        java.sql.Statement st = c.createStatement()) {
      for (String table : List.of("window_stats", "alerts", "dead_letters")) {
        try (java.sql.ResultSet r = st.executeQuery("SELECT count(*) FROM sluice." + table)) {
          r.next();
          rows.add(table + " " + r.getLong(1));
        }
      }
      try (java.sql.ResultSet r = st.executeQuery("SELECT sum(count) FROM sluice.window_stats")) {
        r.next();
        rows.add("sum(count) " + r.getLong(1));
      }
    }
    return rows;
  }
}

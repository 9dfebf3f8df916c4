package dev.sluice.pipelines;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.model.Alert;
import dev.sluice.pipelines.spec.PipelineSpec;
import dev.sluice.pipelines.spec.SpecPipeline;
import dev.sluice.pipelines.spec.SpecReader;
import dev.sluice.testing.KafkaBroker;
import dev.sluice.testing.OutputFiles;
import dev.sluice.testing.RunnerPipelines;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A reference table refreshed while a job reads a real Kafka topic, on the Direct runner and on
 * embedded Flink (checkpointing, with sources shut down after 3 s idle as the Flink presets do):
 * sensor s1's windows are judged against its row in a CSV file; when the file changes, later
 * windows are judged against the new value, so the episode that began under the old limit resolves
 * under the new one. s2 has no row and is never judged.
 */
class EnrichmentRefreshIT {
  private static final Duration DEADLINE = Duration.ofSeconds(150);

  @TempDir static Path workDir;
  private static KafkaBroker kafka;

  @BeforeAll
  static void startKafka() {
    kafka = KafkaBroker.start(workDir.resolve("kafka"));
  }

  @AfterAll
  static void stopKafka() {
    if (kafka != null) {
      kafka.close();
    }
  }

  private static PipelineOptions options(String runner) {
    return runner.equals("flink")
        ? RunnerPipelines.embeddedFlinkOptions(
            true,
            "--checkpointingInterval=2000",
            "--shutdownSourcesAfterIdleMs=3000",
            // Detached: run() returns a result that can cancel the unbounded job.
            "--attachedMode=false")
        : PipelineOptionsFactory.fromArgs("--runner=DirectRunner", "--blockOnRun=false").create();
  }

  /**
   * One 10-second window of readings, s1 at 30 and s2 at 90, six each, in window {@code window}
   * after {@code base}. Event time runs near the wall clock (a little ahead): a partition that
   * stays idle has its watermark moved on to the clock, and older readings would be late.
   */
  private static void produceWindow(String topic, java.time.Instant base, int window) {
    List<String> records = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      for (String[] sensor : new String[][] {{"s1", "30"}, {"s2", "90"}}) {
        records.add(
            String.format(
                Locale.ROOT,
                "{\"event_id\":\"%s-%d-%d\",\"key\":\"%s\",\"metric\":\"temperature\","
                    + "\"value\":%s,\"event_time\":\"%s\"}",
                sensor[0],
                window,
                i,
                sensor[0],
                sensor[1],
                base.plusSeconds(window * 10L + i)));
      }
    }
    kafka.send(topic, 0, records);
  }

  private static void writeLimit(Path csv, int limit) throws Exception {
    Path next = csv.resolveSibling("next.csv");
    Files.writeString(next, "sensor,max_temperature\ns1," + limit + "\n");
    Files.move(next, csv, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  /** The alerts on the job's alert topic (a topic: a JSON-lines file is written once a minute). */
  private static List<String> alerts(String topic) {
    List<String> alerts = new ArrayList<>();
    for (var record : kafka.readAll(topic, 0, Duration.ofSeconds(10))) {
      Alert a = Alert.fromJson(record.value());
      alerts.add(a.key() + " " + a.status() + " " + Math.round(a.threshold()));
    }
    return alerts;
  }

  private static void awaitAlert(
      String topic, java.time.Instant base, Path out, AtomicInteger window, String alert) {
    String alertTopic = "alerts-" + topic;
    try {
      await()
          .atMost(DEADLINE)
          .pollInterval(Duration.ofSeconds(2))
          .until(
              () -> {
                produceWindow(topic, base, window.getAndIncrement());
                return alerts(alertTopic).contains(alert);
              });
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      throw new AssertionError(
          "no '"
              + alert
              + "' after "
              + window.get()
              + " windows of data; alerts "
              + alerts(alertTopic)
              + ", "
              + OutputFiles.jsonLines(out, "stats").size()
              + " stats rows, last "
              + lastOf(OutputFiles.jsonLines(out, "stats")),
          e);
    }
  }

  private static String lastOf(List<String> lines) {
    return lines.isEmpty() ? "none" : lines.get(lines.size() - 1);
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"direct", "flink"})
  void aChangedReferenceRowJudgesTheNextWindows(String runner) throws Exception {
    Path dir = Files.createDirectories(workDir.resolve(runner));
    Path csv = dir.resolve("limits.csv");
    writeLimit(csv, 25);
    String topic = "readings-" + runner;
    kafka.createTopic(topic, 1);
    kafka.createTopic("alerts-" + topic, 1);
    Path out = Files.createDirectories(dir.resolve("out"));
    PipelineSpec spec =
        SpecReader.parse(
            "refresh.yaml",
            String.join(
                "\n",
                "name: refresh-" + runner,
                "source:",
                "  type: kafka",
                "  bootstrap_servers: " + kafka.bootstrapServers(),
                "  topics: [" + topic + "]",
                "  max_out_of_order: 1s",
                "enrich: {csv: " + csv + ", key_column: sensor, refresh_every: 1s}",
                "windows: [{type: tumbling, size: 10s}]",
                "rules: [{id: hot, condition: mean(temperature) > ref.max_temperature}]",
                "sinks:",
                "  stats: [{type: jsonl, path: " + out.resolve("stats") + "}]",
                "  alerts: [{type: kafka, topic: alerts-" + topic + "}]",
                ""));
    Pipeline pipeline = Pipeline.create(options(runner));
    SpecPipeline.build(pipeline, spec);
    PipelineResult result = pipeline.run();
    try {
      AtomicInteger window = new AtomicInteger();
      java.time.Instant base =
          java.time.Instant.now().truncatedTo(java.time.temporal.ChronoUnit.MINUTES);
      // Windows close as event time moves on: one more window of data per poll.
      awaitAlert(topic, base, out, window, "s1 FIRING 25");
      writeLimit(csv, 40);
      awaitAlert(topic, base, out, window, "s1 RESOLVED 40");
      assertThat(alerts("alerts-" + topic))
          .containsExactlyInAnyOrder("s1 FIRING 25", "s1 RESOLVED 40");
    } finally {
      result.cancel();
    }
  }
}

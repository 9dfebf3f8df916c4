package dev.sluice.pipelines;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.io.PostgresIO;
import dev.sluice.local.EmbeddedPostgresStore;
import dev.sluice.model.Alert;
import dev.sluice.model.DeadLetter;
import dev.sluice.testing.KafkaBroker;
import dev.sluice.testing.RunnerPipelines;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * The main job from a real Kafka topic to a real PostgreSQL, on the Direct runner and on embedded
 * Flink: a 3-partition topic with one partition never written (idle), events out of order within
 * the watermark bound, malformed records. Stats rows must equal the aggregates computed here by
 * hand, alerts and dead letters (with their topic/partition/offset) must reach their topics and
 * tables, a second run over the same records must leave the tables identical, and Flink's tables
 * must equal Direct's.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class KafkaToPostgresIT {
  private static final String TOPIC = "events";
  private static final String[] KEYS = {"s1", "s2", "s3", "s4"};
  private static final int MINUTES = 5;
  private static final int PER_MINUTE = 12;
  private static final Duration DEADLINE = Duration.ofSeconds(180);

  @TempDir static Path workDir;
  private static KafkaBroker kafka;
  private static EmbeddedPostgresStore postgres;

  /** Expected window_stats rows: key|window_start|count|sum|min|max|mean. */
  private static List<String> expectedStats;

  /** The end offsets of the two partitions written (partition 2 has none). */
  private static Map<Integer, Long> endOffsets;

  /** Expected dead letters: reason source payload. */
  private static List<String> expectedDeadLetters;

  @BeforeAll
  static void startServersAndProduce() {
    kafka = KafkaBroker.start(workDir.resolve("kafka"));
    postgres = EmbeddedPostgresStore.start(workDir.resolve("postgres"));
    kafka.createTopic(TOPIC, 3);
    for (String runner : List.of("direct", "flink")) {
      kafka.createTopic("alerts-" + runner, 1);
      kafka.createTopic("deadletters-" + runner, 1);
    }
    Map<String, List<Double>> byWindow = new TreeMap<>();
    List<List<String>> partitions = List.of(new ArrayList<>(), new ArrayList<>());
    for (int minute = 0; minute < MINUTES; minute++) {
      for (int i = 0; i < PER_MINUTE; i++) {
        for (int k = 0; k < KEYS.length; k++) {
          // s3 spikes in minute 2: its mean temperature passes the default threshold of 50.
          double value = (k == 2 && minute == 2 ? 60 : 20) + (i % 4) + 0.5 * k;
          String time = String.format(Locale.ROOT, "2026-01-01T00:%02d:%02dZ", minute, i * 5);
          String id = KEYS[k] + "-" + minute + "-" + i;
          partitions
              .get(k / 2)
              .add(
                  String.format(
                      Locale.ROOT,
                      "{\"event_id\":\"%s\",\"key\":\"%s\",\"metric\":\"temperature\","
                          + "\"value\":%s,\"event_time\":\"%s\"}",
                      id,
                      KEYS[k],
                      value,
                      time));
          byWindow
              .computeIfAbsent(
                  KEYS[k] + String.format(Locale.ROOT, "|2026-01-01 00:%02d:00", minute),
                  w -> new ArrayList<>())
              .add(value);
        }
      }
    }
    // Out of order: swap neighbours now and then (at most 5 s apart, within the 10 s bound).
    for (List<String> records : partitions) {
      for (int i = 3; i + 1 < records.size(); i += 7) {
        String swap = records.get(i);
        records.set(i, records.get(i + 1));
        records.set(i + 1, swap);
      }
    }
    partitions.get(0).add(17, "{\"event_id\":\"broken");
    partitions.get(1).add(5, "not json at all");
    partitions
        .get(1)
        .add(
            40,
            "{\"event_id\":\"x\",\"key\":\"s3\",\"metric\":\"temperature\",\"value\":\"hot\","
                + "\"event_time\":\"2026-01-01T00:01:00Z\"}");
    List<Long> offsets0 = kafka.send(TOPIC, 0, partitions.get(0));
    List<Long> offsets1 = kafka.send(TOPIC, 1, partitions.get(1));
    endOffsets =
        Map.of(0, offsets0.get(offsets0.size() - 1) + 1, 1, offsets1.get(offsets1.size() - 1) + 1);
    // Partition 2 stays empty: the watermark must not wait for it.
    expectedDeadLetters =
        List.of(
            "BAD_TYPE events/1/" + offsets1.get(40),
            "MALFORMED_JSON events/0/" + offsets0.get(17),
            "MALFORMED_JSON events/1/" + offsets1.get(5));
    expectedStats = new ArrayList<>();
    byWindow.forEach(
        (window, values) -> {
          double sum = values.stream().mapToDouble(Double::doubleValue).sum();
          expectedStats.add(
              window
                  + "|"
                  + values.size()
                  + "|"
                  + pg(sum)
                  + "|"
                  + pg(values.stream().mapToDouble(Double::doubleValue).min().orElseThrow())
                  + "|"
                  + pg(values.stream().mapToDouble(Double::doubleValue).max().orElseThrow())
                  + "|"
                  + pg(sum / values.size()));
        });
  }

  /** A double as PostgreSQL prints it: 258 and 21.5, not 258.0. */
  private static String pg(double value) {
    return value == Math.rint(value) ? Long.toString((long) value) : Double.toString(value);
  }

  @AfterAll
  static void stopServers() {
    if (kafka != null) {
      kafka.close();
    }
    if (postgres != null) {
      postgres.close();
    }
  }

  private static MetricsAlertsPipeline.Options options(
      PipelineOptions base, String runner, String schema, String groupId) {
    MetricsAlertsPipeline.Options options = base.as(MetricsAlertsPipeline.Options.class);
    options.setSource("kafka");
    options.setKafkaBootstrapServers(kafka.bootstrapServers());
    options.setKafkaTopics(TOPIC);
    options.setKafkaGroupId(groupId);
    options.setMaxOutOfOrderSeconds(10L);
    options.setJdbcUrl(postgres.jdbcUrl());
    options.setJdbcPasswordFile(postgres.passwordFile().toString());
    options.setDbSchema(schema);
    options.setAlertsTopic("alerts-" + runner);
    options.setDeadLettersTopic("deadletters-" + runner);
    options.setOutputDir(workDir.resolve("out-" + schema + "-" + groupId).toString());
    return options;
  }

  @Test
  @Order(1)
  void directRunnerStoresExactAggregatesPublishesAlertsAndDeadLettersAndReplaysIdempotently() {
    PipelineOptionsFactory.register(MetricsAlertsPipeline.Options.class);
    PipelineOptions base = PipelineOptionsFactory.fromArgs("--blockOnRun=false").create();
    // Offsets are committed when the runner finalizes a checkpoint, never beyond what was read.
    // (The Direct runner finalizes a reader's last checkpoint lazily, so the committed offset may
    // trail the end; after a restart those records are read again, which the upserts absorb.)
    List<String> first =
        runUntil(
            options(base, "direct", "direct", "it-direct-1"),
            () -> {
              checkComplete("direct");
              Map<Integer, Long> committed = kafka.committedOffsets("it-direct-1", TOPIC);
              assertThat(committed).containsOnlyKeys(0, 1);
              committed.forEach(
                  (partition, offset) ->
                      assertThat(offset).isBetween(1L, endOffsets.get(partition)));
            });
    checkTopics("direct");

    // Run 2: a new consumer group reads every record again, into the same tables.
    PipelineOptions again = PipelineOptionsFactory.fromArgs("--blockOnRun=false").create();
    List<String> second =
        runUntilWritten(options(again, "direct", "direct", "it-direct-2"), first.size());
    assertThat(second).isEqualTo(first);
  }

  @Test
  @Order(2)
  void embeddedFlinkStoresTheSameRowsAsDirect() throws Exception {
    PipelineOptions base = RunnerPipelines.embeddedFlinkOptions(true, "--attachedMode=false");
    List<String> flink =
        runUntil(options(base, "flink", "flink", "it-flink"), () -> checkComplete("flink"));
    checkTopics("flink");
    assertThat(flink).hasSameSizeAs(snapshot("direct"));
    assertThat(withoutProcessingTimes("flink")).isEqualTo(withoutProcessingTimes("direct"));
  }

  @Test
  @Order(3)
  void ruleUpdatesFromAKafkaTopicReachTheRuleEngineAndBadOnesBecomeDeadLetters() {
    kafka.createTopic("rules", 1);
    kafka.createTopic("alerts-rules", 1);
    kafka.createTopic("deadletters-rules", 1);
    List<Long> offsets =
        kafka.send(
            "rules",
            0,
            List.of(
                "{\"id\":\"s4-warm\",\"condition\":\"mean(temperature) > 22.9\","
                    + "\"severity\":\"WARNING\",\"keys\":\"s4\"}",
                "{\"id\":\"broken\",\"condition\":\"avg(temperature) > 1\"}"));
    PipelineOptions base = PipelineOptionsFactory.fromArgs("--blockOnRun=false").create();
    MetricsAlertsPipeline.Options options = options(base, "rules", "rules", "it-rules");
    options.setRuleUpdatesTopic("rules");
    Pipeline pipeline = Pipeline.create(options);
    try (MetricsAlertsPipeline.Job job = MetricsAlertsPipeline.launch(pipeline, options)) {
      PipelineResult result = pipeline.run();
      try {
        await("the rule update applied and the invalid one dead-lettered")
            .atMost(DEADLINE)
            .pollInterval(Duration.ofMillis(500))
            .untilAsserted(
                () -> {
                  assertThat(counter(result, "sluice.rules", "rule_updates_applied"))
                      .isGreaterThanOrEqualTo(1);
                  assertThat(
                          query(
                              "SELECT reason, source FROM rules.dead_letters"
                                  + " WHERE stage <> 'parse' ORDER BY 1"))
                      .containsExactly("INVALID_RULE|rules/0/" + offsets.get(1));
                });
      } finally {
        cancel(result);
      }
    }
  }

  /** Runs the job until {@code done} holds, cancels it, and returns the schema's contents. */
  private static List<String> runUntil(MetricsAlertsPipeline.Options options, Runnable done) {
    Pipeline pipeline = Pipeline.create(options);
    long started = System.nanoTime();
    try (MetricsAlertsPipeline.Job job = MetricsAlertsPipeline.launch(pipeline, options)) {
      PipelineResult result = pipeline.run();
      try {
        await("the job's results in PostgreSQL schema " + options.getDbSchema())
            .atMost(DEADLINE)
            .pollInterval(Duration.ofMillis(500))
            .untilAsserted(done::run);
      } finally {
        cancel(result);
      }
    }
    System.out.printf(
        Locale.ROOT,
        "%s: all results stored %.1f s after the job was built%n",
        options.getDbSchema(),
        (System.nanoTime() - started) / 1e9);
    return snapshot(options.getDbSchema());
  }

  /** Runs the job until its PostgreSQL writers have written {@code rows} rows; then cancels. */
  private static List<String> runUntilWritten(MetricsAlertsPipeline.Options options, int rows) {
    Pipeline pipeline = Pipeline.create(options);
    try (MetricsAlertsPipeline.Job job = MetricsAlertsPipeline.launch(pipeline, options)) {
      PipelineResult result = pipeline.run();
      try {
        await("a replay writing " + rows + " rows")
            .atMost(DEADLINE)
            .pollInterval(Duration.ofMillis(500))
            .until(() -> rowsWritten(result) >= rows);
      } finally {
        cancel(result);
      }
    }
    return snapshot(options.getDbSchema());
  }

  private static void cancel(PipelineResult result) {
    try {
      result.cancel();
    } catch (Exception e) {
      throw new IllegalStateException("could not cancel the job", e);
    }
  }

  private static long rowsWritten(PipelineResult result) {
    return counter(result, PostgresIO.METRICS_NAMESPACE, "rows_written");
  }

  private static long counter(PipelineResult result, String namespace, String name) {
    return dev.sluice.testing.Counters.attempted(result, namespace, name);
  }

  private static void checkComplete(String schema) {
    List<String> stats =
        query(
            "SELECT key, window_start AT TIME ZONE 'UTC', count, sum, min, max, mean FROM "
                + schema
                + ".window_stats ORDER BY key, window_start");
    assertThat(stats).containsExactlyElementsOf(expectedStats);
    assertThat(query("SELECT key, status, rule_id FROM " + schema + ".alerts ORDER BY status"))
        .containsExactly("s3|FIRING|temperature-high", "s3|RESOLVED|temperature-high");
    assertThat(query("SELECT reason, source FROM " + schema + ".dead_letters ORDER BY 1, 2"))
        .map(row -> row.replace('|', ' '))
        .containsExactlyElementsOf(expectedDeadLetters);
  }

  private static void checkTopics(String runner) {
    List<ConsumerRecord<String, String>> alerts =
        kafka.readAll("alerts-" + runner, 2, Duration.ofSeconds(60));
    assertThat(alerts).hasSize(2);
    List<String> statuses = new ArrayList<>();
    for (ConsumerRecord<String, String> record : alerts) {
      Alert alert = Alert.fromJson(record.value());
      assertThat(record.key()).isEqualTo(alert.alertId());
      assertThat(alert.windowStart().toString())
          .isIn("2026-01-01T00:02:00.000Z", "2026-01-01T00:03:00.000Z");
      statuses.add(alert.status() + " " + alert.windowStart());
    }
    assertThat(statuses)
        .containsExactlyInAnyOrder(
            "FIRING 2026-01-01T00:02:00.000Z", "RESOLVED 2026-01-01T00:03:00.000Z");
    assertThat(alerts.get(0).key()).isEqualTo(alerts.get(1).key());

    List<String> deadLetters = new ArrayList<>();
    for (ConsumerRecord<String, String> record :
        kafka.readAll("deadletters-" + runner, 3, Duration.ofSeconds(60))) {
      DeadLetter letter = DeadLetter.fromJson(record.value());
      assertThat(record.key()).isEqualTo(letter.source());
      assertThat(letter.payload()).isNotEmpty();
      deadLetters.add(letter.reason() + " " + letter.source());
    }
    assertThat(deadLetters).containsExactlyInAnyOrderElementsOf(expectedDeadLetters);
  }

  private static List<String> snapshot(String schema) {
    List<String> rows = new ArrayList<>();
    rows.addAll(query("SELECT * FROM " + schema + ".window_stats ORDER BY 1, 2, 3, 4"));
    rows.addAll(query("SELECT * FROM " + schema + ".alerts ORDER BY 1, 6, 11"));
    rows.addAll(query("SELECT * FROM " + schema + ".dead_letters ORDER BY 1"));
    return rows;
  }

  /** The schema's contents without the columns that record processing time. */
  private static List<String> withoutProcessingTimes(String schema) {
    List<String> rows = new ArrayList<>();
    rows.addAll(
        query(
            "SELECT key, metric, window_start, window_end, count, sum, min, max, mean, stddev,"
                + " p50, p95, p99, distinct_count, pane, pane_index, final FROM "
                + schema
                + ".window_stats ORDER BY 1, 2, 3, 4"));
    rows.addAll(
        query(
            "SELECT alert_id, rule_id, rule_version, key, metric, status, severity, value,"
                + " threshold, window_start, window_end, message, labels FROM "
                + schema
                + ".alerts ORDER BY 1, 6, 11"));
    rows.addAll(
        query(
            "SELECT dead_letter_id, stage, reason, error, payload, payload_base64, source FROM "
                + schema
                + ".dead_letters ORDER BY 1"));
    return rows;
  }

  private static List<String> query(String sql) {
    List<String> rows = new ArrayList<>();
    try (Connection c = postgres.connect();
        Statement s = c.createStatement();
        ResultSet r = s.executeQuery(sql)) {
      int columns = r.getMetaData().getColumnCount();
      while (r.next()) {
        StringBuilder row = new StringBuilder();
        for (int i = 1; i <= columns; i++) {
          row.append(i > 1 ? "|" : "").append(r.getString(i));
        }
        rows.add(row.toString());
      }
    } catch (SQLException e) {
      if ("42P01".equals(e.getSQLState())) {
        return rows; // the table does not exist yet
      }
      throw new IllegalStateException(e);
    }
    return rows;
  }
}

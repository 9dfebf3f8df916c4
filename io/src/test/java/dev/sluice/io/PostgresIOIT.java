package dev.sluice.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.sluice.model.Alert;
import dev.sluice.model.DeadLetter;
import dev.sluice.model.DeadLetter.Reason;
import dev.sluice.model.PaneTiming;
import dev.sluice.model.WindowStats;
import java.io.Serializable;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.coders.SerializableCoder;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.testing.TestPipelineExtension;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.values.PCollection;
import org.joda.time.Duration;
import org.joda.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@link PostgresIO} against a real PostgreSQL 16 (the embedded default store). */
@ExtendWith(TestPipelineExtension.class)
class PostgresIOIT {
  private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

  @RegisterExtension static final PostgresServer postgres = new PostgresServer();

  private static PostgresIO.Database database() {
    return postgres.database();
  }

  private static WindowStats stats(String key, int minute, long count, long paneIndex) {
    Instant start = T0.plus(Duration.standardMinutes(minute));
    return new WindowStats(
        key,
        "temperature",
        start,
        start.plus(Duration.standardMinutes(1)),
        count,
        count * 20.0,
        10.0,
        30.0,
        20.0,
        1.5,
        null,
        null,
        null,
        null,
        paneIndex == 0 ? PaneTiming.EARLY : PaneTiming.LATE,
        paneIndex,
        false);
  }

  private static List<String> query(String sql) throws SQLException {
    return postgres.query(sql);
  }

  private static void write(Pipeline pipeline, String schema, List<WindowStats> rows) {
    PCollection<DeadLetter> rejected =
        pipeline
            .apply(Create.of(rows))
            .apply(
                PostgresIO.writeStats()
                    .to(database())
                    .withSchema(schema)
                    .withCreateTables(true)
                    .withBatchSize(2));
    PAssert.that(rejected).empty();
    pipeline.run().waitUntilFinish();
  }

  @Test
  void laterPaneReplacesEarlierAndStalePaneNeverOverwritesNewer(TestPipeline pipeline)
      throws SQLException {
    // Within one run and batch: pane 0 and pane 2 of a window (2 wins); a window with one pane.
    write(
        pipeline, "panes", List.of(stats("a", 0, 5, 0), stats("a", 0, 9, 2), stats("b", 0, 3, 0)));
    assertThat(query("SELECT key, count, pane_index FROM panes.window_stats ORDER BY key"))
        .containsExactly("a|9|2", "b|3|0");

    // A stale pane (index 1 < 2) arriving later changes nothing; a newer one (3) replaces.
    write(Pipeline.create(), "panes", List.of(stats("a", 0, 7, 1), stats("b", 0, 4, 3)));
    assertThat(query("SELECT key, count, pane_index FROM panes.window_stats ORDER BY key"))
        .containsExactly("a|9|2", "b|4|3");
  }

  @Test
  void aRowsWriteTimeIsWhenItsContentWasStoredAndAReplayKeepsIt(TestPipeline pipeline)
      throws SQLException {
    write(pipeline, "written", List.of(stats("a", 0, 5, 0), stats("b", 0, 5, 0)));
    List<String> first =
        query(
            "SELECT key, written_at FROM written.window_stats WHERE written_at IS NOT NULL"
                + " ORDER BY key");
    assertThat(first).hasSize(2);
    // a: a replay of the same row (its time stays); b: a later pane (a new time).
    String before = query("SELECT now()").get(0);
    write(Pipeline.create(), "written", List.of(stats("a", 0, 5, 0), stats("b", 0, 6, 1)));
    assertThat(query("SELECT key, written_at FROM written.window_stats WHERE key = 'a'"))
        .containsExactly(first.get(0));
    assertThat(
            query(
                "SELECT key FROM written.window_stats WHERE written_at >= '"
                    + before
                    + "'::timestamptz"))
        .containsExactly("b");
    // A table made before the column existed gets it, NULL (unknown) for its old rows.
    try (Connection c = postgres.connect();
        Statement s = c.createStatement()) {
      s.execute("ALTER TABLE written.window_stats DROP COLUMN written_at");
    }
    write(Pipeline.create(), "written", List.of(stats("c", 0, 5, 0)));
    assertThat(query("SELECT key, written_at IS NULL FROM written.window_stats ORDER BY key"))
        .containsExactly("a|t", "b|t", "c|f");
  }

  @Test
  void replayingTheSameInputLeavesIdenticalTableContents(TestPipeline pipeline)
      throws SQLException {
    List<WindowStats> rows = new ArrayList<>();
    for (int minute = 0; minute < 10; minute++) {
      rows.add(stats("sensor-" + (minute % 3), minute, minute + 1, 0));
    }
    List<Alert> alerts =
        List.of(alert("x1", Alert.Status.FIRING, 1), alert("x1", Alert.Status.RESOLVED, 2));
    List<DeadLetter> deadLetters =
        List.of(
            DeadLetter.of("parse", Reason.MALFORMED_JSON, "bad", "{oops", "events/0/7", T0),
            DeadLetter.ofBytes(
                "parse", Reason.MALFORMED_JSON, "nul", new byte[] {'{', 0, '}'}, "events/1/3", T0));
    String all =
        "SELECT * FROM replay.window_stats ORDER BY 1, 2, 3;"
            + "SELECT * FROM replay.alerts ORDER BY 1, 6;"
            + "SELECT * FROM replay.dead_letters ORDER BY 1";
    List<String> first = null;
    for (int run = 0; run < 2; run++) {
      Pipeline p = run == 0 ? pipeline : Pipeline.create();
      PostgresIO.Database db = database();
      PAssert.that(
              p.apply("Stats", Create.of(rows))
                  .apply(
                      "StoreStats",
                      PostgresIO.writeStats().to(db).withSchema("replay").withCreateTables(true)))
          .empty();
      PAssert.that(
              p.apply("Alerts", Create.of(alerts))
                  .apply(
                      "StoreAlerts",
                      PostgresIO.writeAlerts().to(db).withSchema("replay").withCreateTables(true)))
          .empty();
      PAssert.that(
              p.apply("DeadLetters", Create.of(deadLetters))
                  .apply(
                      "StoreDeadLetters",
                      PostgresIO.writeDeadLetters()
                          .to(db)
                          .withSchema("replay")
                          .withCreateTables(true)))
          .empty();
      p.run().waitUntilFinish();
      List<String> contents = new ArrayList<>();
      for (String sql : all.split(";")) {
        contents.addAll(query(sql));
      }
      if (first == null) {
        first = contents;
      } else {
        assertThat(contents).isEqualTo(first);
      }
    }
    assertThat(first).hasSize(10 + 2 + 2);
    assertThat(query("SELECT count(*) FROM replay.window_stats")).containsExactly("10");
    assertThat(query("SELECT alert_id, status FROM replay.alerts ORDER BY status"))
        .containsExactly("x1|FIRING", "x1|RESOLVED");
    // A payload PostgreSQL text cannot hold (NUL) is kept exactly, as base64.
    assertThat(query("SELECT source, payload, payload_base64 FROM replay.dead_letters ORDER BY 1"))
        .containsExactly("events/0/7|{oops|null", "events/1/3|null|ewB9");
  }

  private static Alert alert(String id, Alert.Status status, int minute) {
    Instant start = T0.plus(Duration.standardMinutes(minute));
    return new Alert(
        id,
        "hot",
        1,
        "sensor-1",
        "temperature",
        status,
        Alert.Severity.CRITICAL,
        81.5,
        80,
        start,
        start.plus(Duration.standardMinutes(1)),
        status + " hot",
        Instant.now(),
        new TreeMap<>(java.util.Map.of("team", "iot")));
  }

  @Test
  void silencedAlertsAreStoredAsSuchAndATableFromBeforeGetsTheColumn(TestPipeline pipeline)
      throws SQLException {
    // The alerts table as Sluice created it before silences existed.
    String before =
        PostgresIO.ddl("alerts", "old_alerts", "alerts")
            .replace("  silenced     boolean          NOT NULL DEFAULT false,\n", "")
            .replaceAll("ALTER TABLE[^;]*;\n", "")
            .replaceAll("(?m)^--.*\n", "");
    assertThat(before).doesNotContain("silenced");
    try (Connection c = postgres.connect();
        Statement s = c.createStatement()) {
      for (String part : before.split(";\\s*\n")) {
        if (!part.isBlank()) {
          s.execute(part);
        }
      }
      s.execute(
          "INSERT INTO old_alerts.alerts VALUES ('old', 'hot', 1, 'k', 'm', 'FIRING', 'WARNING',"
              + " 1, 1, now(), now(), 'from before', now(), '{}')");
    }
    PAssert.that(
            pipeline
                .apply(
                    Create.of(
                        alert("x1", Alert.Status.FIRING, 1).withSilenced(true),
                        alert("x2", Alert.Status.FIRING, 1)))
                .apply(
                    PostgresIO.writeAlerts()
                        .to(database())
                        .withSchema("old_alerts")
                        .withCreateTables(true)))
        .empty();
    pipeline.run().waitUntilFinish();
    assertThat(query("SELECT alert_id, silenced FROM old_alerts.alerts ORDER BY 1"))
        .containsExactly("old|f", "x1|t", "x2|f");
  }

  @Test
  void aRecountOfTheSamePaneFromFewerEventsNeverReplacesTheStoredRow(TestPipeline pipeline)
      throws SQLException {
    write(pipeline, "recount", List.of(stats("a", 0, 10, 0), stats("b", 0, 10, 1)));
    // A restart without state recomputes pane 0 from part of the events: the complete row stays.
    // A pane with the same index and at least as many events (a replay) replaces it.
    write(Pipeline.create(), "recount", List.of(stats("a", 0, 6, 0), stats("b", 0, 12, 1)));
    assertThat(query("SELECT key, count, pane_index FROM recount.window_stats ORDER BY key"))
        .containsExactly("a|10|0", "b|12|1");
  }

  @Test
  void aKeyTooLongForTheIndexBecomesADeadLetterAndTheOthersAreWritten(TestPipeline pipeline)
      throws SQLException {
    // Random text does not compress: beyond about 2,700 bytes the primary-key index refuses it.
    StringBuilder key = new StringBuilder();
    java.util.Random random = new java.util.Random(1);
    while (key.length() < 9_000) {
      key.append((char) ('a' + random.nextInt(26)));
    }
    WindowStats tooLong = stats(key.toString(), 0, 1, 0);
    PCollection<DeadLetter> rejected =
        pipeline
            .apply(Create.of(stats("ok", 0, 1, 0), tooLong))
            .apply(
                PostgresIO.writeStats().to(database()).withSchema("limits").withCreateTables(true));
    PAssert.that(rejected)
        .satisfies(
            letters -> {
              List<DeadLetter> list = new ArrayList<>();
              letters.forEach(list::add);
              assertThat(list).hasSize(1);
              assertThat(list.get(0).reason()).isEqualTo(Reason.SINK_REJECTED);
              assertThat(list.get(0).error()).contains("SQLState 54000");
              return null;
            });
    pipeline.run().waitUntilFinish();
    assertThat(query("SELECT key FROM limits.window_stats")).containsExactly("ok");
  }

  @Test
  void aRowTheDatabaseRefusesBecomesADeadLetterAndTheOthersAreWritten(TestPipeline pipeline)
      throws SQLException {
    WindowStats bad = stats("nul\u0000key", 0, 1, 0);
    PCollection<DeadLetter> rejected =
        pipeline
            .apply(Create.of(stats("ok-1", 0, 1, 0), bad, stats("ok-2", 0, 2, 0)))
            .apply(
                PostgresIO.writeStats()
                    .to(database())
                    .withSchema("refused")
                    .withCreateTables(true));
    PAssert.that(rejected)
        .satisfies(
            letters -> {
              List<DeadLetter> list = new ArrayList<>();
              letters.forEach(list::add);
              assertThat(list).hasSize(1);
              DeadLetter d = list.get(0);
              assertThat(d.reason()).isEqualTo(Reason.SINK_REJECTED);
              assertThat(d.stage()).isEqualTo("store");
              assertThat(d.source()).isEqualTo("refused.window_stats");
              assertThat(d.error()).startsWith("refused.window_stats refused the row: SQLState");
              assertThat(d.payload()).isEqualTo(bad.toJson());
              return null;
            });
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();
    assertThat(query("SELECT key FROM refused.window_stats ORDER BY key"))
        .containsExactly("ok-1", "ok-2");
    assertThat(counter(result, "rows_rejected")).isEqualTo(1);
    assertThat(counter(result, "rows_written")).isEqualTo(2);
  }

  @Test
  void aLostConnectionIsRetriedOnAFreshConnection(TestPipeline pipeline) throws Exception {
    PostgresIO.createTables(database(), "lost");
    List<WindowStats> rows = List.of(stats("a", 0, 1, 0), stats("b", 0, 2, 0));
    try (Connection locker = postgres.connect()) {
      locker.setAutoCommit(false);
      try (Statement s = locker.createStatement()) {
        s.execute("LOCK TABLE lost.window_stats IN ACCESS EXCLUSIVE MODE");
      }
      // While the writer waits for the lock, kill its connection, then let it through.
      CompletableFuture<Void> killer =
          CompletableFuture.runAsync(
              () -> {
                try {
                  await()
                      .atMost(java.time.Duration.ofSeconds(60))
                      .until(() -> !waitingBackends().isEmpty());
                  List<String> killed =
                      query(
                          "SELECT pid FROM pg_locks WHERE NOT granted"
                              + " AND relation = 'lost.window_stats'::regclass"
                              + " AND pg_terminate_backend(pid)");
                  // Gone before the lock is released: else a writer granted the lock first could
                  // commit before it sees the termination, and nothing would be retried.
                  await()
                      .atMost(java.time.Duration.ofSeconds(60))
                      .until(
                          () ->
                              query(
                                      "SELECT pid FROM pg_stat_activity WHERE pid IN ("
                                          + String.join(", ", killed)
                                          + ")")
                                  .isEmpty());
                } catch (SQLException e) {
                  throw new IllegalStateException(e);
                } finally {
                  // Always let the writer through, so a failed wait fails the test, not hangs it.
                  try {
                    locker.rollback();
                  } catch (SQLException e) {
                    throw new IllegalStateException(e);
                  }
                }
              });
      pipeline
          .apply(Create.of(rows))
          .apply(
              PostgresIO.writeStats()
                  .to(database())
                  .withSchema("lost")
                  .withInitialBackoff(Duration.millis(50)));
      PipelineResult result = pipeline.run();
      result.waitUntilFinish();
      killer.get();
      assertThat(query("SELECT key, count FROM lost.window_stats ORDER BY key"))
          .containsExactly("a|1", "b|2");
      assertThat(counter(result, "retries")).isGreaterThanOrEqualTo(1);
    }
  }

  /** A user's own row type, stored with {@link PostgresIO#write(PostgresTable)}. */
  record Reading(String sensor, double value, Instant observedAt) implements Serializable {}

  private static final PostgresTable<Reading> READINGS =
      PostgresTable.<Reading>named("readings")
          .withColumns("sensor", "value", "observed_at")
          .withKey("sensor")
          .withBinder(
              (statement, r) -> {
                statement.setString(1, r.sensor());
                statement.setDouble(2, r.value());
                statement.setObject(
                    3,
                    OffsetDateTime.ofInstant(
                        java.time.Instant.ofEpochMilli(r.observedAt().getMillis()),
                        ZoneOffset.UTC));
              })
          .withNaturalKey(Reading::sensor)
          .withPayload(r -> r.sensor() + "=" + r.value())
          .withDdl(
              "CREATE TABLE IF NOT EXISTS {schema}.{table} (\n"
                  + "  sensor text PRIMARY KEY,\n"
                  + "  value double precision NOT NULL CHECK (value >= 0),\n"
                  + "  observed_at timestamptz NOT NULL\n"
                  + ");");

  private static PCollection<DeadLetter> writeReadings(Pipeline pipeline, Reading... readings) {
    return pipeline
        .apply(Create.of(List.of(readings)).withCoder(SerializableCoder.of(Reading.class)))
        .apply(
            "StoreReadings",
            PostgresIO.write(READINGS).to(database()).withSchema("custom").withCreateTables(true));
  }

  @Test
  void aUsersOwnRowTypeIsUpsertedAndARefusedRowBecomesADeadLetter(TestPipeline pipeline)
      throws SQLException {
    Instant later = T0.plus(Duration.standardMinutes(1));
    PCollection<DeadLetter> rejected =
        writeReadings(
            pipeline,
            new Reading("s1", 20.5, T0),
            new Reading("s2", 3.0, T0),
            new Reading("bad", -1.0, T0));
    PAssert.that(rejected)
        .satisfies(
            letters -> {
              List<DeadLetter> list = new ArrayList<>();
              letters.forEach(list::add);
              assertThat(list).hasSize(1);
              DeadLetter d = list.get(0);
              assertThat(d.reason()).isEqualTo(Reason.SINK_REJECTED);
              assertThat(d.stage()).isEqualTo("store");
              assertThat(d.source()).isEqualTo("custom.readings");
              // 23514: check_violation (value >= 0).
              assertThat(d.error()).startsWith("custom.readings refused the row: SQLState 23514");
              assertThat(d.payload()).isEqualTo("bad=-1.0");
              return null;
            });
    pipeline.run().waitUntilFinish();
    assertThat(query("SELECT sensor, value, observed_at FROM custom.readings ORDER BY sensor"))
        .containsExactly("s1|20.5|2026-01-01 00:00:00+00", "s2|3|2026-01-01 00:00:00+00");

    // A second write of the same key replaces the row; the other row stays.
    Pipeline second = Pipeline.create();
    PAssert.that(writeReadings(second, new Reading("s1", 21.0, later))).empty();
    second.run().waitUntilFinish();
    assertThat(query("SELECT sensor, value, observed_at FROM custom.readings ORDER BY sensor"))
        .containsExactly("s1|21|2026-01-01 00:01:00+00", "s2|3|2026-01-01 00:00:00+00");
  }

  private static List<String> waitingBackends() throws SQLException {
    return query(
        "SELECT pid FROM pg_locks WHERE NOT granted AND relation = 'lost.window_stats'::regclass");
  }

  @Test
  void namesAreValidatedAgainstAStrictPatternAndThePasswordIsNeverShown() {
    assertThatThrownBy(() -> PostgresIO.writeStats().withTable("stats; DROP TABLE x"))
        .hasMessage(
            "table must match [a-z_][a-z0-9_]{0,62} (lower case, digits, underscores), got"
                + " 'stats; DROP TABLE x'");
    assertThatThrownBy(() -> PostgresIO.writeStats().withSchema("Public"))
        .hasMessageContaining("schema must match");
    assertThatThrownBy(() -> PostgresIO.database("jdbc:mysql://h/db?password=hunter2"))
        .hasMessage("jdbcUrl must start with jdbc:postgresql:, got jdbc:mysql://h/db?…");
    assertThatThrownBy(() -> PostgresIO.writeStats().withBatchSize(0))
        .hasMessage("batchSize must be between 1 and 100000, got 0");

    PostgresIO.Database db =
        PostgresIO.database("jdbc:postgresql://db:5432/metrics?password=hunter2")
            .withUser("sluice")
            .withPassword("hunter3");
    assertThat(db.toString()).doesNotContain("hunter").contains("password=***");
    DisplayData display = DisplayData.from(PostgresIO.writeAlerts().to(db));
    assertThat(display.toString()).doesNotContain("hunter").contains("jdbc:postgresql://db:5432");
  }

  private static long counter(PipelineResult result, String name) {
    return dev.sluice.testing.Counters.attempted(result, PostgresIO.METRICS_NAMESPACE, name);
  }
}

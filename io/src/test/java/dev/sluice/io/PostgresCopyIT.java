package dev.sluice.io;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.model.DeadLetter;
import dev.sluice.model.PaneTiming;
import dev.sluice.model.WindowStats;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.testing.TestPipelineExtension;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.values.PCollection;
import org.joda.time.Duration;
import org.joda.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Batches loaded with {@code COPY} ({@link PostgresIO.Write#withCopy}) store exactly what the
 * multi-row {@code INSERT} stores, and a row the database refuses in such a batch still becomes a
 * dead letter while the others are written.
 */
@ExtendWith(TestPipelineExtension.class)
class PostgresCopyIT {
  private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
  private static final String COLUMNS =
      "key, metric, window_start, window_end, count, sum, min, max, mean, stddev, p50, p95, p99,"
          + " distinct_count, pane, pane_index, final";

  @RegisterExtension static final PostgresServer postgres = new PostgresServer();

  /** Keys and values that COPY's text format must escape or spell exactly. */
  private static final String[] AWKWARD = {
    "tab\there", "new\nline", "carriage\rreturn", "back\\slash", "\\N", "quote'\"", "ünï©ødé ✓", ""
  };

  private static final double[] DOUBLES = {
    0.1, -0.0, 1e-300, Double.MAX_VALUE, -123456.789, 2.0 / 3.0, Double.MIN_VALUE
  };

  private static WindowStats row(int i) {
    return row(i, AWKWARD[i % AWKWARD.length] + "-" + i);
  }

  private static WindowStats row(int i, String key) {
    Instant start = T0.plus(Duration.standardMinutes(i % 7));
    double v = DOUBLES[i % DOUBLES.length];
    return new WindowStats(
        key,
        i % 3 == 0 ? "temp\\erature" : "humidity",
        start,
        start.plus(Duration.standardMinutes(1 + i % 2)),
        1 + i,
        v * 3,
        v,
        v,
        v,
        i % 2 == 0 ? null : v / 7,
        i % 4 == 0 ? null : v,
        i % 5 == 0 ? null : v,
        null,
        i % 3 == 0 ? null : (long) i,
        PaneTiming.values()[i % PaneTiming.values().length],
        i % 4,
        i % 2 == 0);
  }

  @Test
  void aCopiedBatchStoresExactlyWhatTheInsertStores(TestPipeline pipeline) throws SQLException {
    List<WindowStats> rows = new ArrayList<>();
    for (int i = 0; i < 1_000; i++) {
      rows.add(row(i));
    }
    PCollection<WindowStats> input = pipeline.apply(Create.of(rows));
    PCollection<DeadLetter> copied =
        input.apply(
            "Copied",
            PostgresIO.writeStats()
                .to(postgres.database())
                .withSchema("copied")
                .withCreateTables(true)
                .withCopy(true));
    PCollection<DeadLetter> inserted =
        input.apply(
            "Inserted",
            PostgresIO.writeStats()
                .to(postgres.database())
                .withSchema("inserted")
                .withCreateTables(true)
                // Through the redistribution, which must keep every row too.
                .withWriters(2));
    PAssert.that(copied).empty();
    PAssert.that(inserted).empty();
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    List<String> viaCopy =
        postgres.query("SELECT " + COLUMNS + " FROM copied.window_stats ORDER BY key");
    assertThat(viaCopy).hasSize(1_000);
    assertThat(viaCopy)
        .containsExactlyElementsOf(
            postgres.query("SELECT " + COLUMNS + " FROM inserted.window_stats ORDER BY key"));
    assertThat(postgres.query("SELECT count(*) FROM copied.window_stats WHERE written_at IS NULL"))
        .containsExactly("0");
    // The copied rows went through the session's temporary table; the inserted ones did not.
    assertThat(temporaryTables("copied.window_stats")).isNotEmpty();
    assertThat(temporaryTables("inserted.window_stats")).isEmpty();
  }

  @Test
  void aRowRefusedInACopiedBatchBecomesADeadLetterAndTheOthersAreWritten(TestPipeline pipeline)
      throws SQLException {
    List<WindowStats> rows = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      rows.add(row(i));
    }
    WindowStats bad = row(7, "nul\u0000key");
    rows.add(bad);
    PCollection<DeadLetter> rejected =
        pipeline
            .apply(Create.of(rows))
            .apply(
                PostgresIO.writeStats()
                    .to(postgres.database())
                    .withSchema("refused_copy")
                    .withCreateTables(true)
                    .withCopy(true));
    PAssert.that(rejected)
        .satisfies(
            letters -> {
              List<DeadLetter> list = new ArrayList<>();
              letters.forEach(list::add);
              assertThat(list).hasSize(1);
              assertThat(list.get(0).payload()).isEqualTo(bad.toJson());
              assertThat(list.get(0).error())
                  .startsWith("refused_copy.window_stats refused the row: SQLState 22021");
              return null;
            });
    pipeline.run().waitUntilFinish();
    assertThat(postgres.query("SELECT count(*) FROM refused_copy.window_stats"))
        .containsExactly("200");
    assertThat(temporaryTables("refused_copy.window_stats")).isNotEmpty();
  }

  private static List<String> temporaryTables(String target) throws SQLException {
    return postgres.query(
        "SELECT relname FROM pg_class WHERE relpersistence = 't' AND relname = '"
            + CopyText.temporaryName(target)
            + "'");
  }
}

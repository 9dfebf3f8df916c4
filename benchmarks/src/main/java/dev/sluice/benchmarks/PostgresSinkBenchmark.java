package dev.sluice.benchmarks;

import dev.sluice.io.PostgresIO;
import dev.sluice.local.EmbeddedPostgresStore;
import dev.sluice.model.PaneTiming;
import dev.sluice.model.WindowStats;
import dev.sluice.pipelines.EmbeddedStores;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.Locale;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.io.GenerateSequence;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.values.TypeDescriptor;
import org.joda.time.Duration;
import org.joda.time.Instant;

/**
 * Throughput of the PostgreSQL stats sink ({@link PostgresIO#writeStats()}) on the Direct runner
 * into the embedded PostgreSQL 16: N generated window-stats rows (1000 keys, 1-minute windows),
 * first into an empty table (inserts), then the same rows again (every row an upsert conflict: the
 * replay case), then the same windows with a higher pane index (every row replaced); once with
 * multi-row {@code INSERT} batches, once with {@code COPY} ({@link PostgresIO.Write#withCopy}).
 *
 * <pre>{@code
 * benchmarks/run postgres-sink 1000000        # ROWS [BATCH_SIZE]
 * }</pre>
 */
public final class PostgresSinkBenchmark {
  private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
  private static final int KEYS = 1_000;

  private PostgresSinkBenchmark() {}

  public static void main(String[] args) throws Exception {
    long rows = args.length > 0 ? Long.parseLong(args[0]) : 1_000_000L;
    int batchSize = args.length > 1 ? Integer.parseInt(args[1]) : 1_000;
    Path dir = Files.createTempDirectory("sluice-pg-bench");
    System.out.printf(
        Locale.ROOT,
        "PostgreSQL sink benchmark: %,d window-stats rows, batch size %d, Direct runner, %d cores,"
            + " JVM %s%n",
        rows,
        batchSize,
        Runtime.getRuntime().availableProcessors(),
        System.getProperty("java.vm.version"));
    try (EmbeddedPostgresStore store = EmbeddedPostgresStore.start(dir.resolve("pg"))) {
      for (boolean copy : new boolean[] {false, true}) {
        String how = copy ? "COPY" : "INSERT";
        String schema = copy ? "bench_copy" : "bench";
        PostgresIO.createTables(EmbeddedStores.database(store), schema);
        run(how + " into an empty table", store, schema, rows, batchSize, 0, copy);
        run(how + " replay (same rows again)", store, schema, rows, batchSize, 0, copy);
        run(how + " newer pane (every row replaced)", store, schema, rows, batchSize, 1, copy);
      }
      try (Connection c = store.connect();
          Statement s = c.createStatement();
          ResultSet r =
              s.executeQuery(
                  "SELECT count(*), min(pane_index), max(pane_index) FROM bench.window_stats")) {
        r.next();
        System.out.printf(
            Locale.ROOT,
            "table bench.window_stats: %,d rows, pane_index %d..%d%n",
            r.getLong(1),
            r.getLong(2),
            r.getLong(3));
      }
    }
  }

  private static void run(
      String label,
      EmbeddedPostgresStore store,
      String schema,
      long rows,
      int batchSize,
      long paneIndex,
      boolean copy) {
    Pipeline pipeline =
        Pipeline.create(
            PipelineOptionsFactory.fromArgs(
                    "--runner=DirectRunner",
                    "--enforceImmutability=false",
                    "--enforceEncodability=false")
                .create());
    pipeline
        .apply("Sequence", GenerateSequence.from(0).to(rows))
        .apply(
            "ToStats",
            MapElements.into(TypeDescriptor.of(WindowStats.class)).via(i -> stats(i, paneIndex)))
        .setCoder(WindowStats.WindowStatsCoder.of())
        .apply(
            "StoreStats",
            PostgresIO.writeStats()
                .to(EmbeddedStores.database(store))
                .withSchema(schema)
                .withBatchSize(batchSize)
                .withCopy(copy));
    long started = System.nanoTime();
    PipelineResult.State state = pipeline.run().waitUntilFinish();
    double seconds = (System.nanoTime() - started) / 1e9;
    System.out.printf(
        Locale.ROOT,
        "%-40s %s in %6.1f s: %,10.0f rows/s%n",
        label,
        state,
        seconds,
        rows / seconds);
  }

  private static WindowStats stats(long i, long paneIndex) {
    Instant start = T0.plus(Duration.standardMinutes(i / KEYS));
    double v = (i % 97) + 0.5;
    return new WindowStats(
        "sensor-" + (i % KEYS),
        "temperature",
        start,
        start.plus(Duration.standardMinutes(1)),
        12,
        12 * v,
        v - 1,
        v + 1,
        v,
        0.5,
        v,
        v + 0.9,
        v + 1,
        null,
        paneIndex == 0 ? PaneTiming.ON_TIME : PaneTiming.LATE,
        paneIndex,
        paneIndex > 0);
  }
}

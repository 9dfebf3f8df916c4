package dev.sluice.pipelines;

import dev.sluice.io.PostgresIO;
import dev.sluice.local.EmbeddedPostgresStore;
import dev.sluice.pipelines.spec.PipelineSpec;
import dev.sluice.pipelines.spec.PipelineSpec.Sink;
import dev.sluice.pipelines.spec.SinkDatabases;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What a launcher starts before it builds a spec's graph: one embedded PostgreSQL per data
 * directory of the spec's {@code embedded} sinks, and the tables of every database sink (so a bad
 * URL or password fails before the job runs, and the tables can be queried at once). {@link #close}
 * stops the embedded servers; their data stays.
 *
 * <pre>{@code
 * try (SinkServers servers = SinkServers.start(spec)) {
 *   SpecPipeline.build(pipeline, spec, servers);
 *   pipeline.run().waitUntilFinish();
 * }
 * }</pre>
 */
public final class SinkServers implements SinkDatabases, AutoCloseable {
  private final Map<String, EmbeddedPostgresStore> embedded = new LinkedHashMap<>();
  private final Map<String, PostgresIO.Database> databases = new LinkedHashMap<>();
  private final List<String> notes = new ArrayList<>();

  private SinkServers() {}

  /**
   * Starts the spec's embedded databases and creates the tables of all its database sinks.
   *
   * @throws IllegalArgumentException naming the sink whose database cannot be reached
   */
  public static SinkServers start(PipelineSpec spec) {
    SinkServers servers = new SinkServers();
    try {
      Set<String> created = new LinkedHashSet<>();
      for (Sink sink : databaseSinks(spec)) {
        PostgresIO.Database db = servers.open(sink);
        if (created.add(db.displayUrl() + "|" + sink.schema())) {
          try {
            PostgresIO.createTables(db, sink.schema());
          } catch (RuntimeException e) {
            throw new IllegalArgumentException(
                sink.type()
                    + " sink: cannot create the tables in "
                    + db.displayUrl()
                    + " (schema "
                    + sink.schema()
                    + "): "
                    + e.getMessage(),
                e);
          }
        }
      }
      return servers;
    } catch (RuntimeException e) {
      servers.close();
      throw e;
    }
  }

  private static List<Sink> databaseSinks(PipelineSpec spec) {
    List<Sink> sinks = new ArrayList<>();
    for (List<Sink> kind : List.of(spec.statsSinks(), spec.alertSinks(), spec.deadLetterSinks())) {
      for (Sink sink : kind) {
        if (sink.type().equals("embedded") || sink.type().equals("postgres")) {
          sinks.add(sink);
        }
      }
    }
    return sinks;
  }

  private PostgresIO.Database open(Sink sink) {
    if (sink.type().equals("embedded")) {
      PostgresIO.Database db = databases.get("embedded|" + sink.dataDir());
      if (db == null) {
        checkLocalTooling();
        EmbeddedPostgresStore store =
            EmbeddedPostgresStore.start(Path.of(sink.dataDir()), sink.port());
        embedded.put(sink.dataDir(), store);
        notes.add(describe(store));
        db = EmbeddedStores.database(store);
        databases.put("embedded|" + sink.dataDir(), db);
      }
      return db;
    }
    if (sink.passwordEnv() != null && System.getenv(sink.passwordEnv()) == null) {
      throw new IllegalArgumentException(
          "password_env: environment variable " + sink.passwordEnv() + " is not set");
    }
    return databases.computeIfAbsent(
        sink.jdbcUrl() + "|" + sink.user() + "|" + sink.passwordEnv() + "|" + sink.passwordFile(),
        id -> {
          PostgresIO.Database db = SinkDatabases.external(sink);
          notes.add("PostgreSQL at " + db.displayUrl());
          return db;
        });
  }

  /**
   * The embedded database is local tooling (sluice-local), which the per-runner job jars leave out.
   */
  private static void checkLocalTooling() {
    try {
      Class.forName(
          "dev.sluice.local.EmbeddedPostgresStore", false, SinkServers.class.getClassLoader());
    } catch (ClassNotFoundException e) {
      throw new IllegalArgumentException(
          "sink type embedded starts a PostgreSQL in this process, which needs sluice-local on the"
              + " class path (./sluice and sluice-bundled.jar have it; the Flink job jar and the"
              + " Dataflow jar do not): use a jsonl, postgres or kafka sink");
    }
  }

  private static String describe(EmbeddedPostgresStore store) {
    return "embedded PostgreSQL at "
        + store.jdbcUrl()
        + " (data in "
        + store.dataDirectory()
        + "); query it while the job runs with ./sluice query \"SELECT ...\", or PGPASSWORD=$(cat "
        + store.passwordFile()
        + ") psql 'postgresql://postgres@localhost:"
        + store.port()
        + "/postgres'";
  }

  @Override
  public PostgresIO.Database of(Sink sink) {
    if (sink.type().equals("embedded")) {
      PostgresIO.Database db = databases.get("embedded|" + sink.dataDir());
      if (db == null) {
        throw new IllegalStateException("no embedded database started for " + sink.dataDir());
      }
      return db;
    }
    return open(sink);
  }

  /** The embedded servers started, in the order of the spec's sinks. */
  public List<EmbeddedPostgresStore> embedded() {
    return List.copyOf(embedded.values());
  }

  /** One line per database: where it is and how to query it. */
  public List<String> notes() {
    return List.copyOf(notes);
  }

  @Override
  public void close() {
    // A loop, not a method reference: without embedded sinks this never touches sluice-local.
    for (EmbeddedPostgresStore store : embedded.values()) {
      store.close();
    }
    embedded.clear();
  }
}

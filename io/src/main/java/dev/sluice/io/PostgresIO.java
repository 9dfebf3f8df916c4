package dev.sluice.io;

import com.google.auto.value.AutoValue;
import dev.sluice.model.Alert;
import dev.sluice.model.DeadLetter;
import dev.sluice.model.DeadLetter.Reason;
import dev.sluice.model.WindowStats;
import dev.sluice.transforms.Checks;
import java.io.IOException;
import java.io.InputStream;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.sql.BatchUpdateException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import javax.sql.DataSource;
import org.apache.beam.sdk.io.jdbc.JdbcIO;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.Reshuffle;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.transforms.windowing.BoundedWindow;
import org.apache.beam.sdk.transforms.windowing.DefaultTrigger;
import org.apache.beam.sdk.transforms.windowing.GlobalWindows;
import org.apache.beam.sdk.transforms.windowing.Window;
import org.apache.beam.sdk.util.BackOff;
import org.apache.beam.sdk.util.Sleeper;
import org.apache.beam.sdk.values.PCollection;
import org.checkerframework.checker.nullness.qual.Nullable;
import org.joda.time.Duration;
import org.joda.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * PostgreSQL storage for window stats, alerts and dead letters, with idempotent upserts.
 *
 * <pre>{@code
 * PostgresIO.Database db = PostgresIO.database("jdbc:postgresql://db:5432/metrics")
 *     .withUser("sluice").withPassword(System.getenv("SLUICE_JDBC_PASSWORD"));
 * PCollection<DeadLetter> rejected =
 *     stats.apply("StoreStats", PostgresIO.writeStats().to(db).withCreateTables(true));
 * }</pre>
 *
 * <p>Each write is an {@code INSERT ... ON CONFLICT} on the table's natural key, so a retried
 * bundle or a replay of the same input leaves the same table contents:
 *
 * <ul>
 *   <li>{@code window_stats} (key, metric, window_start, window_end): a later pane of a window
 *       replaces an earlier one ({@code pane_index}), a stale pane never overwrites a newer one,
 *       whatever order the writes arrive in, and a pane with the same index replaces the row only
 *       if it counts at least as many events (a window recomputed from part of its events, e.g.
 *       after a restart without state, never replaces the complete row).
 *   <li>{@code alerts} (alert_id, status, window_end): a notification is written once; a replay of
 *       it is ignored (so {@code emitted_at} stays that of the first write).
 *   <li>{@code dead_letters} (dead_letter_id = SHA-256 of stage, reason, source and payload): once;
 *       a dead letter without a source (which a replay could not recognise anyway) is identified by
 *       its content and the time of the rejection.
 * </ul>
 *
 * <p>Rows of a user's own type are upserted the same way with {@link #write(PostgresTable)}, given
 * a {@link PostgresTable} (columns, conflict key, binder, natural key, optional DDL); the three
 * tables above are such definitions.
 *
 * <p>Rows are written in batches of {@code batchSize} per bundle, one transaction per batch, sorted
 * by natural key (so concurrent writers take row locks in the same order). Transient errors
 * (serialization failure, deadlock, lost or refused connection, server shutting down, a timeout)
 * are retried with exponential backoff (Beam's {@code FluentBackoff}: doubling, ±50 % jitter, each
 * delay at most 10 s) on a fresh pooled connection for a retry budget (default 5 min, {@link
 * Write#withRetryBudget}); when it is spent the bundle fails and the runner retries it or restarts
 * the job from its last checkpoint, which the upserts make harmless. A row the database refuses for
 * good (a data, constraint or limit error, e.g. a text with a NUL character or a key too long for
 * the index, SQLState 54000) is found by retrying the batch row by row and becomes a {@code
 * SINK_REJECTED} dead letter on the output; the other rows are written. Any other error
 * (authentication, missing table, privileges) fails the bundle: a misconfiguration never turns good
 * rows into dead letters.
 *
 * <p>The DDL is checked in ({@code dev/sluice/io/postgres/*.sql}) and applied when asked ({@link
 * Write#withCreateTables}, or {@link #createTables}); schema and table names must match {@code
 * [a-z_][a-z0-9_]{0,62}}, and every value is bound as a parameter. The password is never in display
 * data, {@code toString} or error messages; the URL is shown without its query string.
 */
public final class PostgresIO {
  private static final Logger LOG = LoggerFactory.getLogger(PostgresIO.class);

  /** Metrics namespace of the writes. */
  public static final String METRICS_NAMESPACE = "sluice.postgres";

  private static final Pattern NAME = Pattern.compile("[a-z_][a-z0-9_]{0,62}");

  private PostgresIO() {}

  /** A PostgreSQL database at {@code jdbcUrl} ({@code jdbc:postgresql://host:port/database}). */
  public static Database database(String jdbcUrl) {
    Checks.notBlank("jdbcUrl", jdbcUrl);
    if (!jdbcUrl.startsWith("jdbc:postgresql:")) {
      throw new IllegalArgumentException(
          "jdbcUrl must start with jdbc:postgresql:, got " + Database.withoutQuery(jdbcUrl));
    }
    return new AutoValue_PostgresIO_Database(jdbcUrl, null, null, null, null);
  }

  /**
   * Upserts rows of the caller's own type into a table described by {@code table} (see {@link
   * PostgresTable} for an example); the output holds the rows the database refused for good, as
   * {@code SINK_REJECTED} dead letters, like {@link #writeStats}.
   */
  public static <T> Write<T> write(PostgresTable<T> table) {
    Checks.notNull("table", table);
    table.validate();
    return Write.create(table);
  }

  /** Upserts window stats into {@code <schema>.window_stats}. */
  public static Write<WindowStats> writeStats() {
    return Write.create(SluiceTables.STATS);
  }

  /** Writes alert notifications into {@code <schema>.alerts}, once each. */
  public static Write<Alert> writeAlerts() {
    return Write.create(SluiceTables.ALERTS);
  }

  /** Writes dead letters into {@code <schema>.dead_letters}, once each. */
  public static Write<DeadLetter> writeDeadLetters() {
    return Write.create(SluiceTables.DEAD_LETTERS);
  }

  /**
   * Applies the checked-in DDL of all three tables, with their default names, in {@code schema}.
   */
  public static void createTables(Database database, String schema) {
    for (Write<?> write : List.of(writeStats(), writeAlerts(), writeDeadLetters())) {
      write.to(database).withSchema(schema).applyDdl();
    }
  }

  /**
   * The checked-in DDL of a table kind ({@code window_stats}, {@code alerts}, {@code
   * dead_letters}).
   */
  public static String ddl(String kind, String schema, String table) {
    checkName("schema", schema);
    checkName("table", table);
    return ddlTemplate(kind).replace("{schema}", schema).replace("{table}", table);
  }

  /**
   * The checked-in DDL of a table kind, with its {@code {schema}} and {@code {table}} placeholders.
   */
  static String ddlTemplate(String kind) {
    String resource = "postgres/" + kind + ".sql";
    try (InputStream in = PostgresIO.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalArgumentException(
            "unknown table kind '" + kind + "'; use window_stats, alerts or dead_letters");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static String checkName(String field, String name) {
    Checks.notNull(field, name);
    if (!NAME.matcher(name).matches()) {
      throw new IllegalArgumentException(
          field
              + " must match [a-z_][a-z0-9_]{0,62} (lower case, digits, underscores), got '"
              + name
              + "'");
    }
    return name;
  }

  /**
   * Where to connect: URL, user and where the password comes from. Serializable (it travels to the
   * workers); {@code toString} and display data never show the password or the URL's query string.
   * A password from {@link #withPasswordEnv} or {@link #withPasswordFile} is read where the
   * connection is opened (on the worker, at setup), so it is never part of a job graph or template;
   * only {@link #withPassword} carries the value itself.
   *
   * <p>Connections time out: 10 s to connect or log in, 5 min for a statement's reply on the
   * socket, with TCP keep-alive, so a database that stops answering fails the attempt (and the
   * retries begin) instead of hanging the writer.
   */
  @AutoValue
  public abstract static class Database implements Serializable {
    /** Seconds to connect and to log in. */
    static final int CONNECT_TIMEOUT_SECONDS = 10;

    /** Seconds to wait for the server's reply on an open connection. */
    static final int SOCKET_TIMEOUT_SECONDS = 300;

    abstract String url();

    abstract @Nullable String user();

    abstract @Nullable String password();

    abstract @Nullable String passwordEnv();

    abstract @Nullable String passwordFile();

    /** The user to connect as. */
    public Database withUser(String user) {
      Checks.notBlank("user", user);
      return new AutoValue_PostgresIO_Database(
          url(), user, password(), passwordEnv(), passwordFile());
    }

    /**
     * The password itself; kept out of display data, logs and messages, but serialized with the
     * transform. Prefer {@link #withPasswordEnv} or {@link #withPasswordFile}.
     */
    public Database withPassword(String password) {
      Checks.notNull("password", password);
      return new AutoValue_PostgresIO_Database(url(), user(), password, null, null);
    }

    /** The password is read from this environment variable where the connection is opened. */
    public Database withPasswordEnv(String variable) {
      Checks.notBlank("passwordEnv", variable);
      return new AutoValue_PostgresIO_Database(url(), user(), null, variable, null);
    }

    /** The password is the first line of this file, read where the connection is opened. */
    public Database withPasswordFile(java.nio.file.Path file) {
      Checks.notNull("passwordFile", file);
      return new AutoValue_PostgresIO_Database(
          url(), user(), null, null, file.toAbsolutePath().toString());
    }

    /** The URL without its query string (which may carry credentials), for display. */
    public String displayUrl() {
      return withoutQuery(url());
    }

    static String withoutQuery(String url) {
      int query = url.indexOf('?');
      return query < 0 ? url : url.substring(0, query) + "?…";
    }

    /** The password from its source, or null; read now. */
    @Nullable String resolvePassword() {
      if (password() != null) {
        return password();
      }
      if (passwordEnv() != null) {
        String value = System.getenv(passwordEnv());
        if (value == null) {
          throw new IllegalStateException(
              "the PostgreSQL password variable " + passwordEnv() + " is not set on this worker");
        }
        return value;
      }
      if (passwordFile() != null) {
        try {
          List<String> lines =
              java.nio.file.Files.readAllLines(java.nio.file.Path.of(passwordFile()));
          return lines.isEmpty() ? "" : lines.get(0).strip();
        } catch (IOException e) {
          throw new IllegalStateException(
              "cannot read the PostgreSQL password file "
                  + passwordFile()
                  + " ("
                  + e.getClass().getSimpleName()
                  + ")");
        }
      }
      return null;
    }

    /** Beam's {@code JdbcIO} data source configuration for this database; reads the password. */
    public JdbcIO.DataSourceConfiguration dataSourceConfiguration() {
      JdbcIO.DataSourceConfiguration config =
          JdbcIO.DataSourceConfiguration.create("org.postgresql.Driver", url())
              // One multi-row INSERT per batch instead of one statement per row (rows with the
              // same natural key are merged before, so ON CONFLICT never meets a row twice).
              .withConnectionProperties(
                  "reWriteBatchedInserts=true;connectTimeout="
                      + CONNECT_TIMEOUT_SECONDS
                      + ";loginTimeout="
                      + CONNECT_TIMEOUT_SECONDS
                      + ";socketTimeout="
                      + SOCKET_TIMEOUT_SECONDS
                      + ";tcpKeepAlive=true");
      if (user() != null) {
        config = config.withUsername(user());
      }
      String resolved = resolvePassword();
      if (resolved != null) {
        config = config.withPassword(resolved);
      }
      return config;
    }

    /** A pooled data source, shared by every writer of this database in the JVM. */
    public DataSource dataSource() {
      return JdbcIO.PoolableDataSourceProvider.of(dataSourceConfiguration()).apply(null);
    }

    /** Opens one connection (outside the pool), e.g. for a query. */
    public Connection connect() throws SQLException {
      java.util.Properties properties = new java.util.Properties();
      if (user() != null) {
        properties.setProperty("user", user());
      }
      String resolved = resolvePassword();
      if (resolved != null) {
        properties.setProperty("password", resolved);
      }
      properties.setProperty("connectTimeout", String.valueOf(CONNECT_TIMEOUT_SECONDS));
      return java.sql.DriverManager.getConnection(url(), properties);
    }

    @Override
    public final String toString() {
      return "Database{"
          + displayUrl()
          + (user() == null ? "" : ", user=" + user())
          + (password() == null ? "" : ", password=***")
          + (passwordEnv() == null ? "" : ", password from $" + passwordEnv())
          + (passwordFile() == null ? "" : ", password from " + passwordFile())
          + "}";
    }
  }

  /**
   * Writes elements to a table with an idempotent upsert; the output holds the rows the database
   * refused for good, as {@code SINK_REJECTED} dead letters (in the global window).
   */
  @AutoValue
  public abstract static class Write<T>
      extends PTransform<PCollection<T>, PCollection<DeadLetter>> {
    abstract PostgresTable<T> definition();

    abstract @Nullable Database database();

    abstract String schema();

    abstract String table();

    abstract boolean createTables();

    abstract int batchSize();

    abstract boolean copy();

    abstract int writers();

    abstract int maxRetries();

    abstract Duration initialBackoff();

    abstract Duration retryBudget();

    abstract Builder<T> toBuilder();

    static <T> Write<T> create(PostgresTable<T> definition) {
      return new AutoValue_PostgresIO_Write.Builder<T>()
          .setDefinition(definition)
          .setSchema("sluice")
          .setTable(definition.name())
          .setCreateTables(false)
          .setBatchSize(1_000)
          .setCopy(false)
          .setWriters(0)
          .setMaxRetries(1000)
          .setInitialBackoff(Duration.millis(100))
          .setRetryBudget(Duration.standardMinutes(5))
          .build();
    }

    /** The database to write to (required). */
    public Write<T> to(Database database) {
      Checks.notNull("database", database);
      return toBuilder().setDatabase(database).build();
    }

    /** The schema of the table (default {@code sluice}). */
    public Write<T> withSchema(String schema) {
      return toBuilder().setSchema(checkName("schema", schema)).build();
    }

    /**
     * The table name (defaults: {@code window_stats}, {@code alerts}, {@code dead_letters}, or the
     * {@link PostgresTable#name} of a user's table).
     */
    public Write<T> withTable(String table) {
      return toBuilder().setTable(checkName("table", table)).build();
    }

    /** Create schema, table and indexes (if absent) when a writer starts. */
    public Write<T> withCreateTables(boolean createTables) {
      return toBuilder().setCreateTables(createTables).build();
    }

    /** Rows per statement batch and transaction (default 1000). */
    public Write<T> withBatchSize(int batchSize) {
      if (batchSize < 1 || batchSize > 100_000) {
        throw new IllegalArgumentException(
            "batchSize must be between 1 and 100000, got " + batchSize);
      }
      return toBuilder().setBatchSize(batchSize).build();
    }

    /**
     * Load batches of at least {@value UpsertFn#COPY_MIN_ROWS} rows with {@code COPY} into a
     * temporary table of the session, then upsert them from it with one {@code INSERT ... SELECT}
     * (needs the {@code TEMPORARY} privilege, which PostgreSQL grants every user by default).
     * Default false: one multi-row {@code INSERT} per batch. Same rows, same conflict handling. On
     * the 2-core benchmark machine {@code COPY} took 0.45–0.9 s for 2 x 15,000 stats rows against
     * 0.67–1.5 s (a one-off plain JDBC program), but through a pipeline ({@code benchmarks/run
     * postgres-sink}) and in {@code benchmarks/run latency} it made no measurable difference, so it
     * is not the default.
     */
    public Write<T> withCopy(boolean copy) {
      return toBuilder().setCopy(copy).build();
    }

    /**
     * Spreads the rows over this many keys ({@code Reshuffle}, step {@code Redistribute}) before
     * the upsert, so a burst of rows (a window close) is written apart from the step that produced
     * it, by up to this many writers in parallel. On Flink the rows go round-robin to the writer
     * subtasks whatever the number, and the producing step's other outputs (e.g. to the rule step)
     * no longer wait for the database: {@code benchmarks/run latency} measured alerts p50 1.3–1.8 s
     * with it against 2.9 s without, stats rows the same. On the Direct runner it costs more than
     * it gives (the main job, with it on every PostgreSQL write, took 50 s instead of 40 s).
     * Default: none, rows are written where they are produced.
     */
    public Write<T> withWriters(int writers) {
      if (writers < 1 || writers > 1_000) {
        throw new IllegalArgumentException("writers must be between 1 and 1000, got " + writers);
      }
      return toBuilder().setWriters(writers).build();
    }

    /**
     * Most retries of a batch after transient errors (default 1000; the {@link #withRetryBudget
     * retry budget} usually ends them first).
     */
    public Write<T> withMaxRetries(int maxRetries) {
      if (maxRetries < 0 || maxRetries > 100_000) {
        throw new IllegalArgumentException(
            "maxRetries must be between 0 and 100000, got " + maxRetries);
      }
      return toBuilder().setMaxRetries(maxRetries).build();
    }

    /** First retry delay, doubled per retry up to 10 s, with ±50 % jitter (default 100 ms). */
    public Write<T> withInitialBackoff(Duration initialBackoff) {
      Checks.positive("initialBackoff", initialBackoff);
      return toBuilder().setInitialBackoff(initialBackoff).build();
    }

    /**
     * How long a batch is retried after transient errors (a database restarting, a lost connection)
     * before the failure goes to the runner, which retries the bundle or restarts the job from its
     * last checkpoint (default 5 min).
     */
    public Write<T> withRetryBudget(Duration retryBudget) {
      Checks.positive("retryBudget", retryBudget);
      return toBuilder().setRetryBudget(retryBudget).build();
    }

    /** {@code schema.table}. */
    public String qualifiedTable() {
      return schema() + "." + table();
    }

    void applyDdl() {
      Database database = Checks.notNull("database", database());
      String ddl = definition().ddl(schema(), table());
      if (ddl == null) {
        throw new IllegalStateException(
            "no DDL for " + qualifiedTable() + "; set it with PostgresTable.withDdl");
      }
      try (Connection connection = database.dataSource().getConnection()) {
        UpsertFn.applyDdl(connection, ddl);
      } catch (SQLException e) {
        throw new IllegalStateException(
            "cannot create " + qualifiedTable() + " in " + database + ": " + e.getMessage(), e);
      }
    }

    @Override
    public PCollection<DeadLetter> expand(PCollection<T> input) {
      if (database() == null) {
        throw new IllegalArgumentException(
            "database must be set with to(PostgresIO.database(url)) for " + qualifiedTable());
      }
      if (createTables() && definition().ddlTemplate() == null) {
        throw new IllegalArgumentException(
            "withCreateTables(true) needs the DDL of "
                + qualifiedTable()
                + "; set it with PostgresTable.withDdl");
      }
      PCollection<T> rows =
          writers() == 0
              ? input
              // Few keys: a runner that makes a bundle per key still writes full batches.
              : input.apply("Redistribute", Reshuffle.<T>viaRandomKey().withNumBuckets(writers()));
      return rows.apply("Upsert", ParDo.of(new UpsertFn<>(this)))
          .setCoder(DeadLetter.DeadLetterCoder.of())
          // Joinable with other dead letters: the global window with the default trigger.
          .apply(
              "IntoGlobalWindow",
              Window.<DeadLetter>into(new GlobalWindows())
                  .triggering(DefaultTrigger.of())
                  .withAllowedLateness(Duration.ZERO)
                  .discardingFiredPanes());
    }

    @Override
    public void populateDisplayData(DisplayData.Builder builder) {
      super.populateDisplayData(builder);
      if (database() != null) {
        builder.add(DisplayData.item("jdbcUrl", database().displayUrl()));
        builder.addIfNotNull(DisplayData.item("user", database().user()));
      }
      builder
          .add(DisplayData.item("table", qualifiedTable()))
          .add(DisplayData.item("createTables", createTables()))
          .add(DisplayData.item("batchSize", batchSize()))
          .add(DisplayData.item("copy", copy()))
          .add(DisplayData.item("writers", writers()))
          .add(DisplayData.item("maxRetries", maxRetries()))
          .add(DisplayData.item("initialBackoff", initialBackoff()))
          .add(DisplayData.item("retryBudget", retryBudget()));
    }

    @AutoValue.Builder
    abstract static class Builder<T> {
      abstract Builder<T> setDefinition(PostgresTable<T> value);

      abstract Builder<T> setDatabase(Database value);

      abstract Builder<T> setSchema(String value);

      abstract Builder<T> setTable(String value);

      abstract Builder<T> setCreateTables(boolean value);

      abstract Builder<T> setBatchSize(int value);

      abstract Builder<T> setCopy(boolean value);

      abstract Builder<T> setWriters(int value);

      abstract Builder<T> setMaxRetries(int value);

      abstract Builder<T> setInitialBackoff(Duration value);

      abstract Builder<T> setRetryBudget(Duration value);

      abstract Write<T> build();
    }
  }

  /**
   * True for errors a retry can cure: connection exceptions (class 08), serialization failure and
   * deadlock (40001, 40P01), lock not available (55P03), too many connections (53300), and the
   * server shutting down or starting (57P01, 57P02, 57P03).
   */
  public static boolean isTransient(SQLException e) {
    // A pool that cannot connect wraps the driver's exception as its cause, without a state.
    if (e.getCause() instanceof SQLException cause && cause != e && isTransient(cause)) {
      return true;
    }
    if (e.getSQLState() == null && e.getCause() instanceof java.io.IOException) {
      return true;
    }
    for (SQLException x = e; x != null; x = x.getNextException()) {
      String state = x.getSQLState();
      if (state != null
          && (state.startsWith("08")
              || state.equals("40001")
              || state.equals("40P01")
              || state.equals("55P03")
              || state.equals("53300")
              || state.equals("57P01")
              || state.equals("57P02")
              || state.equals("57P03"))) {
        return true;
      }
      if (x.getNextException() == x) {
        break;
      }
    }
    return false;
  }

  /**
   * True for errors about the data of a row (SQLState classes 22, data exception, 23, integrity
   * constraint violation, and 54, program limit exceeded, e.g. 54000 for a key too long for the
   * primary-key index): the rows the database refuses for good. Any other error (authentication,
   * missing table, privileges, read-only, disk full) concerns the whole batch and fails the bundle,
   * so nothing is turned into dead letters by a misconfiguration.
   */
  static boolean isRowError(SQLException e) {
    for (SQLException x = e; x != null; x = x.getNextException()) {
      String state = x.getSQLState();
      if (state != null
          && (state.startsWith("22") || state.startsWith("23") || state.startsWith("54"))) {
        return true;
      }
      if (x.getNextException() == x) {
        break;
      }
    }
    return false;
  }

  /** Buffers a bundle's rows and upserts them in batches; see the class comment for retries. */
  static final class UpsertFn<T> extends DoFn<T, DeadLetter> {
    /** Smallest batch loaded with {@code COPY} (when on); smaller ones are one INSERT. */
    static final int COPY_MIN_ROWS = 50;

    /** Cap of every retry delay. */
    static final Duration MAX_BACKOFF = Duration.standardSeconds(10);

    private final PostgresTable<T> table;
    private final Database database;
    private final String sql;
    private final String ddl;
    private final String qualifiedTable;
    private final int batchSize;
    private final boolean copy;
    private final int maxRetries;
    private final long initialBackoffMillis;
    private final long retryBudgetMillis;

    private transient DataSource dataSource;
    private transient List<Pending<T>> buffer;
    private transient Counter rowsWritten;
    private transient Counter rowsRejected;
    private transient Counter retries;

    UpsertFn(Write<T> spec) {
      this.table = spec.definition();
      this.database = spec.database();
      this.qualifiedTable = spec.qualifiedTable();
      this.sql = table.upsertSql(qualifiedTable);
      this.ddl = spec.createTables() ? table.ddl(spec.schema(), spec.table()) : null;
      this.batchSize = spec.batchSize();
      this.copy = spec.copy();
      this.maxRetries = spec.maxRetries();
      this.initialBackoffMillis = spec.initialBackoff().getMillis();
      this.retryBudgetMillis = spec.retryBudget().getMillis();
    }

    private record Pending<T>(T row, Instant timestamp, BoundedWindow window) {}

    /** A consumer of rejected rows (the DoFn output, in or outside a bundle's element). */
    private interface Rejects<T> {
      void reject(Pending<T> pending, String error);
    }

    @Setup
    public void setup() throws Exception {
      dataSource = database.dataSource();
      rowsWritten = Metrics.counter(METRICS_NAMESPACE, "rows_written");
      rowsRejected = Metrics.counter(METRICS_NAMESPACE, "rows_rejected");
      retries = Metrics.counter(METRICS_NAMESPACE, "retries");
      if (ddl != null) {
        withRetries(
            "create " + qualifiedTable,
            () -> {
              try (Connection connection = dataSource.getConnection()) {
                applyDdl(connection, ddl);
              }
              return null;
            });
      }
    }

    static void applyDdl(Connection connection, String ddl) throws SQLException {
      boolean autoCommit = connection.getAutoCommit();
      connection.setAutoCommit(false);
      try (Statement statement = connection.createStatement()) {
        // Concurrent writers (all workers start at once) must not race on CREATE ... IF NOT EXISTS.
        statement.execute("SELECT pg_advisory_xact_lock(7370392218)");
        for (String part : ddl.split(";\\s*(\\n|$)")) {
          String sqlPart = part.replaceAll("(?m)^--.*$", "").trim();
          if (!sqlPart.isEmpty()) {
            statement.execute(sqlPart);
          }
        }
        connection.commit();
      } catch (SQLException e) {
        connection.rollback();
        throw e;
      } finally {
        connection.setAutoCommit(autoCommit);
      }
    }

    @StartBundle
    public void startBundle() {
      buffer = new ArrayList<>();
    }

    @ProcessElement
    public void process(
        @Element T row,
        @Timestamp Instant timestamp,
        BoundedWindow window,
        OutputReceiver<DeadLetter> out)
        throws Exception {
      buffer.add(new Pending<>(row, timestamp, window));
      if (buffer.size() >= batchSize) {
        flush((pending, error) -> out.output(rejected(pending.row(), error)));
      }
    }

    @FinishBundle
    public void finishBundle(FinishBundleContext context) throws Exception {
      flush(
          (pending, error) ->
              context.output(
                  rejected(pending.row(), error), pending.timestamp(), pending.window()));
    }

    private DeadLetter rejected(T row, String error) {
      rowsRejected.inc();
      return DeadLetter.of(
          "store",
          Reason.SINK_REJECTED,
          qualifiedTable + " refused the row: " + error,
          table.payload(row),
          qualifiedTable,
          Instant.now());
    }

    private void flush(Rejects<T> rejects) throws Exception {
      if (buffer.isEmpty()) {
        return;
      }
      Map<String, Pending<T>> byKey = new LinkedHashMap<>();
      for (Pending<T> pending : buffer) {
        byKey.merge(
            table.naturalKey(pending.row()),
            pending,
            (a, b) -> table.winner(a.row(), b.row()) == a.row() ? a : b);
      }
      buffer = new ArrayList<>();
      List<Map.Entry<String, Pending<T>>> rows = new ArrayList<>(byKey.entrySet());
      rows.sort(Map.Entry.comparingByKey(Comparator.naturalOrder()));
      List<Pending<T>> batch = rows.stream().map(Map.Entry::getValue).toList();
      String copyText =
          copy && batch.size() >= COPY_MIN_ROWS
              ? CopyText.encode(table, batch.stream().map(Pending::row).toList())
              : null;
      try {
        withRetries("upsert into " + qualifiedTable, () -> execute(batch, copyText));
      } catch (PermanentFailure e) {
        // Find the rows the database refuses; write the others one by one.
        LOG.warn(
            "A batch of {} rows into {} failed ({}); retrying row by row",
            batch.size(),
            qualifiedTable,
            e.getMessage());
        for (Pending<T> pending : batch) {
          try {
            withRetries("upsert into " + qualifiedTable, () -> execute(List.of(pending), null));
          } catch (PermanentFailure rowFailure) {
            rejects.reject(pending, rowFailure.getMessage());
          }
        }
      }
    }

    /** One transaction: {@code copyText} (the batch as COPY text) if given, else an INSERT. */
    private Void execute(List<Pending<T>> batch, @Nullable String copyText) throws SQLException {
      try (Connection connection = dataSource.getConnection()) {
        connection.setAutoCommit(false);
        try (PreparedStatement statement =
            copyText == null ? connection.prepareStatement(sql) : null) {
          if (statement == null) {
            CopyText.upsert(connection, table, qualifiedTable, copyText);
          } else {
            for (Pending<T> pending : batch) {
              table.bind(statement, pending.row());
              statement.addBatch();
            }
            statement.executeBatch();
          }
          connection.commit();
        } catch (SQLException | RuntimeException e) {
          try {
            connection.rollback();
          } catch (SQLException ignored) {
            // The connection is gone; the pool discards it when it is returned.
          }
          throw e;
        }
      }
      rowsWritten.inc(batch.size());
      return null;
    }

    /** A non-transient error, with the database's message (never a parameter value). */
    static final class PermanentFailure extends Exception {
      PermanentFailure(String message, Throwable cause) {
        super(message, cause);
      }
    }

    private interface SqlAction {
      Object run() throws SQLException;
    }

    private void withRetries(String what, SqlAction action) throws Exception {
      BackOff backoff =
          Backoffs.doubling(Duration.millis(initialBackoffMillis), MAX_BACKOFF, maxRetries);
      long started = System.nanoTime();
      for (int attempt = 0; ; attempt++) {
        try {
          action.run();
          return;
        } catch (SQLException e) {
          SQLException cause =
              e instanceof BatchUpdateException && e.getNextException() != null
                  ? e.getNextException()
                  : e;
          if (!isTransient(e) && !isRowError(e)) {
            throw new IllegalStateException(
                what
                    + " failed: SQLState "
                    + cause.getSQLState()
                    + ": "
                    + firstLine(cause.getMessage()),
                e);
          }
          if (!isTransient(e)) {
            throw new PermanentFailure(
                "SQLState " + cause.getSQLState() + ": " + firstLine(cause.getMessage()), e);
          }
          long elapsedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
          // The budget is wall-clock time, attempts included, not only the time slept.
          long delay =
              elapsedMillis >= retryBudgetMillis ? BackOff.STOP : backoff.nextBackOffMillis();
          if (delay == BackOff.STOP) {
            throw new IllegalStateException(
                what
                    + " failed after "
                    + (attempt + 1)
                    + " attempts in "
                    + elapsedMillis / 1000
                    + " s with transient errors; last: SQLState "
                    + cause.getSQLState()
                    + ": "
                    + firstLine(cause.getMessage()),
                e);
          }
          retries.inc();
          delay = Math.min(delay, retryBudgetMillis - elapsedMillis);
          LOG.warn(
              "{} failed (SQLState {}), retry {} of {} in {} ms",
              what,
              cause.getSQLState(),
              attempt + 1,
              maxRetries,
              delay);
          Sleeper.DEFAULT.sleep(delay);
        }
      }
    }

    private static String firstLine(String message) {
      if (message == null) {
        return "(no message)";
      }
      int newline = message.indexOf('\n');
      return newline < 0 ? message : message.substring(0, newline);
    }
  }
}

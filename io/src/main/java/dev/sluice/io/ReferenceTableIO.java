package dev.sluice.io;

import com.google.auto.value.AutoValue;
import dev.sluice.io.EventFilesIO.CsvException;
import dev.sluice.model.ReferenceTable;
import dev.sluice.model.ReferenceTable.ReferenceTableCoder;
import dev.sluice.transforms.Checks;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.io.GenerateSequence;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.Combine;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.Impulse;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.View;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.transforms.windowing.AfterProcessingTime;
import org.apache.beam.sdk.transforms.windowing.GlobalWindows;
import org.apache.beam.sdk.transforms.windowing.Repeatedly;
import org.apache.beam.sdk.transforms.windowing.Window;
import org.apache.beam.sdk.values.PBegin;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionView;
import org.checkerframework.checker.nullness.qual.Nullable;
import org.joda.time.Duration;
import org.joda.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reference data for enrichment, as a singleton side input: a {@link ReferenceTable} read from a
 * CSV file or a PostgreSQL table, once or again every interval (the "slowly changing side input"
 * pattern, built from Beam model features only, so it runs on the Direct, Flink and Dataflow
 * runners alike).
 *
 * <pre>{@code
 * ReferenceTableIO.Read limits =
 *     ReferenceTableIO.csv("examples/limits.csv")
 *         .withKeyColumn("sensor")
 *         .withRefreshEvery(Duration.standardMinutes(5));
 * limits.load();  // optional: fail fast, before the job starts, with file and line
 * PCollectionView<ReferenceTable> view = pipeline.apply("ReadLimits", limits);
 * events.apply("Enrich", ParDo.of(new DoFn<Event, Event>() {
 *   @ProcessElement
 *   public void process(ProcessContext c) {
 *     Map<String, Object> row = c.sideInput(view).row(c.element().key());  // null: no row
 *     ...
 *   }
 * }).withSideInputs(view));
 * }</pre>
 *
 * <p>Sources:
 *
 * <ul>
 *   <li>{@link #csv}: a file on the local filesystem of whoever loads it (the launcher for {@link
 *       Read#load}, every worker in a pipeline, so on a cluster it must be at the same path on each
 *       worker). UTF-8, a leading byte order mark ignored; RFC 4180 cells, one record per line, as
 *       {@link EventFilesIO} reads them. The first non-blank line is the header (column names, none
 *       twice, none empty, the key column among them); blank lines are skipped; every other line
 *       must have as many cells as the header. An empty cell is an absent column; a cell that is
 *       exactly a JSON number ({@code 50}, {@code -3.5}, {@code 1e3}) is a {@link Double}, exactly
 *       {@code true} or {@code false} a {@link Boolean}, anything else a {@link String}.
 *   <li>{@link #postgres}: {@code SELECT * FROM <table>}; numeric columns become {@link Double}s,
 *       {@code boolean} (and {@code bit(1)}) {@link Boolean}s, anything else its text; SQL {@code
 *       NULL} is an absent column. Connections time out as {@link PostgresIO.Database}'s do.
 * </ul>
 *
 * <p>The key column's value (text, neither empty nor NULL, no value twice) is the row key; it is
 * not repeated among the row's columns. Every problem is an {@link IllegalArgumentException} naming
 * the file and line, or the table and column; the password of a database never appears in messages,
 * logs, {@link Read#describe()} or display data.
 *
 * <p>Read once (the default): a bounded {@code Impulse} loads the table when the pipeline starts; a
 * load that fails fails the pipeline with {@link Read#load}'s message. With {@link
 * Read#withRefreshEvery}: an unbounded tick source (Beam's {@code GenerateSequence} at one per
 * interval) loads the table when the pipeline starts and then every interval; each successful load
 * replaces the view's value (readers see it eventually, not at one instant on every worker). A load
 * that fails keeps the last good table, logs a warning and counts in {@value #REFRESH_FAILURES};
 * main-input elements wait for the first good table. Counters in namespace {@value
 * #METRICS_NAMESPACE}: {@value #LOADS} (successful loads) and {@value #REFRESH_FAILURES}.
 */
public final class ReferenceTableIO {
  private static final Logger LOG = LoggerFactory.getLogger(ReferenceTableIO.class);

  public static final String METRICS_NAMESPACE = "sluice.reference";

  /** Counter of successful loads. */
  public static final String LOADS = "reference_loads";

  /** Counter of refreshes that failed (the last good table stays). */
  public static final String REFRESH_FAILURES = "reference_refresh_failures";

  /** A table or schema-qualified table, unquoted lower-case identifiers (as PostgresIO names). */
  private static final Pattern TABLE =
      Pattern.compile("[a-z_][a-z0-9_]{0,62}(?:\\.[a-z_][a-z0-9_]{0,62})?");

  /** A number as JSON writes it (no sign, leading zeros, bare dot, hex or NaN). */
  private static final Pattern JSON_NUMBER =
      Pattern.compile("-?(?:0|[1-9][0-9]*)(?:\\.[0-9]+)?(?:[eE][+-]?[0-9]+)?");

  private ReferenceTableIO() {}

  /** Reads the CSV file at {@code path} (a local path; its first row is the header). */
  public static Read csv(String path) {
    Checks.notBlank("path", path);
    return new AutoValue_ReferenceTableIO_Read.Builder().setPath(path).build();
  }

  /**
   * Reads every row of {@code table} ({@code table} or {@code schema.table}) of {@code database}.
   */
  public static Read postgres(PostgresIO.Database database, String table) {
    Checks.notNull("database", database);
    Checks.notNull("table", table);
    if (!TABLE.matcher(table).matches()) {
      throw new IllegalArgumentException(
          "table must be a table or schema.table, each name matching [a-z_][a-z0-9_]{0,62}"
              + " (lower case, digits, underscores), got '"
              + table
              + "'");
    }
    return new AutoValue_ReferenceTableIO_Read.Builder()
        .setDatabase(database)
        .setTable(table)
        .build();
  }

  /** Reads a reference table into a singleton view; see the class comment. */
  @AutoValue
  public abstract static class Read extends PTransform<PBegin, PCollectionView<ReferenceTable>> {
    abstract @Nullable String path();

    abstract PostgresIO.@Nullable Database database();

    abstract @Nullable String table();

    abstract @Nullable String keyColumn();

    abstract @Nullable Duration refreshEvery();

    abstract Builder toBuilder();

    /** The column whose value is the row key (required). */
    public Read withKeyColumn(String column) {
      Checks.notBlank("keyColumn", column);
      return toBuilder().setKeyColumn(column).build();
    }

    /**
     * Loads the table again every {@code interval}; {@code null} (the default) reads it once. Every
     * load reads the whole table, so pick an interval that the source can afford.
     */
    public Read withRefreshEvery(@Nullable Duration interval) {
      if (interval != null) {
        Checks.positive("refreshEvery", interval);
      }
      return toBuilder().setRefreshEvery(interval).build();
    }

    /**
     * Where the rows come from, e.g. {@code file examples/limits.csv} or {@code PostgreSQL table
     * public.limits at jdbc:postgresql://db:5432/metrics}; never with a password.
     */
    public String describe() {
      PostgresIO.Database database = database();
      return database == null
          ? "file " + path()
          : "PostgreSQL table " + table() + " at " + database.displayUrl();
    }

    /**
     * Reads the table now, in this thread.
     *
     * @throws IllegalArgumentException naming the file and line, or the table and column, when the
     *     source cannot be read or its rows are not a reference table
     */
    public ReferenceTable load() {
      String key = requireKeyColumn();
      return database() == null ? loadCsv(key) : loadPostgres(key);
    }

    private String requireKeyColumn() {
      String key = keyColumn();
      if (key == null) {
        throw new IllegalArgumentException(
            "keyColumn must be set with withKeyColumn(column) for " + describe());
      }
      return key;
    }

    @Override
    public PCollectionView<ReferenceTable> expand(PBegin input) {
      requireKeyColumn();
      Duration interval = refreshEvery();
      if (interval == null) {
        return input
            .apply("Impulse", Impulse.create())
            .apply("LoadReferenceTable", ParDo.of(new LoadFn<byte[]>(this)))
            .setCoder(ReferenceTableCoder.of())
            .apply("AsSingletonView", View.asSingleton());
      }
      PCollection<ReferenceTable> tables =
          input
              // An unbounded counting source, one tick at once and then one per interval. Not
              // PeriodicImpulse: that is a splittable DoFn over an Impulse, and on Flink with
              // --shutdownSourcesAfterIdleMs (which every Flink preset sets, so that bounded
              // jobs end) the Impulse ends, the operator enters finish() and fires its
              // self-rescheduling timers in a loop: no more ticks, a core spent, no watermark.
              .apply(
                  "RefreshTicks",
                  GenerateSequence.from(0)
                      .withRate(1, interval)
                      .withTimestampFn(tick -> Instant.now()))
              .setCoder(VarLongCoder.of())
              .apply(
                  "RefreshPanes",
                  Window.<Long>into(new GlobalWindows())
                      .triggering(Repeatedly.forever(AfterProcessingTime.pastFirstElementInPane()))
                      .discardingFiredPanes())
              .apply("LoadReferenceTable", ParDo.of(new LoadFn<Long>(this)))
              .setCoder(ReferenceTableCoder.of());
      // One combine that is itself the singleton view, not View.asSingleton(): a pane may hold
      // two tables (a burst of ticks, a slow load), and asSingleton's own combine may also merge
      // two panes of an upstream combine, which fails with "more than one element accessed as a
      // singleton view". Here each pane's value is its newest table by loadedAt, so every pane
      // that reaches the view holds exactly one table. Without defaults: readers wait for the
      // first load instead of seeing an empty table.
      return tables.apply(
          "NewestTableAsView",
          Combine.globally(new NewestTable()).withoutDefaults().asSingletonView());
    }

    @Override
    public void populateDisplayData(DisplayData.Builder builder) {
      super.populateDisplayData(builder);
      builder.add(DisplayData.item("source", describe()));
      PostgresIO.Database database = database();
      if (database != null) {
        builder.addIfNotNull(DisplayData.item("user", database.user()));
      }
      builder
          .addIfNotNull(DisplayData.item("keyColumn", keyColumn()))
          .add(
              DisplayData.item(
                  "refreshEvery",
                  refreshEvery() == null ? "never (read once)" : refreshEvery().toString()));
    }

    // ---- CSV ----

    private ReferenceTable loadCsv(String key) {
      Instant loadedAt = Instant.now();
      String where = describe();
      Map<String, Map<String, Object>> rows = new HashMap<>();
      Map<String, Integer> lineOfKey = new HashMap<>();
      List<String> header = null;
      int keyIndex = -1;
      try (InputStream in = Files.newInputStream(Path.of(path()))) {
        EventFilesIO.LineReader lines = new EventFilesIO.LineReader(in);
        int number = 0;
        for (byte[] line = lines.next(); line != null; line = lines.next()) {
          number++;
          if (lines.tooLong()) {
            throw csvError(
                number,
                "the line is "
                    + lines.lastLength()
                    + " bytes long, more than the limit of "
                    + EventFilesIO.MAX_LINE_BYTES);
          }
          if (number == 1) {
            line = EventFilesIO.withoutByteOrderMark(line);
          }
          if (EventFilesIO.isBlank(line)) {
            continue;
          }
          if (header == null) {
            header = parseHeader(line, number, key);
            keyIndex = header.indexOf(key);
            continue;
          }
          List<String> cells;
          try {
            cells = EventFilesIO.parseCsvLine(EventFilesIO.utf8(line));
          } catch (CsvException e) {
            throw csvError(number, e.getMessage());
          }
          if (cells.size() != header.size()) {
            throw csvError(
                number,
                "the row has "
                    + cells.size()
                    + " cells but the header has "
                    + header.size()
                    + " columns");
          }
          String rowKey = cells.get(keyIndex);
          if (rowKey.isBlank()) {
            throw csvError(number, "the key column '" + key + "' is empty");
          }
          Integer first = lineOfKey.putIfAbsent(rowKey, number);
          if (first != null) {
            throw csvError(
                number, "key '" + rowKey + "' appears again (first at line " + first + ")");
          }
          Map<String, Object> row = new LinkedHashMap<>();
          for (int c = 0; c < cells.size(); c++) {
            if (c != keyIndex && !cells.get(c).isEmpty()) {
              row.put(header.get(c), typed(cells.get(c), number, header.get(c)));
            }
          }
          rows.put(rowKey, row);
        }
      } catch (IOException e) {
        throw new IllegalArgumentException(
            "cannot read " + where + ": " + e.getClass().getSimpleName() + ": " + e.getMessage(),
            e);
      }
      if (header == null) {
        throw new IllegalArgumentException(
            where + " has no header row (the file is empty or blank)");
      }
      return ReferenceTable.of(rows, where, loadedAt);
    }

    private List<String> parseHeader(byte[] line, int number, String key) {
      List<String> header;
      try {
        header = EventFilesIO.parseHeader(line);
      } catch (CsvException e) {
        throw csvError(number, "the header is malformed: " + e.getMessage());
      }
      for (int c = 0; c < header.size(); c++) {
        if (header.get(c).isEmpty()) {
          throw csvError(number, "the header's column " + (c + 1) + " has no name");
        }
      }
      if (!header.contains(key)) {
        throw csvError(
            number,
            "the header has no key column '"
                + key
                + "' (columns: "
                + String.join(", ", header)
                + ")");
      }
      return header;
    }

    private Object typed(String cell, int number, String column) {
      if (cell.equals("true") || cell.equals("false")) {
        return Boolean.valueOf(cell);
      }
      if (JSON_NUMBER.matcher(cell).matches()) {
        double value = Double.parseDouble(cell);
        if (!Double.isFinite(value)) {
          throw csvError(
              number, "column '" + column + "': the number " + cell + " is out of range");
        }
        return value;
      }
      return cell;
    }

    private IllegalArgumentException csvError(int line, String problem) {
      return new IllegalArgumentException(describe() + ", line " + line + ": " + problem);
    }

    // ---- PostgreSQL ----

    private ReferenceTable loadPostgres(String key) {
      Instant loadedAt = Instant.now();
      String where = describe();
      Map<String, Map<String, Object>> rows = new HashMap<>();
      try (Connection connection = connect();
          Statement statement = connection.createStatement();
          // The table name matched TABLE, so it cannot inject anything.
          ResultSet result = statement.executeQuery("SELECT * FROM " + table())) {
        ResultSetMetaData meta = result.getMetaData();
        int columns = meta.getColumnCount();
        List<String> names = new ArrayList<>();
        for (int i = 1; i <= columns; i++) {
          names.add(meta.getColumnLabel(i));
        }
        int keyIndex = names.indexOf(key) + 1;
        if (keyIndex == 0) {
          throw new IllegalArgumentException(
              where
                  + " has no key column '"
                  + key
                  + "' (columns: "
                  + String.join(", ", names)
                  + ")");
        }
        while (result.next()) {
          String rowKey = result.getString(keyIndex);
          if (rowKey == null || rowKey.isBlank()) {
            throw new IllegalArgumentException(
                where
                    + ": the key column '"
                    + key
                    + "' is "
                    + (rowKey == null ? "NULL" : "empty")
                    + " in a row");
          }
          Map<String, Object> row = new LinkedHashMap<>();
          for (int i = 1; i <= columns; i++) {
            if (i != keyIndex) {
              Object value = value(result, meta, i);
              if (value != null) {
                row.put(names.get(i - 1), value);
              }
            }
          }
          if (rows.putIfAbsent(rowKey, row) != null) {
            throw new IllegalArgumentException(
                where
                    + ": key '"
                    + rowKey
                    + "' appears in more than one row of column '"
                    + key
                    + "'");
          }
        }
      } catch (SQLException e) {
        // No cause attached: the driver's exception is not ours to vouch for (see redact).
        throw new IllegalArgumentException(
            "cannot read "
                + where
                + ": SQLState "
                + e.getSQLState()
                + ": "
                + redact(firstLine(e.getMessage())));
      } catch (IllegalStateException e) { // the password's variable or file is missing
        throw new IllegalArgumentException("cannot read " + where + ": " + e.getMessage());
      }
      try {
        return ReferenceTable.of(rows, where, loadedAt);
      } catch (IllegalArgumentException e) { // NaN or infinity in a numeric column
        throw new IllegalArgumentException(where + ": " + e.getMessage());
      }
    }

    private static @Nullable Object value(ResultSet result, ResultSetMetaData meta, int column)
        throws SQLException {
      Object value;
      switch (meta.getColumnType(column)) {
        case Types.TINYINT,
                Types.SMALLINT,
                Types.INTEGER,
                Types.BIGINT,
                Types.REAL,
                Types.FLOAT,
                Types.DOUBLE,
                Types.NUMERIC,
                Types.DECIMAL ->
            value = result.getDouble(column);
        case Types.BOOLEAN -> value = result.getBoolean(column);
          // PostgreSQL's boolean is BIT to its driver; bit(n) for n > 1 is a string of bits.
        case Types.BIT ->
            value =
                "bool".equalsIgnoreCase(meta.getColumnTypeName(column))
                        || meta.getPrecision(column) <= 1
                    ? result.getBoolean(column)
                    : result.getString(column);
        default -> value = result.getString(column);
      }
      return result.wasNull() ? null : value;
    }

    /** One connection with PostgresIO's timeouts, read-only, outside any pool. */
    private Connection connect() throws SQLException {
      PostgresIO.Database database = database();
      Properties properties = new Properties();
      if (database.user() != null) {
        properties.setProperty("user", database.user());
      }
      String password = database.resolvePassword();
      if (password != null) {
        properties.setProperty("password", password);
      }
      String connectTimeout = String.valueOf(PostgresIO.Database.CONNECT_TIMEOUT_SECONDS);
      properties.setProperty("connectTimeout", connectTimeout);
      properties.setProperty("loginTimeout", connectTimeout);
      properties.setProperty(
          "socketTimeout", String.valueOf(PostgresIO.Database.SOCKET_TIMEOUT_SECONDS));
      properties.setProperty("tcpKeepAlive", "true");
      properties.setProperty("readOnly", "true");
      properties.setProperty("ApplicationName", "sluice-reference-table");
      // The driver itself, not DriverManager, which may not see it from a runner's job class
      // loader (Flink loads user code in a child class loader).
      Connection connection = new org.postgresql.Driver().connect(database.url(), properties);
      if (connection == null) {
        throw new SQLException("the PostgreSQL driver does not accept " + database.displayUrl());
      }
      return connection;
    }

    /** The message without the password or the URL's query string (which may carry one). */
    private String redact(String message) {
      PostgresIO.Database database = database();
      String redacted = message.replace(database.url(), database.displayUrl());
      String password;
      try {
        password = database.resolvePassword();
      } catch (IllegalStateException e) {
        password = null;
      }
      return password == null || password.isEmpty() ? redacted : redacted.replace(password, "***");
    }

    private static String firstLine(@Nullable String message) {
      if (message == null) {
        return "(no message)";
      }
      int newline = message.indexOf('\n');
      return newline < 0 ? message : message.substring(0, newline);
    }

    @AutoValue.Builder
    abstract static class Builder {
      abstract Builder setPath(String value);

      abstract Builder setDatabase(PostgresIO.Database value);

      abstract Builder setTable(String value);

      abstract Builder setKeyColumn(String value);

      abstract Builder setRefreshEvery(@Nullable Duration value);

      abstract Read build();
    }
  }

  /**
   * Loads the table for each input element: once (a failure fails the bundle, so the pipeline) or
   * per refresh tick (a failure emits nothing, so the view keeps the last good table).
   */
  static final class LoadFn<T> extends DoFn<T, ReferenceTable> {
    private final Read spec;
    private final boolean refreshing;
    private final long minGapNanos;

    private transient Counter loads;
    private transient Counter refreshFailures;
    private transient long lastAttemptNanos;
    private transient boolean attempted;

    LoadFn(Read spec) {
      this.spec = spec;
      this.refreshing = spec.refreshEvery() != null;
      this.minGapNanos =
          refreshing ? TimeUnit.MILLISECONDS.toNanos(spec.refreshEvery().getMillis() / 2) : 0;
    }

    @Setup
    public void setup() {
      loads = Metrics.counter(METRICS_NAMESPACE, LOADS);
      refreshFailures = Metrics.counter(METRICS_NAMESPACE, REFRESH_FAILURES);
    }

    @ProcessElement
    public void process(OutputReceiver<ReferenceTable> out) {
      if (!refreshing) {
        ReferenceTable table = spec.load();
        loads.inc();
        out.output(table);
        return;
      }
      if (!due(System.nanoTime())) {
        return;
      }
      ReferenceTable table = refresh();
      if (table != null) {
        out.output(table);
      }
    }

    /**
     * False for a tick less than half an interval after the previous load in this instance: a
     * restored or slow tick source may deliver the ticks it owes at once, and one load serves such
     * a burst.
     */
    boolean due(long nowNanos) {
      if (attempted && nowNanos - lastAttemptNanos < minGapNanos) {
        return false;
      }
      attempted = true;
      lastAttemptNanos = nowNanos;
      return true;
    }

    /** The table, or {@code null} (counted and logged) when it cannot be loaded now. */
    @Nullable ReferenceTable refresh() {
      ReferenceTable table;
      try {
        table = spec.load();
      } catch (RuntimeException e) {
        refreshFailures.inc();
        // load()'s messages name the source and never hold a password.
        String message =
            e instanceof IllegalArgumentException ? e.getMessage() : spec.describe() + ": " + e;
        LOG.warn("Reference table refresh failed, keeping the last good table: {}", message);
        return null;
      }
      loads.inc();
      LOG.info("Loaded {} reference rows from {}", table.size(), spec.describe());
      return table;
    }
  }

  /** The newer of two tables by {@link ReferenceTable#loadedAt()}. */
  static final class NewestTable extends Combine.BinaryCombineFn<ReferenceTable> {
    @Override
    public ReferenceTable apply(ReferenceTable left, ReferenceTable right) {
      return right.loadedAt().isBefore(left.loadedAt()) ? left : right;
    }
  }
}

package dev.sluice.pipelines;

import dev.sluice.local.EmbeddedPostgresStore;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

/**
 * Runs one SQL query against the job's PostgreSQL store and prints the result as a table: the
 * embedded store of an output directory (started on its data directory for the query, then
 * stopped), or your own database with {@code --jdbcUrl} (password from {@code
 * SLUICE_JDBC_PASSWORD}). No psql needed.
 *
 * <pre>{@code
 * ./sluice query "SELECT key, window_start, mean FROM sluice.window_stats ORDER BY mean DESC LIMIT 5"
 * ./sluice query --outputDir=out --maxRows=100 "SELECT * FROM sluice.alerts"
 * }</pre>
 *
 * <p>Exit status 0 with the rows printed, 2 for bad arguments (or no store in the output
 * directory), 1 when the query fails (the database's message is printed).
 */
public final class StoreQuery {
  private StoreQuery() {}

  public static void main(String[] args) {
    PrintStream out = System.out;
    int status;
    try {
      status = run(args, out);
    } catch (IllegalArgumentException e) {
      System.err.println("Invalid arguments: " + e.getMessage());
      System.err.println(
          "Usage: ./sluice query [--outputDir=DIR | --jdbcUrl=URL [--jdbcUser=U]] [--maxRows=N]"
              + " \"SQL\"");
      status = 2;
    }
    System.exit(status);
  }

  /**
   * The JDBC properties for {@code --jdbcUser} (may be null) and the password in {@code
   * SLUICE_JDBC_PASSWORD}, which never appears on a command line.
   */
  static Properties connectionProperties(String user) {
    Properties props = new Properties();
    if (user != null) {
      props.setProperty("user", user);
    }
    String password = System.getenv(MetricsAlertsPipeline.JDBC_PASSWORD_ENV);
    if (password != null) {
      props.setProperty("password", password);
    }
    return props;
  }

  /** Parses {@code args}, runs the query, prints to {@code out}; returns the exit status. */
  static int run(String[] args, PrintStream out) {
    String outputDir = "output";
    String jdbcUrl = null;
    String user = null;
    int maxRows = 1_000;
    String sql = null;
    for (String arg : args) {
      if (arg.startsWith("--outputDir=")) {
        outputDir = arg.substring("--outputDir=".length());
      } else if (arg.startsWith("--jdbcUrl=")) {
        jdbcUrl = arg.substring("--jdbcUrl=".length());
      } else if (arg.startsWith("--jdbcUser=")) {
        user = arg.substring("--jdbcUser=".length());
      } else if (arg.startsWith("--maxRows=")) {
        String value = arg.substring("--maxRows=".length());
        try {
          maxRows = Integer.parseInt(value);
        } catch (NumberFormatException e) {
          maxRows = -1;
        }
        if (maxRows < 1) {
          throw new IllegalArgumentException("--maxRows must be a positive integer, got " + value);
        }
      } else if (arg.startsWith("--")) {
        throw new IllegalArgumentException("unknown option " + arg.split("=", 2)[0]);
      } else if (sql == null) {
        sql = arg;
      } else {
        throw new IllegalArgumentException("give the SQL as one argument (quote it)");
      }
    }
    if (sql == null || sql.isBlank()) {
      throw new IllegalArgumentException("no SQL given");
    }
    if (jdbcUrl != null) {
      Properties props = connectionProperties(user);
      return query(jdbcUrl, props, sql, maxRows, out);
    }
    Path dataDir = Path.of(outputDir, "postgres");
    if (!Files.exists(dataDir.resolve("PG_VERSION"))) {
      throw new IllegalArgumentException(
          "no embedded store in " + dataDir + "; run the job first (./sluice), or give --jdbcUrl");
    }
    try (EmbeddedPostgresStore store = EmbeddedPostgresStore.start(dataDir)) {
      Properties props = new Properties();
      props.setProperty("password", Files.readAllLines(store.passwordFile()).get(0).strip());
      return query(store.jdbcUrl(), props, sql, maxRows, out);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static int query(String url, Properties props, String sql, int maxRows, PrintStream out) {
    try (Connection connection = DriverManager.getConnection(url, props);
        Statement statement = connection.createStatement()) {
      statement.setMaxRows(maxRows + 1);
      if (!statement.execute(sql)) {
        out.println(statement.getUpdateCount() + " rows affected");
        return 0;
      }
      try (ResultSet rows = statement.getResultSet()) {
        printTable(rows, maxRows, out);
      }
      return 0;
    } catch (SQLException e) {
      System.err.println("Query failed: " + e.getMessage());
      return 1;
    }
  }

  private static void printTable(ResultSet rows, int maxRows, PrintStream out) throws SQLException {
    ResultSetMetaData meta = rows.getMetaData();
    int columns = meta.getColumnCount();
    List<String[]> table = new ArrayList<>();
    String[] header = new String[columns];
    for (int i = 0; i < columns; i++) {
      header[i] = meta.getColumnLabel(i + 1);
    }
    table.add(header);
    boolean truncated = false;
    while (rows.next()) {
      if (table.size() > maxRows) {
        truncated = true;
        break;
      }
      String[] row = new String[columns];
      for (int i = 0; i < columns; i++) {
        String value = rows.getString(i + 1);
        row[i] = value == null ? "" : value;
      }
      table.add(row);
    }
    int[] widths = new int[columns];
    for (String[] row : table) {
      for (int i = 0; i < columns; i++) {
        widths[i] = Math.max(widths[i], row[i].length());
      }
    }
    for (int r = 0; r < table.size(); r++) {
      StringBuilder line = new StringBuilder();
      for (int i = 0; i < columns; i++) {
        line.append(i == 0 ? "" : " | ")
            .append(String.format("%-" + Math.max(1, widths[i]) + "s", table.get(r)[i]));
      }
      out.println(line.toString().stripTrailing());
      if (r == 0) {
        StringBuilder rule = new StringBuilder();
        for (int i = 0; i < columns; i++) {
          rule.append(i == 0 ? "" : "-+-").append("-".repeat(Math.max(1, widths[i])));
        }
        out.println(rule);
      }
    }
    out.println(
        "("
            + (table.size() - 1)
            + (table.size() - 1 == 1 ? " row" : " rows")
            + (truncated ? ", more not shown; see --maxRows" : "")
            + ")");
  }
}

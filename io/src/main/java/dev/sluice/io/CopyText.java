package dev.sluice.io;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Proxy;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import org.checkerframework.checker.nullness.qual.Nullable;
import org.postgresql.PGConnection;

/**
 * Upserts a batch with PostgreSQL's {@code COPY}: the rows, in COPY's text format, into a temporary
 * table of the session ({@code ON COMMIT DELETE ROWS}, made once per connection), then one {@code
 * INSERT ... SELECT ... ON CONFLICT} of the table's own upsert into the target. Both in the
 * caller's transaction. The text is made by the table's {@link PostgresTable.Binder}, run on a
 * statement that records the values: strings, numbers, booleans, {@link OffsetDateTime} and nulls.
 * A binder that sets anything else ({@link #encode} returns null) is written with the plain
 * statement batch instead.
 *
 * <pre>{@code
 * String text = CopyText.encode(table, rows);
 * if (text != null) {
 *   CopyText.upsert(connection, table, "sluice.window_stats", text);
 * }
 * }</pre>
 */
final class CopyText {
  private static final DateTimeFormatter TIMESTAMP =
      DateTimeFormatter.ofPattern("uuuu-MM-dd HH:mm:ss.SSSSSSxxx", Locale.ROOT);

  private CopyText() {}

  /** The rows as COPY text (one line per row), or null if a value is of a type not handled. */
  static <T> @Nullable String encode(PostgresTable<T> table, List<T> rows) throws SQLException {
    int columns = table.columns().size();
    Object[] values = new Object[columns];
    boolean[] unsupported = new boolean[1];
    InvocationHandler recorder =
        (proxy, method, args) -> {
          String name = method.getName();
          if (name.startsWith("set") && args != null && args.length >= 2) {
            int index = (Integer) args[0];
            values[index - 1] = name.equals("setNull") ? null : args[1];
            return null;
          }
          if (name.equals("clearParameters")) {
            return null;
          }
          unsupported[0] = true;
          throw new UnsupportedOperationException(name);
        };
    PreparedStatement statement =
        (PreparedStatement)
            Proxy.newProxyInstance(
                CopyText.class.getClassLoader(),
                new Class<?>[] {PreparedStatement.class},
                recorder);
    StringBuilder text = new StringBuilder(rows.size() * 64 * columns / 4);
    for (T row : rows) {
      java.util.Arrays.fill(values, null);
      try {
        table.bind(statement, row);
      } catch (UnsupportedOperationException e) {
        if (unsupported[0]) {
          return null;
        }
        throw e;
      }
      for (int c = 0; c < columns; c++) {
        if (c > 0) {
          text.append('\t');
        }
        if (!append(text, values[c])) {
          return null;
        }
      }
      text.append('\n');
    }
    return text.toString();
  }

  /** Loads {@code text} into the session's copy of the table and upserts it into the target. */
  static <T> int upsert(
      Connection connection, PostgresTable<T> table, String qualifiedTable, String text)
      throws SQLException {
    String temporary = temporaryName(qualifiedTable);
    try (Statement statement = connection.createStatement()) {
      statement.execute(
          "CREATE TEMPORARY TABLE IF NOT EXISTS "
              + temporary
              + " (LIKE "
              + qualifiedTable
              + ") ON COMMIT DELETE ROWS");
      try {
        connection
            .unwrap(PGConnection.class)
            .getCopyAPI()
            .copyIn(
                "COPY " + temporary + " (" + String.join(", ", table.columns()) + ") FROM STDIN",
                new java.io.StringReader(text));
      } catch (java.io.IOException e) {
        throw new SQLException("COPY into " + qualifiedTable + " failed: " + e.getMessage(), e);
      }
      return statement.executeUpdate(table.upsertFromSql(qualifiedTable, temporary));
    }
  }

  /** A temporary table per target; a hash, since target names may use all 63 characters. */
  static String temporaryName(String qualifiedTable) {
    try {
      byte[] hash =
          MessageDigest.getInstance("SHA-256")
              .digest(qualifiedTable.getBytes(StandardCharsets.UTF_8));
      return "sluice_copy_" + HexFormat.of().formatHex(hash, 0, 8);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static boolean append(StringBuilder text, @Nullable Object value) {
    if (value == null) {
      text.append("\\N");
    } else if (value instanceof String s) {
      escape(text, s);
    } else if (value instanceof Boolean b) {
      text.append(b ? 't' : 'f');
    } else if (value instanceof Long
        || value instanceof Integer
        || value instanceof Short
        || value instanceof Double
        || value instanceof Float
        || value instanceof BigDecimal) {
      // Java prints NaN and Infinity as PostgreSQL reads them.
      text.append(value);
    } else if (value instanceof OffsetDateTime time
        && time.getYear() >= 1
        && time.getYear() <= 9999) {
      text.append(TIMESTAMP.format(time));
    } else {
      return false;
    }
    return true;
  }

  /** COPY text escapes: backslash, tab, newline, carriage return (NUL is refused by the server). */
  private static void escape(StringBuilder text, String s) {
    for (int i = 0; i < s.length(); i++) {
      char ch = s.charAt(i);
      switch (ch) {
        case '\\' -> text.append("\\\\");
        case '\t' -> text.append("\\t");
        case '\n' -> text.append("\\n");
        case '\r' -> text.append("\\r");
        default -> text.append(ch);
      }
    }
  }
}

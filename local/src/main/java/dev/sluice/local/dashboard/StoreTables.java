package dev.sluice.local.dashboard;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;

/**
 * The tables of one store schema as the dashboard's queries see them: qualified names (the schema
 * validated by {@link StoreAccess#checkSchema}), whether a table or column exists (a store may hold
 * only some tables, or predate a column), and the conversions of values to the page's JSON.
 *
 * <pre>{@code
 * StoreTables tables = new StoreTables("sluice");
 * if (tables.exists(connection, "alerts")) { ... "SELECT ... FROM " + tables.t("alerts") ... }
 * }</pre>
 */
final class StoreTables {
  private final String schema;

  StoreTables(String schema) {
    this.schema = StoreAccess.checkSchema(schema);
  }

  String schema() {
    return schema;
  }

  String t(String table) {
    return schema + "." + table;
  }

  boolean exists(Connection c, String table) throws SQLException {
    try (PreparedStatement s = c.prepareStatement("SELECT to_regclass(?) IS NOT NULL")) {
      s.setString(1, t(table));
      try (ResultSet r = s.executeQuery()) {
        r.next();
        return r.getBoolean(1);
      }
    }
  }

  boolean hasColumn(Connection c, String table, String column) throws SQLException {
    try (PreparedStatement s =
        c.prepareStatement(
            "SELECT 1 FROM information_schema.columns"
                + " WHERE table_schema = ? AND table_name = ? AND column_name = ?")) {
      s.setString(1, schema);
      s.setString(2, table);
      s.setString(3, column);
      try (ResultSet r = s.executeQuery()) {
        return r.next();
      }
    }
  }

  static long count(Connection c, String sql) throws SQLException {
    try (PreparedStatement s = c.prepareStatement(sql);
        ResultSet r = s.executeQuery()) {
      r.next();
      return r.getLong(1);
    }
  }

  static double seconds(Timestamp t) {
    return t.getTime() / 1000.0;
  }

  static String iso(Timestamp t) {
    return t == null ? null : t.toInstant().toString();
  }

  static void addNullable(ArrayNode array, Number value) {
    if (value == null) {
      array.addNull();
    } else if (value instanceof Long l) {
      array.add(l);
    } else {
      array.add(value.doubleValue());
    }
  }

  static void addNullable(ObjectNode node, String field, Object value) {
    if (value == null) {
      node.putNull(field);
    } else if (value instanceof Double d) {
      node.put(field, d);
    } else {
      node.put(field, value.toString());
    }
  }
}

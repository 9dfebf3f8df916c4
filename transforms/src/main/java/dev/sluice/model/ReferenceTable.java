package dev.sluice.model;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.Serializable;
import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;
import org.checkerframework.checker.nullness.qual.Nullable;
import org.joda.time.Instant;

/**
 * Reference data for enrichment: one row per key, each row a map from column name to a value that
 * is a {@link String}, a {@link Double} or a {@link Boolean}. An empty cell is an absent column, so
 * an expression can test it with {@code has(ref.column)}.
 *
 * <pre>{@code
 * ReferenceTable limits = ReferenceTable.of(
 *     Map.of("sensor-1", Map.of("max_temperature", 50.0, "site", "berlin")),
 *     "file limits.csv", Instant.now());
 * limits.row("sensor-1").get("max_temperature");   // 50.0
 * }</pre>
 *
 * <p>Immutable, with rows and columns in key order so that equal tables encode to equal bytes.
 */
public final class ReferenceTable implements Serializable {
  private final SortedMap<String, SortedMap<String, Object>> rows;
  private final String source;
  private final Instant loadedAt;

  private ReferenceTable(
      SortedMap<String, SortedMap<String, Object>> rows, String source, Instant loadedAt) {
    this.rows = rows;
    this.source = source;
    this.loadedAt = loadedAt;
  }

  /**
   * A table of these rows; {@code source} says where it came from (for logs and messages, never
   * with credentials).
   *
   * @throws IllegalArgumentException when a value is not a string, a finite double or a boolean
   */
  public static ReferenceTable of(
      Map<String, ? extends Map<String, ?>> rows, String source, Instant loadedAt) {
    Objects.requireNonNull(rows, "rows");
    Objects.requireNonNull(source, "source");
    Objects.requireNonNull(loadedAt, "loadedAt");
    SortedMap<String, SortedMap<String, Object>> copy = new TreeMap<>();
    for (Map.Entry<String, ? extends Map<String, ?>> row : rows.entrySet()) {
      Objects.requireNonNull(row.getKey(), "row key");
      copy.put(row.getKey(), Collections.unmodifiableSortedMap(checkedRow(row)));
    }
    return new ReferenceTable(Collections.unmodifiableSortedMap(copy), source, loadedAt);
  }

  /** A table without rows. */
  public static ReferenceTable empty(String source, Instant loadedAt) {
    return of(Map.of(), source, loadedAt);
  }

  private static TreeMap<String, Object> checkedRow(
      Map.Entry<String, ? extends Map<String, ?>> row) {
    TreeMap<String, Object> columns = new TreeMap<>();
    for (Map.Entry<String, ?> cell : row.getValue().entrySet()) {
      Object value = cell.getValue();
      if (value == null) {
        continue;
      }
      if (value instanceof Number number && !(value instanceof Double)) {
        value = number.doubleValue();
      }
      if (value instanceof Double d && !Double.isFinite(d)) {
        throw new IllegalArgumentException(
            "row '" + row.getKey() + "' column '" + cell.getKey() + "' is not finite: " + d);
      }
      if (!(value instanceof String || value instanceof Double || value instanceof Boolean)) {
        throw new IllegalArgumentException(
            "row '"
                + row.getKey()
                + "' column '"
                + cell.getKey()
                + "' must be a string, number or boolean, got a "
                + value.getClass().getSimpleName());
      }
      columns.put(Objects.requireNonNull(cell.getKey(), "column name"), value);
    }
    return columns;
  }

  /** The row of {@code key}, or {@code null} when the table has none. */
  public @Nullable SortedMap<String, Object> row(String key) {
    return rows.get(key);
  }

  /** Every row by key, in key order. */
  public SortedMap<String, SortedMap<String, Object>> rows() {
    return rows;
  }

  public int size() {
    return rows.size();
  }

  /** Where the rows came from, e.g. {@code file examples/limits.csv}. */
  public String source() {
    return source;
  }

  /** When the rows were read. */
  public Instant loadedAt() {
    return loadedAt;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ReferenceTable t
        && rows.equals(t.rows)
        && source.equals(t.source)
        && loadedAt.equals(t.loadedAt);
  }

  @Override
  public int hashCode() {
    return Objects.hash(rows, source, loadedAt);
  }

  @Override
  public String toString() {
    return "ReferenceTable{" + rows.size() + " rows from " + source + " at " + loadedAt + "}";
  }

  /** Deterministic coder: rows in key order, each cell a type tag and its value. */
  public static final class ReferenceTableCoder extends DeterministicCoder<ReferenceTable> {
    private static final ReferenceTableCoder INSTANCE = new ReferenceTableCoder();
    private static final int STRING = 0;
    private static final int DOUBLE = 1;
    private static final int BOOLEAN = 2;

    public static ReferenceTableCoder of() {
      return INSTANCE;
    }

    @Override
    public void encode(ReferenceTable table, OutputStream out) throws IOException {
      CoderSupport.writeString(table.source, out);
      CoderSupport.writeInstant(table.loadedAt, out);
      CoderSupport.writeInt(table.rows.size(), out);
      for (Map.Entry<String, SortedMap<String, Object>> row : table.rows.entrySet()) {
        CoderSupport.writeString(row.getKey(), out);
        CoderSupport.writeInt(row.getValue().size(), out);
        for (Map.Entry<String, Object> cell : row.getValue().entrySet()) {
          CoderSupport.writeString(cell.getKey(), out);
          Object value = cell.getValue();
          if (value instanceof String s) {
            CoderSupport.writeInt(STRING, out);
            CoderSupport.writeString(s, out);
          } else if (value instanceof Double d) {
            CoderSupport.writeInt(DOUBLE, out);
            CoderSupport.writeDouble(d, out);
          } else {
            CoderSupport.writeInt(BOOLEAN, out);
            CoderSupport.writeBoolean((Boolean) value, out);
          }
        }
      }
    }

    @Override
    public ReferenceTable decode(InputStream in) throws IOException {
      String source = CoderSupport.readString(in);
      Instant loadedAt = CoderSupport.readInstant(in);
      int rowCount = CoderSupport.readInt(in);
      SortedMap<String, SortedMap<String, Object>> rows = new TreeMap<>();
      for (int r = 0; r < rowCount; r++) {
        String key = CoderSupport.readString(in);
        int cellCount = CoderSupport.readInt(in);
        SortedMap<String, Object> cells = new TreeMap<>();
        for (int c = 0; c < cellCount; c++) {
          String column = CoderSupport.readString(in);
          int type = CoderSupport.readInt(in);
          switch (type) {
            case STRING -> cells.put(column, CoderSupport.readString(in));
            case DOUBLE -> cells.put(column, CoderSupport.readDouble(in));
            case BOOLEAN -> cells.put(column, CoderSupport.readBoolean(in));
            default -> throw new IOException("unknown reference cell type " + type);
          }
        }
        rows.put(key, Collections.unmodifiableSortedMap(cells));
      }
      return new ReferenceTable(Collections.unmodifiableSortedMap(rows), source, loadedAt);
    }

    @Override
    public boolean consistentWithEquals() {
      return true;
    }
  }
}

package dev.sluice.io;

import com.google.auto.value.AutoValue;
import dev.sluice.transforms.Checks;
import java.io.Serializable;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.apache.beam.sdk.transforms.SerializableBiFunction;
import org.apache.beam.sdk.transforms.SerializableFunction;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * How rows of a user's type {@code T} are upserted into a PostgreSQL table by {@link
 * PostgresIO#write(PostgresTable)}: the columns, the natural key the upsert conflicts on, how a row
 * binds to the statement's parameters, and (optionally) the DDL. Sluice's own tables ({@code
 * window_stats}, {@code alerts}, {@code dead_letters}) are built on it.
 *
 * <pre>{@code
 * record Reading(String sensor, double value, Instant observedAt) implements Serializable {}
 *
 * PostgresTable<Reading> readings =
 *     PostgresTable.<Reading>named("readings")
 *         .withColumns("sensor", "value", "observed_at")
 *         .withKey("sensor")
 *         .withBinder((statement, r) -> {
 *           statement.setString(1, r.sensor());
 *           statement.setDouble(2, r.value());
 *           statement.setObject(3, OffsetDateTime.ofInstant(r.observedAt(), ZoneOffset.UTC));
 *         })
 *         .withNaturalKey(Reading::sensor)
 *         .withDdl("CREATE TABLE IF NOT EXISTS {schema}.{table} ("
 *             + " sensor text PRIMARY KEY, value double precision NOT NULL,"
 *             + " observed_at timestamptz NOT NULL)");
 * PCollection<DeadLetter> rejected =
 *     input.apply("StoreReadings", PostgresIO.write(readings).to(db).withCreateTables(true));
 * }</pre>
 *
 * <p>The statement is {@code INSERT INTO <schema>.<table> AS t (<columns>) VALUES (?, ...) ON
 * CONFLICT (<key>) DO UPDATE SET <every other column> = EXCLUDED.<column>}, optionally {@code WHERE
 * <condition>} ({@link #withUpdateCondition}; {@code t} is the stored row, {@code EXCLUDED} the new
 * one), or {@code DO NOTHING} ({@link #withOnConflict}) for rows written once. The binder sets
 * parameters 1 to n in the order of {@link #withColumns}. The natural key (a string function of the
 * row, equal for rows the key columns make equal) merges rows with the same key in one batch (a
 * statement must not meet a key twice) and sorts the batch, so concurrent writers lock rows in the
 * same order; of two rows with one key, the {@link #withWinner winner} is written (default: the
 * later one for {@code UPDATE}, the first for {@code DO_NOTHING}, as the database would do).
 *
 * <p>A rejected row's dead letter carries {@link #withPayload payload(row)} (default {@code
 * String.valueOf(row)}). Table, column and key names must match {@code [a-z_][a-z0-9_]{0,62}};
 * values are always bound as parameters. The DDL template and the update condition are SQL written
 * by the programmer, never built from data. Serializable: the binder and functions travel to the
 * workers (lambdas and method references of these serializable interfaces qualify).
 */
@AutoValue
public abstract class PostgresTable<T> implements Serializable {
  private static final long serialVersionUID = 1L;
  private static final Pattern SQL_TYPE = Pattern.compile("[a-z_][a-z0-9_ ]{0,62}(\\[\\])?");

  /** Sets the parameters of one row, 1 to n in column order. */
  @FunctionalInterface
  public interface Binder<T> extends Serializable {
    void bind(PreparedStatement statement, T row) throws SQLException;
  }

  /** What the upsert does with a row whose key is already stored. */
  public enum OnConflict {
    /** Replace the stored row (if the update condition, when set, holds). */
    UPDATE,
    /** Keep the stored row: each key is written once. */
    DO_NOTHING
  }

  PostgresTable() {}

  /** The default table name (change it per write with {@link PostgresIO.Write#withTable}). */
  public abstract String name();

  public abstract List<String> columns();

  public abstract List<String> keyColumns();

  /** Casts of the parameters of some columns ({@code labels -> jsonb}: {@code ?::jsonb}). */
  public abstract Map<String, String> casts();

  public abstract OnConflict onConflict();

  public abstract @Nullable String updateCondition();

  public abstract @Nullable String ddlTemplate();

  /** The column the database sets to the time a row's content was stored, or null. */
  public abstract @Nullable String writeTimeColumn();

  abstract @Nullable Binder<T> binder();

  abstract @Nullable SerializableFunction<T, String> naturalKeyFn();

  abstract @Nullable SerializableBiFunction<T, T, T> winnerFn();

  abstract SerializableFunction<T, String> payloadFn();

  abstract Builder<T> toBuilder();

  /**
   * A table definition with default name {@code name}; set columns, key, binder and natural key.
   */
  public static <T> PostgresTable<T> named(String name) {
    return new AutoValue_PostgresTable.Builder<T>()
        .setName(PostgresIO.checkName("table", name))
        .setColumns(List.of())
        .setKeyColumns(List.of())
        .setCasts(Map.of())
        .setOnConflict(OnConflict.UPDATE)
        .setPayloadFn(String::valueOf)
        .build();
  }

  /** The columns written, in the order the binder sets their parameters (required). */
  public PostgresTable<T> withColumns(String... columns) {
    Checks.notNull("columns", columns);
    List<String> list = names("column", columns);
    if (list.isEmpty()) {
      throw new IllegalArgumentException("columns must not be empty");
    }
    if (list.stream().distinct().count() != list.size()) {
      throw new IllegalArgumentException("columns must not repeat, got " + list);
    }
    return toBuilder().setColumns(list).build();
  }

  /**
   * The conflict target: the columns of the table's primary key or a unique index (required); each
   * must be one of the {@link #withColumns columns}.
   */
  public PostgresTable<T> withKey(String... keyColumns) {
    Checks.notNull("keyColumns", keyColumns);
    List<String> list = names("key column", keyColumns);
    if (list.isEmpty()) {
      throw new IllegalArgumentException("keyColumns must not be empty");
    }
    return toBuilder().setKeyColumns(list).build();
  }

  /** Casts the parameter of {@code column} to {@code sqlType}, e.g. {@code jsonb} for JSON text. */
  public PostgresTable<T> withCast(String column, String sqlType) {
    PostgresIO.checkName("column", column);
    Checks.notNull("sqlType", sqlType);
    if (!SQL_TYPE.matcher(sqlType).matches()) {
      throw new IllegalArgumentException(
          "sqlType must be a lower-case type name such as jsonb or double precision, got '"
              + sqlType
              + "'");
    }
    Map<String, String> casts = new TreeMap<>(casts());
    casts.put(column, sqlType);
    return toBuilder().setCasts(Collections.unmodifiableMap(casts)).build();
  }

  /** Binds a row's values to parameters 1 to n, in column order (required). */
  public PostgresTable<T> withBinder(Binder<T> binder) {
    Checks.notNull("binder", binder);
    return toBuilder().setBinder(binder).build();
  }

  /** The row's natural key as a string, equal exactly when the key columns are (required). */
  public PostgresTable<T> withNaturalKey(SerializableFunction<T, String> naturalKey) {
    Checks.notNull("naturalKey", naturalKey);
    return toBuilder().setNaturalKeyFn(naturalKey).build();
  }

  /** {@code UPDATE} (the default) replaces a stored row; {@code DO_NOTHING} writes a key once. */
  public PostgresTable<T> withOnConflict(OnConflict onConflict) {
    Checks.notNull("onConflict", onConflict);
    return toBuilder().setOnConflict(onConflict).build();
  }

  /**
   * Replace a stored row only where this SQL condition holds ({@code t} is the stored row, {@code
   * EXCLUDED} the new one), e.g. {@code t.version < EXCLUDED.version}; only with {@code UPDATE}.
   */
  public PostgresTable<T> withUpdateCondition(String condition) {
    Checks.notBlank("updateCondition", condition);
    return toBuilder().setUpdateCondition(condition).build();
  }

  /**
   * Of two rows with the same natural key in one batch, the one to write (it must return one of its
   * arguments); match it with the {@link #withUpdateCondition update condition}.
   */
  public PostgresTable<T> withWinner(SerializableBiFunction<T, T, T> winner) {
    Checks.notNull("winner", winner);
    return toBuilder().setWinnerFn(winner).build();
  }

  /** The text of a rejected row in its dead letter (default {@code String.valueOf(row)}). */
  public PostgresTable<T> withPayload(SerializableFunction<T, String> payload) {
    Checks.notNull("payload", payload);
    return toBuilder().setPayloadFn(payload).build();
  }

  /**
   * DDL run by {@link PostgresIO.Write#withCreateTables withCreateTables(true)}, with {@code
   * {schema}} and {@code {table}} placeholders; statements end with {@code ;} at the end of a line.
   * {@code CREATE SCHEMA IF NOT EXISTS {schema}} is run first.
   */
  public PostgresTable<T> withDdl(String ddlTemplate) {
    Checks.notBlank("ddl", ddlTemplate);
    return toBuilder().setDdlTemplate(ddlTemplate).build();
  }

  /**
   * A {@code timestamptz} column (not one of the {@link #withColumns columns}: nothing binds it)
   * that the statement sets to {@code now()} when a row is inserted and when an update changes any
   * of its other columns; an update that changes nothing (a replay) keeps the time of the first
   * write, so replays still leave identical table contents. E.g. {@code written_at}, from which the
   * dashboard shows how long after its window's end a row was stored.
   */
  public PostgresTable<T> withWriteTimeColumn(String column) {
    PostgresIO.checkName("column", column);
    return toBuilder().setWriteTimeColumn(column).build();
  }

  /** Checks that the definition is complete and consistent. */
  void validate() {
    String where = "PostgresTable '" + name() + "': ";
    if (columns().isEmpty()) {
      throw new IllegalArgumentException(where + "set the columns with withColumns(...)");
    }
    if (keyColumns().isEmpty()) {
      throw new IllegalArgumentException(where + "set the conflict key with withKey(...)");
    }
    for (String key : keyColumns()) {
      if (!columns().contains(key)) {
        throw new IllegalArgumentException(
            where + "key column '" + key + "' is not one of the columns " + columns());
      }
    }
    for (String cast : casts().keySet()) {
      if (!columns().contains(cast)) {
        throw new IllegalArgumentException(
            where + "cast column '" + cast + "' is not one of the columns " + columns());
      }
    }
    if (writeTimeColumn() != null && columns().contains(writeTimeColumn())) {
      throw new IllegalArgumentException(
          where
              + "write time column '"
              + writeTimeColumn()
              + "' is set by the database; it must not be one of the columns "
              + columns());
    }
    if (binder() == null) {
      throw new IllegalArgumentException(where + "set the binder with withBinder(...)");
    }
    if (naturalKeyFn() == null) {
      throw new IllegalArgumentException(where + "set the natural key with withNaturalKey(...)");
    }
    if (updateCondition() != null && onConflict() != OnConflict.UPDATE) {
      throw new IllegalArgumentException(where + "an update condition needs OnConflict.UPDATE");
    }
    if (onConflict() == OnConflict.UPDATE && keyColumns().size() == columns().size()) {
      throw new IllegalArgumentException(
          where + "every column is a key column: nothing to update; use OnConflict.DO_NOTHING");
    }
  }

  /** The upsert statement for {@code qualifiedTable} (validated names), one row of parameters. */
  String upsertSql(String qualifiedTable) {
    String values =
        columns().stream()
            .map(c -> casts().containsKey(c) ? "?::" + casts().get(c) : "?")
            .collect(Collectors.joining(", "));
    String written = writeTimeColumn();
    return insertInto(qualifiedTable)
        + " VALUES ("
        + values
        + (written == null ? "" : ", now()")
        + ")"
        + onConflictSql();
  }

  /**
   * The same upsert of every row of {@code source}, a table with the same columns (the rows a
   * {@code COPY} loaded, see {@link CopyText}).
   */
  String upsertFromSql(String qualifiedTable, String source) {
    String written = writeTimeColumn();
    return insertInto(qualifiedTable)
        + " SELECT "
        + String.join(", ", columns())
        + (written == null ? "" : ", now()")
        + " FROM "
        + source
        + onConflictSql();
  }

  private String insertInto(String qualifiedTable) {
    String written = writeTimeColumn();
    return "INSERT INTO "
        + qualifiedTable
        + " AS t ("
        + String.join(", ", columns())
        + (written == null ? "" : ", " + written)
        + ")";
  }

  private String onConflictSql() {
    StringBuilder sql =
        new StringBuilder(" ON CONFLICT (").append(String.join(", ", keyColumns())).append(")");
    if (onConflict() == OnConflict.DO_NOTHING) {
      return sql.append(" DO NOTHING").toString();
    }
    String written = writeTimeColumn();
    List<String> updated = columns().stream().filter(c -> !keyColumns().contains(c)).toList();
    sql.append(" DO UPDATE SET ")
        .append(
            updated.stream().map(c -> c + " = EXCLUDED." + c).collect(Collectors.joining(", ")));
    if (written != null) {
      sql.append(", ")
          .append(written)
          .append(" = CASE WHEN ROW(")
          .append(updated.stream().map(c -> "t." + c).collect(Collectors.joining(", ")))
          .append(") IS DISTINCT FROM ROW(")
          .append(updated.stream().map(c -> "EXCLUDED." + c).collect(Collectors.joining(", ")))
          .append(") THEN now() ELSE t.")
          .append(written)
          .append(" END");
    }
    if (updateCondition() != null) {
      sql.append(" WHERE ").append(updateCondition());
    }
    return sql.toString();
  }

  /** The DDL with names filled in, or null when there is none. */
  @Nullable String ddl(String schema, String table) {
    String template = ddlTemplate();
    if (template == null) {
      return null;
    }
    String body = template.replace("{schema}", schema).replace("{table}", table);
    return "CREATE SCHEMA IF NOT EXISTS " + schema + ";\n" + body;
  }

  void bind(PreparedStatement statement, T row) throws SQLException {
    Checks.notNull("binder", binder()).bind(statement, row);
  }

  String naturalKey(T row) {
    return Checks.notNull("naturalKey", naturalKeyFn()).apply(row);
  }

  T winner(T first, T second) {
    SerializableBiFunction<T, T, T> winner = winnerFn();
    if (winner != null) {
      return winner.apply(first, second);
    }
    return onConflict() == OnConflict.UPDATE ? second : first;
  }

  String payload(T row) {
    return payloadFn().apply(row);
  }

  private static List<String> names(String field, String[] names) {
    return Arrays.stream(names).map(n -> PostgresIO.checkName(field, n)).toList();
  }

  @AutoValue.Builder
  abstract static class Builder<T> {
    abstract Builder<T> setName(String value);

    abstract Builder<T> setColumns(List<String> value);

    abstract Builder<T> setKeyColumns(List<String> value);

    abstract Builder<T> setCasts(Map<String, String> value);

    abstract Builder<T> setOnConflict(OnConflict value);

    abstract Builder<T> setUpdateCondition(@Nullable String value);

    abstract Builder<T> setDdlTemplate(@Nullable String value);

    abstract Builder<T> setWriteTimeColumn(@Nullable String value);

    abstract Builder<T> setBinder(@Nullable Binder<T> value);

    abstract Builder<T> setNaturalKeyFn(@Nullable SerializableFunction<T, String> value);

    abstract Builder<T> setWinnerFn(@Nullable SerializableBiFunction<T, T, T> value);

    abstract Builder<T> setPayloadFn(SerializableFunction<T, String> value);

    abstract PostgresTable<T> build();
  }
}

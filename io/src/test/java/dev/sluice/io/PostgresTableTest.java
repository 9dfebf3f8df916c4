package dev.sluice.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.io.PostgresTable.OnConflict;
import org.junit.jupiter.api.Test;

class PostgresTableTest {
  private static PostgresTable<String> complete() {
    return PostgresTable.<String>named("items")
        .withColumns("id", "body", "doc")
        .withKey("id")
        .withCast("doc", "jsonb")
        .withBinder((s, row) -> s.setString(1, row))
        .withNaturalKey(row -> row);
  }

  @Test
  void upsertUpdatesEveryNonKeyColumnUnderTheCondition() {
    assertThat(complete().withUpdateCondition("t.body < EXCLUDED.body").upsertSql("s.items"))
        .isEqualTo(
            "INSERT INTO s.items AS t (id, body, doc) VALUES (?, ?, ?::jsonb) ON CONFLICT (id)"
                + " DO UPDATE SET body = EXCLUDED.body, doc = EXCLUDED.doc"
                + " WHERE t.body < EXCLUDED.body");
    assertThat(complete().withOnConflict(OnConflict.DO_NOTHING).upsertSql("s.items"))
        .isEqualTo(
            "INSERT INTO s.items AS t (id, body, doc) VALUES (?, ?, ?::jsonb) ON CONFLICT (id)"
                + " DO NOTHING");
  }

  @Test
  void aWriteTimeColumnIsSetOnInsertAndOnlyWhenAnUpdateChangesTheRow() {
    assertThat(complete().withWriteTimeColumn("written_at").upsertSql("s.items"))
        .isEqualTo(
            "INSERT INTO s.items AS t (id, body, doc, written_at) VALUES (?, ?, ?::jsonb, now())"
                + " ON CONFLICT (id) DO UPDATE SET body = EXCLUDED.body, doc = EXCLUDED.doc,"
                + " written_at = CASE WHEN ROW(t.body, t.doc) IS DISTINCT FROM"
                + " ROW(EXCLUDED.body, EXCLUDED.doc) THEN now() ELSE t.written_at END");
    assertThat(
            complete()
                .withOnConflict(OnConflict.DO_NOTHING)
                .withWriteTimeColumn("written_at")
                .upsertSql("s.items"))
        .isEqualTo(
            "INSERT INTO s.items AS t (id, body, doc, written_at) VALUES (?, ?, ?::jsonb, now())"
                + " ON CONFLICT (id) DO NOTHING");
    assertThatThrownBy(() -> PostgresIO.write(complete().withWriteTimeColumn("body")))
        .hasMessageContaining("write time column 'body' is set by the database");
  }

  @Test
  void theLaterRowOfAKeyWinsAnUpdateAndTheFirstAnInsertOnce() {
    assertThat(complete().winner("a", "b")).isEqualTo("b");
    assertThat(complete().withOnConflict(OnConflict.DO_NOTHING).winner("a", "b")).isEqualTo("a");
  }

  @Test
  void ddlFillsInTheNamesAfterCreatingTheSchema() {
    assertThat(complete().ddl("s", "t")).isNull();
    assertThat(complete().withDdl("CREATE TABLE {schema}.{table} (id text);").ddl("s", "t"))
        .isEqualTo("CREATE SCHEMA IF NOT EXISTS s;\nCREATE TABLE s.t (id text);");
  }

  @Test
  void namesAreValidated() {
    assertThatThrownBy(() -> PostgresTable.named("Items"))
        .hasMessageStartingWith("table must match");
    assertThatThrownBy(() -> complete().withColumns("id", "x; DROP"))
        .hasMessageStartingWith("column must match");
    assertThatThrownBy(() -> complete().withColumns("id", "id"))
        .hasMessage("columns must not repeat, got [id, id]");
    assertThatThrownBy(() -> complete().withCast("doc", "jsonb; DROP"))
        .hasMessageStartingWith("sqlType must be a lower-case type name");
  }

  @Test
  void anIncompleteDefinitionIsRefusedByWrite() {
    assertThatThrownBy(() -> PostgresIO.write(PostgresTable.<String>named("items")))
        .hasMessage("PostgresTable 'items': set the columns with withColumns(...)");
    assertThatThrownBy(() -> PostgresIO.write(complete().withKey("nope")))
        .hasMessage(
            "PostgresTable 'items': key column 'nope' is not one of the columns"
                + " [id, body, doc]");
    assertThatThrownBy(
            () ->
                PostgresIO.write(
                    complete().withOnConflict(OnConflict.DO_NOTHING).withUpdateCondition("true")))
        .hasMessage("PostgresTable 'items': an update condition needs OnConflict.UPDATE");
    assertThat(PostgresIO.write(complete()).qualifiedTable()).isEqualTo("sluice.items");
  }
}

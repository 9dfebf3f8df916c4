package dev.sluice.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.model.ReferenceTable;
import java.nio.file.Files;
import java.sql.SQLException;
import java.util.Map;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.testing.TestPipelineExtension;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionView;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@link ReferenceTableIO#postgres} against a real PostgreSQL 16 (the embedded default store). */
@ExtendWith(TestPipelineExtension.class)
class ReferenceTableIOIT {
  @RegisterExtension static final PostgresServer postgres = new PostgresServer();

  @BeforeAll
  static void createTables() throws SQLException {
    postgres.execute(
        "CREATE SCHEMA ref",
        "CREATE TABLE ref.limits (sensor text PRIMARY KEY, small smallint, i integer, big bigint,"
            + " r real, d double precision, n numeric(10, 3), flag boolean, b1 bit(1), bits bit(3),"
            + " site text, v varchar(10), day date, note text)",
        "INSERT INTO ref.limits VALUES ('s1', 1, -2, 3000000000, 1.5, -2.25, 12.345, true,"
            + " B'1', B'101', 'berlin', 'v', DATE '2026-01-02', NULL)",
        "INSERT INTO ref.limits (sensor, flag, b1) VALUES ('s2', false, B'0')",
        "CREATE TABLE plain_limits (sensor text, max_temperature double precision)",
        "INSERT INTO plain_limits VALUES ('s1', 50), ('s2', 60.5)",
        "CREATE TABLE ref.null_key (sensor text, v integer)",
        "INSERT INTO ref.null_key VALUES ('s1', 1), (NULL, 2)",
        "CREATE TABLE ref.duplicate_key (sensor text, v integer)",
        "INSERT INTO ref.duplicate_key VALUES ('s1', 1), ('s1', 2)",
        "CREATE TABLE ref.not_finite (sensor text, v numeric)",
        "INSERT INTO ref.not_finite VALUES ('s1', 'NaN')");
  }

  private static ReferenceTableIO.Read read(String table) {
    return ReferenceTableIO.postgres(postgres.database(), table).withKeyColumn("sensor");
  }

  private static String where(String table) {
    return "PostgreSQL table " + table + " at " + postgres.database().displayUrl();
  }

  @Test
  void numericColumnsAreDoublesBooleansAreBooleansTheRestTextAndNullIsAbsent() {
    ReferenceTable table = read("ref.limits").load();
    assertThat(table.source()).isEqualTo(where("ref.limits"));
    assertThat(table.rows().keySet()).containsExactly("s1", "s2");
    assertThat(table.row("s1"))
        .containsExactly(
            Map.entry("b1", true),
            Map.entry("big", 3.0e9),
            Map.entry("bits", "101"),
            Map.entry("d", -2.25),
            Map.entry("day", "2026-01-02"),
            Map.entry("flag", true),
            Map.entry("i", -2.0),
            Map.entry("n", 12.345),
            Map.entry("r", 1.5),
            Map.entry("site", "berlin"),
            Map.entry("small", 1.0),
            Map.entry("v", "v"));
    assertThat(table.row("s2")).containsExactly(Map.entry("b1", false), Map.entry("flag", false));
  }

  @Test
  void anUnqualifiedTableIsFoundOnTheSearchPath() {
    ReferenceTable table = read("plain_limits").load();
    assertThat(table.row("s2")).containsExactly(Map.entry("max_temperature", 60.5));
    assertThat(table.source()).isEqualTo(where("plain_limits"));
  }

  @Test
  void aNullKeyNamesTableAndColumn() {
    assertThatThrownBy(() -> read("ref.null_key").load())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(where("ref.null_key") + ": the key column 'sensor' is NULL in a row");
  }

  @Test
  void aMissingKeyColumnNamesTableAndColumn() {
    assertThatThrownBy(() -> read("ref.limits").withKeyColumn("device").load())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith(
            where("ref.limits") + " has no key column 'device' (columns: sensor,");
  }

  @Test
  void aDuplicateKeyNamesTableColumnAndKey() {
    assertThatThrownBy(() -> read("ref.duplicate_key").load())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(
            where("ref.duplicate_key")
                + ": key 's1' appears in more than one row of column 'sensor'");
  }

  @Test
  void aNonFiniteNumberNamesTableRowAndColumn() {
    assertThatThrownBy(() -> read("ref.not_finite").load())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(where("ref.not_finite") + ": row 's1' column 'v' is not finite: NaN");
  }

  @Test
  void aMissingTableNamesTheTableAndTheSqlState() {
    assertThatThrownBy(() -> read("ref.nothing").load())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("cannot read " + where("ref.nothing") + ": SQLState 42P01: ");
  }

  @Test
  void thePasswordIsNeverInDescribeDisplayDataOrMessages() throws Exception {
    String password = Files.readAllLines(postgres.store().passwordFile()).get(0).strip();
    String url = postgres.store().jdbcUrl();
    ReferenceTableIO.Read good =
        ReferenceTableIO.postgres(PostgresIO.database(url).withPassword(password), "plain_limits")
            .withKeyColumn("sensor");
    assertThat(good.load().size()).isEqualTo(2);
    assertThat(good.describe()).doesNotContain(password);
    assertThat(DisplayData.from(good).toString()).doesNotContain(password);

    String wrong = "Wr0ng-S3cret-" + password.substring(0, 6);
    ReferenceTableIO.Read bad =
        ReferenceTableIO.postgres(PostgresIO.database(url).withPassword(wrong), "plain_limits")
            .withKeyColumn("sensor");
    assertThat(bad.describe()).doesNotContain(wrong);
    assertThat(DisplayData.from(bad).toString()).doesNotContain(wrong);
    assertThatThrownBy(bad::load)
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("cannot read " + where("plain_limits") + ": SQLState 28P01: ")
        .hasNoCause()
        .satisfies(e -> assertThat(e.getMessage()).doesNotContain(wrong).doesNotContain(password));

    ReferenceTableIO.Read unset =
        ReferenceTableIO.postgres(
                PostgresIO.database(url).withPasswordEnv("SLUICE_TEST_UNSET_PASSWORD_VARIABLE"),
                "plain_limits")
            .withKeyColumn("sensor");
    assertThatThrownBy(unset::load)
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(
            "cannot read "
                + where("plain_limits")
                + ": the PostgreSQL password variable SLUICE_TEST_UNSET_PASSWORD_VARIABLE is not"
                + " set on this worker");
  }

  @Test
  void aPipelineReadsTheTableOnceIntoASideInput(TestPipeline pipeline) {
    PCollectionView<ReferenceTable> view = pipeline.apply("ReadLimits", read("plain_limits"));
    PCollection<KV<String, String>> found =
        pipeline
            .apply("Keys", Create.of("s1", "s3"))
            .apply("Enrich", ParDo.of(new ReferenceTableIOTest.LookUp(view)).withSideInputs(view))
            .setCoder(KvCoder.of(StringUtf8Coder.of(), StringUtf8Coder.of()));
    PAssert.that(found)
        .containsInAnyOrder(KV.of("s1", "{max_temperature=50.0}"), KV.of("s3", "none"));
    pipeline.run().waitUntilFinish();
  }
}

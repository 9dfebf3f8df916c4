package dev.sluice.io;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The COPY text a table's binder produces, and the fallback when it sets a type COPY skips. */
class CopyTextTest {
  record Item(String id, Long count, Double value, Boolean flag, OffsetDateTime at) {}

  private static final PostgresTable<Item> ITEMS =
      PostgresTable.<Item>named("items")
          .withColumns("id", "count", "value", "flag", "at")
          .withKey("id")
          .withBinder(
              (s, item) -> {
                s.setString(1, item.id());
                if (item.count() == null) {
                  s.setNull(2, java.sql.Types.BIGINT);
                } else {
                  s.setLong(2, item.count());
                }
                s.setObject(3, item.value());
                s.setObject(4, item.flag());
                s.setObject(5, item.at());
              })
          .withNaturalKey(Item::id);

  @Test
  void valuesAreEscapedAndSpelledAsPostgresReadsThem() throws Exception {
    OffsetDateTime at = OffsetDateTime.of(2026, 1, 2, 3, 4, 5, 6_000, ZoneOffset.ofHours(2));
    String text =
        CopyText.encode(
            ITEMS,
            List.of(
                new Item("a\tb\nc\rd\\e", 7L, 0.5, true, at),
                new Item("\\N", null, Double.NaN, false, null),
                new Item("", -1L, Double.NEGATIVE_INFINITY, null, at)));
    assertThat(text)
        .isEqualTo(
            "a\\tb\\nc\\rd\\\\e\t7\t0.5\tt\t2026-01-02 03:04:05.000006+02:00\n"
                + "\\\\N\t\\N\tNaN\tf\t\\N\n"
                + "\t-1\t-Infinity\t\\N\t2026-01-02 03:04:05.000006+02:00\n");
  }

  @Test
  void aBinderThatSetsAnotherTypeIsWrittenWithTheInsertInstead() throws Exception {
    PostgresTable<Item> bytes = ITEMS.withBinder((s, item) -> s.setBytes(1, item.id().getBytes()));
    PostgresTable<Item> sqlTimestamp =
        ITEMS.withBinder(
            (s, item) -> s.setObject(1, java.sql.Timestamp.from(item.at().toInstant())));
    Item item = new Item("x", 1L, 1.0, true, OffsetDateTime.now(ZoneOffset.UTC));
    assertThat(CopyText.encode(bytes, List.of(item))).isNull();
    assertThat(CopyText.encode(sqlTimestamp, List.of(item))).isNull();
  }
}

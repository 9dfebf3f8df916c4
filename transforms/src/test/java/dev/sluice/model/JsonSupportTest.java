package dev.sluice.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class JsonSupportTest {
  /** What parseInstant must agree with: the JDK's full ISO-8601 parser. */
  private static Long reference(String text) {
    try {
      return OffsetDateTime.parse(text).toInstant().toEpochMilli();
    } catch (DateTimeParseException e) {
      return null;
    }
  }

  private static Long parsed(String text) {
    try {
      return JsonSupport.parseInstant(text).getMillis();
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  @Test
  void fastPathAgreesWithTheFullParserOnRandomUtcTimes() {
    Random random = new Random(7);
    for (int i = 0; i < 20_000; i++) {
      long seconds = random.nextLong(-62_000_000_000L, 250_000_000_000L);
      int nanos = random.nextInt(1_000_000_000);
      String text = Instant.ofEpochSecond(seconds, nanos).toString();
      // Instant.toString prints 0, 3, 6 or 9 fraction digits; cut to every length in between too.
      int dot = text.indexOf('.');
      if (dot > 0) {
        int keep = random.nextInt(1, text.length() - dot - 1);
        text = text.substring(0, dot + 1 + keep) + "Z";
      }
      if (text.length() < 20 || text.charAt(4) != '-') {
        continue; // years outside 0000..9999 print differently and take the full parser
      }
      assertThat(JsonSupport.parseUtcFast(text)).as(text).isEqualTo(reference(text));
    }
  }

  @Test
  void textsOutsideTheFastFormAreJudgedByTheFullParser() {
    for (String text :
        List.of(
            "2026-01-01T00:00:00Z",
            "2026-01-01T00:00:00.5Z",
            "2026-01-01T00:00:00.123456789Z",
            "2024-02-29T23:59:59.999Z",
            "1969-12-31T23:59:59.999Z",
            "0000-01-01T00:00:00Z",
            "2026-01-01t00:00:00z",
            "2026-01-01T01:00:00+01:00",
            "2026-01-01T00:00Z",
            "2025-02-29T00:00:00Z",
            "2026-04-31T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-01-01T24:00:00Z",
            "2026-01-01T23:60:00Z",
            "2026-01-01T23:59:60Z",
            "2026-01-01T00:00:00.Z",
            "2026-01-01T00:00:00.1234567890Z",
            "2026-01-01T00:00:0xZ",
            "2026-01-01 00:00:00Z",
            "+2026-01-01T00:00:00Z")) {
      assertThat(parsed(text)).as(text).isEqualTo(reference(text));
    }
  }

  @Test
  void rejectionNamesTheTextAndTheExpectedForm() {
    assertThatThrownBy(() -> JsonSupport.parseInstant("2026-02-30T00:00:00Z"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'2026-02-30T00:00:00Z' is not an ISO-8601 date-time");
  }
}

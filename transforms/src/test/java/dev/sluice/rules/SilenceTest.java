package dev.sluice.rules;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.joda.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Reading, matching and the event-time activity of {@link Silence}. */
class SilenceTest {
  private static final String BERLIN_NIGHTS =
      "{\"id\":\"nights\",\"matchers\":{\"key\":\"db-*\"},\"weekly\":{\"days\":[\"SUN\"],"
          + "\"from\":\"01:30\",\"to\":\"03:30\",\"time_zone\":\"Europe/Berlin\"}}";

  private static Instant at(String iso) {
    return Instant.parse(iso);
  }

  @Test
  void aRangeIsActiveFromItsStartUntilJustBeforeItsEnd() {
    Silence s =
        Silence.fromJson(
            "{\"id\":\"m\",\"matchers\":{\"rule\":\"hot\"},\"starts_at\":\"2026-12-05T22:00:00Z\","
                + "\"ends_at\":\"2026-12-06T02:00:00Z\"}");
    assertThat(s.activeUntil(at("2026-12-05T21:59:59.999Z"))).isNull();
    assertThat(s.activeUntil(at("2026-12-05T22:00:00Z"))).isEqualTo(at("2026-12-06T02:00:00Z"));
    assertThat(s.activeUntil(at("2026-12-06T01:59:59.999Z"))).isNotNull();
    assertThat(s.activeUntil(at("2026-12-06T02:00:00Z"))).isNull();
    assertThat(s.expiredBy(at("2026-12-06T02:00:00Z"))).isTrue();
    assertThat(s.expiredBy(at("2026-12-06T01:00:00Z"))).isFalse();
  }

  /**
   * Europe/Berlin: clocks go forward on 2026-03-29 at 02:00 (CET, UTC+1, to CEST, UTC+2) and back
   * on 2026-10-25 at 03:00. The window is Sunday 01:30 to 03:30 local time.
   */
  @ParameterizedTest
  @CsvSource({
    // an ordinary Sunday, CET: 00:30Z to 02:30Z
    "2026-03-22T00:29:59Z, ",
    "2026-03-22T00:30:00Z, 2026-03-22T02:30:00Z",
    "2026-03-22T02:29:59Z, 2026-03-22T02:30:00Z",
    "2026-03-22T02:30:00Z, ",
    // clocks forward: 01:30 CET = 00:30Z, 03:30 CEST = 01:30Z, so one hour
    "2026-03-29T00:30:00Z, 2026-03-29T01:30:00Z",
    "2026-03-29T01:29:59Z, 2026-03-29T01:30:00Z",
    "2026-03-29T01:30:00Z, ",
    "2026-03-29T02:00:00Z, ",
    // a summer Sunday, CEST: 23:30Z on Saturday to 01:30Z
    "2026-06-06T23:30:00Z, 2026-06-07T01:30:00Z",
    "2026-06-07T01:30:00Z, ",
    // clocks back: 01:30 CEST = 23:30Z on Saturday, 03:30 CET = 02:30Z, so three hours
    "2026-10-24T23:30:00Z, 2026-10-25T02:30:00Z",
    "2026-10-25T02:29:59Z, 2026-10-25T02:30:00Z",
    "2026-10-25T02:30:00Z, ",
    // Mondays are not in the window
    "2026-03-23T00:30:00Z, ",
  })
  void aWeeklyWindowFollowsTheZonesWallClockAcrossDaylightSavingChanges(
      String t, String activeUntil) {
    Silence s = Silence.fromJson(BERLIN_NIGHTS);
    assertThat(s.activeUntil(at(t))).isEqualTo(activeUntil == null ? null : at(activeUntil));
    assertThat(s.expiredBy(at(t))).isFalse();
  }

  @Test
  void aWeeklyWindowMayCrossMidnight() {
    Silence s =
        Silence.fromJson(
            "{\"id\":\"late\",\"matchers\":{\"rule\":\"*\"},\"weekly\":{\"days\":[\"FRI\"],"
                + "\"from\":\"22:00\",\"to\":\"02:00\",\"time_zone\":\"UTC\"}}");
    // 2026-12-04 is a Friday
    assertThat(s.activeUntil(at("2026-12-04T21:59:00Z"))).isNull();
    assertThat(s.activeUntil(at("2026-12-04T23:00:00Z"))).isEqualTo(at("2026-12-05T02:00:00Z"));
    assertThat(s.activeUntil(at("2026-12-05T01:59:00Z"))).isEqualTo(at("2026-12-05T02:00:00Z"));
    assertThat(s.activeUntil(at("2026-12-05T22:30:00Z"))).isNull(); // Saturday evening
  }

  @Test
  void matchersOnRuleKeyAndLabelsMustAllHold() {
    Silence s =
        Silence.fromJson(
            "{\"id\":\"s\",\"matchers\":{\"rule\":\"hot-*\",\"key\":\"plant-b/*\","
                + "\"labels\":{\"team\":\"iot\"}},\"starts_at\":\"2026-01-01T00:00:00Z\","
                + "\"ends_at\":\"2026-01-02T00:00:00Z\"}");
    Rule hot = Rule.of("hot-sensor", "mean(t) > 1").withLabels(Map.of("team", "iot", "x", "y"));
    assertThat(s.matches(hot, "plant-b/s1")).isTrue();
    assertThat(s.matches(hot, "plant-a/s1")).isFalse();
    assertThat(s.matches(hot.withLabels(Map.of("team", "web")), "plant-b/s1")).isFalse();
    assertThat(s.matches(Rule.of("cold", "mean(t) < 1"), "plant-b/s1")).isFalse();
  }

  @Test
  void jsonRoundTripsAndTheCoderIsTheJson() throws Exception {
    Silence s = Silence.fromJson(BERLIN_NIGHTS);
    assertThat(Silence.fromJson(s.toJson())).isEqualTo(s);
    Silence range =
        Silence.fromJson(
            "{\"id\":\"m\",\"version\":3,\"matchers\":{\"labels\":{\"a\":\"b\"}},"
                + "\"starts_at\":\"2026-12-05T22:00:00Z\",\"ends_at\":\"2026-12-06T02:00:00Z\","
                + "\"comment\":\"OPS-42\"}");
    assertThat(Silence.fromJson(range.toJson())).isEqualTo(range);
    assertThat(org.apache.beam.sdk.util.CoderUtils.clone(Silence.SilenceCoder.of(), range))
        .isEqualTo(range);
    assertThat(Silence.fromJson("{\"id\":\"m\",\"version\":4,\"deleted\":true}"))
        .isEqualTo(Silence.deletion("m", 4));
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "{\"id\":\"s\",\"starts_at\":\"2026-01-01T00:00:00Z\",\"ends_at\":\"2026-01-02T00:00:00Z\"}"
            + "| matchers is required",
        "{\"id\":\"s\",\"matchers\":{},\"starts_at\":\"2026-01-01T00:00:00Z\","
            + "\"ends_at\":\"2026-01-02T00:00:00Z\"}| at least one of rule, key, labels",
        "{\"id\":\"s\",\"matchers\":{\"rule\":\"*\"}}| give starts_at and ends_at, or a weekly",
        "{\"id\":\"s\",\"matchers\":{\"rule\":\"*\"},\"starts_at\":\"2026-01-02T00:00:00Z\","
            + "\"ends_at\":\"2026-01-01T00:00:00Z\"}| ends_at 2026-01-01T00:00:00.000Z must be after",
        "{\"id\":\"s\",\"matchers\":{\"rule\":\"*\"},\"starts_at\":\"tomorrow\","
            + "\"ends_at\":\"2026-01-01T00:00:00Z\"}| starts_at: \"tomorrow\" is not an ISO-8601",
        "{\"id\":\"s\",\"matchers\":{\"rules\":\"*\"}}| unknown field 'matchers.rules'",
        "{\"id\":\"s\",\"matchers\":{\"rule\":\"*\"},\"weekly\":{\"days\":[\"SON\"],"
            + "\"from\":\"01:00\",\"to\":\"02:00\",\"time_zone\":\"UTC\"}}| \"SON\" is not a day",
        "{\"id\":\"s\",\"matchers\":{\"rule\":\"*\"},\"weekly\":{\"days\":[\"SUN\"],"
            + "\"from\":\"01:00\",\"to\":\"02:00\",\"time_zone\":\"Mars/Olympus\"}}"
            + "| 'Mars/Olympus' is not a time zone",
        "{\"id\":\"s\",\"matchers\":{\"rule\":\"*\"},\"weekly\":{\"days\":[\"SUN\"],"
            + "\"from\":\"1 am\",\"to\":\"02:00\",\"time_zone\":\"UTC\"}}"
            + "| weekly.from: \"1 am\" is not a local time",
        "{\"id\":\"s\",\"matchers\":{\"rule\":\"*\"},\"weekly\":{\"days\":[\"SUN\"],"
            + "\"from\":\"02:00\",\"to\":\"02:00\",\"time_zone\":\"UTC\"}}| a window needs a length",
      })
  void invalidSilencesAreRefusedNamingTheFieldAndValue(String json, String message) {
    assertThatThrownBy(() -> Silence.fromJson(json))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("silence 's': ")
        .hasMessageContaining(message);
  }
}

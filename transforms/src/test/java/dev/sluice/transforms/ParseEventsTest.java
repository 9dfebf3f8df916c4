package dev.sluice.transforms;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.model.DeadLetter;
import dev.sluice.model.DeadLetter.Reason;
import dev.sluice.model.Event;
import dev.sluice.model.JsonSupport;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.testing.TestPipelineExtension;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.Reify;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TimestampedValue;
import org.joda.time.Duration;
import org.joda.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

@ExtendWith(TestPipelineExtension.class)
class ParseEventsTest {
  private static final String GOOD =
      "{\"event_id\":\"e-1\",\"key\":\"sensor-1\",\"metric\":\"temperature\",\"value\":21.5,"
          + "\"event_time\":\"2026-01-01T00:00:05Z\",\"attributes\":{\"site\":\"berlin\",\"floor\":2}}";

  @Test
  void parsesAValidPayloadAndTimestampsItWithItsEventTime(TestPipeline pipeline) {
    OutputWithDeadLetters<Event> parsed =
        pipeline.apply(Create.of(GOOD)).apply(ParseEvents.fromJson());
    Instant eventTime = JsonSupport.parseInstant("2026-01-01T00:00:05Z");
    Event expected =
        new Event(
            "e-1",
            "sensor-1",
            "temperature",
            21.5,
            eventTime,
            new java.util.TreeMap<>(Map.of("site", "berlin", "floor", "2")));
    PCollection<TimestampedValue<Event>> timestamped = parsed.output().apply(Reify.timestamps());
    PAssert.that(timestamped).containsInAnyOrder(TimestampedValue.of(expected, eventTime));
    PAssert.that(parsed.deadLetters()).empty();
    pipeline.run().waitUntilFinish();
  }

  static Stream<Arguments> badPayloads() {
    String deep = "{\"a\":".repeat(40) + "1" + "}".repeat(40);
    return Stream.of(
        Arguments.of("truncated", GOOD.substring(0, 40), Reason.MALFORMED_JSON, "invalid JSON"),
        Arguments.of("empty", "", Reason.MALFORMED_JSON, "payload is empty"),
        Arguments.of("not JSON", "<event/>", Reason.MALFORMED_JSON, "invalid JSON"),
        Arguments.of("trailing", GOOD + " {}", Reason.MALFORMED_JSON, "invalid JSON"),
        Arguments.of(
            "missing key",
            GOOD.replace("\"key\":\"sensor-1\",", ""),
            Reason.MISSING_FIELD,
            "field 'key' is missing"),
        Arguments.of(
            "null value",
            GOOD.replace("21.5", "null"),
            Reason.MISSING_FIELD,
            "field 'value' is missing"),
        Arguments.of(
            "empty metric",
            GOOD.replace("\"temperature\"", "\"\""),
            Reason.MISSING_FIELD,
            "field 'metric' is empty"),
        Arguments.of(
            "value as string",
            GOOD.replace("21.5", "\"21.5\""),
            Reason.BAD_TYPE,
            "field 'value' must be a number, got a string"),
        Arguments.of(
            "key as number",
            GOOD.replace("\"sensor-1\"", "7"),
            Reason.BAD_TYPE,
            "field 'key' must be a string, got a number"),
        Arguments.of("array", "[1,2,3]", Reason.BAD_TYPE, "payload is a JSON array"),
        Arguments.of(
            "unparseable time",
            GOOD.replace("2026-01-01T00:00:05Z", "yesterday"),
            Reason.BAD_TYPE,
            "field 'event_time'"),
        Arguments.of(
            "nested attribute",
            GOOD.replace("\"floor\":2", "\"floor\":{\"n\":2}"),
            Reason.BAD_TYPE,
            "field 'attributes.floor'"),
        Arguments.of(
            "NaN", GOOD.replace("21.5", "NaN"), Reason.NON_FINITE_VALUE, "field 'value' is NaN"),
        Arguments.of(
            "Infinity",
            GOOD.replace("21.5", "-Infinity"),
            Reason.NON_FINITE_VALUE,
            "not a finite number"),
        Arguments.of(
            "overflow",
            GOOD.replace("21.5", "1e400"),
            Reason.NON_FINITE_VALUE,
            "not a finite number"),
        Arguments.of(
            "huge value",
            GOOD.replace("21.5", "-1e200"),
            Reason.VALUE_OUT_OF_RANGE,
            "field 'value' -1.0E200 is beyond the allowed magnitude 1.0E100"),
        Arguments.of("too deep", deep, Reason.TOO_LARGE, "nesting depth"),
        Arguments.of(
            "key too long",
            GOOD.replace("\"sensor-1\"", "\"" + "k".repeat(257) + "\""),
            Reason.TOO_LARGE,
            "field 'key' is 257 characters long, more than the limit of 256"),
        Arguments.of(
            "metric too long",
            GOOD.replace("\"temperature\"", "\"" + "m".repeat(300) + "\""),
            Reason.TOO_LARGE,
            "field 'metric' is 300 characters long, more than the limit of 256"),
        Arguments.of(
            "control character in key",
            GOOD.replace("\"sensor-1\"", "\"sensor\\u0007-1\""),
            Reason.INVALID_KEY,
            "field 'key' contains the control character U+0007 at position 6"),
        Arguments.of(
            "line break in metric",
            GOOD.replace("\"temperature\"", "\"temp\\nerature\""),
            Reason.INVALID_KEY,
            "field 'metric' contains the control character U+000A at position 4"),
        Arguments.of(
            "too big",
            GOOD.replace("berlin", "x".repeat(2_000_000)),
            Reason.TOO_LARGE,
            "more than the limit of 1048576"),
        Arguments.of(
            "before minimum",
            GOOD.replace("2026-01-01T00:00:05Z", "1999-12-31T23:59:59Z"),
            Reason.TIMESTAMP_OUT_OF_RANGE,
            "is before the minimum 2000-01-01T00:00:00.000Z"),
        Arguments.of(
            "far future",
            GOOD.replace("2026-01-01T00:00:05Z", "2999-01-01T00:00:00Z"),
            Reason.TIMESTAMP_OUT_OF_RANGE,
            "ahead of the processing clock"));
  }

  @ParameterizedTest(name = "{0} -> {2}")
  @MethodSource("badPayloads")
  void rejectsBadPayloadsWithASpecificReasonAndTheOriginalPayload(
      String name, String payload, Reason reason, String messageFragment, TestPipeline pipeline) {
    OutputWithDeadLetters<Event> parsed =
        pipeline.apply(Create.of(payload, GOOD)).apply(ParseEvents.fromJson());
    PAssert.that(parsed.output())
        .satisfies(
            events -> {
              assertThat(events).extracting(Event::eventId).containsExactly("e-1");
              return null;
            });
    PAssert.that(parsed.deadLetters())
        .satisfies(
            letters -> {
              assertThat(letters).hasSize(1);
              DeadLetter letter = letters.iterator().next();
              assertThat(letter.stage()).isEqualTo(ParseEvents.STAGE);
              assertThat(letter.reason()).isEqualTo(reason);
              assertThat(letter.error()).contains(messageFragment);
              // The message describes the problem; it does not repeat the payload.
              assertThat(letter.error()).doesNotContain("[Source:").doesNotContain("berlin");
              assertThat(letter.payload()).isEqualTo(payload);
              return null;
            });
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();
    assertThat(counter(result, ParseEvents.deadLetterCounterName(reason))).isEqualTo(1);
    assertThat(counter(result, ParseEvents.EVENTS_PARSED)).isEqualTo(1);
  }

  @Test
  void rejectsEventsBehindTheTimestampTheSourceAssigned(TestPipeline pipeline) {
    Instant sourceTimestamp = JsonSupport.parseInstant("2026-01-01T00:01:00Z");
    OutputWithDeadLetters<Event> parsed =
        pipeline
            .apply(Create.timestamped(TimestampedValue.of(GOOD, sourceTimestamp)))
            .apply(ParseEvents.fromJson());
    PAssert.that(parsed.output()).empty();
    PAssert.that(parsed.deadLetters())
        .satisfies(
            letters -> {
              DeadLetter letter = letters.iterator().next();
              assertThat(letter.reason()).isEqualTo(Reason.TIMESTAMP_OUT_OF_RANGE);
              assertThat(letter.error()).contains("before the element timestamp");
              return null;
            });
    pipeline.run().waitUntilFinish();
  }

  @Test
  void limitsAreConfigurable(TestPipeline pipeline) {
    OutputWithDeadLetters<Event> parsed =
        pipeline.apply(Create.of(GOOD)).apply(ParseEvents.fromJson().withMaxPayloadBytes(50));
    PAssert.that(parsed.output()).empty();
    PAssert.that(parsed.deadLetters())
        .satisfies(
            letters -> {
              assertThat(letters.iterator().next().error())
                  .isEqualTo("payload is " + GOOD.length() + " bytes, more than the limit of 50");
              return null;
            });
    pipeline.run().waitUntilFinish();
  }

  @Test
  void invalidSettingsFailAtConstructionNamingTheSettingAndValue() {
    assertThatThrownBy(() -> ParseEvents.fromJson().withMaxPayloadBytes(0))
        .hasMessage("maxPayloadBytes must be positive, got 0");
    assertThatThrownBy(() -> ParseEvents.fromJson().withMaxNestingDepth(-1))
        .hasMessage("maxNestingDepth must be positive, got -1");
    assertThatThrownBy(() -> ParseEvents.fromJson().withMaxStringLength(0))
        .hasMessage("maxStringLength must be positive, got 0");
    assertThatThrownBy(() -> ParseEvents.fromJson().withMinEventTime(null))
        .hasMessage("minEventTime must not be null");
    assertThatThrownBy(() -> ParseEvents.fromJson().withMaxFutureSkew(Duration.millis(-1)))
        .hasMessage("maxFutureSkew must not be negative, got PT-0.001S");
    assertThatThrownBy(
            () -> ParseEvents.fromJson().withMaxFutureSkew(Duration.standardDays(40_000)))
        .hasMessage("maxFutureSkew must be at most PT3155760000S, got PT3456000000S");
    assertThatThrownBy(() -> ParseEvents.fromJson().withMaxAbsValue(1e200))
        .hasMessage("maxAbsValue must be at most 1e100, got 1.0E200");
    assertThatThrownBy(() -> ParseEvents.fromJson().withMaxAbsValue(0))
        .hasMessage("maxAbsValue must be a positive finite number, got 0.0");
    assertThatThrownBy(
            () -> ParseEvents.fromJson().withMinEventTime(new Instant(Long.MIN_VALUE / 2)))
        .hasMessageStartingWith("minEventTime must be within Beam's timestamp range, got ");
  }

  static long counter(PipelineResult result, String name) {
    return dev.sluice.testing.Counters.attempted(result, ParseEvents.METRICS_NAMESPACE, name);
  }
}

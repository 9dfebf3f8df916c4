package dev.sluice.transforms;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.model.DeadLetter;
import dev.sluice.model.DeadLetter.Reason;
import dev.sluice.model.Event;
import dev.sluice.model.JsonSupport;
import dev.sluice.model.RawPayload;
import dev.sluice.transforms.FieldMapping.TimeFormat;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.testing.TestPipelineExtension;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.Reify;
import org.apache.beam.sdk.values.TimestampedValue;
import org.joda.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** {@link ParseEvents} with a field mapping of the user's payload shape, and byte inputs. */
@ExtendWith(TestPipelineExtension.class)
class ParseEventsMappingTest {
  private static final Instant T = JsonSupport.parseInstant("2026-01-01T00:00:00Z");

  private static final FieldMapping IOT =
      FieldMapping.contract()
          .withEventIdField("id")
          .withKeyField("device.id")
          .withTimeField("ts", TimeFormat.EPOCH_MILLIS)
          .withValueFields(Map.of("temperature", "readings.temp", "humidity", "readings.hum"))
          .withAttributeFields(List.of("site", "device.model"));

  private static String iot(String readings) {
    return "{\"id\":\"r-1\",\"device\":{\"id\":\"d-7\",\"model\":\"x1\"},\"ts\":"
        + T.getMillis()
        + ",\"site\":\"berlin\",\"readings\":"
        + readings
        + "}";
  }

  @Test
  void eachValueFieldBecomesAnEventWithItsMetricNameAndTheMappedParts(TestPipeline pipeline) {
    OutputWithDeadLetters<Event> parsed =
        pipeline
            .apply(Create.of(iot("{\"temp\":21.5,\"hum\":40}")))
            .apply(ParseEvents.fromJson().withMapping(IOT));
    TreeMap<String, String> attributes =
        new TreeMap<>(Map.of("site", "berlin", "device.model", "x1"));
    PAssert.that(parsed.output().apply(Reify.timestamps()))
        .containsInAnyOrder(
            TimestampedValue.of(new Event("r-1", "d-7", "temperature", 21.5, T, attributes), T),
            TimestampedValue.of(new Event("r-1", "d-7", "humidity", 40.0, T, attributes), T));
    PAssert.that(parsed.deadLetters()).empty();
    pipeline.run().waitUntilFinish();
  }

  @Test
  void aMissingOrMistypedMappedFieldIsADeadLetterNamingItsPath(TestPipeline pipeline) {
    String missingHumidity = iot("{\"temp\":21.5}");
    String readingsNotObject = iot("\"none\"");
    String timeAsText =
        iot("{\"temp\":1,\"hum\":2}").replace("\"ts\":" + T.getMillis(), "\"ts\":\"now\"");
    OutputWithDeadLetters<Event> parsed =
        pipeline
            .apply(Create.of(missingHumidity, readingsNotObject, timeAsText))
            .apply(ParseEvents.fromJson().withMapping(IOT));
    PAssert.that(parsed.output()).empty();
    PAssert.that(parsed.deadLetters())
        .satisfies(
            letters -> {
              assertThat(letters).hasSize(3);
              Map<String, String> byPayload = new java.util.HashMap<>();
              letters.forEach(l -> byPayload.put(l.payload(), l.reason() + ": " + l.error()));
              assertThat(byPayload)
                  .containsEntry(missingHumidity, "MISSING_FIELD: field 'readings.hum' is missing")
                  .containsEntry(
                      readingsNotObject,
                      "BAD_TYPE: field 'readings.hum': 'readings' is a string, not an object")
                  .containsEntry(
                      timeAsText,
                      "BAD_TYPE: field 'ts' must be whole epoch milliseconds, got a string");
              return null;
            });
    pipeline.run().waitUntilFinish();
  }

  @Test
  void epochSecondsMayHaveAFraction(TestPipeline pipeline) {
    String payload =
        "{\"event_id\":\"e\",\"key\":\"k\",\"metric\":\"m\",\"value\":1,\"at\":1767225600.25}";
    OutputWithDeadLetters<Event> parsed =
        pipeline
            .apply(Create.of(payload))
            .apply(
                ParseEvents.fromJson()
                    .withMapping(
                        FieldMapping.contract().withTimeField("at", TimeFormat.EPOCH_SECONDS)));
    PAssert.that(parsed.output()).containsInAnyOrder(Event.of("e", "k", "m", 1.0, T.plus(250)));
    pipeline.run().waitUntilFinish();
  }

  @Test
  void bytesThatAreNotUtf8AreMalformedAndKeptExactlyAsBase64WithTheirSource(TestPipeline pipeline) {
    byte[] latin1 =
        "{\"event_id\":\"e\",\"key\":\"caf\u00e9\",\"metric\":\"m\",\"value\":1,\"event_time\":\"2026-01-01T00:00:00Z\"}"
            .getBytes(StandardCharsets.ISO_8859_1);
    OutputWithDeadLetters<Event> parsed =
        pipeline
            .apply(Create.of(new RawPayload(latin1, "sensors/2/1234")))
            .apply(ParseEvents.fromRawPayloads());
    PAssert.that(parsed.output()).empty();
    PAssert.that(parsed.deadLetters())
        .satisfies(
            letters -> {
              DeadLetter letter = letters.iterator().next();
              assertThat(letter.reason()).isEqualTo(Reason.MALFORMED_JSON);
              assertThat(letter.error()).containsIgnoringCase("UTF-8");
              assertThat(letter.payload()).isNull();
              assertThat(letter.payloadBytes()).isEqualTo(latin1);
              assertThat(letter.source()).isEqualTo("sensors/2/1234");
              return null;
            });
    pipeline.run().waitUntilFinish();
  }

  @Test
  void validBytesParseLikeText(TestPipeline pipeline) {
    byte[] payload =
        "{\"event_id\":\"e\",\"key\":\"k\",\"metric\":\"m\",\"value\":2,\"event_time\":\"2026-01-01T00:00:00Z\"}"
            .getBytes(StandardCharsets.UTF_8);
    OutputWithDeadLetters<Event> parsed =
        pipeline.apply(Create.of(List.of(payload))).apply(ParseEvents.fromJsonBytes());
    PAssert.that(parsed.output()).containsInAnyOrder(Event.of("e", "k", "m", 2.0, T));
    pipeline.run().waitUntilFinish();
  }

  @Test
  void invalidMappingsFailAtConstructionNamingTheFieldAndValue() {
    assertThatThrownBy(() -> FieldMapping.contract().withKeyField("device..id"))
        .hasMessage(
            "keyField must be a field name or dotted path such as device.id, got 'device..id'");
    assertThatThrownBy(() -> FieldMapping.contract().withValueFields(Map.of()))
        .hasMessage("valueFields must name at least one field, got {}");
    assertThatThrownBy(() -> FieldMapping.contract().withValueFields(Map.of("t", "a b")))
        .hasMessageStartingWith("valueFields[t] must be a field name or dotted path");
    assertThatThrownBy(
            () ->
                FieldMapping.contract()
                    .withValueFields(java.util.Collections.singletonMap(null, "a")))
        .hasMessage("valueFields metric name must not be blank, got null");
    assertThatThrownBy(() -> FieldMapping.contract().withTimeField("ts", null))
        .hasMessage("timeFormat must not be null");
    assertThatThrownBy(() -> ParseEvents.fromJson().withMapping(null))
        .hasMessage("mapping must not be null");
  }
}

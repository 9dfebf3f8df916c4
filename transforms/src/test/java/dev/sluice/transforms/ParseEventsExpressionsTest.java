package dev.sluice.transforms;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.model.DeadLetter;
import dev.sluice.model.DeadLetter.Reason;
import dev.sluice.model.Event;
import dev.sluice.model.ReferenceTable;
import java.util.Map;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.testing.TestPipelineExtension;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.View;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionView;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.joda.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Filter, key and derive expressions, and enrichment, in {@link ParseEvents}. */
@ExtendWith(TestPipelineExtension.class)
class ParseEventsExpressionsTest {
  private static final String T = "2026-01-01T00:00:05Z";

  private static String reading(String id, String site, String device, Object temperature) {
    return "{\"id\":\""
        + id
        + "\",\"device\":\""
        + device
        + "\",\"ts\":\""
        + T
        + "\",\"meta\":{\"site\":\""
        + site
        + "\"},\"temperature\":"
        + temperature
        + ",\"humidity\":40}";
  }

  private static ParseEvents<String> iot() {
    return ParseEvents.fromJson()
        .withMapping(
            FieldMapping.contract()
                .withEventIdField("id")
                .withKeyField("device")
                .withTimeField("ts", FieldMapping.TimeFormat.ISO_8601)
                .withValueFields(Map.of("temperature", "temperature")));
  }

  private static PCollection<String> texts(PCollection<Event> events) {
    return events.apply(
        "Texts" + events.getName().hashCode(),
        MapElements.into(TypeDescriptors.strings())
            .via(e -> e.key() + " " + e.metric() + " " + e.value()));
  }

  private static long counter(PipelineResult result, String name) {
    return dev.sluice.testing.Counters.attempted(result, ParseEvents.METRICS_NAMESPACE, name);
  }

  @Test
  void filterKeyAndDeriveApplyInOrderAndDroppedPayloadsAreCountedNotDeadLettered(
      TestPipeline pipeline) {
    PCollection<String> input =
        pipeline.apply(
            Create.of(
                reading("r1", "north", "d1", 20.0),
                reading("r2", "south", "d2", 30.0), // filtered: south
                reading("r3", "north", "d3", -60.0), // filtered: too cold
                // Filtered before the mapping is read: no id, yet no dead letter.
                "{\"meta\":{\"site\":\"south\"},\"temperature\":1.0}",
                reading("r5", "west", "d1", 40)));
    OutputWithDeadLetters<Event> parsed =
        input.apply(
            iot()
                .withFilter("payload.meta.site != \"south\" && payload.temperature > -50.0")
                .withKeyExpression("payload.meta.site + \"/\" + payload.device")
                .withDerived(Map.of("temperature_f", "payload.temperature * 9.0 / 5.0 + 32.0")));
    PAssert.that(texts(parsed.output()))
        .containsInAnyOrder(
            "north/d1 temperature 20.0",
            "north/d1 temperature_f 68.0",
            "west/d1 temperature 40.0",
            "west/d1 temperature_f 104.0");
    PAssert.that(parsed.deadLetters()).empty();
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();
    assertThat(counter(result, ParseEvents.FILTERED_OUT)).isEqualTo(3);
    assertThat(counter(result, ParseEvents.PAYLOADS_READ)).isEqualTo(5);
  }

  @Test
  void anUnevaluablePayloadIsOneExpressionErrorDeadLetterNamingTheExpression(
      TestPipeline pipeline) {
    String noMeta = "{\"id\":\"r1\",\"device\":\"d1\",\"ts\":\"" + T + "\",\"temperature\":1.0}";
    String textTemperature = reading("r2", "north", "d2", "\"hot\"");
    String hugeDerived = reading("r3", "north", "d3", 1e300);
    PCollection<String> input = pipeline.apply(Create.of(noMeta, textTemperature, hugeDerived));
    OutputWithDeadLetters<Event> parsed =
        input.apply(
            ParseEvents.fromJson()
                .withMapping(
                    FieldMapping.contract()
                        .withEventIdField("id")
                        .withKeyField("device")
                        .withTimeField("ts", FieldMapping.TimeFormat.ISO_8601)
                        .withValueFields(Map.of("humidity", "humidity")))
                .withKeyExpression("payload.meta.site + \"/\" + payload.device")
                .withDerived(Map.of("squared", "payload.temperature * payload.temperature")));
    PAssert.that(parsed.output()).empty();
    PAssert.that(parsed.deadLetters())
        .satisfies(
            letters -> {
              assertThat(letters).hasSize(3);
              for (DeadLetter d : letters) {
                assertThat(d.reason()).isEqualTo(Reason.EXPRESSION_ERROR);
                assertThat(d.stage()).isEqualTo(ParseEvents.STAGE);
                assertThat(d.payload()).isIn(noMeta, textTemperature, hugeDerived);
              }
              assertThat(letters)
                  .extracting(DeadLetter::error)
                  .anySatisfy(
                      e ->
                          assertThat(e)
                              .startsWith("key.expression 'payload.meta.site + \"/\"")
                              .contains("meta"))
                  .anySatisfy(
                      e ->
                          assertThat(e)
                              .startsWith("derive.squared")
                              .contains("No matching overload"))
                  .anySatisfy(
                      e -> assertThat(e).startsWith("derive.squared").contains("not a finite"));
              return null;
            });
    pipeline.run().waitUntilFinish();
  }

  @Test
  void expressionsReadTheKeysReferenceRowOrItsDefaults(TestPipeline pipeline) {
    ReferenceTable limits =
        ReferenceTable.of(
            Map.of("d1", Map.of("offset", 1.5, "site", "berlin"), "d2", Map.of("site", "paris")),
            "test",
            Instant.EPOCH);
    PCollectionView<ReferenceTable> view =
        pipeline
            .apply("Limits", Create.of(limits).withCoder(ReferenceTable.ReferenceTableCoder.of()))
            .apply(View.asSingleton());
    PCollection<String> input =
        pipeline.apply(
            Create.of(
                reading("r1", "n", "d1", 20.0),
                reading("r2", "n", "d2", 20.0),
                reading("r3", "n", "d3", 20.0)));
    ParseEvents<String> withRef =
        iot()
            .withFilter("!has(ref.site) || ref.site != \"paris\"")
            .withDerived(Map.of("corrected", "payload.temperature + ref.offset"));
    OutputWithDeadLetters<Event> skipped =
        input.apply("NoDefaults", withRef.withEnrichment(Enrichment.of(view)));
    PAssert.that(texts(skipped.output()))
        .containsInAnyOrder("d1 temperature 20.0", "d1 corrected 21.5");
    PAssert.that(skipped.deadLetters())
        .satisfies(
            letters -> {
              DeadLetter d = letters.iterator().next();
              assertThat(letters).hasSize(1);
              assertThat(d.reason()).isEqualTo(Reason.EXPRESSION_ERROR);
              assertThat(d.error())
                  .startsWith("derive.corrected 'payload.temperature + ref.offset'")
                  .endsWith("(the key 'd3' has no reference row)");
              return null;
            });
    OutputWithDeadLetters<Event> defaulted =
        input.apply(
            "Defaults",
            withRef.withEnrichment(Enrichment.of(view).withDefaults(Map.of("offset", 0))));
    PAssert.that(texts(defaulted.output()))
        .containsInAnyOrder(
            "d1 temperature 20.0", "d1 corrected 21.5", "d3 temperature 20.0", "d3 corrected 20.0");
    PAssert.that(defaulted.deadLetters()).empty();
    pipeline.run().waitUntilFinish();
  }

  @Test
  void expressionsThatDoNotCompileOrHaveTheWrongTypeAreRejectedWithCelsMessage() {
    assertThatThrownBy(() -> ParseEvents.fromJson().withFilter("payload.x >"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("filter: 'payload.x >' does not compile: ERROR: <input>:1:");
    assertThatThrownBy(() -> ParseEvents.fromJson().withFilter("payload.x + 1.0"))
        .hasMessageContaining("filter:")
        .hasMessageContaining("expected a bool");
    assertThatThrownBy(() -> ParseEvents.fromJson().withKeyExpression("1.0 + 2.0"))
        .hasMessage("key.expression: '1.0 + 2.0' is a double, expected a string");
    assertThatThrownBy(() -> ParseEvents.fromJson().withKeyExpression("ref.site"))
        .hasMessageContaining("undeclared reference to 'ref'");
    assertThatThrownBy(() -> ParseEvents.fromJson().withDerived(Map.of("t", "\"a\" * 2")))
        .hasMessageStartingWith("derive.t: '\"a\" * 2' does not compile")
        .hasMessageContaining("found no matching overload");
    assertThatThrownBy(() -> ParseEvents.fromJson().withDerived(Map.of("t", "1 + 2")))
        .hasMessageContaining("decimal point");
    assertThatThrownBy(() -> ParseEvents.fromJson().withFilter(" "))
        .hasMessage("filter: the expression is empty");
  }

  @Test
  void refWithoutEnrichmentIsRejectedWhenTheGraphIsBuilt(TestPipeline pipeline) {
    PCollection<String> input = pipeline.apply(Create.of(reading("r1", "n", "d1", 1.0)));
    assertThatThrownBy(
            () -> input.apply(iot().withDerived(Map.of("x", "payload.temperature + ref.offset"))))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("derive.x")
        .hasMessageContaining("undeclared reference to 'ref'");
    pipeline.enableAbandonedNodeEnforcement(false);
  }

  @Test
  void jsonNumbersAreDoublesAndNestedValuesAreReadable() throws Exception {
    PayloadExpression e =
        PayloadExpression.of(
            "derive.x",
            "payload.humidity * 1.5 + double(size(payload.tags)) + (payload.ok ? 1.0 : 0.0)",
            PayloadExpression.Result.DOUBLE,
            false);
    e.prepare();
    com.fasterxml.jackson.databind.JsonNode node =
        new com.fasterxml.jackson.databind.ObjectMapper()
            .readTree("{\"humidity\":40,\"tags\":[\"a\",null],\"ok\":true,\"gone\":null}");
    assertThat(e.evaluate(new JsonPayloadMap(node), Map.of(), null)).isEqualTo(63.0);
    PayloadExpression has =
        PayloadExpression.of(
            "filter",
            "!has(payload.gone) && 'ok' in payload",
            PayloadExpression.Result.BOOLEAN,
            false);
    assertThat(has.evaluate(new JsonPayloadMap(node), Map.of(), null)).isEqualTo(true);
  }
}

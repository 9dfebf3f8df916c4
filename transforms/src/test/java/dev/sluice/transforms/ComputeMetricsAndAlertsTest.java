package dev.sluice.transforms;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.model.Alert;
import dev.sluice.model.DeadLetter;
import dev.sluice.model.ModelFixtures;
import dev.sluice.model.RawPayload;
import dev.sluice.model.WindowStats;
import dev.sluice.rules.Rule;
import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.testing.TestPipelineExtension;
import org.apache.beam.sdk.testing.TestStream;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TimestampedValue;
import org.joda.time.Duration;
import org.joda.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(TestPipelineExtension.class)
class ComputeMetricsAndAlertsTest {
  private static final Instant T0 = ModelFixtures.T0;

  private static TimestampedValue<RawPayload> payload(String id, long second, double value) {
    Instant time = T0.plus(Duration.standardSeconds(second));
    String json =
        String.format(
            java.util.Locale.ROOT,
            "{\"event_id\":\"%s\",\"key\":\"sensor-1\",\"event_time\":\"%s\","
                + "\"metric\":\"temperature\",\"value\":%s}",
            id,
            time,
            value);
    return TimestampedValue.of(new RawPayload(json.getBytes(UTF_8), "test:" + id), time);
  }

  /**
   * The whole chain in one step: a malformed payload and a late event end in dead letters, a
   * redelivered event is counted once, both windows aggregate, the rule fires once and resolves.
   */
  @Test
  void turnsPayloadsIntoStatsAlertsLateEventsAndDeadLetters(TestPipeline pipeline) {
    TestStream<RawPayload> stream =
        TestStream.create(RawPayload.RawPayloadCoder.of())
            .advanceWatermarkTo(T0)
            .addElements(payload("a", 1, 70), payload("b", 2, 80), payload("a", 1, 70))
            .addElements(
                TimestampedValue.of(new RawPayload("{not json".getBytes(UTF_8), "test:bad"), T0))
            .advanceWatermarkTo(T0.plus(Duration.standardSeconds(65)))
            .addElements(payload("c", 61, 20))
            .advanceWatermarkTo(T0.plus(Duration.standardSeconds(100)))
            // Its one-minute window [0s, 60s) closed at 60s: too late there; [0s, 120s) is open.
            .addElements(payload("d", 5, 99))
            .advanceWatermarkToInfinity();
    ComputeMetricsAndAlerts.Result result =
        pipeline
            .apply(stream)
            .apply(
                "ComputeMetricsAndAlerts",
                ComputeMetricsAndAlerts.of(
                        WindowedAggregate.tumbling(Duration.standardMinutes(1)),
                        WindowedAggregate.tumbling(Duration.standardMinutes(2)))
                    .withDeduplication(Duration.standardMinutes(5))
                    .withRules(List.of(Rule.of("hot", "mean(temperature) > 50"))));

    assertThat(result.stats()).hasSize(2);
    PAssert.that(result.stats().get(0)).satisfies(stats -> checkOneMinute(stats));
    PAssert.that(result.stats().get(1))
        .satisfies(
            stats -> {
              List<String> rows = new ArrayList<>();
              stats.forEach(s -> rows.add(s.windowStart() + " count=" + s.count()));
              assertThat(rows).containsExactly(T0 + " count=4");
              return null;
            });
    PAssert.that(result.alerts())
        .satisfies(
            alerts -> {
              List<String> seen = new ArrayList<>();
              for (Alert a : alerts) {
                seen.add(a.status() + "@" + a.windowStart() + "/" + a.windowEnd());
              }
              // One-minute windows: fires on [0,60), resolves on [60,120); two-minute: fires.
              assertThat(seen)
                  .containsExactlyInAnyOrder(
                      "FIRING@" + T0 + "/" + T0.plus(Duration.standardMinutes(1)),
                      "RESOLVED@"
                          + T0.plus(Duration.standardMinutes(1))
                          + "/"
                          + T0.plus(Duration.standardMinutes(2)),
                      "FIRING@" + T0 + "/" + T0.plus(Duration.standardMinutes(2)));
              return null;
            });
    PAssert.that(result.late())
        .satisfies(
            late -> {
              List<String> ids = new ArrayList<>();
              late.forEach(e -> ids.add(e.event().eventId()));
              // Late for the one-minute window only: the two-minute window [0,120) was open.
              assertThat(ids).containsExactly("d");
              return null;
            });
    PAssert.that(result.deadLetters())
        .satisfies(
            deadLetters -> {
              List<String> reasons = new ArrayList<>();
              for (DeadLetter d : deadLetters) {
                reasons.add(d.reason() + " " + d.source());
              }
              assertThat(reasons).hasSize(2);
              assertThat(reasons.get(0) + "|" + reasons.get(1))
                  .contains("MALFORMED_JSON test:bad")
                  .contains("TOO_LATE");
              return null;
            });
    pipeline.run().waitUntilFinish();
  }

  private static Void checkOneMinute(Iterable<WindowStats> stats) {
    List<String> rows = new ArrayList<>();
    stats.forEach(s -> rows.add(s.windowStart() + " count=" + s.count() + " mean=" + s.mean()));
    // "a" twice is one event; "d" came after [0s, 60s) closed.
    assertThat(rows)
        .containsExactlyInAnyOrder(
            T0 + " count=2 mean=75.0", T0.plus(Duration.standardMinutes(1)) + " count=1 mean=20.0");
    return null;
  }

  @Test
  void withoutRulesThereAreNoAlerts(TestPipeline pipeline) {
    ComputeMetricsAndAlerts.Result result =
        pipeline
            .apply(
                org.apache.beam.sdk.transforms.Create.timestamped(payload("a", 1, 70))
                    .withCoder(RawPayload.RawPayloadCoder.of()))
            .apply(
                ComputeMetricsAndAlerts.of(
                    WindowedAggregate.tumbling(Duration.standardMinutes(1))));
    assertThat(result.alerts()).isNull();
    PCollection<Long> counts =
        result
            .stats()
            .get(0)
            .apply(
                org.apache.beam.sdk.transforms.MapElements.into(
                        org.apache.beam.sdk.values.TypeDescriptors.longs())
                    .via(WindowStats::count));
    PAssert.that(counts).containsInAnyOrder(1L);
    pipeline.run().waitUntilFinish();
  }

  @Test
  void refusesNoWindowsAndABadHorizon() {
    assertThatThrownBy(() -> ComputeMetricsAndAlerts.of(List.of()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("windows");
    assertThatThrownBy(
            () ->
                ComputeMetricsAndAlerts.of(WindowedAggregate.tumbling(Duration.standardMinutes(1)))
                    .withDeduplication(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("dedup horizon");
  }

  /**
   * Expressions and enrichment in the one step: the filter drops a site, the key is computed, a
   * derived metric is aggregated, and each key is judged against its own limit (a key without a row
   * against the default).
   */
  @Test
  void filtersRekeysDerivesAndJudgesEachKeyAgainstItsReferenceRow(TestPipeline pipeline) {
    List<RawPayload> payloads = new ArrayList<>();
    String[][] readings = {
      {"r1", "a", "d1", "30.0"},
      {"r2", "a", "d2", "30.0"},
      {"r3", "lab", "d1", "99.0"},
      {"r4", "b", "d9", "30.0"}
    };
    for (String[] r : readings) {
      String json =
          String.format(
              "{\"id\":\"%s\",\"site\":\"%s\",\"device\":\"%s\",\"ts\":\"%s\",\"t\":%s}",
              r[0], r[1], r[2], T0.plus(Duration.standardSeconds(5)), r[3]);
      payloads.add(new RawPayload(json.getBytes(UTF_8), "test:" + r[0]));
    }
    org.apache.beam.sdk.values.PCollectionView<dev.sluice.model.ReferenceTable> limits =
        pipeline
            .apply(
                "Limits",
                org.apache.beam.sdk.transforms.Create.of(
                        dev.sluice.model.ReferenceTable.of(
                            java.util.Map.of(
                                "a/d1", java.util.Map.of("max_t", 25.0),
                                "a/d2", java.util.Map.of("max_t", 35.0)),
                            "test",
                            T0))
                    .withCoder(dev.sluice.model.ReferenceTable.ReferenceTableCoder.of()))
            .apply(org.apache.beam.sdk.transforms.View.asSingleton());
    ComputeMetricsAndAlerts.Result result =
        pipeline
            .apply(
                "Payloads",
                org.apache.beam.sdk.transforms.Create.of(payloads)
                    .withCoder(RawPayload.RawPayloadCoder.of()))
            .apply(
                "ComputeMetricsAndAlerts",
                ComputeMetricsAndAlerts.of(WindowedAggregate.tumbling(Duration.standardMinutes(1)))
                    .withParse(
                        ParseEvents.fromRawPayloads()
                            .withMapping(
                                FieldMapping.contract()
                                    .withEventIdField("id")
                                    .withTimeField("ts", FieldMapping.TimeFormat.ISO_8601)
                                    .withValueFields(java.util.Map.of("t", "t")))
                            .withFilter("payload.site != \"lab\"")
                            .withKeyExpression("payload.site + \"/\" + payload.device")
                            .withDerived(java.util.Map.of("t_f", "payload.t * 9.0 / 5.0 + 32.0")))
                    .withEnrichment(
                        Enrichment.of(limits).withDefaults(java.util.Map.of("max_t", 20.0)))
                    .withRules(List.of(Rule.of("hot", "mean(t) > ref.max_t"))));
    PAssert.that(result.stats().get(0))
        .satisfies(
            stats -> {
              List<String> rows = new ArrayList<>();
              stats.forEach(w -> rows.add(w.key() + " " + w.metric() + " " + w.sum()));
              assertThat(rows)
                  .containsExactlyInAnyOrder(
                      "a/d1 t 30.0",
                      "a/d1 t_f 86.0",
                      "a/d2 t 30.0",
                      "a/d2 t_f 86.0",
                      "b/d9 t 30.0",
                      "b/d9 t_f 86.0");
              return null;
            });
    PAssert.that(result.alerts())
        .satisfies(
            alerts -> {
              List<String> rows = new ArrayList<>();
              alerts.forEach(a -> rows.add(a.key() + " " + a.status() + " " + a.threshold()));
              // a/d2's own limit 35 holds; a/d1 (25) and b/d9 (no row: default 20) are above.
              assertThat(rows).containsExactlyInAnyOrder("a/d1 FIRING 25.0", "b/d9 FIRING 20.0");
              return null;
            });
    PAssert.that(result.deadLetters()).empty();
    pipeline.run().waitUntilFinish();
  }
}

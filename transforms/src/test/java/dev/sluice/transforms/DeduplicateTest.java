package dev.sluice.transforms;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.model.Event;
import dev.sluice.model.ModelFixtures;
import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.metrics.MetricNameFilter;
import org.apache.beam.sdk.metrics.MetricsFilter;
import org.apache.beam.sdk.testing.CoderProperties;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.testing.TestPipelineExtension;
import org.apache.beam.sdk.testing.TestStream;
import org.apache.beam.sdk.transforms.Combine;
import org.apache.beam.sdk.transforms.Count;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.windowing.FixedWindows;
import org.apache.beam.sdk.transforms.windowing.IntervalWindow;
import org.apache.beam.sdk.transforms.windowing.Window;
import org.apache.beam.sdk.util.CoderUtils;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TimestampedValue;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.joda.time.Duration;
import org.joda.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(TestPipelineExtension.class)
class DeduplicateTest {
  private static final Instant T0 = ModelFixtures.T0;

  private static TimestampedValue<Event> event(String id, String metric, long second, double v) {
    return event("k", id, metric, second, v);
  }

  private static TimestampedValue<Event> event(
      String key, String id, String metric, long second, double v) {
    Instant time = T0.plus(Duration.standardSeconds(second));
    return TimestampedValue.of(Event.of(id, key, metric, v, time), time);
  }

  /** The across-bundles scenario, its input played by {@code source}; returns dropped count. */
  static long repeatsAcrossBundles(Pipeline pipeline, WindowingScenarios.Source source) {
    TestStream<Event> stream =
        TestStream.create(Event.EventCoder.of())
            .advanceWatermarkTo(T0)
            .addElements(event("e1", "temp", 1, 10), event("e2", "temp", 2, 20))
            // A later bundle: a redelivery of e1, and e1's second metric, which is not a repeat.
            .advanceWatermarkTo(T0.plus(Duration.standardSeconds(30)))
            .addElements(event("e1", "temp", 1, 10), event("e1", "hum", 1, 50))
            .addElements(event("e2", "temp", 2, 20))
            // Past e1's horizon: its state is gone, so a very late redelivery is kept.
            .advanceWatermarkTo(T0.plus(Duration.standardMinutes(5)))
            .addElements(event("e1", "temp", 1, 10))
            .advanceWatermarkToInfinity();
    PCollection<Event> unique =
        pipeline
            .apply(source.apply(stream))
            .apply(Deduplicate.byEventId().withHorizon(Duration.standardMinutes(1)));
    PAssert.that(unique)
        .satisfies(
            events -> {
              List<String> ids = new ArrayList<>();
              events.forEach(e -> ids.add(e.eventId() + "/" + e.metric()));
              assertThat(ids).containsExactlyInAnyOrder("e1/temp", "e2/temp", "e1/hum", "e1/temp");
              return null;
            });
    return droppedCount(pipeline);
  }

  @Test
  void repeatsAcrossBundlesWithinTheHorizonAreDroppedAndCounted(TestPipeline pipeline) {
    assertThat(repeatsAcrossBundles(pipeline, script -> script)).isEqualTo(2);
  }

  private static PCollection<String> idsOf(PCollection<Event> events) {
    return events.apply(
        "Ids",
        MapElements.into(TypeDescriptors.strings())
            .via((Event e) -> e.eventId() + "/" + e.metric()));
  }

  /** Runs the pipeline and returns the duplicates_dropped counter. */
  private static long droppedCount(Pipeline pipeline) {
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();
    long dropped = 0;
    for (var counter :
        result
            .metrics()
            .queryMetrics(
                MetricsFilter.builder()
                    .addNameFilter(
                        MetricNameFilter.named(
                            Deduplicate.METRICS_NAMESPACE, Deduplicate.DUPLICATES_DROPPED))
                    .build())
            .getCounters()) {
      dropped += counter.getAttempted();
    }
    return dropped;
  }

  @Test
  void aRepeatIsDroppedForTheHorizonAndKeptAtMostASliceLater(TestPipeline pipeline) {
    // Horizon 8 minutes: slices of 1 minute. "a" first at 0:10, in the slice ending at 1:00.
    TestStream<Event> stream =
        TestStream.create(Event.EventCoder.of())
            .advanceWatermarkTo(T0)
            .addElements(event("a", "temp", 10, 1))
            // 7:59 after "a": within the horizon, a repeat is dropped.
            .advanceWatermarkTo(T0.plus(Duration.standardSeconds(8 * 60 + 9)))
            .addElements(event("a", "temp", 10, 1))
            // Past 0:10 + horizon and past its slice's end + horizon (9:00): forgotten, kept.
            .advanceWatermarkTo(T0.plus(Duration.standardSeconds(9 * 60 + 1)))
            .addElements(event("a", "temp", 10, 1))
            .advanceWatermarkToInfinity();
    PCollection<Event> unique =
        pipeline
            .apply(stream)
            .apply(Deduplicate.byEventId().withHorizon(Duration.standardMinutes(8)));
    PAssert.that(idsOf(unique)).containsInAnyOrder("a/temp", "a/temp");
    assertThat(droppedCount(pipeline)).isEqualTo(1);
  }

  @Test
  void anIdThatTwoKeysShareIsTwoEventsAndEachIsDeduplicated(TestPipeline pipeline) {
    // A redelivery repeats its key; "a" of sensor-1 and "a" of sensor-2 are different events.
    // One shard and many shards: the identity does not depend on how ids are spread.
    for (int shards : new int[] {1, Deduplicate.DEFAULT_SHARDS}) {
      PCollection<Event> unique =
          pipeline
              .apply(
                  "Events" + shards,
                  Create.timestamped(
                          event("sensor-1", "a", "temp", 1, 1),
                          event("sensor-2", "a", "temp", 2, 2),
                          event("sensor-1", "a", "temp", 1, 1),
                          event("sensor-2", "a", "temp", 2, 2),
                          event("sensor-2", "a", "hum", 2, 3))
                      .withCoder(Event.EventCoder.of()))
              .apply("Dedup" + shards, Deduplicate.byEventId().withShards(shards));
      PAssert.that(
              unique.apply(
                  "KeysAndIds" + shards,
                  MapElements.into(TypeDescriptors.strings())
                      .via((Event e) -> e.key() + "/" + e.eventId() + "/" + e.metric())))
          .containsInAnyOrder("sensor-1/a/temp", "sensor-2/a/temp", "sensor-2/a/hum");
    }
    assertThat(droppedCount(pipeline)).isEqualTo(4);
  }

  @Test
  void oneShardForgetsItsIdsOneSliceAtATime(TestPipeline pipeline) {
    // One shard holds every id; horizon 8 minutes, slices of 1 minute.
    List<TimestampedValue<Event>> first = new ArrayList<>();
    List<TimestampedValue<Event>> again = new ArrayList<>();
    for (int i = 0; i < 30; i++) {
      // Ten ids in each of the slices ending at 1:00, 2:00 and 3:00.
      long second = (i / 10) * 60 + 5 + i % 10;
      first.add(event("id" + i, "temp", second, i));
      again.add(event("id" + i, "temp", second, i));
    }
    TestStream<Event> stream =
        TestStream.create(Event.EventCoder.of())
            .advanceWatermarkTo(T0)
            .addElements(first.get(0), first.subList(1, 30).toArray(TimestampedValue[]::new))
            .advanceWatermarkTo(T0.plus(Duration.standardMinutes(4)))
            // Every repeat within the horizon: all dropped.
            .addElements(again.get(0), again.subList(1, 30).toArray(TimestampedValue[]::new))
            // Past the first slice's expiry (1:00 + 8:00) only: its ten ids pass, the others not.
            .advanceWatermarkTo(T0.plus(Duration.standardSeconds(9 * 60 + 30)))
            .addElements(again.get(0), again.subList(1, 30).toArray(TimestampedValue[]::new))
            // Past the second slice's too (the shard's one timer moved on to it).
            .advanceWatermarkTo(T0.plus(Duration.standardSeconds(10 * 60 + 30)))
            .addElements(again.get(10), again.subList(11, 30).toArray(TimestampedValue[]::new))
            .advanceWatermarkToInfinity();
    PCollection<Event> unique =
        pipeline
            .apply(stream)
            .apply(Deduplicate.byEventId().withHorizon(Duration.standardMinutes(8)).withShards(1));
    List<String> expected = new ArrayList<>();
    for (int i = 0; i < 30; i++) {
      expected.add("id" + i + "/temp");
    }
    for (int i = 0; i < 20; i++) {
      expected.add("id" + i + "/temp");
    }
    PAssert.that(idsOf(unique)).containsInAnyOrder(expected);
    // 30 in the horizon, 20 of the third delivery, 10 of the fourth (the third slice's ids).
    assertThat(droppedCount(pipeline)).isEqualTo(60);
  }

  @Test
  void theWatermarkIsNotHeldSoDownstreamWindowsAreNotDelayed(TestPipeline pipeline) {
    TestStream<Event> stream =
        TestStream.create(Event.EventCoder.of())
            .advanceWatermarkTo(T0)
            .addElements(event("a", "temp", 10, 1))
            // Long before "a" expires (0:10 + 1 hour): the window [0:00, 1:00) must close now.
            .advanceWatermarkTo(T0.plus(Duration.standardMinutes(2)))
            // So this one is late for it and dropped; had the dedup step held the watermark at an
            // event's time, it would still be on time and counted in the window.
            .addElements(event("b", "temp", 30, 1))
            .advanceWatermarkToInfinity();
    PCollection<Long> counts =
        pipeline
            .apply(stream)
            .apply(Deduplicate.byEventId().withHorizon(Duration.standardHours(1)))
            .apply(
                Window.<Event>into(FixedWindows.of(Duration.standardMinutes(1)))
                    .withAllowedLateness(Duration.ZERO)
                    .discardingFiredPanes())
            .apply(Combine.globally(Count.<Event>combineFn()).withoutDefaults());
    PAssert.that(counts)
        .inOnTimePane(new IntervalWindow(T0, Duration.standardMinutes(1)))
        .containsInAnyOrder(1L);
    pipeline.run().waitUntilFinish();
  }

  @Test
  void theStateOfAShardRoundTripsThroughItsCoder() throws Exception {
    Deduplicate.SeenIds seen = new Deduplicate.SeenIds();
    CoderProperties.coderDecodeEncodeEqual(Deduplicate.SeenIdsCoder.of(), seen);
    seen.add(Deduplicate.idKey("k", "e1", "temp"), 60_000L);
    seen.add(Deduplicate.idKey("k", "e2", "hum"), 60_000L);
    seen.add(Deduplicate.idKey("ké", "é€", "x"), -120_000L);
    CoderProperties.coderDecodeEncodeEqual(Deduplicate.SeenIdsCoder.of(), seen);
    Deduplicate.SeenIds decoded =
        CoderUtils.decodeFromByteArray(
            Deduplicate.SeenIdsCoder.of(),
            CoderUtils.encodeToByteArray(Deduplicate.SeenIdsCoder.of(), seen));
    assertThat(decoded.oldestSliceEnd()).isEqualTo(-120_000L);
    decoded.dropSlicesEndingBy(-120_000L);
    assertThat(decoded.contains(Deduplicate.idKey("ké", "é€", "x"))).isFalse();
    assertThat(decoded.contains(Deduplicate.idKey("k", "e1", "temp"))).isTrue();
    assertThat(decoded.size()).isEqualTo(2);
  }

  @Test
  void keyIdAndMetricMakeOneUnambiguousKey() {
    assertThat(Deduplicate.idKey("k", "ab", "c")).isNotEqualTo(Deduplicate.idKey("k", "a", "bc"));
    assertThat(Deduplicate.idKey("k", "1:a", "b")).isNotEqualTo(Deduplicate.idKey("k", "1", ":ab"));
    assertThat(Deduplicate.idKey("ab", "c", "m")).isNotEqualTo(Deduplicate.idKey("a", "bc", "m"));
    assertThat(Deduplicate.idKey("1:a", "b", "m")).isNotEqualTo(Deduplicate.idKey("1", ":ab", "m"));
  }

  @Test
  void theShardOfAKeyIsStableAndSpread() {
    // Part of the state layout: a changed hash would look ids up in the wrong shard after a resume.
    assertThat(Deduplicate.shardOf("sensor-0042", "cpu", Deduplicate.DEFAULT_SHARDS))
        .isEqualTo(SHARD_OF_SENSOR_42_CPU);
    int[] perShard = new int[16];
    for (int i = 0; i < 16_000; i++) {
      perShard[Deduplicate.shardOf("sensor-" + i, "cpu", 16)]++;
    }
    for (int count : perShard) {
      assertThat(count).isBetween(800, 1200);
    }
  }

  private static final int SHARD_OF_SENSOR_42_CPU = 25;

  @Test
  void shardsMustBePositive() {
    assertThatThrownBy(() -> Deduplicate.byEventId().withShards(0))
        .hasMessage("shards must be positive, got 0");
  }

  @Test
  void inputMustBeInTheGlobalWindow() {
    TestPipeline pipeline = TestPipeline.create().enableAbandonedNodeEnforcement(false);
    PCollection<Event> windowed =
        pipeline
            .apply(org.apache.beam.sdk.transforms.Create.timestamped(event("e", "m", 1, 1)))
            .apply(
                org.apache.beam.sdk.transforms.windowing.Window.into(
                    org.apache.beam.sdk.transforms.windowing.FixedWindows.of(
                        Duration.standardMinutes(1))));
    assertThatThrownBy(() -> windowed.apply(Deduplicate.byEventId()))
        .hasMessageStartingWith(
            "Deduplicate keeps its state across windows; its input must be in the global window");
  }

  @Test
  void horizonMustBePositive() {
    assertThatThrownBy(() -> Deduplicate.byEventId().withHorizon(Duration.ZERO))
        .hasMessage("horizon must be a positive duration, got PT0S");
  }
}

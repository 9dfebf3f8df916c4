package dev.sluice.transforms;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.sluice.model.Event;
import dev.sluice.model.LateEvent;
import dev.sluice.model.ModelFixtures;
import dev.sluice.model.PaneTiming;
import dev.sluice.model.WindowStats;
import java.util.List;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.testing.TestPipelineExtension;
import org.apache.beam.sdk.testing.TestStream;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.windowing.DefaultTrigger;
import org.apache.beam.sdk.transforms.windowing.GlobalWindows;
import org.apache.beam.sdk.transforms.windowing.IntervalWindow;
import org.apache.beam.sdk.transforms.windowing.Window;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionList;
import org.apache.beam.sdk.values.TimestampedValue;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.joda.time.Duration;
import org.joda.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(TestPipelineExtension.class)
class WindowedAggregateTest {
  private static final Instant T0 = ModelFixtures.T0;
  private static final Duration MINUTE = Duration.standardMinutes(1);

  private static TimestampedValue<Event> at(
      long secondsAfterT0, String key, String metric, double value) {
    Instant time = T0.plus(Duration.standardSeconds(secondsAfterT0));
    return TimestampedValue.of(
        Event.of("e-" + key + secondsAfterT0, key, metric, value, time), time);
  }

  @Test
  void emitsExactStatsPerKeyMetricAndWindowOnTime(TestPipeline pipeline) {
    TestStream<Event> events =
        TestStream.create(Event.EventCoder.of())
            .advanceWatermarkTo(T0)
            .addElements(
                at(1, "a", "temperature", 1.0),
                at(10, "a", "temperature", 2.0),
                at(70, "a", "temperature", 10.0),
                at(20, "a", "humidity", 50.0),
                at(30, "b", "temperature", 7.0))
            // Out of order: earlier than an element already seen, still before the watermark.
            .addElements(at(59, "a", "temperature", 4.0), at(40, "a", "temperature", 3.0))
            .advanceWatermarkTo(T0.plus(Duration.standardSeconds(50)))
            .advanceWatermarkToInfinity();

    PCollection<WindowStats> stats =
        pipeline
            .apply(events)
            .apply(WindowedAggregate.tumbling(MINUTE).withQuantiles(false))
            .output();

    // The panes say which window and pane they are (the contract's fields), on every runner.
    PAssert.that(stats)
        .containsInAnyOrder(
            ModelFixtures.onTimeMinute("a", "temperature", 0, 4, 10.0, 1.0, 4.0, Math.sqrt(1.25)),
            ModelFixtures.onTimeMinute("a", "humidity", 0, 1, 50.0, 50.0, 50.0, 0.0),
            ModelFixtures.onTimeMinute("b", "temperature", 0, 1, 7.0, 7.0, 7.0, 0.0),
            ModelFixtures.onTimeMinute("a", "temperature", 1, 1, 10.0, 10.0, 10.0, 0.0));
    // Each pane is in the window it describes, as a windowed aggregation's output is.
    PAssert.that(stats)
        .inWindow(new IntervalWindow(T0.plus(MINUTE), MINUTE))
        .containsInAnyOrder(
            ModelFixtures.onTimeMinute("a", "temperature", 1, 1, 10.0, 10.0, 10.0, 0.0));
    pipeline.run().waitUntilFinish();
  }

  /**
   * On a stream the events cross to the aggregation in a compact form (the key and metric once, the
   * rest as bytes): the distinct count still sees the attribute, and a late event leaves through
   * late() as it came in, id, attributes (non-ASCII included) and all.
   */
  @Test
  void aStreamsLateEventLeavesWholeAndTheDistinctAttributeIsCounted(TestPipeline pipeline) {
    Event late =
        new Event(
            "e-late-ü",
            "a",
            "temperature",
            -3.25,
            T0.plus(Duration.standardSeconds(30)),
            new java.util.TreeMap<>(
                java.util.Map.of("user", "u-1", "site", "Zürich", "empty", "")));
    TestStream<Event> events =
        TestStream.create(Event.EventCoder.of())
            .advanceWatermarkTo(T0)
            .addElements(
                withUser(at(1, "a", "temperature", 1.0), "u-1"),
                withUser(at(2, "a", "temperature", 2.0), "u-2"),
                withUser(at(3, "a", "temperature", 3.0), "u-1"),
                at(4, "a", "temperature", 4.0))
            .advanceWatermarkTo(T0.plus(Duration.standardSeconds(90)))
            .addElements(TimestampedValue.of(late, late.eventTime()))
            .advanceWatermarkToInfinity();

    WindowedAggregate.Result result =
        pipeline
            .apply(events)
            .apply(WindowedAggregate.tumbling(MINUTE).withDistinctCountOf("user"));

    PAssert.that(result.output())
        .satisfies(
            all -> {
              assertThat(all)
                  .extracting(WindowStats::count, WindowStats::sum, WindowStats::distinct)
                  .containsExactly(org.assertj.core.groups.Tuple.tuple(4L, 10.0, 2L));
              return null;
            });
    PAssert.that(result.late())
        .satisfies(
            all -> {
              assertThat(all).extracting(LateEvent::event).containsExactly(late);
              return null;
            });
    pipeline.run().waitUntilFinish();
  }

  private static TimestampedValue<Event> withUser(TimestampedValue<Event> event, String user) {
    return TimestampedValue.of(
        event.getValue().withAttributes(java.util.Map.of("user", user)), event.getTimestamp());
  }

  @Test
  void windowIsEmittedOnlyWhenTheWatermarkPassesItsEnd(TestPipeline pipeline) {
    TestStream<Event> events =
        TestStream.create(Event.EventCoder.of())
            .advanceWatermarkTo(T0)
            .addElements(at(5, "a", "temperature", 1.0))
            .advanceWatermarkTo(T0.plus(Duration.standardSeconds(59)))
            .addElements(at(58, "a", "temperature", 3.0))
            .advanceWatermarkToInfinity();
    PCollection<WindowStats> stats =
        pipeline
            .apply(events)
            .apply(WindowedAggregate.tumbling(MINUTE).withQuantiles(false))
            .output();
    // One pane only: both elements, although the second arrived after the first was processed.
    PAssert.that(stats)
        .satisfies(
            all -> {
              assertThat(all).hasSize(1);
              WindowStats only = all.iterator().next();
              assertThat(only.count()).isEqualTo(2);
              assertThat(only.mean()).isCloseTo(2.0, within(1e-12));
              assertThat(only.pane()).isEqualTo(PaneTiming.ON_TIME);
              assertThat(only.finalPane()).isTrue();
              return null;
            });
    pipeline.run().waitUntilFinish();
  }

  /**
   * The two cases the portable harness's clock (the element's timestamp) used to get wrong: an
   * event whose window closed long ago, of a key that has other windows open, is set aside with the
   * runner's clock and with the portable one alike, never counted in a late pane or lost.
   */
  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.EnumSource(LateDataGate.TimerClock.class)
  void anEventWhoseWindowClosedIsSetAsideWhateverTheTimerClockShows(
      LateDataGate.TimerClock clock, TestPipeline pipeline) {
    TestStream<Event> tenSecondWindows =
        TestStream.create(Event.EventCoder.of())
            .advanceWatermarkTo(T0)
            .addElements(at(5, "a", "m", 1.0))
            .advanceWatermarkTo(T0.plus(Duration.standardSeconds(100)))
            .addElements(at(75, "b", "m", 2.0), at(76, "a", "m", 3.0))
            .advanceWatermarkToInfinity();
    WindowedAggregate.Result tens =
        pipeline
            .apply("TenSecondScript", tenSecondWindows)
            .apply(
                "TenSecondWindows",
                WindowedAggregate.tumbling(Duration.standardSeconds(10))
                    .withQuantiles(false)
                    .withSimulatedTimerClock(clock));
    TestStream<Event> minuteWindows =
        TestStream.create(Event.EventCoder.of())
            .advanceWatermarkTo(T0)
            .addElements(at(10, "a", "m", 1.0), at(500, "a", "m", 5.0))
            .advanceWatermarkTo(T0.plus(Duration.standardSeconds(300)))
            .addElements(at(100, "a", "m", 7.0))
            .advanceWatermarkToInfinity();
    WindowedAggregate.Result minutes =
        pipeline
            .apply("MinuteScript", minuteWindows)
            .apply(
                "MinuteWindows",
                WindowedAggregate.tumbling(MINUTE)
                    .withQuantiles(false)
                    .withSimulatedTimerClock(clock));
    if (clock == LateDataGate.TimerClock.PORTABLE_HARNESS) {
      // That clock shows the element's timestamp, and a key's first events have no fired timers
      // to prove the watermark with: an event Beam drops may be counted instead of set aside, but
      // every event is in exactly one final pane or in late(), and only dropped ones are late.
      assertCountedOnce(tens, 3, List.of("e-b75", "e-a76"));
      assertCountedOnce(minutes, 3, List.of("e-a100"));
    } else {
      PAssert.that(tens.output())
          .satisfies(
              all -> {
                assertThat(all)
                    .extracting(WindowStats::key, WindowStats::count, WindowStats::finalPane)
                    .containsExactly(org.assertj.core.groups.Tuple.tuple("a", 1L, true));
                return null;
              });
      PAssert.that(tens.late())
          .satisfies(
              all -> {
                assertThat(all)
                    .extracting(late -> late.event().eventId())
                    .containsExactlyInAnyOrder("e-b75", "e-a76");
                return null;
              });
      PAssert.that(minutes.output())
          .satisfies(
              all -> {
                assertThat(all)
                    .extracting(WindowStats::sum, WindowStats::finalPane)
                    .containsExactlyInAnyOrder(
                        org.assertj.core.groups.Tuple.tuple(1.0, true),
                        org.assertj.core.groups.Tuple.tuple(5.0, true));
                return null;
              });
      PAssert.that(minutes.late())
          .satisfies(
              all -> {
                assertThat(all)
                    .extracting(late -> late.event().eventId())
                    .containsExactly("e-a100");
                return null;
              });
    }
    pipeline.run().waitUntilFinish();
  }

  @Test
  void settingsAreCheckedAtConstructionNamingTheSettingAndValue() {
    assertThatThrownBy(
            () ->
                WindowedAggregate.tumbling(MINUTE).withAllowedLateness(Duration.standardDays(400)))
        .hasMessage("allowedLateness must be at most 365 days, got PT34560000S");
    assertThatThrownBy(() -> WindowedAggregate.tumbling(MINUTE).withQuantileAccuracy(4))
        .hasMessage("quantileAccuracy must be from 8 to 65535, got 4");
    assertThatThrownBy(() -> WindowedAggregate.sliding(MINUTE, Duration.standardMinutes(2)))
        .hasMessage("windowPeriod PT120S must not be longer than windowSize PT60S");
    assertThatThrownBy(() -> WindowedAggregate.sessions(Duration.ZERO))
        .hasMessage("sessionGap must be a positive duration, got PT0S");
  }

  @Test
  void windowSizeMustBePositive() {
    assertThatThrownBy(() -> WindowedAggregate.tumbling(Duration.ZERO))
        .hasMessage("windowSize must be a positive duration, got PT0S");
  }

  /**
   * Every event is in exactly one final pane or in late(), and late() holds only {@code mayBeLate}.
   */
  private static void assertCountedOnce(
      WindowedAggregate.Result result, long events, List<String> mayBeLate) {
    PCollection<Long> counted =
        PCollectionList.of(
                result
                    .output()
                    .apply(
                        "FinalPanesGlobally" + mayBeLate.get(0),
                        Window.<WindowStats>into(new GlobalWindows())
                            .triggering(DefaultTrigger.of())
                            .withAllowedLateness(Duration.ZERO)
                            .discardingFiredPanes())
                    .apply(
                        "FinalCounts" + mayBeLate.get(0),
                        MapElements.into(TypeDescriptors.longs())
                            .via((WindowStats s) -> s.finalPane() ? s.count() : 0L)))
            .and(
                result
                    .late()
                    .apply(
                        "LateCounts" + mayBeLate.get(0),
                        MapElements.into(TypeDescriptors.longs())
                            .via(
                                (LateEvent late) -> {
                                  if (!mayBeLate.contains(late.event().eventId())) {
                                    throw new AssertionError("not late: " + late.event().eventId());
                                  }
                                  return 1L;
                                })))
            .apply("AllCounted" + mayBeLate.get(0), Flatten.pCollections());
    PAssert.that(counted)
        .satisfies(
            all -> {
              long total = 0;
              for (long count : all) {
                total += count;
              }
              assertThat(total).as("events in final panes plus late events").isEqualTo(events);
              return null;
            });
  }
}

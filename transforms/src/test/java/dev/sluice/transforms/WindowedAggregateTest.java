package dev.sluice.transforms;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.sluice.model.Event;
import dev.sluice.model.ModelFixtures;
import dev.sluice.model.PaneTiming;
import dev.sluice.model.WindowStats;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.testing.TestPipelineExtension;
import org.apache.beam.sdk.testing.TestStream;
import org.apache.beam.sdk.transforms.windowing.IntervalWindow;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TimestampedValue;
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

    IntervalWindow first = new IntervalWindow(T0, MINUTE);
    PAssert.that(stats)
        .inOnTimePane(first)
        .containsInAnyOrder(
            ModelFixtures.onTimeMinute("a", "temperature", 0, 4, 10.0, 1.0, 4.0, Math.sqrt(1.25)),
            ModelFixtures.onTimeMinute("a", "humidity", 0, 1, 50.0, 50.0, 50.0, 0.0),
            ModelFixtures.onTimeMinute("b", "temperature", 0, 1, 7.0, 7.0, 7.0, 0.0));
    PAssert.that(stats)
        .inOnTimePane(new IntervalWindow(T0.plus(MINUTE), MINUTE))
        .containsInAnyOrder(
            ModelFixtures.onTimeMinute("a", "temperature", 1, 1, 10.0, 10.0, 10.0, 0.0));
    pipeline.run().waitUntilFinish();
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
              assertThat(all).extracting(late -> late.event().eventId()).containsExactly("e-a100");
              return null;
            });
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
}

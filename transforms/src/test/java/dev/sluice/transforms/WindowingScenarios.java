package dev.sluice.transforms;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.model.Event;
import dev.sluice.model.LateEvent;
import dev.sluice.model.ModelFixtures;
import dev.sluice.model.PaneTiming;
import dev.sluice.model.WindowStats;
import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestStream;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.values.PBegin;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TimestampedValue;
import org.joda.time.Duration;
import org.joda.time.Instant;

/**
 * Event-time scenarios for {@link WindowedAggregate}, each a TestStream and exact expectations on
 * every pane and on {@code late()}. The same scenarios run on every runner the tests cover.
 */
enum WindowingScenarios {
  /** One on-time pane per window; out-of-order events before the watermark are included. */
  ON_TIME_WITH_OUT_OF_ORDER_EVENTS(
      (p, source) -> {
        TestStream<Event> events =
            stream()
                .addElements(at("a", 50, 3), at("a", 70, 10))
                .addElements(at("a", 10, 1)) // older than one already seen, still on time
                .advanceWatermarkToInfinity();
        WindowedAggregate.Result result =
            p.apply(source.apply(events))
                .apply(WindowedAggregate.tumbling(Time.MINUTE).withQuantiles(false));
        expect(
            result,
            List.of(
                row("a", 0, 60, PaneTiming.ON_TIME, 0, true, 3, 1),
                row("a", 60, 120, PaneTiming.ON_TIME, 0, true, 10)),
            List.of());
      }),

  /** Speculative EARLY panes every 2 s of processing time, then the on-time pane. */
  EARLY_FIRINGS(
      (p, source) -> {
        TestStream<Event> events =
            stream()
                .addElements(at("a", 10, 1))
                .advanceProcessingTime(Duration.standardSeconds(3))
                .addElements(at("a", 20, 3))
                .advanceWatermarkToInfinity();
        WindowedAggregate.Result result =
            p.apply(source.apply(events))
                .apply(
                    WindowedAggregate.tumbling(Time.MINUTE)
                        .withEarlyFiringsEvery(Duration.standardSeconds(2))
                        .withQuantiles(false));
        // On a real clock a slow machine may fire one more early pane, so the early panes are
        // checked by content: each is the window so far (only the first event), never final.
        WindowStats early = row("a", 0, 60, PaneTiming.EARLY, 0, false, 1);
        PAssert.that(result.output())
            .satisfies(
                panes -> {
                  List<WindowStats> all = new ArrayList<>();
                  panes.forEach(all::add);
                  all.sort(java.util.Comparator.comparingLong(WindowStats::paneIndex));
                  assertThat(all).hasSizeGreaterThanOrEqualTo(2);
                  for (WindowStats pane : all.subList(0, all.size() - 1)) {
                    assertThat(pane)
                        .usingRecursiveComparison()
                        .ignoringFields("paneIndex")
                        .isEqualTo(early);
                  }
                  WindowStats last = all.get(all.size() - 1);
                  assertThat(last)
                      .isEqualTo(row("a", 0, 60, PaneTiming.ON_TIME, all.size() - 1, true, 1, 3));
                  return null;
                });
        PAssert.that(result.late()).empty();
      }),

  /** Late data within the allowed lateness updates the window in a LATE pane; then it closes. */
  LATE_WITHIN_ALLOWED_LATENESS(
      (p, source) -> {
        TestStream<Event> events =
            stream()
                .addElements(at("a", 10, 1))
                .advanceWatermarkTo(Time.T0.plus(Duration.standardSeconds(90)))
                .addElements(at("a", 20, 3))
                .advanceWatermarkToInfinity();
        WindowedAggregate.Result result =
            p.apply(source.apply(events))
                .apply(
                    WindowedAggregate.tumbling(Time.MINUTE)
                        .withAllowedLateness(Duration.standardMinutes(5))
                        .withQuantiles(false));
        expect(
            result,
            List.of(
                row("a", 0, 60, PaneTiming.ON_TIME, 0, false, 1),
                row("a", 0, 60, PaneTiming.LATE, 1, false, 1, 3),
                row("a", 0, 60, PaneTiming.LATE, 2, true, 1, 3)),
            List.of());
      }),

  /** An event later than the allowed lateness leaves through late(), not into the stats. */
  DROPPABLY_LATE_GOES_TO_LATE_OUTPUT(
      (p, source) -> {
        // Closing instant of [0, 1m) with 1m lateness: 1m59.999s; at 2m30s it has closed.
        TestStream<Event> events =
            stream()
                .addElements(at("a", 10, 1))
                .advanceWatermarkTo(Time.T0.plus(Duration.standardSeconds(150)))
                .addElements(at("a", 30, 7))
                .advanceWatermarkToInfinity();
        WindowedAggregate.Result result =
            p.apply(source.apply(events))
                .apply(
                    WindowedAggregate.tumbling(Time.MINUTE)
                        .withAllowedLateness(Duration.standardMinutes(1))
                        .withQuantiles(false));
        expect(
            result,
            List.of(
                // The watermark passed the window's end and its expiry at once: as in Beam, the
                // on-time pane is then also the final one.
                row("a", 0, 60, PaneTiming.ON_TIME, 0, true, 1)),
            List.of(late("a", 30, 7, 0, 60)));
      }),

  /** Sliding windows: an event counts in every window it falls in. */
  SLIDING_WINDOWS(
      (p, source) -> {
        TestStream<Event> events =
            stream().addElements(at("a", 30, 1), at("a", 90, 3)).advanceWatermarkToInfinity();
        WindowedAggregate.Result result =
            p.apply(source.apply(events))
                .apply(
                    WindowedAggregate.sliding(Duration.standardMinutes(2), Time.MINUTE)
                        .withQuantiles(false));
        expect(
            result,
            List.of(
                row("a", -60, 60, PaneTiming.ON_TIME, 0, true, 1),
                row("a", 0, 120, PaneTiming.ON_TIME, 0, true, 1, 3),
                row("a", 60, 180, PaneTiming.ON_TIME, 0, true, 3)),
            List.of());
      }),

  /** A sliding window that has closed sets the event aside while its newer window takes it. */
  SLIDING_PARTLY_LATE(
      (p, source) -> {
        TestStream<Event> events =
            stream()
                .addElements(at("a", 30, 1))
                .advanceWatermarkTo(Time.T0.plus(Duration.standardSeconds(90)))
                .addElements(at("a", 40, 5))
                .advanceWatermarkToInfinity();
        WindowedAggregate.Result result =
            p.apply(source.apply(events))
                .apply(
                    WindowedAggregate.sliding(Duration.standardMinutes(2), Time.MINUTE)
                        .withQuantiles(false));
        expect(
            result,
            List.of(
                row("a", -60, 60, PaneTiming.ON_TIME, 0, true, 1),
                row("a", 0, 120, PaneTiming.ON_TIME, 0, true, 1, 5)),
            List.of(late("a", 40, 5, -60, 60)));
      }),

  /** Session windows per key close after the gap. */
  SESSION_WINDOWS(
      (p, source) -> {
        TestStream<Event> events =
            stream()
                .addElements(at("a", 0, 1), at("a", 30, 3), at("b", 10, 4))
                .addElements(at("a", 200, 5))
                .advanceWatermarkToInfinity();
        WindowedAggregate.Result result =
            p.apply(source.apply(events))
                .apply(WindowedAggregate.sessions(Time.MINUTE).withQuantiles(false));
        expect(
            result,
            List.of(
                row("a", 0, 90, PaneTiming.ON_TIME, 0, true, 1, 3),
                row("b", 10, 70, PaneTiming.ON_TIME, 0, true, 4),
                row("a", 200, 260, PaneTiming.ON_TIME, 0, true, 5)),
            List.of());
      }),

  /**
   * A session that has closed is gone: a later on-time event of the key within its gap starts a new
   * session instead of merging with it (and counting the first event a second time).
   */
  SESSION_AFTER_ITS_FINAL_PANE_IS_NOT_REOPENED(
      (p, source) -> {
        TestStream<Event> events =
            stream()
                .addElements(at("a", 0, 1))
                .advanceWatermarkTo(Time.T0.plus(Duration.standardSeconds(30)))
                .addElements(at("a", 10, 2))
                .advanceWatermarkToInfinity();
        WindowedAggregate.Result result =
            p.apply(source.apply(events))
                .apply(
                    WindowedAggregate.sessions(Duration.standardSeconds(30)).withQuantiles(false));
        expect(
            result,
            List.of(
                row("a", 0, 30, PaneTiming.ON_TIME, 0, true, 1),
                row("a", 10, 40, PaneTiming.ON_TIME, 0, true, 2)),
            List.of());
      }),

  /** With allowed lateness, a session expires at end + lateness; a later event starts anew. */
  SESSION_EXPIRED_WITHIN_LATENESS_IS_NOT_REOPENED(
      (p, source) -> {
        TestStream<Event> events =
            stream()
                .addElements(at("a", 0, 1))
                .advanceWatermarkTo(Time.T0.plus(Duration.standardSeconds(50)))
                .addElements(at("a", 25, 3))
                .advanceWatermarkToInfinity();
        WindowedAggregate.Result result =
            p.apply(source.apply(events))
                .apply(
                    WindowedAggregate.sessions(Duration.standardSeconds(30))
                        .withAllowedLateness(Duration.standardSeconds(20))
                        .withQuantiles(false));
        expect(
            result,
            List.of(
                // Each session's end and expiry pass at once: one on-time pane, final.
                row("a", 0, 30, PaneTiming.ON_TIME, 0, true, 1),
                row("a", 25, 55, PaneTiming.ON_TIME, 0, true, 3)),
            List.of());
      });

  private static final Instant T0 = Time.T0;

  /** Constants the scenarios use (an enum constant may not name its enum's static fields). */
  static final class Time {
    static final Instant T0 = ModelFixtures.T0;
    static final Duration MINUTE = Duration.standardMinutes(1);
  }

  /** A scenario: its input script, played by {@code source}, and its assertions. */
  @FunctionalInterface
  interface Scenario {
    void apply(Pipeline pipeline, Source source);
  }

  /** Turns a TestStream script into the transform that plays it on a given runner. */
  @FunctionalInterface
  interface Source {
    PTransform<PBegin, PCollection<Event>> apply(TestStream<Event> script);
  }

  private final Scenario scenario;

  WindowingScenarios(Scenario scenario) {
    this.scenario = scenario;
  }

  /**
   * Adds the scenario's input, played by {@code source}, and its assertions to {@code pipeline}.
   */
  void applyTo(Pipeline pipeline, Source source) {
    scenario.apply(pipeline, source);
  }

  static TestStream.Builder<Event> stream() {
    return TestStream.create(Event.EventCoder.of()).advanceWatermarkTo(T0);
  }

  static TimestampedValue<Event> at(String key, long second, double value) {
    Instant time = T0.plus(Duration.standardSeconds(second));
    return TimestampedValue.of(Event.of(key + "@" + second, key, "m", value, time), time);
  }

  static LateEvent late(String key, long second, double value, long startSec, long endSec) {
    Instant time = T0.plus(Duration.standardSeconds(second));
    // Lateness is checked separately (it is a lower bound); here it is normalised to 0.
    return new LateEvent(
        Event.of(key + "@" + second, key, "m", value, time),
        T0.plus(Duration.standardSeconds(startSec)),
        T0.plus(Duration.standardSeconds(endSec)),
        0);
  }

  /** A pane of metric "m" with exactly these values. */
  static WindowStats row(
      String key,
      long startSec,
      long endSec,
      PaneTiming pane,
      long index,
      boolean finalPane,
      double... values) {
    double sum = 0;
    double sumOfSquares = 0;
    double min = Double.POSITIVE_INFINITY;
    double max = Double.NEGATIVE_INFINITY;
    for (double value : values) {
      sum += value;
      sumOfSquares += value * value;
      min = Math.min(min, value);
      max = Math.max(max, value);
    }
    int n = values.length;
    double stddev = Math.sqrt((n * sumOfSquares - sum * sum) / ((double) n * n));
    return new WindowStats(
        key,
        "m",
        T0.plus(Duration.standardSeconds(startSec)),
        T0.plus(Duration.standardSeconds(endSec)),
        n,
        sum,
        min,
        max,
        sum / n,
        stddev,
        null,
        null,
        null,
        null,
        pane,
        index,
        finalPane);
  }

  private static void expect(
      WindowedAggregate.Result result, List<WindowStats> stats, List<LateEvent> late) {
    PAssert.that(result.output()).containsInAnyOrder(stats);
    PAssert.that(result.late())
        .satisfies(
            actual -> {
              List<LateEvent> normalised = new ArrayList<>();
              for (LateEvent event : actual) {
                assertThat(event.latenessMillis())
                    .as("lateness of %s", event.event().eventId())
                    .isGreaterThan(0);
                normalised.add(
                    new LateEvent(event.event(), event.windowStart(), event.windowEnd(), 0));
              }
              assertThat(normalised).containsExactlyInAnyOrderElementsOf(late);
              return null;
            });
  }
}

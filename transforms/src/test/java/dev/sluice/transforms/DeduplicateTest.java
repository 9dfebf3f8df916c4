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
class DeduplicateTest {
  private static final Instant T0 = ModelFixtures.T0;

  private static TimestampedValue<Event> event(String id, String metric, long second, double v) {
    Instant time = T0.plus(Duration.standardSeconds(second));
    return TimestampedValue.of(Event.of(id, "k", metric, v, time), time);
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
  void repeatsAcrossBundlesWithinTheHorizonAreDroppedAndCounted(TestPipeline pipeline) {
    assertThat(repeatsAcrossBundles(pipeline, script -> script)).isEqualTo(2);
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

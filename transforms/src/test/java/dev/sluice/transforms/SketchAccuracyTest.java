package dev.sluice.transforms;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.model.Event;
import dev.sluice.model.ModelFixtures;
import dev.sluice.model.WindowStats;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.testing.TestPipelineExtension;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.values.TimestampedValue;
import org.apache.datasketches.kll.KllDoublesSketch;
import org.joda.time.Duration;
import org.joda.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Quantiles and distinct counts stay within their sketches' documented error bounds. */
@ExtendWith(TestPipelineExtension.class)
class SketchAccuracyTest {

  @Test
  void quantilesOf100kValuesAreWithinTheKllRankErrorBound(TestPipeline pipeline) {
    int n = 100_000;
    Random random = new Random(3);
    double[] values = new double[n];
    List<TimestampedValue<Event>> events = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      values[i] = Math.exp(random.nextGaussian()); // skewed, like latencies
      Instant time = ModelFixtures.T0.plus(i % 60_000);
      events.add(TimestampedValue.of(Event.of("e" + i, "k", "latency", values[i], time), time));
    }
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    // The documented single-sided normalised rank error of KLL at k = 200 (99% confidence).
    double bound = KllDoublesSketch.getNormalizedRankError(StatsFn.DEFAULT_KLL_K, false);

    PAssert.that(
            pipeline
                .apply(Create.timestamped(events))
                .apply(WindowedAggregate.tumbling(Duration.standardMinutes(1)))
                .output())
        .satisfies(
            all -> {
              WindowStats stats = all.iterator().next();
              assertThat(stats.count()).isEqualTo(n);
              assertRank(sorted, stats.p50(), 0.50, bound);
              assertRank(sorted, stats.p95(), 0.95, bound);
              assertRank(sorted, stats.p99(), 0.99, bound);
              return null;
            });
    pipeline.run().waitUntilFinish();
  }

  private static void assertRank(double[] sorted, double quantile, double rank, double bound) {
    int below = Arrays.binarySearch(sorted, quantile);
    double actualRank = (below >= 0 ? below + 1 : -below - 1) / (double) sorted.length;
    assertThat(actualRank)
        .as("rank of p%d", Math.round(rank * 100))
        .isBetween(rank - bound, rank + bound);
  }

  @Test
  void distinctCountOfAnAttributeIsWithinTheHllErrorBound(TestPipeline pipeline) {
    int distinctUsers = 3_000;
    List<TimestampedValue<Event>> events = new ArrayList<>();
    for (int i = 0; i < 20_000; i++) {
      Instant time = ModelFixtures.T0.plus(i);
      Event event =
          Event.of("e" + i, "shop", "amount", 1.0, time)
              .withAttributes(Map.of("user", "u" + (i * 7919) % distinctUsers));
      events.add(TimestampedValue.of(event, time));
    }
    Collections.shuffle(events, new Random(5));
    PAssert.that(
            pipeline
                .apply(Create.timestamped(events))
                .apply(
                    WindowedAggregate.tumbling(Duration.standardMinutes(1))
                        .withDistinctCountOf("user"))
                .output())
        .satisfies(
            all -> {
              WindowStats stats = all.iterator().next();
              // HLL at lgK = 12: relative standard error 1.04 / sqrt(4096) = 1.6%; 3 sigma.
              assertThat(stats.distinct())
                  .isBetween(
                      Math.round(distinctUsers * (1 - 0.049)),
                      Math.round(distinctUsers * (1 + 0.049)));
              return null;
            });
    pipeline.run().waitUntilFinish();
  }
}

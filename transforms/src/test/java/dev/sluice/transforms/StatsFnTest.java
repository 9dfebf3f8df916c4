package dev.sluice.transforms;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import java.util.Random;
import org.apache.beam.sdk.testing.CoderProperties;
import org.apache.beam.sdk.util.CoderUtils;
import org.junit.jupiter.api.Test;

class StatsFnTest {
  private final StatsFn fn = new StatsFn();

  private StatsFn.Accumulator of(double... values) {
    StatsFn.Accumulator accumulator = fn.createAccumulator();
    for (double value : values) {
      fn.addInput(accumulator, value);
    }
    return accumulator;
  }

  @Test
  void computesExactStatsOfASmallInput() {
    StatsFn.Accumulator stats = of(2, 4, 4, 4, 5, 5, 7, 9);
    assertThat(stats.count()).isEqualTo(8);
    assertThat(stats.sum()).isEqualTo(40.0);
    assertThat(stats.min()).isEqualTo(2.0);
    assertThat(stats.max()).isEqualTo(9.0);
    assertThat(stats.mean()).isEqualTo(5.0);
    assertThat(stats.stddev()).isCloseTo(2.0, within(1e-12));
  }

  @Test
  void mergingPartialAccumulatorsEqualsAddingEverythingToOne() {
    Random random = new Random(7);
    double[] values = new double[10_000];
    for (int i = 0; i < values.length; i++) {
      values[i] = 1e6 + random.nextGaussian() * 3.0;
    }
    StatsFn.Accumulator whole = of(values);
    StatsFn.Accumulator merged =
        fn.mergeAccumulators(
            List.of(
                of(java.util.Arrays.copyOfRange(values, 0, 1)),
                of(java.util.Arrays.copyOfRange(values, 1, 4_000)),
                fn.createAccumulator(),
                of(java.util.Arrays.copyOfRange(values, 4_000, 10_000))));
    assertThat(merged.count()).isEqualTo(whole.count());
    assertThat(merged.min()).isEqualTo(whole.min());
    assertThat(merged.max()).isEqualTo(whole.max());
    assertThat(merged.sum()).isCloseTo(whole.sum(), within(1e-3));
    // Large offset, small spread: the naive sum-of-squares formula would lose all digits here.
    assertThat(merged.stddev()).isCloseTo(whole.stddev(), within(1e-6));
    assertThat(whole.stddev()).isCloseTo(3.0, within(0.1));
  }

  @Test
  void accumulatorCoderRoundTrips() throws Exception {
    StatsFn.Accumulator stats = of(1.5, -2.0, 8.25);
    StatsFn.Accumulator decoded = CoderUtils.clone(StatsFn.AccumulatorCoder.of(), stats);
    assertThat(decoded).usingRecursiveComparison().isEqualTo(stats);
    CoderProperties.coderSerializable(StatsFn.AccumulatorCoder.of());
  }
}

package dev.sluice.transforms;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.model.Event;
import dev.sluice.model.ModelFixtures;
import java.util.ArrayList;
import java.util.Collections;
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
      fn.addInput(accumulator, Event.of("e", "k", "m", value, ModelFixtures.T0));
    }
    return accumulator;
  }

  private StatsFn.Accumulator of(List<Double> values) {
    return of(values.stream().mapToDouble(Double::doubleValue).toArray());
  }

  @Test
  void computesExactStatsOfASmallInput() {
    StatsFn.Accumulator stats = of(2, 4, 4, 4, 5, 5, 7, 9);
    assertThat(stats.count()).isEqualTo(8);
    assertThat(stats.sum()).isEqualTo(40.0);
    assertThat(stats.min()).isEqualTo(2.0);
    assertThat(stats.max()).isEqualTo(9.0);
    assertThat(stats.mean()).isEqualTo(5.0);
    assertThat(stats.stddev()).isEqualTo(2.0);
  }

  @Test
  void resultsAreBitIdenticalWhateverTheOrderOfAddsAndMerges() {
    Random random = new Random(7);
    List<Double> values = new ArrayList<>();
    for (int i = 0; i < 10_000; i++) {
      values.add(1e6 + random.nextGaussian() * 3.0);
    }
    StatsFn.Accumulator whole = of(values);
    for (int round = 0; round < 10; round++) {
      Collections.shuffle(values, random);
      int first = random.nextInt(values.size());
      int second = first + random.nextInt(values.size() - first);
      StatsFn.Accumulator merged =
          fn.mergeAccumulators(
              List.of(
                  of(values.subList(second, values.size())),
                  fn.createAccumulator(),
                  of(values.subList(0, first)),
                  of(values.subList(first, second))));
      assertThat(merged.count()).isEqualTo(whole.count());
      assertThat(merged.min()).isEqualTo(whole.min());
      assertThat(merged.max()).isEqualTo(whole.max());
      assertThat(merged.sum()).isEqualTo(whole.sum());
      assertThat(merged.mean()).isEqualTo(whole.mean());
      assertThat(merged.stddev()).isEqualTo(whole.stddev());
    }
  }

  @Test
  void stddevIsAccurateForLargeValuesWithASmallSpread() {
    // The textbook sum-of-squares formula in doubles loses every digit here.
    double offset = 1e9;
    StatsFn.Accumulator stats = of(offset + 4, offset + 7, offset + 13, offset + 16);
    assertThat(stats.stddev()).isEqualTo(Math.sqrt(22.5));
    assertThat(stats.mean()).isEqualTo(offset + 10);
  }

  @Test
  void accumulatorCoderRoundTrips() throws Exception {
    StatsFn.Accumulator stats = of(1.5, -2.0, 8.25);
    StatsFn.Accumulator decoded = CoderUtils.clone(StatsFn.AccumulatorCoder.of(), stats);
    assertThat(decoded).usingRecursiveComparison().isEqualTo(stats);
    CoderProperties.coderSerializable(StatsFn.AccumulatorCoder.of());
  }
}

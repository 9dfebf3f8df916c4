package dev.sluice.transforms;

import dev.sluice.model.DeterministicCoder;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.coders.CoderRegistry;
import org.apache.beam.sdk.coders.DoubleCoder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.transforms.Combine;

/**
 * Combines the values of one (key, metric) in one window into count, sum, min, max, mean and
 * population standard deviation. Associative and commutative, so runners lift it before the
 * shuffle; variance is merged with Chan et al.'s parallel algorithm, which stays accurate where the
 * naive sum of squares cancels catastrophically.
 */
public final class StatsFn
    extends Combine.CombineFn<Double, StatsFn.Accumulator, StatsFn.Accumulator> {

  /** Running statistics; mutable, owned by one combine step at a time. */
  public static final class Accumulator {
    long count;
    double sum;
    double min = Double.POSITIVE_INFINITY;
    double max = Double.NEGATIVE_INFINITY;
    double runningMean;
    double m2;

    public long count() {
      return count;
    }

    public double sum() {
      return sum;
    }

    public double min() {
      return min;
    }

    public double max() {
      return max;
    }

    /** {@code sum / count}: the value a user computes by hand. */
    public double mean() {
      return count == 0 ? Double.NaN : sum / count;
    }

    /** Population standard deviation. */
    public double stddev() {
      return count == 0 ? Double.NaN : Math.sqrt(Math.max(0.0, m2 / count));
    }

    void add(double value) {
      count++;
      sum += value;
      min = Math.min(min, value);
      max = Math.max(max, value);
      double delta = value - runningMean;
      runningMean += delta / count;
      m2 += delta * (value - runningMean);
    }

    void merge(Accumulator other) {
      if (other.count == 0) {
        return;
      }
      if (count == 0) {
        count = other.count;
        sum = other.sum;
        min = other.min;
        max = other.max;
        runningMean = other.runningMean;
        m2 = other.m2;
        return;
      }
      long total = count + other.count;
      double delta = other.runningMean - runningMean;
      m2 += other.m2 + delta * delta * ((double) count * other.count / total);
      runningMean += delta * other.count / total;
      count = total;
      sum += other.sum;
      min = Math.min(min, other.min);
      max = Math.max(max, other.max);
    }
  }

  @Override
  public Accumulator createAccumulator() {
    return new Accumulator();
  }

  @Override
  public Accumulator addInput(Accumulator accumulator, Double value) {
    accumulator.add(value);
    return accumulator;
  }

  @Override
  public Accumulator mergeAccumulators(Iterable<Accumulator> accumulators) {
    Accumulator merged = new Accumulator();
    for (Accumulator accumulator : accumulators) {
      merged.merge(accumulator);
    }
    return merged;
  }

  @Override
  public Accumulator extractOutput(Accumulator accumulator) {
    return accumulator;
  }

  @Override
  public Coder<Accumulator> getAccumulatorCoder(CoderRegistry registry, Coder<Double> inputCoder) {
    return AccumulatorCoder.INSTANCE;
  }

  @Override
  public Coder<Accumulator> getDefaultOutputCoder(
      CoderRegistry registry, Coder<Double> inputCoder) {
    return AccumulatorCoder.INSTANCE;
  }

  /** Deterministic coder of {@link Accumulator}. */
  public static final class AccumulatorCoder extends DeterministicCoder<Accumulator> {
    static final AccumulatorCoder INSTANCE = new AccumulatorCoder();
    private static final VarLongCoder LONG = VarLongCoder.of();
    private static final DoubleCoder DOUBLE = DoubleCoder.of();

    public static AccumulatorCoder of() {
      return INSTANCE;
    }

    @Override
    public void encode(Accumulator a, OutputStream out) throws IOException {
      LONG.encode(a.count, out);
      DOUBLE.encode(a.sum, out);
      DOUBLE.encode(a.min, out);
      DOUBLE.encode(a.max, out);
      DOUBLE.encode(a.runningMean, out);
      DOUBLE.encode(a.m2, out);
    }

    @Override
    public Accumulator decode(InputStream in) throws IOException {
      Accumulator a = new Accumulator();
      a.count = LONG.decode(in);
      a.sum = DOUBLE.decode(in);
      a.min = DOUBLE.decode(in);
      a.max = DOUBLE.decode(in);
      a.runningMean = DOUBLE.decode(in);
      a.m2 = DOUBLE.decode(in);
      return a;
    }
  }
}

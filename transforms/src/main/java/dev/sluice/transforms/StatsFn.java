package dev.sluice.transforms;

import dev.sluice.model.DeterministicCoder;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.coders.CoderRegistry;
import org.apache.beam.sdk.coders.DoubleCoder;
import org.apache.beam.sdk.coders.VarIntCoder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.transforms.Combine;

/**
 * Combines the values of one (key, metric) in one window into count, sum, min, max, mean and
 * population standard deviation. Associative and commutative, so runners lift it before the
 * shuffle.
 *
 * <p>Sums are kept exactly ({@link ExactSum}): the sum, the mean and the standard deviation are the
 * correctly rounded results of exact arithmetic, so they are bit-identical whatever order a runner
 * adds and merges in, and the variance does not suffer the cancellation of the textbook formula on
 * large values with a small spread. Values must be finite; the squares of values beyond about
 * {@code ±1e154} overflow, and then the standard deviation reads as infinite or NaN.
 */
public final class StatsFn
    extends Combine.CombineFn<Double, StatsFn.Accumulator, StatsFn.Accumulator> {

  /** Running statistics; mutable, owned by one combine step at a time. */
  public static final class Accumulator {
    long count;
    final ExactSum sum;
    final ExactSum sumOfSquares;
    double min = Double.POSITIVE_INFINITY;
    double max = Double.NEGATIVE_INFINITY;

    Accumulator() {
      this(new ExactSum(), new ExactSum());
    }

    private Accumulator(ExactSum sum, ExactSum sumOfSquares) {
      this.sum = sum;
      this.sumOfSquares = sumOfSquares;
    }

    public long count() {
      return count;
    }

    public double sum() {
      return sum.value();
    }

    public double min() {
      return min;
    }

    public double max() {
      return max;
    }

    /** {@code sum / count}: the value a user computes by hand. */
    public double mean() {
      return count == 0 ? Double.NaN : sum.value() / count;
    }

    /**
     * Population standard deviation, {@code sqrt((n * sum(x^2) - sum(x)^2) / n^2)} with the
     * numerator computed exactly and rounded once.
     */
    public double stddev() {
      if (count == 0) {
        return Double.NaN;
      }
      double n = count;
      ExactSum numerator = new ExactSum();
      for (double square : sumOfSquares.partials()) {
        numerator.addProduct(n, square);
      }
      double[] sumPartials = sum.partials();
      for (double a : sumPartials) {
        for (double b : sumPartials) {
          numerator.addProduct(-a, b);
        }
      }
      return Math.sqrt(Math.max(0.0, numerator.value() / (n * n)));
    }

    void add(double value) {
      count++;
      sum.add(value);
      sumOfSquares.addProduct(value, value);
      min = Math.min(min, value);
      max = Math.max(max, value);
    }

    void merge(Accumulator other) {
      count += other.count;
      sum.addAll(other.sum);
      sumOfSquares.addAll(other.sumOfSquares);
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

  /** Coder of {@link Accumulator}: count, min, max and the partials of both exact sums. */
  public static final class AccumulatorCoder extends DeterministicCoder<Accumulator> {
    static final AccumulatorCoder INSTANCE = new AccumulatorCoder();
    private static final VarLongCoder LONG = VarLongCoder.of();
    private static final VarIntCoder INT = VarIntCoder.of();
    private static final DoubleCoder DOUBLE = DoubleCoder.of();

    public static AccumulatorCoder of() {
      return INSTANCE;
    }

    @Override
    public void encode(Accumulator a, OutputStream out) throws IOException {
      LONG.encode(a.count, out);
      DOUBLE.encode(a.min, out);
      DOUBLE.encode(a.max, out);
      encodeSum(a.sum, out);
      encodeSum(a.sumOfSquares, out);
    }

    @Override
    public Accumulator decode(InputStream in) throws IOException {
      long count = LONG.decode(in);
      double min = DOUBLE.decode(in);
      double max = DOUBLE.decode(in);
      Accumulator a = new Accumulator(decodeSum(in), decodeSum(in));
      a.count = count;
      a.min = min;
      a.max = max;
      return a;
    }

    private static void encodeSum(ExactSum sum, OutputStream out) throws IOException {
      double[] partials = sum.partials();
      INT.encode(partials.length, out);
      for (double partial : partials) {
        DOUBLE.encode(partial, out);
      }
    }

    private static ExactSum decodeSum(InputStream in) throws IOException {
      double[] partials = new double[INT.decode(in)];
      for (int i = 0; i < partials.length; i++) {
        partials[i] = DOUBLE.decode(in);
      }
      return ExactSum.ofPartials(partials);
    }
  }
}

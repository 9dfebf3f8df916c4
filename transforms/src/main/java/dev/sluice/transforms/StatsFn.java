package dev.sluice.transforms;

import dev.sluice.model.DeterministicCoder;
import dev.sluice.model.Event;
import dev.sluice.model.PaneTiming;
import dev.sluice.model.WindowStats;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.coders.CoderRegistry;
import org.apache.beam.sdk.coders.DoubleCoder;
import org.apache.beam.sdk.coders.NullableCoder;
import org.apache.beam.sdk.coders.VarIntCoder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.transforms.Combine;
import org.apache.datasketches.hll.HllSketch;
import org.apache.datasketches.hll.Union;
import org.apache.datasketches.kll.KllDoublesSketch;
import org.apache.datasketches.memory.Memory;
import org.checkerframework.checker.nullness.qual.Nullable;
import org.joda.time.Instant;

/**
 * Combines the values of one (key, metric) in one window into count, sum, min, max, mean and
 * population standard deviation. Associative and commutative, so runners lift it before the
 * shuffle.
 *
 * <p>Sums are kept exactly ({@link ExactSum}): the sum, the mean and the standard deviation are the
 * correctly rounded results of exact arithmetic, so they are bit-identical whatever order a runner
 * adds and merges in, and the variance does not suffer the cancellation of the textbook formula on
 * large values with a small spread. Values must be finite and at most 1e100 in magnitude (as {@code
 * ParseEvents} ensures by default), so that exact sums of squares cannot overflow.
 */
public final class StatsFn extends Combine.CombineFn<Event, StatsFn.Accumulator, StatsFn.Stats> {

  /**
   * The aggregates of one window, read once from the accumulator (reading a KLL sketch sorts it, so
   * the accumulator itself is never an output).
   */
  public record Stats(
      long count,
      double sum,
      double min,
      double max,
      double mean,
      double stddev,
      @Nullable Double p50,
      @Nullable Double p95,
      @Nullable Double p99,
      @Nullable Long distinct) {

    /** These aggregates as the stats row of one pane of a (key, metric)'s window. */
    public WindowStats toWindowStats(
        String key,
        String metric,
        Instant windowStart,
        Instant windowEnd,
        PaneTiming timing,
        long paneIndex,
        boolean isFinal) {
      return new WindowStats(
          key,
          metric,
          windowStart,
          windowEnd,
          count,
          sum,
          min,
          max,
          mean,
          stddev,
          p50,
          p95,
          p99,
          distinct,
          timing,
          paneIndex,
          isFinal);
    }
  }

  /** KLL accuracy parameter: normalised rank error about 1.65% at k = 200. */
  public static final int DEFAULT_KLL_K = 200;

  /** HLL size parameter: relative error about 1.6% at lgK = 12. */
  public static final int HLL_LG_K = 12;

  private final boolean quantiles;
  private final int kllK;
  private final @Nullable String distinctAttribute;

  /** Count, sum, min, max, mean and stddev only. */
  public StatsFn() {
    this(false, DEFAULT_KLL_K, null);
  }

  /**
   * @param quantiles whether to keep a KLL sketch for p50, p95 and p99
   * @param kllK the KLL sketch's k (accuracy against size)
   * @param distinctAttribute the attribute whose distinct values to count with HLL, or null
   */
  public StatsFn(boolean quantiles, int kllK, @Nullable String distinctAttribute) {
    this.quantiles = quantiles;
    this.kllK = kllK;
    this.distinctAttribute = distinctAttribute;
  }

  /** Running statistics; mutable, owned by one combine step at a time. */
  public static final class Accumulator {
    long count;
    final ExactSum sum;
    final ExactSum sumOfSquares;
    double min = Double.POSITIVE_INFINITY;
    double max = Double.NEGATIVE_INFINITY;
    @Nullable KllDoublesSketch quantiles;
    @Nullable Union distinct;

    Accumulator() {
      this(new ExactSum(), new ExactSum());
    }

    private Accumulator(ExactSum sum, ExactSum sumOfSquares) {
      this.sum = sum;
      this.sumOfSquares = sumOfSquares;
    }

    /** Approximate quantile at {@code rank} (0..1), or null when not kept or empty. */
    public @Nullable Double quantile(double rank) {
      return quantiles == null || quantiles.isEmpty() ? null : quantiles.getQuantile(rank);
    }

    /** Approximate number of distinct attribute values, or null when not counted. */
    public @Nullable Long distinct() {
      return distinct == null ? null : Math.round(distinct.getEstimate());
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
      if (other.quantiles != null) {
        if (quantiles == null) {
          quantiles = KllDoublesSketch.newHeapInstance(other.quantiles.getK());
        }
        quantiles.merge(other.quantiles);
      }
      if (other.distinct != null) {
        if (distinct == null) {
          distinct = new Union(HLL_LG_K);
        }
        distinct.update(other.distinct.getResult());
      }
      count += other.count;
      sum.addAll(other.sum);
      sumOfSquares.addAll(other.sumOfSquares);
      min = Math.min(min, other.min);
      max = Math.max(max, other.max);
    }
  }

  @Override
  public Accumulator createAccumulator() {
    Accumulator accumulator = new Accumulator();
    if (quantiles) {
      accumulator.quantiles = KllDoublesSketch.newHeapInstance(kllK);
    }
    if (distinctAttribute != null) {
      accumulator.distinct = new Union(HLL_LG_K);
    }
    return accumulator;
  }

  @Override
  public Accumulator addInput(Accumulator accumulator, Event event) {
    return addValue(
        accumulator,
        event.value(),
        distinctAttribute == null ? null : event.attributes().get(distinctAttribute));
  }

  /**
   * Adds one value; {@code distinctValue} is the value of the distinct-counted attribute, or null
   * when the event has none (or none is counted).
   */
  Accumulator addValue(Accumulator accumulator, double value, @Nullable String distinctValue) {
    accumulator.add(value);
    if (accumulator.quantiles != null) {
      accumulator.quantiles.update(value);
    }
    if (accumulator.distinct != null && distinctValue != null) {
      accumulator.distinct.update(distinctValue);
    }
    return accumulator;
  }

  @Override
  public Accumulator mergeAccumulators(Iterable<Accumulator> accumulators) {
    Accumulator merged = createAccumulator();
    for (Accumulator accumulator : accumulators) {
      merged.merge(accumulator);
    }
    return merged;
  }

  @Override
  public Stats extractOutput(Accumulator a) {
    return new Stats(
        a.count(),
        a.sum(),
        a.min(),
        a.max(),
        a.mean(),
        a.stddev(),
        a.quantile(0.50),
        a.quantile(0.95),
        a.quantile(0.99),
        a.distinct());
  }

  @Override
  public Coder<Accumulator> getAccumulatorCoder(CoderRegistry registry, Coder<Event> inputCoder) {
    return AccumulatorCoder.INSTANCE;
  }

  @Override
  public Coder<Stats> getDefaultOutputCoder(CoderRegistry registry, Coder<Event> inputCoder) {
    return StatsCoder.INSTANCE;
  }

  /** Coder of {@link Stats}. */
  static final class StatsCoder extends DeterministicCoder<Stats> {
    static final StatsCoder INSTANCE = new StatsCoder();
    private static final VarLongCoder LONG = VarLongCoder.of();
    private static final DoubleCoder DOUBLE = DoubleCoder.of();
    private static final NullableCoder<Double> NULLABLE_DOUBLE = NullableCoder.of(DOUBLE);
    private static final NullableCoder<Long> NULLABLE_LONG = NullableCoder.of(LONG);

    @Override
    public void encode(Stats s, OutputStream out) throws IOException {
      LONG.encode(s.count(), out);
      DOUBLE.encode(s.sum(), out);
      DOUBLE.encode(s.min(), out);
      DOUBLE.encode(s.max(), out);
      DOUBLE.encode(s.mean(), out);
      DOUBLE.encode(s.stddev(), out);
      NULLABLE_DOUBLE.encode(s.p50(), out);
      NULLABLE_DOUBLE.encode(s.p95(), out);
      NULLABLE_DOUBLE.encode(s.p99(), out);
      NULLABLE_LONG.encode(s.distinct(), out);
    }

    @Override
    public Stats decode(InputStream in) throws IOException {
      return new Stats(
          LONG.decode(in),
          DOUBLE.decode(in),
          DOUBLE.decode(in),
          DOUBLE.decode(in),
          DOUBLE.decode(in),
          DOUBLE.decode(in),
          NULLABLE_DOUBLE.decode(in),
          NULLABLE_DOUBLE.decode(in),
          NULLABLE_DOUBLE.decode(in),
          NULLABLE_LONG.decode(in));
    }
  }

  /**
   * Coder of {@link Accumulator}: count, min, max, the partials of both exact sums, and the
   * sketches in their DataSketches serial forms.
   */
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
      encodeBytes(a.quantiles == null ? null : a.quantiles.toByteArray(), out);
      encodeBytes(a.distinct == null ? null : a.distinct.getResult().toCompactByteArray(), out);
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
      byte[] quantiles = decodeBytes(in);
      if (quantiles != null) {
        a.quantiles = KllDoublesSketch.heapify(Memory.wrap(quantiles));
      }
      byte[] distinct = decodeBytes(in);
      if (distinct != null) {
        a.distinct = new Union(HLL_LG_K);
        a.distinct.update(HllSketch.heapify(distinct));
      }
      return a;
    }

    private static void encodeBytes(byte @Nullable [] bytes, OutputStream out) throws IOException {
      INT.encode(bytes == null ? -1 : bytes.length, out);
      if (bytes != null) {
        out.write(bytes);
      }
    }

    private static byte @Nullable [] decodeBytes(InputStream in) throws IOException {
      int length = INT.decode(in);
      if (length < 0) {
        return null;
      }
      byte[] bytes = in.readNBytes(length);
      if (bytes.length != length) {
        throw new java.io.EOFException("truncated sketch: " + bytes.length + " of " + length);
      }
      return bytes;
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

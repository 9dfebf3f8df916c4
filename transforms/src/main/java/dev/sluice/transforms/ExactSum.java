package dev.sluice.transforms;

import java.util.Arrays;

/**
 * A sum of doubles kept exactly, as a short list of non-overlapping partial sums (Shewchuk's
 * algorithm, as in Python's {@code math.fsum}), and rounded once, correctly, when read.
 *
 * <p>Why: a plain {@code double} sum depends on the order of the additions, and runners add in
 * different orders (bundles, combiner lifting, merges). {@link #value()} depends only on the exact
 * mathematical sum, so the same input gives bit-identical results on every runner, and is as
 * accurate as a double can be. Typical inputs keep one to three partials; the worst case is bounded
 * by the exponent range (about 40).
 *
 * <p>Inputs must be finite; a sum that overflows the double range reads as infinite or NaN.
 */
public final class ExactSum {
  /** Non-overlapping partials in increasing magnitude; only the first {@code size} are used. */
  private double[] partials;

  private int size;

  public ExactSum() {
    this.partials = new double[4];
  }

  /** Restores a sum from {@link #partials()}. */
  public static ExactSum ofPartials(double[] partials) {
    ExactSum sum = new ExactSum();
    for (double partial : partials) {
      sum.add(partial);
    }
    return sum;
  }

  /** Adds {@code x} exactly. */
  public void add(double x) {
    int kept = 0;
    for (int j = 0; j < size; j++) {
      double y = partials[j];
      if (Math.abs(x) < Math.abs(y)) {
        double t = x;
        x = y;
        y = t;
      }
      double hi = x + y;
      double lo = y - (hi - x);
      if (lo != 0.0) {
        partials[kept++] = lo;
      }
      x = hi;
    }
    if (kept == partials.length) {
      partials = Arrays.copyOf(partials, partials.length * 2);
    }
    partials[kept] = x;
    size = kept + 1;
  }

  /** Adds another exact sum. */
  public void addAll(ExactSum other) {
    for (int i = 0; i < other.size; i++) {
      add(other.partials[i]);
    }
  }

  /** Adds the exact product {@code a * b}, as the rounded product and its rounding error. */
  public void addProduct(double a, double b) {
    double product = a * b;
    add(product);
    add(productError(a, b, product));
  }

  /** The partials, for encoding. */
  public double[] partials() {
    return Arrays.copyOf(partials, size);
  }

  /** The exact sum, correctly rounded to the nearest double (ties to even). */
  public double value() {
    int n = size;
    if (n == 0) {
      return 0.0;
    }
    double hi = partials[--n];
    double lo = 0.0;
    while (n > 0) {
      double x = hi;
      double y = partials[--n];
      hi = x + y;
      double yr = hi - x;
      lo = y - yr;
      if (lo != 0.0) {
        break;
      }
    }
    // Half-way cases: the remaining partials decide which way the tie goes (CPython's fsum).
    if (n > 0 && ((lo < 0.0 && partials[n - 1] < 0.0) || (lo > 0.0 && partials[n - 1] > 0.0))) {
      double y = lo * 2.0;
      double x = hi + y;
      double yr = x - hi;
      if (y == yr) {
        hi = x;
      }
    }
    return hi;
  }

  /**
   * The rounding error of {@code product = a * b}, exactly (Dekker's two-product, which needs no
   * fused multiply-add and so is fast on every JVM).
   */
  static double productError(double a, double b, double product) {
    double aHi = split(a);
    double aLo = a - aHi;
    double bHi = split(b);
    double bLo = b - bHi;
    return ((aHi * bHi - product) + aHi * bLo + aLo * bHi) + aLo * bLo;
  }

  private static final double SPLITTER = 134217729.0; // 2^27 + 1

  private static double split(double a) {
    double c = SPLITTER * a;
    return c - (c - a);
  }
}

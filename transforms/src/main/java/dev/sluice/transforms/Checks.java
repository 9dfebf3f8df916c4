package dev.sluice.transforms;

import org.joda.time.Duration;

/**
 * Argument checks for {@code withX} methods. Every message names the argument and the value, so a
 * bad configuration fails at construction with a message the user can act on.
 */
public final class Checks {
  private Checks() {}

  public static <T> T notNull(String name, T value) {
    if (value == null) {
      throw new IllegalArgumentException(name + " must not be null");
    }
    return value;
  }

  public static String notBlank(String name, String value) {
    if (value == null || value.isBlank()) {
      throw new IllegalArgumentException(
          name + " must not be blank, got " + (value == null ? "null" : "'" + value + "'"));
    }
    return value;
  }

  public static long positive(String name, long value) {
    if (value <= 0) {
      throw new IllegalArgumentException(name + " must be positive, got " + value);
    }
    return value;
  }

  public static int positive(String name, int value) {
    if (value <= 0) {
      throw new IllegalArgumentException(name + " must be positive, got " + value);
    }
    return value;
  }

  public static double positive(String name, double value) {
    if (!(value > 0) || Double.isInfinite(value)) {
      throw new IllegalArgumentException(name + " must be a positive finite number, got " + value);
    }
    return value;
  }

  public static double finite(String name, double value) {
    if (!Double.isFinite(value)) {
      throw new IllegalArgumentException(name + " must be a finite number, got " + value);
    }
    return value;
  }

  public static double fraction(String name, double value) {
    if (!(value >= 0.0 && value <= 1.0)) {
      throw new IllegalArgumentException(name + " must be between 0 and 1, got " + value);
    }
    return value;
  }

  public static Duration positive(String name, Duration value) {
    notNull(name, value);
    if (value.getMillis() <= 0) {
      throw new IllegalArgumentException(name + " must be a positive duration, got " + value);
    }
    return value;
  }

  public static Duration notNegative(String name, Duration value) {
    notNull(name, value);
    if (value.getMillis() < 0) {
      throw new IllegalArgumentException(name + " must not be negative, got " + value);
    }
    return value;
  }
}

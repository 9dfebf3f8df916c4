package dev.sluice.rules;

import dev.sluice.model.WindowStats;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** The aggregate of a {@link WindowStats} a rule looks at, named in conditions in lower case. */
public enum Aggregate {
  COUNT,
  SUM,
  MIN,
  MAX,
  MEAN,
  STDDEV,
  P50,
  P95,
  P99,
  DISTINCT;

  /**
   * The aggregate's value in {@code stats}, or {@code null} when the aggregation did not compute it
   * (quantiles or distinct counts not configured, stddev of nothing).
   */
  public Double of(WindowStats stats) {
    switch (this) {
      case COUNT:
        return (double) stats.count();
      case SUM:
        return stats.sum();
      case MIN:
        return stats.min();
      case MAX:
        return stats.max();
      case MEAN:
        return stats.mean();
      case STDDEV:
        return stats.stddev();
      case P50:
        return stats.p50();
      case P95:
        return stats.p95();
      case P99:
        return stats.p99();
      case DISTINCT:
        return stats.distinct() == null ? null : stats.distinct().doubleValue();
      default:
        throw new AssertionError(this);
    }
  }

  public String text() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Parses the lower-case name used in conditions. */
  static Aggregate parse(String text, String condition) {
    for (Aggregate a : values()) {
      if (a.text().equals(text.toLowerCase(Locale.ROOT))) {
        return a;
      }
    }
    throw new IllegalArgumentException(
        "condition '"
            + condition
            + "': unknown aggregate '"
            + text
            + "'; use one of "
            + Arrays.stream(values()).map(Aggregate::text).collect(Collectors.joining(", ")));
  }
}

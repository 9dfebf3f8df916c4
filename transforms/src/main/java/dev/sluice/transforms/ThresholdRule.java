package dev.sluice.transforms;

import dev.sluice.model.Alert.Severity;
import dev.sluice.model.WindowStats;
import java.io.Serializable;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * A static threshold on one aggregate of one metric, e.g. {@code mean(temperature) > 40}: plain
 * data, validated at construction.
 *
 * <pre>{@code
 * ThresholdRule hot = ThresholdRule.of("hot-sensor", "temperature", Aggregate.MEAN, Comparison.GT, 40.0)
 *     .withSeverity(Severity.CRITICAL);
 * }</pre>
 */
public record ThresholdRule(
    String ruleId,
    long version,
    Severity severity,
    String metric,
    Aggregate aggregate,
    Comparison comparison,
    double threshold)
    implements Serializable {

  private static final Pattern RULE_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,127}");

  /** The aggregate of a {@link WindowStats} a rule looks at. */
  public enum Aggregate {
    COUNT,
    SUM,
    MIN,
    MAX,
    MEAN,
    STDDEV;

    /** The aggregate's value in {@code stats}, or {@code null} when it was not computed. */
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
        default:
          throw new AssertionError(this);
      }
    }
  }

  /** How the aggregate is compared with the threshold. */
  public enum Comparison {
    GT(">"),
    GE(">="),
    LT("<"),
    LE("<=");

    private final String symbol;

    Comparison(String symbol) {
      this.symbol = symbol;
    }

    public String symbol() {
      return symbol;
    }

    public boolean holds(double value, double threshold) {
      switch (this) {
        case GT:
          return value > threshold;
        case GE:
          return value >= threshold;
        case LT:
          return value < threshold;
        case LE:
          return value <= threshold;
        default:
          throw new AssertionError(this);
      }
    }
  }

  public ThresholdRule {
    Checks.notNull("ruleId", ruleId);
    if (!RULE_ID.matcher(ruleId).matches()) {
      throw new IllegalArgumentException(
          "ruleId must match " + RULE_ID.pattern() + ", got '" + ruleId + "'");
    }
    Checks.positive("version", version);
    Checks.notNull("severity", severity);
    Checks.notBlank("metric", metric);
    Checks.notNull("aggregate", aggregate);
    Checks.notNull("comparison", comparison);
    Checks.finite("threshold", threshold);
  }

  /** Version 1, severity {@code WARNING}. */
  public static ThresholdRule of(
      String ruleId, String metric, Aggregate aggregate, Comparison comparison, double threshold) {
    return new ThresholdRule(ruleId, 1, Severity.WARNING, metric, aggregate, comparison, threshold);
  }

  public ThresholdRule withSeverity(Severity newSeverity) {
    return new ThresholdRule(
        ruleId, version, newSeverity, metric, aggregate, comparison, threshold);
  }

  public ThresholdRule withVersion(long newVersion) {
    return new ThresholdRule(
        ruleId, newVersion, severity, metric, aggregate, comparison, threshold);
  }

  /** The condition as text, e.g. {@code mean(temperature) > 40.0}. */
  public String condition() {
    return aggregate.name().toLowerCase(Locale.ROOT)
        + "("
        + metric
        + ") "
        + comparison.symbol()
        + " "
        + threshold;
  }
}

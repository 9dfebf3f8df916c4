package dev.sluice.rules;

import dev.sluice.transforms.DurationText;
import java.io.Serializable;
import java.math.BigDecimal;
import java.math.MathContext;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.joda.time.Duration;

/**
 * What a rule watches for, parsed from one line of text. The form of the text decides the kind:
 *
 * <ul>
 *   <li>{@code mean(temperature) > 80}, {@code p99(latency_ms) >= 500}, {@code count(x) < 1}: a
 *       threshold on any aggregate of a window ({@link Kind#THRESHOLD}); {@code mean(temperature) >
 *       ref.max_temperature} takes each key's threshold from its reference row (see {@code
 *       Enrichment}), and is not judged for a key without that column;
 *   <li>{@code change(mean(temperature)) > 10} or {@code change(mean(temperature)) < -20%}: the
 *       difference from the key's previous window, absolute or in percent of the previous value
 *       ({@link Kind#RATE_OF_CHANGE});
 *   <li>{@code zscore(mean(temperature)) > 3}: the window's value in standard deviations from the
 *       key's own last N windows ({@link Kind#ANOMALY});
 *   <li>{@code absent(temperature) for 5m} or {@code absent(*) for 5m}: no window with data for the
 *       key for that long, in event time ({@link Kind#ABSENCE}).
 * </ul>
 *
 * @param percent for {@code RATE_OF_CHANGE}: the threshold is in percent of the previous value
 * @param silentFor for {@code ABSENCE}: how long a key may stay silent; {@code null} otherwise
 * @param thresholdColumn for {@code THRESHOLD}: the reference column holding each key's threshold,
 *     or {@code null} for the fixed {@code threshold}
 */
public record Condition(
    Kind kind,
    Aggregate aggregate,
    String metric,
    Comparison comparison,
    double threshold,
    boolean percent,
    Duration silentFor,
    String thresholdColumn)
    implements Serializable {

  /** The kinds of rule, decided by the form of the condition. */
  public enum Kind {
    THRESHOLD,
    RATE_OF_CHANGE,
    ANOMALY,
    ABSENCE
  }

  /** Any metric, in absence conditions. */
  public static final String ANY_METRIC = "*";

  private static final String METRIC = "(\\*|[A-Za-z0-9_.:/-]{1,200})";
  private static final String OP = "\\s*(>=|<=|>|<)\\s*";
  private static final String NUMBER = "([-+]?(?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:[eE][-+]?\\d+)?)";
  private static final String REF = "ref\\.([A-Za-z_][A-Za-z0-9_]{0,199})";
  private static final Pattern THRESHOLD =
      Pattern.compile(
          "([A-Za-z0-9]+)\\(\\s*" + METRIC + "\\s*\\)" + OP + "(?:" + NUMBER + "|" + REF + ")");
  private static final Pattern CHANGE =
      Pattern.compile(
          "change\\(\\s*([A-Za-z0-9]+)\\(\\s*" + METRIC + "\\s*\\)\\s*\\)" + OP + NUMBER + "(%)?",
          Pattern.CASE_INSENSITIVE);
  private static final Pattern ZSCORE =
      Pattern.compile(
          "zscore\\(\\s*([A-Za-z0-9]+)\\(\\s*" + METRIC + "\\s*\\)\\s*\\)" + OP + NUMBER,
          Pattern.CASE_INSENSITIVE);
  private static final Pattern ABSENT =
      Pattern.compile(
          "absent\\(\\s*" + METRIC + "\\s*\\)\\s+for\\s+(.+)", Pattern.CASE_INSENSITIVE);
  private static final String EXAMPLES =
      "use e.g. mean(temperature) > 80, p99(latency_ms) >= 500, mean(temperature) >"
          + " ref.max_temperature, change(mean(temperature)) > 20%,"
          + " zscore(mean(temperature)) > 3, absent(temperature) for 5m";

  public Condition {
    if (kind == null) {
      throw new IllegalArgumentException("kind must not be null");
    }
    if (metric == null || metric.isBlank()) {
      throw new IllegalArgumentException("metric must not be blank");
    }
    if (kind == Kind.ABSENCE) {
      if (silentFor == null || silentFor.getMillis() <= 0) {
        throw new IllegalArgumentException("absence needs a positive duration, got " + silentFor);
      }
    } else {
      if (aggregate == null || comparison == null) {
        throw new IllegalArgumentException(kind + " needs an aggregate and a comparison");
      }
      if (!Double.isFinite(threshold)) {
        throw new IllegalArgumentException("threshold must be finite, got " + threshold);
      }
      if (ANY_METRIC.equals(metric)) {
        throw new IllegalArgumentException("only absence conditions may use the metric *");
      }
    }
    if (thresholdColumn != null && kind != Kind.THRESHOLD) {
      throw new IllegalArgumentException(
          "only threshold conditions may compare with a reference column, not " + kind);
    }
  }

  /** A fixed-threshold condition (no reference column). */
  public Condition(
      Kind kind,
      Aggregate aggregate,
      String metric,
      Comparison comparison,
      double threshold,
      boolean percent,
      Duration silentFor) {
    this(kind, aggregate, metric, comparison, threshold, percent, silentFor, null);
  }

  /**
   * This condition with the threshold of one key: itself when the threshold is fixed; with the
   * value of {@link #thresholdColumn} in {@code reference} otherwise, or null when the key has no
   * such numeric value (the condition is not judged for it). The text stays the same.
   */
  public Condition forKey(
      java.util.@org.checkerframework.checker.nullness.qual.Nullable Map<String, ?> reference) {
    if (thresholdColumn == null) {
      return this;
    }
    Object value = reference == null ? null : reference.get(thresholdColumn);
    if (!(value instanceof Double d) || !Double.isFinite(d)) {
      return null;
    }
    return new Condition(
        kind, aggregate, metric, comparison, d, percent, silentFor, thresholdColumn);
  }

  /**
   * Parses a condition.
   *
   * @throws IllegalArgumentException quoting the text and saying what is allowed
   */
  public static Condition parse(String text) {
    if (text == null || text.isBlank()) {
      throw new IllegalArgumentException("condition is missing; " + EXAMPLES);
    }
    String t = text.trim();
    Matcher m = CHANGE.matcher(t);
    if (m.matches()) {
      return new Condition(
          Kind.RATE_OF_CHANGE,
          Aggregate.parse(m.group(1), t),
          m.group(2),
          Comparison.parse(m.group(3)),
          number(m.group(4), t),
          m.group(5) != null,
          null);
    }
    m = ZSCORE.matcher(t);
    if (m.matches()) {
      return new Condition(
          Kind.ANOMALY,
          Aggregate.parse(m.group(1), t),
          m.group(2),
          Comparison.parse(m.group(3)),
          number(m.group(4), t),
          false,
          null);
    }
    m = ABSENT.matcher(t);
    if (m.matches()) {
      Duration silent = DurationText.parse("condition '" + t + "'", m.group(2));
      if (silent.getMillis() <= 0) {
        throw new IllegalArgumentException(
            "condition '" + t + "': the silence must be longer than 0");
      }
      return new Condition(Kind.ABSENCE, null, m.group(1), null, 0, false, silent);
    }
    m = THRESHOLD.matcher(t);
    if (m.matches()) {
      if (m.group(1).equalsIgnoreCase("absent")) {
        throw new IllegalArgumentException(
            "condition '" + t + "': absence takes a duration, e.g. absent(temperature) for 5m");
      }
      return new Condition(
          Kind.THRESHOLD,
          Aggregate.parse(m.group(1), t),
          m.group(2),
          Comparison.parse(m.group(3)),
          m.group(4) == null ? 0 : number(m.group(4), t),
          false,
          null,
          m.group(5));
    }
    throw new IllegalArgumentException("condition '" + t + "' is not understood; " + EXAMPLES);
  }

  private static double number(String text, String condition) {
    double value = Double.parseDouble(text);
    if (!Double.isFinite(value)) {
      throw new IllegalArgumentException(
          "condition '" + condition + "': threshold " + text + " is not a finite number");
    }
    return value;
  }

  /** Whether this condition looks at windows of {@code statsMetric}. */
  public boolean watches(String statsMetric) {
    return metric.equals(statsMetric) || (kind == Kind.ABSENCE && ANY_METRIC.equals(metric));
  }

  /** The canonical text; {@code parse(c.toString())} equals {@code c}. */
  @Override
  public String toString() {
    String inner = kind == Kind.ABSENCE ? null : aggregate.text() + "(" + metric + ")";
    switch (kind) {
      case THRESHOLD:
        return inner
            + " "
            + comparison.symbol()
            + " "
            + (thresholdColumn == null ? compact(threshold) : "ref." + thresholdColumn);
      case RATE_OF_CHANGE:
        return "change("
            + inner
            + ") "
            + comparison.symbol()
            + " "
            + compact(threshold)
            + (percent ? "%" : "");
      case ANOMALY:
        return "zscore(" + inner + ") " + comparison.symbol() + " " + compact(threshold);
      case ABSENCE:
        return "absent(" + metric + ") for " + DurationText.format(silentFor);
      default:
        throw new AssertionError(kind);
    }
  }

  /** A number as short text: integers without a fraction, others to 6 significant digits. */
  public static String compact(double value) {
    if (!Double.isFinite(value)) {
      return Double.toString(value);
    }
    if (value == Math.rint(value) && Math.abs(value) < 1e15) {
      return Long.toString((long) value);
    }
    double abs = Math.abs(value);
    if (abs >= 1e-6 && abs < 1e15) {
      return new BigDecimal(value).round(new MathContext(6)).stripTrailingZeros().toPlainString();
    }
    return String.format(Locale.ROOT, "%.6g", value);
  }
}

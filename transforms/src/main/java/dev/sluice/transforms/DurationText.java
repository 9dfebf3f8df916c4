package dev.sluice.transforms;

import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.joda.time.Duration;

/**
 * Durations written as text in rules and pipeline specs: a whole number and a unit, {@code 500ms},
 * {@code 30s}, {@code 5m}, {@code 2h}, {@code 1d}.
 */
public final class DurationText {
  private static final Pattern FORM = Pattern.compile("(\\d{1,12})\\s*(ms|s|m|h|d)");

  private DurationText() {}

  /**
   * Parses {@code text}; {@code field} names the setting in the error message.
   *
   * @throws IllegalArgumentException naming the field and the text when it is not a duration
   */
  public static Duration parse(String field, String text) {
    Matcher m = text == null ? null : FORM.matcher(text.trim());
    if (m == null || !m.matches()) {
      throw new IllegalArgumentException(
          field
              + ": "
              + (text == null ? "null" : "\"" + text + "\"")
              + " is not a duration; use 500ms, 30s, 5m, 2h, 1d");
    }
    long n = Long.parseLong(m.group(1));
    switch (m.group(2)) {
      case "ms":
        return Duration.millis(n);
      case "s":
        return Duration.standardSeconds(n);
      case "m":
        return Duration.standardMinutes(n);
      case "h":
        return Duration.standardHours(n);
      default:
        return Duration.standardDays(n);
    }
  }

  /** The shortest exact text for {@code d}, e.g. {@code 90s}, {@code 5m}, {@code 1500ms}. */
  public static String format(Duration d) {
    long ms = d.getMillis();
    long[] units = {86_400_000L, 3_600_000L, 60_000L, 1000L};
    String[] names = {"d", "h", "m", "s"};
    for (int i = 0; i < units.length; i++) {
      if (ms != 0 && ms % units[i] == 0) {
        return (ms / units[i]) + names[i];
      }
    }
    return ms + "ms";
  }
}

package dev.sluice.rules;

import java.io.Serializable;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An alert message with placeholders in braces: {@code {rule_id}}, {@code {rule_version}}, {@code
 * {key}}, {@code {metric}}, {@code {status}}, {@code {severity}}, {@code {value}}, {@code
 * {threshold}}, {@code {condition}}, {@code {window_start}}, {@code {window_end}} and {@code
 * {label.NAME}} for a label of the rule. Unknown placeholders are rejected when the rule is built.
 */
public record MessageTemplate(String text) implements Serializable {
  static final Set<String> NAMES =
      Set.of(
          "rule_id",
          "rule_version",
          "key",
          "metric",
          "status",
          "severity",
          "value",
          "threshold",
          "condition",
          "window_start",
          "window_end");

  private static final Pattern PLACEHOLDER = Pattern.compile("\\{([^{}]*)}");

  // After NAMES and PLACEHOLDER, which its construction uses.
  public static final MessageTemplate DEFAULT =
      new MessageTemplate("{status} {severity}: {condition} for key {key} (value {value})");

  public MessageTemplate {
    if (text == null || text.isBlank()) {
      throw new IllegalArgumentException("message must not be blank");
    }
    if (text.length() > 2000) {
      throw new IllegalArgumentException("message must be at most 2000 characters");
    }
    Matcher m = PLACEHOLDER.matcher(text);
    while (m.find()) {
      String name = m.group(1);
      if (!NAMES.contains(name) && !name.matches("label\\.[A-Za-z0-9_.-]+")) {
        throw new IllegalArgumentException(
            "message: unknown placeholder {"
                + name
                + "}; use "
                + String.join(", ", NAMES.stream().sorted().map(n -> "{" + n + "}").toList())
                + " or {label.NAME}");
      }
    }
  }

  /** Fills the placeholders; a {@code {label.NAME}} of a label the rule lacks becomes empty. */
  public String render(Map<String, String> values, Map<String, String> labels) {
    Matcher m = PLACEHOLDER.matcher(text);
    StringBuilder out = new StringBuilder(text.length() + 64);
    while (m.find()) {
      String name = m.group(1);
      String value =
          name.startsWith("label.")
              ? labels.getOrDefault(name.substring("label.".length()), "")
              : values.getOrDefault(name, "");
      m.appendReplacement(out, Matcher.quoteReplacement(value));
    }
    m.appendTail(out);
    return out.toString();
  }
}

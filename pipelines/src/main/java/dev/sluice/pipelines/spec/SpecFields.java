package dev.sluice.pipelines.spec;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.transforms.DurationText;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import org.joda.time.Duration;

/**
 * Typed reads of one spec's YAML fields; every one names the path (and so the file and line) in its
 * error. Shared by {@link SpecReader} and the readers of its sections.
 */
final class SpecFields {
  final LocatedYaml yaml;

  SpecFields(LocatedYaml yaml) {
    this.yaml = yaml;
  }

  JsonNode map(JsonNode node, String path) {
    if (node == null || !node.isObject()) {
      throw yaml.error(path, "must be a map (key: value lines), got " + describe(node));
    }
    return node;
  }

  JsonNode required(JsonNode parent, String base, String key) {
    JsonNode node = parent.get(key);
    if (node == null || node.isNull()) {
      throw yaml.error(join(base, key), "required");
    }
    return node;
  }

  void allowOnly(JsonNode node, String base, String... keys) {
    List<String> allowed = List.of(keys);
    for (Iterator<String> names = node.fieldNames(); names.hasNext(); ) {
      String name = names.next();
      if (!allowed.contains(name)) {
        throw yaml.error(
            join(base, name), "unknown key; allowed here: " + String.join(", ", allowed));
      }
    }
  }

  String requiredText(JsonNode parent, String base, String key) {
    String value = text(parent, base, key, null);
    if (value == null || value.isBlank()) {
      throw yaml.error(join(base, key), "required (a non-empty text)");
    }
    return value;
  }

  String text(JsonNode parent, String base, String key, String defaultValue) {
    JsonNode node = parent.get(key);
    if (node == null || node.isNull()) {
      return defaultValue;
    }
    if (!node.isTextual() && !node.isNumber()) {
      throw yaml.error(join(base, key), "must be a text, got " + describe(node));
    }
    return node.asText();
  }

  List<String> texts(JsonNode parent, String base, String key) {
    JsonNode node = parent.get(key);
    List<String> values = new ArrayList<>();
    if (node == null || node.isNull()) {
      return values;
    }
    if (!node.isArray()) {
      throw yaml.error(join(base, key), "must be a list, e.g. [a, b], got " + describe(node));
    }
    for (int i = 0; i < node.size(); i++) {
      JsonNode item = node.get(i);
      if (!item.isTextual() || item.asText().isBlank()) {
        throw yaml.error(join(base, key) + "[" + i + "]", "must be a non-empty text");
      }
      values.add(item.asText());
    }
    return values;
  }

  String oneOf(
      JsonNode parent, String base, String key, List<String> allowed, String defaultValue) {
    String value = text(parent, base, key, defaultValue);
    if (value == null) {
      throw yaml.error(join(base, key), "required; one of " + String.join(", ", allowed));
    }
    if (!allowed.contains(value)) {
      throw yaml.error(
          join(base, key),
          "\"" + value + "\" is not allowed; use one of " + String.join(", ", allowed));
    }
    return value;
  }

  long integer(JsonNode parent, String base, String key, long def, long min, long max) {
    JsonNode node = parent.get(key);
    if (node == null || node.isNull()) {
      return def;
    }
    if (!node.isIntegralNumber() || node.asLong() < min || node.asLong() > max) {
      throw yaml.error(
          join(base, key),
          "must be a whole number from " + min + " to " + max + ", got " + describe(node));
    }
    return node.asLong();
  }

  double number(JsonNode parent, String base, String key, double def, double min, double max) {
    JsonNode node = parent.get(key);
    if (node == null || node.isNull()) {
      return def;
    }
    if (!node.isNumber() || node.asDouble() < min || node.asDouble() > max) {
      throw yaml.error(
          join(base, key),
          "must be a number from " + min + " to " + max + ", got " + describe(node));
    }
    return node.asDouble();
  }

  boolean bool(JsonNode parent, String base, String key, boolean def) {
    JsonNode node = parent.get(key);
    if (node == null || node.isNull()) {
      return def;
    }
    if (!node.isBoolean()) {
      throw yaml.error(join(base, key), "must be true or false, got " + describe(node));
    }
    return node.asBoolean();
  }

  Duration duration(JsonNode parent, String base, String key, Duration def, boolean required) {
    JsonNode node = parent.get(key);
    String path = join(base, key);
    if (node == null || node.isNull()) {
      if (required) {
        throw yaml.error(path, "required: a duration such as 30s, 1m, 2h");
      }
      return def;
    }
    Duration d;
    try {
      d = DurationText.parse("", node.isTextual() ? node.asText() : node.toString());
    } catch (IllegalArgumentException e) {
      throw yaml.error(path, e.getMessage().substring(2));
    }
    if (required && d.getMillis() == 0) {
      throw yaml.error(path, "must be longer than 0, got " + node.asText());
    }
    return d;
  }

  /**
   * A local path as an absolute one (relative to the working directory of {@code validate} or
   * {@code run}), so it means the same on a cluster's workers; URLs ({@code gs://...}) stay.
   */
  static String local(String path) {
    if (path == null || path.contains("://")) {
      return path;
    }
    return Path.of(path).toAbsolutePath().normalize().toString();
  }

  static String join(String base, String key) {
    return base.isEmpty() ? key : base + "." + key;
  }

  static String describe(JsonNode node) {
    if (node == null || node.isNull()) {
      return "nothing";
    }
    if (node.isTextual()) {
      return "\"" + node.asText() + "\"";
    }
    if (node.isObject()) {
      return "a map";
    }
    if (node.isArray()) {
      return "a list";
    }
    return node.toString().toLowerCase(Locale.ROOT);
  }
}

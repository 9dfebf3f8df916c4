package dev.sluice.transforms;

import com.google.auto.value.AutoValue;
import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * Where {@link ParseEvents} finds an event's parts in a JSON payload. Field names are paths: a
 * dotted path such as {@code device.id} walks into nested objects.
 *
 * <pre>{@code
 * // {"id":"r-1","device":{"id":"d-7"},"ts":1767225600000,"readings":{"temp":21.5,"hum":40}}
 * FieldMapping mapping = FieldMapping.contract()
 *     .withEventIdField("id")
 *     .withKeyField("device.id")
 *     .withTimeField("ts", TimeFormat.EPOCH_MILLIS)
 *     .withValueFields(Map.of("temperature", "readings.temp", "humidity", "readings.hum"))
 *     .withAttributeFields(List.of("site"));
 * }</pre>
 *
 * <p>{@link #contract()} is the Sluice event contract: {@code event_id}, {@code key}, {@code
 * metric} and {@code value}, {@code event_time} in ISO-8601, and all string-valued members of the
 * {@code attributes} object. With {@link #withValueFields} each named value field becomes one event
 * whose metric is the map's key; every value field must be present.
 */
@AutoValue
public abstract class FieldMapping implements Serializable {

  /** How the event-time field is written. */
  public enum TimeFormat {
    /** Text such as {@code 2026-01-01T00:00:00Z} or {@code 2026-01-01T01:00:00+01:00}. */
    ISO_8601,
    /** A whole number of milliseconds since the epoch. */
    EPOCH_MILLIS,
    /** A number of seconds since the epoch, possibly with a fraction. */
    EPOCH_SECONDS
  }

  private static final Pattern PATH = Pattern.compile("[A-Za-z0-9_$@-]+(\\.[A-Za-z0-9_$@-]+)*");

  public abstract String eventIdField();

  public abstract String keyField();

  public abstract String timeField();

  public abstract TimeFormat timeFormat();

  /** Contract mode: the field holding the metric name; {@code null} when value fields are named. */
  public abstract @Nullable String metricField();

  /** Contract mode: the field holding the value. */
  public abstract @Nullable String valueField();

  /** Metric name to the path of its numeric field; empty in contract mode. */
  public abstract Map<String, String> valueFields();

  /** Paths of attributes to keep; {@code null} keeps every member of {@code attributes}. */
  public abstract @Nullable List<String> attributeFields();

  abstract Builder toBuilder();

  /** The Sluice event contract (see the class comment). */
  public static FieldMapping contract() {
    return new AutoValue_FieldMapping.Builder()
        .setEventIdField("event_id")
        .setKeyField("key")
        .setTimeField("event_time")
        .setTimeFormat(TimeFormat.ISO_8601)
        .setMetricField("metric")
        .setValueField("value")
        .setValueFields(Map.of())
        .setAttributeFields(null)
        .build();
  }

  public FieldMapping withEventIdField(String path) {
    return toBuilder().setEventIdField(checkPath("eventIdField", path)).build();
  }

  public FieldMapping withKeyField(String path) {
    return toBuilder().setKeyField(checkPath("keyField", path)).build();
  }

  public FieldMapping withTimeField(String path, TimeFormat format) {
    Checks.notNull("timeFormat", format);
    return toBuilder().setTimeField(checkPath("timeField", path)).setTimeFormat(format).build();
  }

  /**
   * Named numeric fields, each of which becomes an event whose metric is the map key, instead of a
   * metric field and a value field.
   */
  public FieldMapping withValueFields(Map<String, String> metricToPath) {
    Checks.notNull("valueFields", metricToPath);
    if (metricToPath.isEmpty()) {
      throw new IllegalArgumentException("valueFields must name at least one field, got {}");
    }
    for (String metric : metricToPath.keySet()) {
      Checks.notBlank("valueFields metric name", metric);
    }
    Map<String, String> copy = new LinkedHashMap<>();
    metricToPath.entrySet().stream()
        .sorted(Map.Entry.comparingByKey())
        .forEach(
            entry -> {
              Checks.notBlank("valueFields metric name", entry.getKey());
              copy.put(
                  entry.getKey(),
                  checkPath("valueFields[" + entry.getKey() + "]", entry.getValue()));
            });
    return toBuilder()
        .setMetricField(null)
        .setValueField(null)
        .setValueFields(java.util.Collections.unmodifiableMap(copy))
        .build();
  }

  /** Contract mode with other field names for the metric name and the value. */
  public FieldMapping withMetricAndValueFields(String metricPath, String valuePath) {
    return toBuilder()
        .setMetricField(checkPath("metricField", metricPath))
        .setValueField(checkPath("valueField", valuePath))
        .setValueFields(Map.of())
        .build();
  }

  /** Keeps exactly these attribute paths (missing ones are skipped); the path is the name. */
  public FieldMapping withAttributeFields(List<String> paths) {
    Checks.notNull("attributeFields", paths);
    for (int i = 0; i < paths.size(); i++) {
      checkPath("attributeFields[" + i + "]", paths.get(i));
    }
    return toBuilder().setAttributeFields(List.copyOf(paths)).build();
  }

  /** Splits a dotted path into its member names. */
  static String[] segments(String path) {
    return path.split("\\.");
  }

  private static String checkPath(String name, String path) {
    Checks.notNull(name, path);
    if (!PATH.matcher(path).matches()) {
      throw new IllegalArgumentException(
          name + " must be a field name or dotted path such as device.id, got '" + path + "'");
    }
    return path;
  }

  @AutoValue.Builder
  abstract static class Builder {
    abstract Builder setEventIdField(String value);

    abstract Builder setKeyField(String value);

    abstract Builder setTimeField(String value);

    abstract Builder setTimeFormat(TimeFormat value);

    abstract Builder setMetricField(@Nullable String value);

    abstract Builder setValueField(@Nullable String value);

    abstract Builder setValueFields(Map<String, String> value);

    abstract Builder setAttributeFields(@Nullable List<String> value);

    abstract FieldMapping build();
  }
}

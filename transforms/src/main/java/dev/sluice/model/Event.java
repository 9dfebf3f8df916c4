package dev.sluice.model;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.Serializable;
import java.util.Collections;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import org.apache.beam.sdk.coders.CoderProvider;
import org.apache.beam.sdk.coders.CoderProviders;
import org.apache.beam.sdk.coders.DefaultCoder;
import org.apache.beam.sdk.values.TypeDescriptor;
import org.joda.time.Instant;

/**
 * One measurement: {@code value} of {@code metric} for {@code key} at {@code eventTime}.
 *
 * <p>JSON (contract field names): {@code {"event_id":"e-1","key":"sensor-1","metric":"temperature",
 * "value":21.5,"event_time":"2026-01-01T00:00:00.000Z","attributes":{"site":"berlin"}}}.
 *
 * <p>Immutable; {@code attributes} is a sorted, unmodifiable copy so that equal events encode to
 * equal bytes.
 */
@DefaultCoder(Event.EventCoder.class)
public record Event(
    String eventId,
    String key,
    String metric,
    double value,
    Instant eventTime,
    SortedMap<String, String> attributes)
    implements Serializable {

  public Event {
    requireNonNull(eventId, "eventId");
    requireNonNull(key, "key");
    requireNonNull(metric, "metric");
    requireNonNull(eventTime, "eventTime");
    attributes =
        attributes == null || attributes.isEmpty()
            ? Collections.emptySortedMap()
            : Collections.unmodifiableSortedMap(new TreeMap<>(attributes));
  }

  /** An event without attributes. */
  public static Event of(
      String eventId, String key, String metric, double value, Instant eventTime) {
    return new Event(eventId, key, metric, value, eventTime, null);
  }

  /** Returns a copy with the given attributes. */
  public Event withAttributes(Map<String, String> newAttributes) {
    return new Event(
        eventId,
        key,
        metric,
        value,
        eventTime,
        newAttributes == null ? null : new TreeMap<>(newAttributes));
  }

  /** Serialises with the contract's field names. */
  public String toJson() {
    return JsonSupport.writeObject(
        gen -> {
          gen.writeStringField("event_id", eventId);
          gen.writeStringField("key", key);
          gen.writeStringField("metric", metric);
          gen.writeNumberField("value", value);
          JsonSupport.writeInstant(gen, "event_time", eventTime);
          JsonSupport.writeStringMap(gen, "attributes", attributes);
        });
  }

  /**
   * Reads an event written by {@link #toJson()}. Strict: for untrusted input with dead letters use
   * {@code ParseEvents}.
   *
   * @throws IllegalArgumentException naming the first field that is missing or of the wrong type
   */
  public static Event fromJson(String json) {
    JsonNode node = JsonSupport.readTree(json);
    SortedMap<String, String> attributes = JsonSupport.stringMap(node, "attributes");
    return new Event(
        JsonSupport.text(node, "event_id"),
        JsonSupport.text(node, "key"),
        JsonSupport.text(node, "metric"),
        JsonSupport.number(node, "value"),
        JsonSupport.instant(node, "event_time"),
        attributes);
  }

  /** Deterministic coder for {@link Event}. */
  public static final class EventCoder extends DeterministicCoder<Event> {
    private static final EventCoder INSTANCE = new EventCoder();

    /** Used by {@code @DefaultCoder}. */
    public static CoderProvider getCoderProvider() {
      return CoderProviders.forCoder(TypeDescriptor.of(Event.class), INSTANCE);
    }

    public static EventCoder of() {
      return INSTANCE;
    }

    @Override
    public void encode(Event event, OutputStream out) throws IOException {
      CoderSupport.writeString(event.eventId, out);
      CoderSupport.writeString(event.key, out);
      CoderSupport.writeString(event.metric, out);
      CoderSupport.writeDouble(event.value, out);
      CoderSupport.writeInstant(event.eventTime, out);
      CoderSupport.writeStringMap(event.attributes, out);
    }

    @Override
    public Event decode(InputStream in) throws IOException {
      String eventId = CoderSupport.readString(in);
      String key = CoderSupport.readString(in);
      String metric = CoderSupport.readString(in);
      double value = CoderSupport.readDouble(in);
      Instant eventTime = CoderSupport.readInstant(in);
      SortedMap<String, String> attributes = CoderSupport.readStringMap(in);
      return new Event(eventId, key, metric, value, eventTime, attributes);
    }

    @Override
    public boolean consistentWithEquals() {
      return true;
    }
  }
}

package dev.sluice.transforms;

import dev.sluice.model.DeterministicCoder;
import dev.sluice.model.Event;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;
import org.apache.beam.sdk.coders.ByteArrayCoder;
import org.apache.beam.sdk.coders.DoubleCoder;
import org.apache.beam.sdk.coders.NullableCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.coders.VarIntCoder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.checkerframework.checker.nullness.qual.Nullable;
import org.joda.time.Instant;

/**
 * What of an {@link Event} crosses the keyed exchange into {@code AggregateWindows}, whose element
 * key is the (key, metric): the value, the event time, the value of the attribute whose distinct
 * values are counted (if any), and the rest of the event (its id and attributes) as bytes that only
 * an event leaving through {@code late()} decodes. An accepted event costs the receiving side two
 * numbers and one copy of a byte array instead of four strings and a sorted map; key and metric are
 * no longer sent twice.
 */
final class ExchangedEvent {
  private static final StringUtf8Coder STRING = StringUtf8Coder.of();
  private static final VarIntCoder INT = VarIntCoder.of();
  private static final VarLongCoder LONG = VarLongCoder.of();
  private static final DoubleCoder DOUBLE = DoubleCoder.of();
  private static final ByteArrayCoder BYTES = ByteArrayCoder.of();
  private static final NullableCoder<String> NULLABLE_STRING = NullableCoder.of(STRING);

  final double value;
  final long eventTimeMillis;
  final @Nullable String distinctValue;

  /** The event id and the attributes, encoded. */
  private final byte[] rest;

  private ExchangedEvent(
      double value, long eventTimeMillis, @Nullable String distinctValue, byte[] rest) {
    this.value = value;
    this.eventTimeMillis = eventTimeMillis;
    this.distinctValue = distinctValue;
    this.rest = rest;
  }

  /** The part of {@code event} that crosses the exchange keyed by its (key, metric). */
  static ExchangedEvent of(Event event, @Nullable String distinctAttribute) {
    ByteArrayOutputStream rest = new ByteArrayOutputStream(64);
    try {
      STRING.encode(event.eventId(), rest);
      INT.encode(event.attributes().size(), rest);
      for (Map.Entry<String, String> attribute : event.attributes().entrySet()) {
        STRING.encode(attribute.getKey(), rest);
        STRING.encode(attribute.getValue(), rest);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e); // a ByteArrayOutputStream does not throw
    }
    return new ExchangedEvent(
        event.value(),
        event.eventTime().getMillis(),
        distinctAttribute == null ? null : event.attributes().get(distinctAttribute),
        rest.toByteArray());
  }

  /** The whole event again, with the (key, metric) of the element it came in. */
  Event toEvent(String key, String metric) {
    try {
      InputStream in = new ByteArrayInputStream(rest);
      String eventId = STRING.decode(in);
      int size = INT.decode(in);
      SortedMap<String, String> attributes = new TreeMap<>();
      for (int i = 0; i < size; i++) {
        attributes.put(STRING.decode(in), STRING.decode(in));
      }
      return new Event(eventId, key, metric, value, new Instant(eventTimeMillis), attributes);
    } catch (IOException e) {
      throw new UncheckedIOException("corrupt exchanged event", e);
    }
  }

  @Override
  public boolean equals(@Nullable Object other) {
    return other instanceof ExchangedEvent that
        && Double.compare(value, that.value) == 0
        && eventTimeMillis == that.eventTimeMillis
        && Objects.equals(distinctValue, that.distinctValue)
        && Arrays.equals(rest, that.rest);
  }

  @Override
  public int hashCode() {
    return Objects.hash(value, eventTimeMillis, distinctValue, Arrays.hashCode(rest));
  }

  @Override
  public String toString() {
    return "ExchangedEvent{value="
        + value
        + ", eventTime="
        + new Instant(eventTimeMillis)
        + ", distinctValue="
        + distinctValue
        + ", rest="
        + rest.length
        + " bytes}";
  }

  /** Coder of {@link ExchangedEvent}: value, event time, distinct value, the rest's bytes. */
  static final class ExchangedEventCoder extends DeterministicCoder<ExchangedEvent> {
    static final ExchangedEventCoder INSTANCE = new ExchangedEventCoder();

    @Override
    public void encode(ExchangedEvent event, OutputStream out) throws IOException {
      DOUBLE.encode(event.value, out);
      LONG.encode(event.eventTimeMillis, out);
      NULLABLE_STRING.encode(event.distinctValue, out);
      BYTES.encode(event.rest, out);
    }

    @Override
    public ExchangedEvent decode(InputStream in) throws IOException {
      return new ExchangedEvent(
          DOUBLE.decode(in), LONG.decode(in), NULLABLE_STRING.decode(in), BYTES.decode(in));
    }

    @Override
    public boolean consistentWithEquals() {
      return true;
    }
  }
}

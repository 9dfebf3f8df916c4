package dev.sluice.transforms;

import dev.sluice.model.CoderSupport;
import dev.sluice.model.DeterministicCoder;
import dev.sluice.model.Event;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import org.apache.beam.sdk.coders.ByteArrayCoder;
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
  private static final ByteArrayCoder BYTES = ByteArrayCoder.of();

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
      CoderSupport.writeString(event.eventId(), rest);
      CoderSupport.writeStringMap(event.attributes(), rest);
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
      String eventId = CoderSupport.readString(in);
      return new Event(
          eventId,
          key,
          metric,
          value,
          new Instant(eventTimeMillis),
          CoderSupport.readStringMap(in));
    } catch (IOException e) {
      throw new UncheckedIOException("corrupt exchanged event", e);
    }
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
      CoderSupport.writeDouble(event.value, out);
      CoderSupport.writeLong(event.eventTimeMillis, out);
      CoderSupport.writeNullableString(event.distinctValue, out);
      BYTES.encode(event.rest, out);
    }

    @Override
    public ExchangedEvent decode(InputStream in) throws IOException {
      return new ExchangedEvent(
          CoderSupport.readDouble(in),
          CoderSupport.readLong(in),
          CoderSupport.readNullableString(in),
          BYTES.decode(in));
    }
  }
}

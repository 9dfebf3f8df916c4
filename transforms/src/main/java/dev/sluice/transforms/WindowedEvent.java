package dev.sluice.transforms;

import dev.sluice.model.DeterministicCoder;
import dev.sluice.model.Event;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import org.apache.beam.sdk.coders.InstantCoder;
import org.joda.time.Instant;

/** An event with the window {@link WindowedAggregate} accepted it into. */
record WindowedEvent(Event event, Instant windowStart, Instant windowEnd) {

  /** Coder of {@link WindowedEvent}. */
  static final class WindowedEventCoder extends DeterministicCoder<WindowedEvent> {
    static final WindowedEventCoder INSTANCE = new WindowedEventCoder();
    private static final InstantCoder INSTANT = InstantCoder.of();

    @Override
    public void encode(WindowedEvent value, OutputStream out) throws IOException {
      Event.EventCoder.of().encode(value.event(), out);
      INSTANT.encode(value.windowStart(), out);
      INSTANT.encode(value.windowEnd(), out);
    }

    @Override
    public WindowedEvent decode(InputStream in) throws IOException {
      return new WindowedEvent(
          Event.EventCoder.of().decode(in), INSTANT.decode(in), INSTANT.decode(in));
    }
  }
}

package dev.sluice.model;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.Serializable;
import java.util.Locale;
import org.apache.beam.sdk.coders.CoderProvider;
import org.apache.beam.sdk.coders.CoderProviders;
import org.apache.beam.sdk.coders.DefaultCoder;
import org.apache.beam.sdk.values.TypeDescriptor;
import org.joda.time.Instant;

/**
 * An event that arrived after its window had closed (the watermark had passed the window's end plus
 * the allowed lateness), so it is not in that window's stats.
 *
 * <p>{@code latenessMillis} is how far the event time was behind the watermark when the event was
 * set aside: exact on runners whose timers show the watermark (Direct, Flink); on Beam's portable
 * harness a lower bound, since the transform learns the watermark there only from timers that have
 * fired.
 */
@DefaultCoder(LateEvent.LateEventCoder.class)
public record LateEvent(Event event, Instant windowStart, Instant windowEnd, long latenessMillis)
    implements Serializable {

  public LateEvent {
    requireNonNull(event, "event");
    requireNonNull(windowStart, "windowStart");
    requireNonNull(windowEnd, "windowEnd");
  }

  /** As a {@code TOO_LATE} dead letter whose payload is the event's contract JSON. */
  public DeadLetter toDeadLetter(String stage, Instant failedAt) {
    return DeadLetter.of(
        stage,
        DeadLetter.Reason.TOO_LATE,
        String.format(
            Locale.ROOT,
            "event time %s was at least %d ms behind the watermark, after window [%s, %s) had"
                + " closed",
            JsonSupport.formatInstant(event.eventTime()),
            latenessMillis,
            JsonSupport.formatInstant(windowStart),
            JsonSupport.formatInstant(windowEnd)),
        event.toJson(),
        null,
        failedAt);
  }

  /** Deterministic coder for {@link LateEvent}. */
  public static final class LateEventCoder extends DeterministicCoder<LateEvent> {
    private static final LateEventCoder INSTANCE = new LateEventCoder();

    /** Used by {@code @DefaultCoder}. */
    public static CoderProvider getCoderProvider() {
      return CoderProviders.forCoder(TypeDescriptor.of(LateEvent.class), INSTANCE);
    }

    public static LateEventCoder of() {
      return INSTANCE;
    }

    @Override
    public void encode(LateEvent value, OutputStream out) throws IOException {
      Event.EventCoder.of().encode(value.event, out);
      CoderSupport.writeInstant(value.windowStart, out);
      CoderSupport.writeInstant(value.windowEnd, out);
      CoderSupport.writeLong(value.latenessMillis, out);
    }

    @Override
    public LateEvent decode(InputStream in) throws IOException {
      return new LateEvent(
          Event.EventCoder.of().decode(in),
          CoderSupport.readInstant(in),
          CoderSupport.readInstant(in),
          CoderSupport.readLong(in));
    }

    @Override
    public boolean consistentWithEquals() {
      return true;
    }
  }
}

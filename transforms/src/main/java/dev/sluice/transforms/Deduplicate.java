package dev.sluice.transforms;

import com.google.auto.value.AutoValue;
import dev.sluice.model.Event;
import org.apache.beam.sdk.coders.BooleanCoder;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.state.StateSpec;
import org.apache.beam.sdk.state.StateSpecs;
import org.apache.beam.sdk.state.TimeDomain;
import org.apache.beam.sdk.state.Timer;
import org.apache.beam.sdk.state.TimerSpec;
import org.apache.beam.sdk.state.TimerSpecs;
import org.apache.beam.sdk.state.ValueState;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.transforms.windowing.GlobalWindow;
import org.apache.beam.sdk.transforms.windowing.GlobalWindows;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TypeDescriptor;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.joda.time.Duration;
import org.joda.time.Instant;

/**
 * Drops repeated deliveries of an event: the first event with a given (event id, metric) passes,
 * later ones with the same id and metric are dropped and counted ({@code duplicates_dropped}), for
 * as long as the watermark is within {@code horizon} of the first one's event time.
 *
 * <pre>{@code
 * PCollection<Event> unique =
 *     events.apply("DropDuplicates", Deduplicate.byEventId().withHorizon(Duration.standardMinutes(10)));
 * }</pre>
 *
 * <p>Keyed by event id and metric (a payload with several value fields yields events that share an
 * id). State is one flag per (id, metric) seen within the horizon, cleared by an event-time timer
 * when the watermark passes the first event's time plus the horizon, so memory is bounded by the
 * number of distinct ids in a horizon. The timer does not hold the watermark, so downstream windows
 * are not delayed. A repeat that arrives after its id's state was cleared is kept: choose a horizon
 * longer than the longest redelivery delay of the source. Works across bundles and workers (state
 * is per key); input must be in the global window, with event-time timestamps.
 */
@AutoValue
public abstract class Deduplicate extends PTransform<PCollection<Event>, PCollection<Event>> {

  public static final String METRICS_NAMESPACE = "sluice.dedup";
  public static final String DUPLICATES_DROPPED = "duplicates_dropped";

  abstract Duration horizon();

  abstract Builder toBuilder();

  /** Deduplicates by event id (and metric) within a horizon of 10 minutes of event time. */
  public static Deduplicate byEventId() {
    return new AutoValue_Deduplicate.Builder().setHorizon(Duration.standardMinutes(10)).build();
  }

  /** How long, in event time after an id's first event, repeats of it are recognised. */
  public Deduplicate withHorizon(Duration horizon) {
    Checks.positive("horizon", horizon);
    return toBuilder().setHorizon(horizon).build();
  }

  @Override
  public PCollection<Event> expand(PCollection<Event> events) {
    if (!(events.getWindowingStrategy().getWindowFn() instanceof GlobalWindows)) {
      throw new IllegalArgumentException(
          "Deduplicate keeps its state across windows; its input must be in the global window, got "
              + events.getWindowingStrategy().getWindowFn());
    }
    return events
        .apply(
            "KeyByEventIdAndMetric",
            MapElements.into(
                    TypeDescriptors.kvs(
                        TypeDescriptors.kvs(TypeDescriptors.strings(), TypeDescriptors.strings()),
                        TypeDescriptor.of(Event.class)))
                .via((Event e) -> KV.of(KV.of(e.eventId(), e.metric()), e)))
        .setCoder(
            KvCoder.of(
                KvCoder.of(StringUtf8Coder.of(), StringUtf8Coder.of()), Event.EventCoder.of()))
        .apply("DropRepeats", ParDo.of(new DropRepeatsFn(horizon())))
        .setCoder(Event.EventCoder.of());
  }

  @Override
  public void populateDisplayData(DisplayData.Builder builder) {
    super.populateDisplayData(builder);
    builder.add(DisplayData.item("horizon", horizon()));
  }

  @AutoValue.Builder
  abstract static class Builder {
    abstract Builder setHorizon(Duration value);

    abstract Deduplicate build();
  }

  private static final class DropRepeatsFn extends DoFn<KV<KV<String, String>, Event>, Event> {
    private final Duration horizon;
    private final Counter dropped = Metrics.counter(METRICS_NAMESPACE, DUPLICATES_DROPPED);

    @StateId("seen")
    private final StateSpec<ValueState<Boolean>> seenSpec = StateSpecs.value(BooleanCoder.of());

    @TimerId("expire")
    private final TimerSpec expireSpec = TimerSpecs.timer(TimeDomain.EVENT_TIME);

    DropRepeatsFn(Duration horizon) {
      this.horizon = horizon;
    }

    @ProcessElement
    public void process(
        @Element KV<KV<String, String>, Event> element,
        @Timestamp Instant timestamp,
        @StateId("seen") ValueState<Boolean> seen,
        @TimerId("expire") Timer expire,
        OutputReceiver<Event> out) {
      if (Boolean.TRUE.equals(seen.read())) {
        dropped.inc();
        return;
      }
      seen.write(true);
      Instant expiry = timestamp.plus(horizon);
      if (expiry.isAfter(GlobalWindow.INSTANCE.maxTimestamp())) {
        expiry = GlobalWindow.INSTANCE.maxTimestamp();
      }
      // No output timestamp: clearing state must not hold back the watermark downstream.
      expire.withNoOutputTimestamp().set(expiry);
      out.output(element.getValue());
    }

    @OnTimer("expire")
    public void onExpire(@StateId("seen") ValueState<Boolean> seen) {
      seen.clear();
    }
  }
}

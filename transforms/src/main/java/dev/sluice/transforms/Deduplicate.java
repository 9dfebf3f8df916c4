package dev.sluice.transforms;

import com.google.auto.value.AutoValue;
import dev.sluice.model.Event;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import org.apache.beam.sdk.coders.CoderException;
import org.apache.beam.sdk.coders.CustomCoder;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.coders.VarIntCoder;
import org.apache.beam.sdk.coders.VarLongCoder;
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
 * Drops repeated deliveries of an event: the first event with a given (key, event id, metric)
 * passes, later ones with the same key, id and metric are dropped and counted ({@code
 * duplicates_dropped}), for at least {@code horizon} of event time after the first one's event
 * time. A redelivery is the same record again, so it has the same key; two records that share an id
 * but not a key are two events, and both pass.
 *
 * <pre>{@code
 * PCollection<Event> unique =
 *     events.apply("DropDuplicates", Deduplicate.byEventId().withHorizon(Duration.standardMinutes(10)));
 * }</pre>
 *
 * <p><b>How.</b> Events are keyed by a shard, a stable hash of (key, metric) modulo {@link
 * #withShards shards} (default {@value #DEFAULT_SHARDS}); a payload with several value fields
 * yields events that share an id, so the metric is part of the identity. Sharding by the key and
 * metric that the windowed aggregation downstream is keyed by keeps each (key, metric)'s events in
 * one shard: a runner that hands a stateful step's output on per key (the Direct runner does, one
 * bundle per shard) then gives the aggregation each (key, metric) in one bundle, not spread over
 * many (sharded by id, the Direct runner's aggregation took 6 times as long). Each shard keeps the
 * ids it has seen in one value state, bucketed by event-time slice ({@value #SLICES_PER_HORIZON}
 * slices per horizon; an id goes in the slice of its first event's time), and has one event-time
 * timer, at the expiry of its oldest slice (the slice's end plus the horizon), which drops that
 * slice's ids and moves on to the next. So the work per event is a lookup and an insert, whatever
 * the horizon: no timer per id, and a shard's timer moves only when its oldest slice changes. The
 * timer does not hold the watermark, so downstream windows are not delayed.
 *
 * <p><b>Guarantee.</b> A repeat is recognised while the watermark is before its id's first event
 * time plus the horizon; it may also be recognised up to one slice ({@code horizon / }{@value
 * #SLICES_PER_HORIZON}) longer, as an id is forgotten with its whole slice. A repeat that arrives
 * after that is kept: choose a horizon longer than the longest redelivery delay of the source.
 * Memory is bounded by the number of distinct ids in a horizon and a slice. Works across bundles
 * and workers (state is per shard); input must be in the global window, with event-time timestamps;
 * bounded or unbounded.
 *
 * <p><b>State compatibility (a deliberate version break).</b> Since the sliced layout the stateful
 * step is {@code DropRepeatsBySlice} (before: {@code DropRepeats}), keyed by shard, with the state
 * {@code seenBySlice} and the timer {@code expireSlices}; before, a flag {@code seen} and a timer
 * {@code expire} per (id, metric). A checkpoint or savepoint taken before does not restore this
 * step's state: {@code ./sluice run} refuses to resume it ({@code dedup} in the state settings now
 * names the layout, {@value #STATE_LAYOUT}); {@code --accept-state-changes} resumes the other steps
 * and skips the old step's state, so the ids seen before are forgotten once and repeats of events
 * from before the restart pass. The number of shards is part of the layout too, and so is what a
 * shard is a hash of: the layout {@value #STATE_LAYOUT} shards by (key, metric), the layout {@code
 * seenBySlice} before it by (event id, metric).
 */
@AutoValue
public abstract class Deduplicate extends PTransform<PCollection<Event>, PCollection<Event>> {

  public static final String METRICS_NAMESPACE = "sluice.dedup";
  public static final String DUPLICATES_DROPPED = "duplicates_dropped";

  /** The default number of shards; part of the state layout. */
  public static final int DEFAULT_SHARDS = 64;

  /** How many event-time slices a horizon is cut into: ids are forgotten a slice at a time. */
  public static final int SLICES_PER_HORIZON = 8;

  /**
   * The version of this transform's state layout; a resume that finds another one must not reuse
   * this step's state (the launcher keeps it with the checkpoints of jobs that deduplicate).
   */
  public static final String STATE_LAYOUT = "seenBySlice, shards by key";

  abstract Duration horizon();

  abstract int shards();

  abstract Builder toBuilder();

  /** Deduplicates by event id (and metric) within a horizon of 10 minutes of event time. */
  public static Deduplicate byEventId() {
    return new AutoValue_Deduplicate.Builder()
        .setHorizon(Duration.standardMinutes(10))
        .setShards(DEFAULT_SHARDS)
        .build();
  }

  /** How long, in event time after an id's first event, repeats of it are recognised. */
  public Deduplicate withHorizon(Duration horizon) {
    Checks.positive("horizon", horizon);
    return toBuilder().setHorizon(horizon).build();
  }

  /**
   * How many keys the seen ids are spread over: more shards make each key's state smaller (a state
   * backend that serializes values, such as RocksDB, reads and writes a whole shard per event),
   * fewer make fewer keys and, on the Direct runner, fewer bundles downstream (measured with the
   * dedup benchmark, 100,000 events on Direct, on/off: 1,024 shards 2.1x, 128 2.0x, 64 1.2-1.4x).
   * The default, {@value #DEFAULT_SHARDS}, spreads the step over up to 64 parallel workers; a job
   * whose dedup step needs more, or whose state is in RocksDB, sets more. Part of the state layout:
   * a job resumed with another number must start this step's state fresh.
   */
  public Deduplicate withShards(int shards) {
    Checks.positive("shards", shards);
    return toBuilder().setShards(shards).build();
  }

  /** The width of one slice of event time: the horizon over {@value #SLICES_PER_HORIZON}. */
  static long sliceMillis(Duration horizon) {
    return Math.max(1, (horizon.getMillis() + SLICES_PER_HORIZON - 1) / SLICES_PER_HORIZON);
  }

  /** The shard of a (key, metric): a stable hash (String.hashCode is specified), spread. */
  static int shardOf(String key, String metric, int shards) {
    long h = key.hashCode() * 31L + metric.hashCode();
    h = (h ^ (h >>> 33)) * 0xFF51AFD7ED558CCDL;
    h ^= h >>> 33;
    return (int) Math.floorMod(h, (long) shards);
  }

  /** One string per (key, id, metric), unambiguous whatever characters any of them holds. */
  static String idKey(String key, String eventId, String metric) {
    return key.length() + ":" + key + eventId.length() + ":" + eventId + metric;
  }

  @Override
  public PCollection<Event> expand(PCollection<Event> events) {
    if (!(events.getWindowingStrategy().getWindowFn() instanceof GlobalWindows)) {
      throw new IllegalArgumentException(
          "Deduplicate keeps its state across windows; its input must be in the global window, got "
              + events.getWindowingStrategy().getWindowFn());
    }
    int shards = shards();
    return events
        .apply(
            "KeyByShard",
            MapElements.into(
                    TypeDescriptors.kvs(TypeDescriptors.integers(), TypeDescriptor.of(Event.class)))
                .via((Event e) -> KV.of(shardOf(e.key(), e.metric(), shards), e)))
        .setCoder(KvCoder.of(VarIntCoder.of(), Event.EventCoder.of()))
        .apply("DropRepeatsBySlice", ParDo.of(new DropRepeatsFn(horizon())))
        .setCoder(Event.EventCoder.of());
  }

  @Override
  public void populateDisplayData(DisplayData.Builder builder) {
    super.populateDisplayData(builder);
    builder.add(DisplayData.item("horizon", horizon()));
    builder.add(DisplayData.item("shards", shards()));
    builder.add(DisplayData.item("sliceMillis", sliceMillis(horizon())));
  }

  @AutoValue.Builder
  abstract static class Builder {
    abstract Builder setHorizon(Duration value);

    abstract Builder setShards(int value);

    abstract Deduplicate build();
  }

  /**
   * The ids one shard has seen, by slice: the end (exclusive, epoch millis) of the event-time slice
   * of each id's first event, and an index from id to its slice for the lookup per event.
   */
  static final class SeenIds {
    private final TreeMap<Long, List<String>> slices = new TreeMap<>();
    private final HashMap<String, Long> index = new HashMap<>();

    boolean contains(String idKey) {
      return index.containsKey(idKey);
    }

    /** Adds an id (not contained) to the slice ending at {@code sliceEnd}. */
    void add(String idKey, long sliceEnd) {
      slices.computeIfAbsent(sliceEnd, end -> new ArrayList<>()).add(idKey);
      index.put(idKey, sliceEnd);
    }

    boolean isEmpty() {
      return slices.isEmpty();
    }

    /** The end of the oldest slice; only when not {@link #isEmpty}. */
    long oldestSliceEnd() {
      return slices.firstKey();
    }

    /** Forgets the slices that end at or before {@code end}. */
    void dropSlicesEndingBy(long end) {
      while (!slices.isEmpty() && slices.firstKey() <= end) {
        for (String idKey : slices.pollFirstEntry().getValue()) {
          index.remove(idKey);
        }
      }
    }

    int size() {
      return index.size();
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof SeenIds && ((SeenIds) o).index.equals(index);
    }

    @Override
    public int hashCode() {
      return index.hashCode();
    }

    @Override
    public String toString() {
      return "SeenIds" + slices;
    }
  }

  /** The coder of a shard's state: slices in order, each its end and its ids. */
  static final class SeenIdsCoder extends CustomCoder<SeenIds> {
    private static final long serialVersionUID = 1L;
    private static final SeenIdsCoder INSTANCE = new SeenIdsCoder();
    private static final VarIntCoder INTS = VarIntCoder.of();
    private static final VarLongCoder LONGS = VarLongCoder.of();
    private static final StringUtf8Coder STRINGS = StringUtf8Coder.of();

    static SeenIdsCoder of() {
      return INSTANCE;
    }

    @Override
    public void encode(SeenIds value, OutputStream out) throws IOException {
      INTS.encode(value.slices.size(), out);
      for (Map.Entry<Long, List<String>> slice : value.slices.entrySet()) {
        LONGS.encode(slice.getKey(), out);
        INTS.encode(slice.getValue().size(), out);
        for (String idKey : slice.getValue()) {
          STRINGS.encode(idKey, out);
        }
      }
    }

    @Override
    public SeenIds decode(InputStream in) throws IOException {
      SeenIds seen = new SeenIds();
      int slices = INTS.decode(in);
      if (slices < 0) {
        throw new CoderException("negative slice count " + slices);
      }
      for (int s = 0; s < slices; s++) {
        long end = LONGS.decode(in);
        int ids = INTS.decode(in);
        if (ids < 0) {
          throw new CoderException("negative id count " + ids);
        }
        for (int i = 0; i < ids; i++) {
          seen.add(STRINGS.decode(in), end);
        }
      }
      return seen;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof SeenIdsCoder;
    }

    @Override
    public int hashCode() {
      return Objects.hash(SeenIdsCoder.class);
    }
  }

  private static final class DropRepeatsFn extends DoFn<KV<Integer, Event>, Event> {
    private final Duration horizon;
    private final long sliceMillis;
    private final Counter dropped = Metrics.counter(METRICS_NAMESPACE, DUPLICATES_DROPPED);

    // New ids (not "seen"/"expire" of the per-id layout): an old savepoint's state is not misread.
    @StateId("seenBySlice")
    private final StateSpec<ValueState<SeenIds>> seenSpec = StateSpecs.value(SeenIdsCoder.of());

    @TimerId("expireSlices")
    private final TimerSpec expireSpec = TimerSpecs.timer(TimeDomain.EVENT_TIME);

    DropRepeatsFn(Duration horizon) {
      this.horizon = horizon;
      this.sliceMillis = sliceMillis(horizon);
    }

    @ProcessElement
    public void process(
        @Element KV<Integer, Event> element,
        @Timestamp Instant timestamp,
        @StateId("seenBySlice") ValueState<SeenIds> state,
        @TimerId("expireSlices") Timer expire,
        OutputReceiver<Event> out) {
      Event event = element.getValue();
      String idKey = idKey(event.key(), event.eventId(), event.metric());
      SeenIds seen = state.read();
      if (seen == null) {
        seen = new SeenIds();
      } else if (seen.contains(idKey)) {
        dropped.inc();
        return;
      }
      long millis = timestamp.getMillis();
      long sliceEnd = millis - Math.floorMod(millis, sliceMillis) + sliceMillis;
      boolean newOldest = seen.isEmpty() || sliceEnd < seen.oldestSliceEnd();
      seen.add(idKey, sliceEnd);
      state.write(seen);
      if (newOldest) {
        setExpiry(expire, sliceEnd);
      }
      out.output(event);
    }

    @OnTimer("expireSlices")
    public void onExpire(
        OnTimerContext context,
        @StateId("seenBySlice") ValueState<SeenIds> state,
        @TimerId("expireSlices") Timer expire) {
      // The firing time: the timer's output timestamp (@Timestamp) is the end of time, as it has
      // none.
      Instant firedAt = context.fireTimestamp();
      SeenIds seen = state.read();
      if (seen == null) {
        return;
      }
      if (!firedAt.isBefore(GlobalWindow.INSTANCE.maxTimestamp())) {
        // The end of the input (expiries beyond the global window are capped to its end).
        state.clear();
        return;
      }
      // A slice expires when the watermark passes its end plus the horizon: every id in it was
      // first seen at least a horizon before.
      seen.dropSlicesEndingBy(firedAt.minus(horizon).getMillis());
      if (seen.isEmpty()) {
        state.clear();
        return;
      }
      state.write(seen);
      setExpiry(expire, seen.oldestSliceEnd());
    }

    private void setExpiry(Timer expire, long sliceEnd) {
      Instant expiry = new Instant(sliceEnd).plus(horizon);
      if (expiry.isAfter(GlobalWindow.INSTANCE.maxTimestamp())) {
        expiry = GlobalWindow.INSTANCE.maxTimestamp();
      }
      // No output timestamp: clearing state must not hold back the watermark downstream.
      expire.withNoOutputTimestamp().set(expiry);
    }
  }
}

package dev.sluice.transforms;

import com.google.auto.value.AutoValue;
import dev.sluice.model.Event;
import dev.sluice.model.LateEvent;
import dev.sluice.model.PaneTiming;
import dev.sluice.model.WindowStats;
import java.util.EnumMap;
import java.util.Map;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.NullableCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.coders.VarIntCoder;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Distribution;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.Combine;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.transforms.Impulse;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.transforms.windowing.AfterPane;
import org.apache.beam.sdk.transforms.windowing.AfterProcessingTime;
import org.apache.beam.sdk.transforms.windowing.AfterWatermark;
import org.apache.beam.sdk.transforms.windowing.BoundedWindow;
import org.apache.beam.sdk.transforms.windowing.DefaultTrigger;
import org.apache.beam.sdk.transforms.windowing.FixedWindows;
import org.apache.beam.sdk.transforms.windowing.GlobalWindows;
import org.apache.beam.sdk.transforms.windowing.IntervalWindow;
import org.apache.beam.sdk.transforms.windowing.PaneInfo;
import org.apache.beam.sdk.transforms.windowing.Sessions;
import org.apache.beam.sdk.transforms.windowing.SlidingWindows;
import org.apache.beam.sdk.transforms.windowing.Trigger;
import org.apache.beam.sdk.transforms.windowing.Window;
import org.apache.beam.sdk.transforms.windowing.WindowFn;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionList;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.PInput;
import org.apache.beam.sdk.values.POutput;
import org.apache.beam.sdk.values.PValue;
import org.apache.beam.sdk.values.TupleTag;
import org.apache.beam.sdk.values.TupleTagList;
import org.apache.beam.sdk.values.TypeDescriptor;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.checkerframework.checker.nullness.qual.Nullable;
import org.joda.time.Duration;

/**
 * Aggregates events per (key, metric) over event-time windows into {@link WindowStats}: count, sum,
 * min, max, mean, population stddev, approximate p50/p95/p99 (KLL) and, when asked, the approximate
 * number of distinct values of one attribute (HLL).
 *
 * <pre>{@code
 * WindowedAggregate.Result result = events.apply("AggregateWindows",
 *     WindowedAggregate.sliding(Duration.standardMinutes(5), Duration.standardMinutes(1))
 *         .withAllowedLateness(Duration.standardMinutes(10))
 *         .withEarlyFiringsEvery(Duration.standardSeconds(30))
 *         .withDistinctCountOf("user_id"));
 * result.output();  // PCollection<WindowStats>: EARLY, ON_TIME, LATE panes; final=true once
 * result.late();    // PCollection<LateEvent>: events after their window had closed
 * }</pre>
 *
 * <p>Windows: {@link #tumbling}, {@link #sliding}, {@link #sessions}. The panes are exactly those
 * of Beam's own windowing ({@code Window.into(...)} with the same trigger, accumulating panes and
 * the allowed lateness, closing behaviour {@code FIRE_ALWAYS} when there is lateness), which the
 * project's differential test checks pane by pane on randomized scripts: each window emits its
 * on-time pane when the watermark passes its end; with {@link #withEarlyFiringsEvery} also
 * speculative {@code EARLY} panes; with allowed lateness a {@code LATE} pane for late data ({@link
 * #withLateFiringsEvery}) and a closing pane when the window expires. Panes accumulate: each is the
 * window's result so far, so a sink can upsert it.
 *
 * <p>What a sink can rely on ({@code final=true} is Beam's last pane of the window):
 *
 * <ul>
 *   <li>Tumbling and sliding: every window that accepted an event has exactly one final pane, the
 *       last one it emits: the on-time pane without allowed lateness (or when the watermark passed
 *       the window's end and its expiry at once), else the closing pane.
 *   <li>Sessions: every accepted event is counted in exactly one final pane. A session that merged
 *       into a larger one (a later event of the key bridged the gap while the session was still
 *       open) gets no final pane; its last pane is superseded by the final pane of the same key and
 *       metric whose window contains it. A session that has expired is never reopened: a later
 *       event starts a new session, as in Beam.
 * </ul>
 *
 * <p>Late data is an output, not a loss: an event whose window had closed ({@code window end +
 * allowed lateness} before the watermark) when it arrived leaves through {@link Result#late()} with
 * how far behind the watermark it was, and is counted in {@code late_events}; these are exactly the
 * (event, window) pairs Beam's windowing drops. The decision is made before aggregating, per shard
 * of (key, metric)s, from evidence every runner gives (see {@code LateDataGate}): with the runner's
 * watermark as the timer clock (Direct, Flink, Dataflow's legacy worker) it is exact; on Beam's
 * portable harness (Dataflow Runner v2), whose timer clock shows the element's timestamp, it rests
 * on fired timers and a watermark hold, so that the aggregation accepts every event the decision
 * accepted: nothing is dropped there either, but an event within one evidence step (a window end or
 * closing, or a minute for sessions) of its window's close can be counted in a pane instead of set
 * aside.
 *
 * <p>The aggregation is one {@link StatsFn} per (key, metric), so runners combine before the
 * shuffle. Sums, mean and stddev are exact and do not depend on combining order; quantiles and
 * distinct counts are sketches (KLL k=200, normalised rank error about 1.65%; HLL lgK=12, relative
 * error about 1.6%) and are exact for windows of fewer than 200 values.
 */
@AutoValue
public abstract class WindowedAggregate
    extends PTransform<PCollection<Event>, WindowedAggregate.Result> {

  public static final String METRICS_NAMESPACE = "sluice.aggregate";

  /** Counter of {@link WindowStats} emitted, one per (key, metric, window, pane). */
  public static final String WINDOWS_EMITTED = "windows_emitted";

  /** Counter of events set aside as late, one per (event, window). */
  public static final String LATE_EVENTS = "late_events";

  /**
   * Prefix of the counters of {@link WindowStats} emitted per pane timing: {@code
   * windows_emitted_EARLY}, {@code windows_emitted_ON_TIME}, {@code windows_emitted_LATE}; they add
   * up to {@link #WINDOWS_EMITTED}.
   */
  public static final String WINDOWS_EMITTED_BY_TIMING = "windows_emitted_";

  /**
   * The event-time watermark as this step sees it, in epoch milliseconds: the end of the newest
   * window whose on-time pane it emitted (the watermark has passed it); read its {@code max}.
   * Runner-agnostic; it trails the runner's own watermark by less than one window. A distribution,
   * not a gauge: a gauge keeps the value set last, and with several DoFn instances (threads,
   * subtasks, workers) the last one set can be an older window's end; a distribution's max is
   * merged correctly everywhere.
   */
  public static final String WATERMARK_MILLIS = "watermark_millis";

  /** The name of the counter of windows emitted with {@code timing}. */
  public static String windowsEmittedCounterName(PaneTiming timing) {
    return WINDOWS_EMITTED_BY_TIMING + timing.name();
  }

  /** The kind of window. */
  public enum Kind {
    TUMBLING,
    SLIDING,
    SESSIONS
  }

  abstract Kind kind();

  /** Window size (tumbling, sliding) or gap (sessions). */
  abstract Duration size();

  /** Sliding only: how often a window starts. */
  abstract @Nullable Duration period();

  abstract Duration allowedLateness();

  abstract @Nullable Duration earlyFiringsEvery();

  abstract Duration lateFiringsEvery();

  abstract boolean quantiles();

  abstract int kllK();

  abstract @Nullable String distinctAttribute();

  /** How the late-data step reads its timer's clock; only tests simulate another runner's. */
  abstract LateDataGate.TimerClock timerClock();

  abstract Builder toBuilder();

  /** Tumbling (fixed) windows of the given size, aligned to the epoch. */
  public static WindowedAggregate tumbling(Duration size) {
    Checks.positive("windowSize", size);
    return defaults(Kind.TUMBLING, size).build();
  }

  /** Windows of {@code size} starting every {@code period}; an event is in size/period windows. */
  public static WindowedAggregate sliding(Duration size, Duration period) {
    Checks.positive("windowSize", size);
    Checks.positive("windowPeriod", period);
    if (period.isLongerThan(size)) {
      throw new IllegalArgumentException(
          "windowPeriod " + period + " must not be longer than windowSize " + size);
    }
    return defaults(Kind.SLIDING, size).setPeriod(period).build();
  }

  /** Session windows per (key, metric) that close after {@code gap} without events. */
  public static WindowedAggregate sessions(Duration gap) {
    Checks.positive("sessionGap", gap);
    return defaults(Kind.SESSIONS, gap).build();
  }

  private static Builder defaults(Kind kind, Duration size) {
    return new AutoValue_WindowedAggregate.Builder()
        .setKind(kind)
        .setSize(size)
        .setAllowedLateness(Duration.ZERO)
        .setLateFiringsEvery(Duration.ZERO)
        .setQuantiles(true)
        .setKllK(StatsFn.DEFAULT_KLL_K)
        .setTimerClock(LateDataGate.TimerClock.RUNNER);
  }

  /** How long after a window's end late events still update it (default 0). */
  public WindowedAggregate withAllowedLateness(Duration allowedLateness) {
    Checks.notNegative("allowedLateness", allowedLateness);
    if (allowedLateness.isLongerThan(Duration.standardDays(365))) {
      throw new IllegalArgumentException(
          "allowedLateness must be at most 365 days, got " + allowedLateness);
    }
    return toBuilder().setAllowedLateness(allowedLateness).build();
  }

  /** Speculative {@code EARLY} panes this often (processing time) while a window is open. */
  public WindowedAggregate withEarlyFiringsEvery(Duration every) {
    Checks.positive("earlyFiringsEvery", every);
    return toBuilder().setEarlyFiringsEvery(every).build();
  }

  /**
   * After the on-time pane, a {@code LATE} pane this long (processing time) after the first late
   * event of a burst; {@code Duration.ZERO} (the default) fires one for every late event.
   */
  public WindowedAggregate withLateFiringsEvery(Duration every) {
    Checks.notNegative("lateFiringsEvery", every);
    return toBuilder().setLateFiringsEvery(every).build();
  }

  /** Whether to compute p50, p95 and p99 (default true). */
  public WindowedAggregate withQuantiles(boolean quantiles) {
    return toBuilder().setQuantiles(quantiles).build();
  }

  /** The KLL sketch's k: larger is more accurate and bigger (default 200, from 8 to 65535). */
  public WindowedAggregate withQuantileAccuracy(int k) {
    if (k < 8 || k > 65_535) {
      throw new IllegalArgumentException("quantileAccuracy must be from 8 to 65535, got " + k);
    }
    return toBuilder().setKllK(k).build();
  }

  /** Also count the distinct values of this attribute (the contract's {@code distinct}). */
  public WindowedAggregate withDistinctCountOf(String attribute) {
    Checks.notBlank("distinctAttribute", attribute);
    return toBuilder().setDistinctAttribute(attribute).build();
  }

  /**
   * For tests: the late-data step reads its timer's clock as Beam's portable harness (Dataflow
   * Runner v2) shows it, whatever this runner shows.
   */
  WindowedAggregate withSimulatedTimerClock(LateDataGate.TimerClock clock) {
    return toBuilder().setTimerClock(clock).build();
  }

  /** The window function of this aggregation. */
  WindowFn<Object, ? extends BoundedWindow> windowFn() {
    switch (kind()) {
      case TUMBLING:
        return FixedWindows.of(size());
      case SLIDING:
        return SlidingWindows.of(size()).every(period());
      case SESSIONS:
        return Sessions.withGapDuration(size());
      default:
        throw new AssertionError(kind());
    }
  }

  @Override
  public Result expand(PCollection<Event> events) {
    if (!(events.getWindowingStrategy().getWindowFn() instanceof GlobalWindows)) {
      throw new IllegalArgumentException(
          "WindowedAggregate assigns windows itself; its input must be in the global window, got "
              + events.getWindowingStrategy().getWindowFn());
    }
    KvCoder<KV<String, String>, Event> keyedCoder =
        KvCoder.of(KvCoder.of(StringUtf8Coder.of(), StringUtf8Coder.of()), Event.EventCoder.of());
    PCollection<KV<KV<String, String>, Event>> windowed;
    PCollection<LateEvent> late;
    if (events.isBounded() == PCollection.IsBounded.UNBOUNDED && kind() != Kind.SESSIONS) {
      // One keyed stateful step: windows, late data and panes per (key, metric).
      // What crosses the exchange is compact: the (key, metric) once, in the element's key.
      TupleTag<WindowStats> statsTag = new TupleTag<>() {};
      TupleTag<LateEvent> lateTag = new TupleTag<>() {};
      String distinct = distinctAttribute();
      PCollectionTuple aggregated =
          events
              .apply(
                  "KeyByKeyAndMetric",
                  MapElements.into(
                          TypeDescriptors.kvs(
                              TypeDescriptors.kvs(
                                  TypeDescriptors.strings(), TypeDescriptors.strings()),
                              TypeDescriptor.of(ExchangedEvent.class)))
                      .via(
                          (Event e) ->
                              KV.of(KV.of(e.key(), e.metric()), ExchangedEvent.of(e, distinct))))
              .setCoder(
                  KvCoder.of(
                      KvCoder.of(StringUtf8Coder.of(), StringUtf8Coder.of()),
                      ExchangedEvent.ExchangedEventCoder.INSTANCE))
              .apply(
                  "AggregateWindows",
                  ParDo.of(new AggregateWindowsFn(this, timerClock(), statsTag, lateTag))
                      .withOutputTags(statsTag, TupleTagList.of(lateTag)));
      return new Result(
          events.getPipeline(),
          aggregated
              .get(statsTag)
              .setCoder(WindowStats.WindowStatsCoder.of())
              .apply("StatsIntoTheirWindows", configure(Window.into(new StatsWindows()))),
          aggregated.get(lateTag).setCoder(LateEvent.LateEventCoder.of()));
    }
    if (events.isBounded() == PCollection.IsBounded.BOUNDED) {
      // A bounded input's watermark does not move until all of it is read: nothing can be late,
      // so the per-key lateness state would be pure overhead.
      windowed =
          events
              .apply(
                  "KeyByKeyAndMetric",
                  MapElements.into(keyedTypeDescriptor())
                      .via((Event e) -> KV.of(KV.of(e.key(), e.metric()), e)))
              .setCoder(keyedCoder)
              .apply("WindowInto", configure(Window.into(windowFn())));
      late =
          events.getPipeline().apply("NoLateEvents", Create.empty(LateEvent.LateEventCoder.of()));
    } else {
      TupleTag<KV<KV<String, String>, WindowedEvent>> onTimeTag = new TupleTag<>() {};
      TupleTag<LateEvent> lateTag = new TupleTag<>() {};
      KvCoder<Integer, Event> shardedCoder =
          KvCoder.of(VarIntCoder.of(), NullableCoder.of(Event.EventCoder.of()));
      PCollection<KV<Integer, Event>> sharded =
          events
              .apply("KeyByShard", ParDo.of(new LateDataGate.KeyByShard()))
              .setCoder(shardedCoder)
              // The input may carry any trigger; the seeds, and a stateful step, need none.
              .apply(
                  "ShardsInGlobalWindow",
                  Window.<KV<Integer, Event>>into(new GlobalWindows())
                      .triggering(DefaultTrigger.of())
                      .withAllowedLateness(Duration.ZERO)
                      .discardingFiredPanes());
      PCollection<KV<Integer, Event>> seeds =
          events
              .getPipeline()
              .apply("ShardSeedImpulse", Impulse.create())
              .apply("SeedShards", ParDo.of(new LateDataGate.SeedShards()))
              .setCoder(shardedCoder);
      PCollectionTuple split =
          PCollectionList.of(seeds)
              .and(sharded)
              .apply("WithShardSeeds", Flatten.pCollections())
              .setCoder(shardedCoder)
              .apply(
                  "SetAsideLateEvents",
                  ParDo.of(new LateDataGate(this, timerClock(), onTimeTag, lateTag))
                      .withOutputTags(onTimeTag, TupleTagList.of(lateTag)));
      late = split.get(lateTag).setCoder(LateEvent.LateEventCoder.of());
      windowed =
          split
              .get(onTimeTag)
              .setCoder(
                  KvCoder.of(
                      KvCoder.of(StringUtf8Coder.of(), StringUtf8Coder.of()),
                      WindowedEvent.WindowedEventCoder.INSTANCE))
              .apply(
                  "WindowIntoAccepted",
                  configure(Window.into(new AssignedWindows<KV<String, String>>(windowFn()))))
              .apply(
                  "DropWindowTag",
                  MapElements.into(keyedTypeDescriptor())
                      .via(
                          (KV<KV<String, String>, WindowedEvent> kv) ->
                              KV.of(kv.getKey(), kv.getValue().event())))
              .setCoder(keyedCoder);
    }
    PCollection<WindowStats> stats =
        windowed
            .apply(
                "CombineStats",
                Combine.perKey(new StatsFn(quantiles(), kllK(), distinctAttribute())))
            .apply(
                "ToWindowStats",
                ParDo.of(new ToWindowStatsFn(allowedLateness().equals(Duration.ZERO))))
            .setCoder(WindowStats.WindowStatsCoder.of());
    return new Result(events.getPipeline(), stats, late);
  }

  private static TypeDescriptor<KV<KV<String, String>, Event>> keyedTypeDescriptor() {
    return TypeDescriptors.kvs(
        TypeDescriptors.kvs(TypeDescriptors.strings(), TypeDescriptors.strings()),
        TypeDescriptor.of(Event.class));
  }

  /**
   * Triggers, accumulation and lateness of the aggregation: exactly Beam's windowing with this
   * transform's allowed lateness, and with it a closing pane when a window expires.
   */
  private <T> Window<T> configure(Window<T> window) {
    Window<T> triggered = window.triggering(trigger()).accumulatingFiredPanes();
    return allowedLateness().equals(Duration.ZERO)
        ? triggered.withAllowedLateness(Duration.ZERO)
        : triggered.withAllowedLateness(allowedLateness(), Window.ClosingBehavior.FIRE_ALWAYS);
  }

  /** The trigger of the aggregation (package-private for the differential test's reference). */
  Trigger trigger() {
    if (earlyFiringsEvery() == null && lateFiringsEvery().equals(Duration.ZERO)) {
      // The same panes as the composite trigger below (on time at the watermark, then one LATE
      // pane per late event), but runners special-case the default trigger: no per-window
      // finished-bits state is read and written for every element (on FlinkRunner that was two
      // of the aggregation's four state accesses per event).
      return DefaultTrigger.of();
    }
    AfterWatermark.FromEndOfWindow onTime = AfterWatermark.pastEndOfWindow();
    AfterWatermark.AfterWatermarkEarlyAndLate withEarly =
        onTime.withEarlyFirings(
            earlyFiringsEvery() == null
                ? org.apache.beam.sdk.transforms.windowing.Never.ever()
                : AfterProcessingTime.pastFirstElementInPane().plusDelayOf(earlyFiringsEvery()));
    return withEarly.withLateFirings(
        lateFiringsEvery().equals(Duration.ZERO)
            ? AfterPane.elementCountAtLeast(1)
            : AfterProcessingTime.pastFirstElementInPane().plusDelayOf(lateFiringsEvery()));
  }

  @Override
  public void populateDisplayData(DisplayData.Builder builder) {
    super.populateDisplayData(builder);
    builder
        .add(DisplayData.item("windows", kind().name()))
        .add(DisplayData.item(kind() == Kind.SESSIONS ? "sessionGap" : "windowSize", size()))
        .addIfNotNull(DisplayData.item("windowPeriod", period()))
        .add(DisplayData.item("allowedLateness", allowedLateness()))
        .addIfNotNull(DisplayData.item("earlyFiringsEvery", earlyFiringsEvery()))
        .add(DisplayData.item("lateFiringsEvery", lateFiringsEvery()))
        .add(DisplayData.item("quantiles", quantiles()))
        .add(DisplayData.item("quantileAccuracyK", kllK()))
        .addIfNotNull(DisplayData.item("distinctAttribute", distinctAttribute()));
  }

  @AutoValue.Builder
  abstract static class Builder {
    abstract Builder setKind(Kind value);

    abstract Builder setSize(Duration value);

    abstract Builder setPeriod(@Nullable Duration value);

    abstract Builder setAllowedLateness(Duration value);

    abstract Builder setEarlyFiringsEvery(@Nullable Duration value);

    abstract Builder setLateFiringsEvery(Duration value);

    abstract Builder setQuantiles(boolean value);

    abstract Builder setKllK(int value);

    abstract Builder setDistinctAttribute(@Nullable String value);

    abstract Builder setTimerClock(LateDataGate.TimerClock value);

    abstract WindowedAggregate build();
  }

  /** The stats, and the events that came too late for their window. */
  public static final class Result implements POutput {
    private static final TupleTag<WindowStats> OUTPUT = new TupleTag<>("output");
    private static final TupleTag<LateEvent> LATE = new TupleTag<>("late");
    private final Pipeline pipeline;
    private final PCollection<WindowStats> output;
    private final PCollection<LateEvent> late;

    Result(Pipeline pipeline, PCollection<WindowStats> output, PCollection<LateEvent> late) {
      this.pipeline = pipeline;
      this.output = output;
      this.late = late;
    }

    /** One {@link WindowStats} per (key, metric, window, pane). */
    public PCollection<WindowStats> output() {
      return output;
    }

    /** Events that arrived after their window had closed, with how late they were. */
    public PCollection<LateEvent> late() {
      return late;
    }

    @Override
    public Pipeline getPipeline() {
      return pipeline;
    }

    @Override
    public Map<TupleTag<?>, PValue> expand() {
      return Map.of(OUTPUT, output, LATE, late);
    }

    @Override
    public void finishSpecifyingOutput(
        String transformName, PInput input, PTransform<?, ?> transform) {}
  }

  private static final class ToWindowStatsFn
      extends DoFn<KV<KV<String, String>, StatsFn.Stats>, WindowStats> {
    private final boolean onTimeIsFinal;
    private final Counter emitted = Metrics.counter(METRICS_NAMESPACE, WINDOWS_EMITTED);
    private final Map<PaneTiming, Counter> emittedByTiming = new EnumMap<>(PaneTiming.class);
    private final Distribution watermark =
        Metrics.distribution(METRICS_NAMESPACE, WATERMARK_MILLIS);
    private long newestOnTimeEnd = Long.MIN_VALUE;

    ToWindowStatsFn(boolean onTimeIsFinal) {
      for (PaneTiming timing : PaneTiming.values()) {
        emittedByTiming.put(
            timing, Metrics.counter(METRICS_NAMESPACE, windowsEmittedCounterName(timing)));
      }
      this.onTimeIsFinal = onTimeIsFinal;
    }

    @ProcessElement
    public void process(
        @Element KV<KV<String, String>, StatsFn.Stats> element,
        BoundedWindow boundedWindow,
        PaneInfo pane,
        OutputReceiver<WindowStats> out) {
      IntervalWindow window = (IntervalWindow) boundedWindow;
      StatsFn.Stats stats = element.getValue();
      if (stats.count() == 0) {
        // Some runners (Flink) fire an extra pane with an empty accumulator when a window
        // expires; it carries no values, so there are no stats to report.
        return;
      }
      emitted.inc();
      PaneTiming timing = PaneTiming.of(pane);
      emittedByTiming.get(timing).inc();
      if (timing == PaneTiming.ON_TIME && window.end().getMillis() > newestOnTimeEnd) {
        newestOnTimeEnd = window.end().getMillis();
        watermark.update(newestOnTimeEnd);
      }
      out.output(
          stats.toWindowStats(
              element.getKey().getKey(),
              element.getKey().getValue(),
              window.start(),
              window.end(),
              timing,
              pane.getIndex(),
              pane.isLast() || (onTimeIsFinal && pane.getTiming() == PaneInfo.Timing.ON_TIME)));
    }
  }
}

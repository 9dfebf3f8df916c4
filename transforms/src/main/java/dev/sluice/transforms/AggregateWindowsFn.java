package dev.sluice.transforms;

import dev.sluice.model.DeterministicCoder;
import dev.sluice.model.LateEvent;
import dev.sluice.model.PaneTiming;
import dev.sluice.model.WindowStats;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.EnumMap;
import java.util.Iterator;
import java.util.Map;
import java.util.TreeMap;
import org.apache.beam.sdk.coders.VarIntCoder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Distribution;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.state.StateSpec;
import org.apache.beam.sdk.state.StateSpecs;
import org.apache.beam.sdk.state.TimeDomain;
import org.apache.beam.sdk.state.Timer;
import org.apache.beam.sdk.state.TimerSpec;
import org.apache.beam.sdk.state.TimerSpecs;
import org.apache.beam.sdk.state.ValueState;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.windowing.BoundedWindow;
import org.apache.beam.sdk.transforms.windowing.IntervalWindow;
import org.apache.beam.sdk.transforms.windowing.WindowFn;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.TupleTag;
import org.joda.time.Duration;
import org.joda.time.Instant;

/**
 * The step {@code AggregateWindows} of {@link WindowedAggregate} for tumbling and sliding windows
 * on an unbounded input: one keyed stateful step per (key, metric), in the global window, that
 * assigns windows, sets late events aside, accumulates and fires panes — instead of a late-data
 * step, a second keyed exchange and Beam's windowed {@code GroupByKey}.
 *
 * <p>State per (key, metric) is one value: the accumulators of its open windows with each window's
 * pane bookkeeping, and the evidence of how far the watermark has provably passed. There is one
 * event-time timer per (key, metric), set at the earliest deadline of its open windows (a window's
 * end, or its expiry when there is allowed lateness) and moved only when that deadline changes, so
 * timers are set per window, not per event; its output timestamp holds the watermark at that
 * deadline, as Beam's end-of-window hold does. Early and timed late firings use one processing-time
 * timer per (key, metric).
 *
 * <p>The panes are Beam's for the same windowing ({@code Window.into} with {@link
 * WindowedAggregate#trigger()}, accumulating, the allowed lateness and, when there is lateness,
 * closing behaviour {@code FIRE_ALWAYS}); the differential test compares them pane by pane. Where
 * Beam's pane timing depends on watermark holds of other keys (the first pane of a window whose
 * first event came after the watermark passed its end), this step calls it {@code LATE}; Beam calls
 * it {@code LATE} unless another key's hold happened to keep the output watermark behind.
 *
 * <p>Late detection: an (event, window) is late when the window closed ({@code end + allowed
 * lateness}) before the timer clock (the input watermark on Direct, Flink and Dataflow's legacy
 * worker), or before this key's own fired timers prove the watermark passed (on Beam's portable
 * harness, whose timer clock shows the element's timestamp: there an event for a window that closed
 * after the key's last fired timer is counted in a pane instead of set aside — nothing is lost).
 *
 * <p>State and timer ids ({@value #STATE_ID}, {@value #CLOSE_TIMER}, {@value #FIRE_TIMER}) are a
 * compatibility contract: never rename them.
 */
final class AggregateWindowsFn extends DoFn<KV<KV<String, String>, ExchangedEvent>, WindowStats> {
  static final String STATE_ID = "openWindows";
  static final String CLOSE_TIMER = "closeWindows";
  static final String FIRE_TIMER = "firePanes";

  private static final long NONE = Long.MIN_VALUE;

  private final StatsFn statsFn;
  private final WindowFn<Object, BoundedWindow> windowFn;
  private final long lateness;
  private final long earlyEvery;
  private final long lateEvery;
  private final LateDataGate.TimerClock timerClock;
  private final TupleTag<WindowStats> statsTag;
  private final TupleTag<LateEvent> lateTag;

  private final Counter emitted =
      Metrics.counter(WindowedAggregate.METRICS_NAMESPACE, WindowedAggregate.WINDOWS_EMITTED);
  private final Counter lateEvents =
      Metrics.counter(WindowedAggregate.METRICS_NAMESPACE, WindowedAggregate.LATE_EVENTS);
  private final Map<PaneTiming, Counter> emittedByTiming = new EnumMap<>(PaneTiming.class);
  private final Distribution watermark =
      Metrics.distribution(WindowedAggregate.METRICS_NAMESPACE, WindowedAggregate.WATERMARK_MILLIS);
  private transient long newestOnTimeEnd = Long.MIN_VALUE;

  @StateId(STATE_ID)
  private final StateSpec<ValueState<OpenWindows>> openWindowsSpec =
      StateSpecs.value(OpenWindowsCoder.INSTANCE);

  @TimerId(CLOSE_TIMER)
  private final TimerSpec closeSpec = TimerSpecs.timer(TimeDomain.EVENT_TIME);

  @TimerId(FIRE_TIMER)
  private final TimerSpec fireSpec = TimerSpecs.timer(TimeDomain.PROCESSING_TIME);

  AggregateWindowsFn(
      WindowedAggregate aggregate,
      LateDataGate.TimerClock timerClock,
      TupleTag<WindowStats> stats,
      TupleTag<LateEvent> late) {
    @SuppressWarnings("unchecked") // Windows are only read as IntervalWindow.
    WindowFn<Object, BoundedWindow> anyWindows =
        (WindowFn<Object, BoundedWindow>) (WindowFn<?, ?>) aggregate.windowFn();
    this.windowFn = anyWindows;
    this.statsFn =
        new StatsFn(aggregate.quantiles(), aggregate.kllK(), aggregate.distinctAttribute());
    this.lateness = aggregate.allowedLateness().getMillis();
    Duration early = aggregate.earlyFiringsEvery();
    this.earlyEvery = early == null ? NONE : early.getMillis();
    this.lateEvery = aggregate.lateFiringsEvery().getMillis();
    this.timerClock = timerClock;
    this.statsTag = stats;
    this.lateTag = late;
    for (PaneTiming timing : PaneTiming.values()) {
      emittedByTiming.put(
          timing,
          Metrics.counter(
              WindowedAggregate.METRICS_NAMESPACE,
              WindowedAggregate.windowsEmittedCounterName(timing)));
    }
  }

  @Override
  @SuppressWarnings("deprecation") // see the comment
  public Duration getAllowedTimestampSkew() {
    // A pane leaves at its window's end (Beam's END_OF_WINDOW timestamp), which can be before the
    // event that completed it (a late event, or an event of a younger window of the same key
    // firing an older one's timer); the watermark is held at the earliest open deadline, so no
    // pane is behind the watermark because of this.
    return Duration.millis(Long.MAX_VALUE);
  }

  /** Where a pane is emitted from. */
  private interface Emitter {
    void emit(WindowStats stats, Instant timestamp);
  }

  @ProcessElement
  public void process(
      @Element KV<KV<String, String>, ExchangedEvent> element,
      @Timestamp Instant timestamp,
      @StateId(STATE_ID) ValueState<OpenWindows> state,
      @TimerId(CLOSE_TIMER) Timer closeTimer,
      @TimerId(FIRE_TIMER) Timer fireTimer,
      MultiOutputReceiver out)
      throws Exception {
    ExchangedEvent event = element.getValue();
    long clock =
        timerClock == LateDataGate.TimerClock.RUNNER
            ? closeTimer.getCurrentRelativeTime().getMillis()
            : timestamp.getMillis();
    OpenWindows open = state.read();
    boolean accepted = false;
    Emitter emitter = (stats, at) -> out.get(statsTag).outputWithTimestamp(stats, at);
    for (BoundedWindow assigned : LateDataGate.assignWindows(windowFn, event, timestamp)) {
      IntervalWindow window = (IntervalWindow) assigned;
      long maxTimestamp = window.maxTimestamp().getMillis();
      long closing = maxTimestamp + lateness;
      long provenClosed = open == null ? NONE : open.closedUpTo;
      if (closing < clock || closing <= provenClosed) {
        lateEvents.inc();
        long behind = Math.max(clock, provenClosed);
        KV<String, String> key = element.getKey();
        out.get(lateTag)
            .output(
                new LateEvent(
                    event.toEvent(key.getKey(), key.getValue()),
                    window.start(),
                    window.end(),
                    behind - timestamp.getMillis()));
        continue;
      }
      if (open == null) {
        open = new OpenWindows();
      }
      long start = window.start().getMillis();
      Pane pane = open.windows.get(start);
      if (pane == null) {
        pane = new Pane(start, window.end().getMillis(), statsFn.createAccumulator());
        open.windows.put(start, pane);
      }
      accepted = true;
      statsFn.addValue(pane.accumulator, event.value, event.distinctValue);
      pane.newData = true;
      if (clock <= maxTimestamp) {
        pane.endOfWindowHold = true;
      }
      if (!pane.nonEarlyFired) {
        if (clock > maxTimestamp) {
          // The watermark passed the end before this window's timer fired: fire it now.
          fire(element.getKey(), pane, clock, false, emitter);
        } else if (earlyEvery != NONE && pane.fireAt == NONE) {
          pane.fireAt = fireTimer.getCurrentRelativeTime().getMillis() + earlyEvery;
        }
      } else if (lateEvery == 0) {
        fire(element.getKey(), pane, clock, false, emitter);
      } else if (pane.fireAt == NONE) {
        pane.fireAt = fireTimer.getCurrentRelativeTime().getMillis() + lateEvery;
      }
    }
    if (accepted) {
      schedule(open, closeTimer, fireTimer, NONE);
      state.write(open);
    }
  }

  @OnTimer(CLOSE_TIMER)
  public void onClose(
      OnTimerContext context,
      @Key KV<String, String> key,
      @StateId(STATE_ID) ValueState<OpenWindows> state,
      @TimerId(CLOSE_TIMER) Timer closeTimer,
      @TimerId(FIRE_TIMER) Timer fireTimer) {
    OpenWindows open = state.read();
    if (open == null) {
      return;
    }
    long fired = context.fireTimestamp().getMillis();
    long runnerClock =
        timerClock == LateDataGate.TimerClock.RUNNER
            ? closeTimer.getCurrentRelativeTime().getMillis()
            : fired;
    // A fired event-time timer proves the watermark is past its time; a clock past it shows the
    // runner's clock is the watermark, which alone decides lateness exactly from then on.
    boolean clockIsWatermark = runnerClock > fired;
    long clock = Math.max(runnerClock, fired + 1);
    open.closedUpTo = Math.max(open.closedUpTo, clock - 1);
    open.closeAt = NONE;
    Emitter emitter = context::outputWithTimestamp;
    Iterator<Pane> panes = open.windows.values().iterator();
    while (panes.hasNext()) {
      Pane pane = panes.next();
      long maxTimestamp = pane.end - 1;
      if (maxTimestamp + lateness < clock) {
        fire(key, pane, clock, true, emitter);
        panes.remove();
      } else if (!pane.nonEarlyFired && maxTimestamp < clock) {
        fire(key, pane, clock, false, emitter);
      }
    }
    store(open, clockIsWatermark, state, closeTimer, fireTimer, NONE);
  }

  @OnTimer(FIRE_TIMER)
  public void onFire(
      OnTimerContext context,
      @Key KV<String, String> key,
      @StateId(STATE_ID) ValueState<OpenWindows> state,
      @TimerId(CLOSE_TIMER) Timer closeTimer,
      @TimerId(FIRE_TIMER) Timer fireTimer) {
    OpenWindows open = state.read();
    if (open == null) {
      return;
    }
    long now =
        Math.max(
            context.fireTimestamp().getMillis(), fireTimer.getCurrentRelativeTime().getMillis());
    long clock =
        timerClock == LateDataGate.TimerClock.RUNNER
            ? closeTimer.getCurrentRelativeTime().getMillis()
            : open.closedUpTo + 1;
    open.fireAt = NONE;
    Emitter emitter = context::outputWithTimestamp;
    for (Pane pane : open.windows.values()) {
      // Beam's AfterProcessingTime fires once the processing time is after its deadline.
      if (pane.fireAt != NONE && pane.fireAt < now) {
        fire(key, pane, clock, false, emitter);
      }
    }
    store(open, false, state, closeTimer, fireTimer, now + 1);
  }

  private void store(
      OpenWindows open,
      boolean clockIsWatermark,
      ValueState<OpenWindows> state,
      Timer closeTimer,
      Timer fireTimer,
      long earliestFire) {
    if (open.windows.isEmpty() && clockIsWatermark) {
      // The clock decides lateness exactly, so the evidence is not needed: a (key, metric) with no
      // open window keeps no state.
      state.clear();
      return;
    }
    schedule(open, closeTimer, fireTimer, earliestFire);
    state.write(open);
  }

  /**
   * Moves the timers to the earliest deadlines of the open windows, when they changed; the
   * processing-time timer to no earlier than {@code earliestFire}.
   */
  private void schedule(OpenWindows open, Timer closeTimer, Timer fireTimer, long earliestFire) {
    long nextClose = NONE;
    long nextFire = NONE;
    for (Pane pane : open.windows.values()) {
      long maxTimestamp = pane.end - 1;
      long deadline = pane.nonEarlyFired ? maxTimestamp + lateness : maxTimestamp;
      if (nextClose == NONE || deadline < nextClose) {
        nextClose = deadline;
      }
      if (pane.fireAt != NONE && (nextFire == NONE || pane.fireAt < nextFire)) {
        nextFire = pane.fireAt;
      }
    }
    if (nextClose != NONE && nextClose != open.closeAt) {
      Instant at = new Instant(nextClose);
      closeTimer.withOutputTimestamp(at).set(at);
      open.closeAt = nextClose;
    }
    if (nextFire != NONE && earliestFire != NONE && nextFire < earliestFire) {
      nextFire = earliestFire;
    }
    if (nextFire != NONE && nextFire != open.fireAt) {
      fireTimer.withNoOutputTimestamp().set(new Instant(nextFire));
      open.fireAt = nextFire;
    }
  }

  /**
   * Fires one pane of {@code pane}'s window as Beam's {@code ReduceFnRunner} would: its timing from
   * the panes before it and the watermark, emitted when it has new values, is the on-time pane, or
   * is the closing pane with allowed lateness ({@code FIRE_ALWAYS}).
   */
  private void fire(
      KV<String, String> key, Pane pane, long clock, boolean finished, Emitter emitter) {
    long maxTimestamp = pane.end - 1;
    PaneTiming timing;
    if (pane.nonEarlyFired || (clock > maxTimestamp && !pane.endOfWindowHold)) {
      timing = PaneTiming.LATE;
    } else if (clock <= maxTimestamp) {
      timing = PaneTiming.EARLY;
    } else {
      timing = PaneTiming.ON_TIME;
    }
    boolean emit = pane.newData || timing == PaneTiming.ON_TIME || (finished && lateness > 0);
    if (emit) {
      StatsFn.Stats stats = statsFn.extractOutput(pane.accumulator);
      emitted.inc();
      emittedByTiming.get(timing).inc();
      if (timing == PaneTiming.ON_TIME && pane.end > newestOnTimeEnd) {
        newestOnTimeEnd = pane.end;
        watermark.update(newestOnTimeEnd);
      }
      emitter.emit(
          stats.toWindowStats(
              key.getKey(),
              key.getValue(),
              new Instant(pane.start),
              new Instant(pane.end),
              timing,
              pane.panes++,
              finished),
          new Instant(maxTimestamp));
    }
    if (timing != PaneTiming.EARLY) {
      pane.nonEarlyFired = true;
      pane.endOfWindowHold = false;
    }
    pane.newData = false;
    pane.fireAt = NONE;
  }

  /** One open window of a (key, metric): its accumulator and pane bookkeeping. */
  static final class Pane {
    final long start;
    final long end;
    final StatsFn.Accumulator accumulator;

    /** Panes emitted so far: the next pane's index. */
    int panes;

    /** Whether an on-time or late pane has fired (only late panes can follow). */
    boolean nonEarlyFired;

    /** Whether a value arrived before the watermark passed the end (Beam's end-of-window hold). */
    boolean endOfWindowHold;

    /** Whether values arrived since the last pane. */
    boolean newData;

    /** Processing time of the pending early or late firing, or {@code NONE}. */
    long fireAt = NONE;

    Pane(long start, long end, StatsFn.Accumulator accumulator) {
      this.start = start;
      this.end = end;
      this.accumulator = accumulator;
    }
  }

  /** The state of one (key, metric): its open windows by start, timers, evidence. */
  static final class OpenWindows {
    final TreeMap<Long, Pane> windows = new TreeMap<>();

    /** Every window closing at or before this has closed (from fired timers). */
    long closedUpTo = NONE;

    /** When the event-time timer is set to fire, or {@code NONE}. */
    long closeAt = NONE;

    /** When the processing-time timer is set to fire, or {@code NONE}. */
    long fireAt = NONE;
  }

  /** Coder of {@link OpenWindows}; its layout is part of savepoint compatibility. */
  static final class OpenWindowsCoder extends DeterministicCoder<OpenWindows> {
    static final OpenWindowsCoder INSTANCE = new OpenWindowsCoder();
    private static final VarLongCoder LONG = VarLongCoder.of();
    private static final VarIntCoder INT = VarIntCoder.of();
    private static final int NON_EARLY_FIRED = 1;
    private static final int END_OF_WINDOW_HOLD = 2;
    private static final int NEW_DATA = 4;

    @Override
    public void encode(OpenWindows value, OutputStream out) throws IOException {
      LONG.encode(value.closedUpTo, out);
      LONG.encode(value.closeAt, out);
      LONG.encode(value.fireAt, out);
      INT.encode(value.windows.size(), out);
      for (Pane pane : value.windows.values()) {
        LONG.encode(pane.start, out);
        LONG.encode(pane.end - pane.start, out);
        StatsFn.AccumulatorCoder.INSTANCE.encode(pane.accumulator, out);
        INT.encode(pane.panes, out);
        INT.encode(
            (pane.nonEarlyFired ? NON_EARLY_FIRED : 0)
                | (pane.endOfWindowHold ? END_OF_WINDOW_HOLD : 0)
                | (pane.newData ? NEW_DATA : 0),
            out);
        LONG.encode(pane.fireAt, out);
      }
    }

    @Override
    public OpenWindows decode(InputStream in) throws IOException {
      OpenWindows value = new OpenWindows();
      value.closedUpTo = LONG.decode(in);
      value.closeAt = LONG.decode(in);
      value.fireAt = LONG.decode(in);
      int size = INT.decode(in);
      for (int i = 0; i < size; i++) {
        long start = LONG.decode(in);
        long end = start + LONG.decode(in);
        Pane pane = new Pane(start, end, StatsFn.AccumulatorCoder.INSTANCE.decode(in));
        pane.panes = INT.decode(in);
        int flags = INT.decode(in);
        pane.nonEarlyFired = (flags & NON_EARLY_FIRED) != 0;
        pane.endOfWindowHold = (flags & END_OF_WINDOW_HOLD) != 0;
        pane.newData = (flags & NEW_DATA) != 0;
        pane.fireAt = LONG.decode(in);
        value.windows.put(start, pane);
      }
      return value;
    }
  }
}

package dev.sluice.transforms;

import dev.sluice.model.DeterministicCoder;
import dev.sluice.model.Event;
import dev.sluice.model.LateEvent;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Collection;
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
import org.apache.beam.sdk.transforms.windowing.BoundedWindow;
import org.apache.beam.sdk.transforms.windowing.GlobalWindow;
import org.apache.beam.sdk.transforms.windowing.IntervalWindow;
import org.apache.beam.sdk.transforms.windowing.WindowFn;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.TupleTag;
import org.checkerframework.checker.nullness.qual.Nullable;
import org.joda.time.Duration;
import org.joda.time.Instant;

/**
 * The late-data decision of {@link WindowedAggregate}: per shard of (key, metric)s, in the global
 * window, assigns each event its windows and sets aside every (event, window) whose window had
 * closed (watermark past {@code window end + allowed lateness}) when the event arrived — exactly
 * the pairs Beam's windowed aggregation downstream would drop — so that they leave through {@code
 * late()} instead of being dropped.
 *
 * <p>What the decision rests on, on every runner:
 *
 * <ul>
 *   <li>The clock of an event-time timer ({@link Timer#getCurrentRelativeTime()}) is never ahead of
 *       the input watermark. Runners that run Java DoFns directly (Direct, Flink, Dataflow's legacy
 *       worker) show the input watermark itself; Beam's portable harness (Dataflow Runner v2) shows
 *       the element's timestamp in {@code @ProcessElement} and the firing time in {@code @OnTimer}.
 *       A window closing before the clock has closed, whatever the runner.
 *   <li>A fired event-time timer proves the watermark passed its time. When a shard's timer fires
 *       and its clock is after the firing time, the runner's clock is the watermark: the clock
 *       alone is then exact, and the shard keeps no timer and holds nothing. Otherwise (portable
 *       harness) the shard keeps an evidence chain: a timer on the window-end and closing grid of
 *       the windows, each firing proving the watermark passed it ({@code closedUpTo}), and holding
 *       this step's output watermark at {@code closedUpTo + 1ms}. A window closing at or before
 *       {@code closedUpTo} has closed; any other window closes after the hold, so the aggregation's
 *       input watermark cannot have passed it: it accepts every event this step accepted. Nothing
 *       is dropped without being in {@code late()}; what the portable harness costs is that an
 *       event within one evidence step of its window's close is counted (in a late pane) rather
 *       than set aside, and on-time panes can wait for the chain to catch up after a watermark
 *       jump.
 *   <li>Every shard is seeded at the start of the job by an element at the minimum timestamp: until
 *       a shard has its seed, the pending seed holds this step's input watermark at the minimum, so
 *       no event can be late yet; the seed's timer then holds the output watermark until the first
 *       firing tells which clock the runner has. On the portable harness, every shard also gets
 *       hints (an element without an event, at the smallest event time of a bundle, at most once a
 *       second per upstream instance), so that a shard without events of its own keeps its chain
 *       near the data instead of walking from the minimum timestamp; after 64 firings without any
 *       element the chain strides exponentially, so a drained job's final watermark is reached.
 * </ul>
 *
 * <p>Shards, not (key, metric)s, carry the state so that a key seen for the first time has the
 * evidence of its shard; with the runner's watermark clock the state is read once per instance.
 */
final class LateDataGate
    extends DoFn<KV<Integer, @Nullable Event>, KV<KV<String, String>, WindowedEvent>> {

  /** Shards of (key, metric) the decision state is kept per. */
  static final int SHARDS = 64;

  /** How the step reads its timer's clock; anything but {@code RUNNER} is a test simulation. */
  enum TimerClock {
    /** The runner's own clock, as it is. */
    RUNNER,
    /** Simulates Beam's portable harness: the element's timestamp, or the timer's firing time. */
    PORTABLE_HARNESS
  }

  private static final long MIN = BoundedWindow.TIMESTAMP_MIN_VALUE.getMillis();
  private static final long END = GlobalWindow.INSTANCE.maxTimestamp().getMillis();

  /** Evidence steps without any event or hint before the chain starts to stride. */
  private static final int IDLE_FIRINGS_BEFORE_STRIDES = 64;

  /** The longest evidence step of session windows (they have no grid of their own). */
  private static final Duration MAX_SESSION_STEP = Duration.standardMinutes(1);

  /** The least margin a catching-up chain keeps before the data; see {@link Grid#jumpMargin}. */
  private static final Duration JUMP_MARGIN = Duration.standardMinutes(2);

  private final WindowFn<Object, BoundedWindow> windowFn;
  private final Duration allowedLateness;
  private final Grid grid;
  private final TimerClock timerClock;
  private final TupleTag<KV<KV<String, String>, WindowedEvent>> onTimeTag;
  private final TupleTag<LateEvent> lateTag;
  private final Counter lateEvents =
      Metrics.counter(WindowedAggregate.METRICS_NAMESPACE, WindowedAggregate.LATE_EVENTS);

  /** Set once a timer of this instance showed that the runner's clock is the watermark. */
  private transient boolean clockIsWatermark;

  @StateId("evidence")
  private final StateSpec<ValueState<Evidence>> evidenceSpec = StateSpecs.value(EvidenceCoder.OF);

  @TimerId("evidence")
  private final TimerSpec evidenceTimerSpec = TimerSpecs.timer(TimeDomain.EVENT_TIME);

  LateDataGate(
      WindowedAggregate aggregate,
      TimerClock timerClock,
      TupleTag<KV<KV<String, String>, WindowedEvent>> onTimeTag,
      TupleTag<LateEvent> lateTag) {
    @SuppressWarnings("unchecked") // Windows are only read as BoundedWindow.
    WindowFn<Object, BoundedWindow> anyWindows =
        (WindowFn<Object, BoundedWindow>) (WindowFn<?, ?>) aggregate.windowFn();
    this.windowFn = anyWindows;
    this.allowedLateness = aggregate.allowedLateness();
    this.grid = Grid.of(aggregate);
    this.timerClock = timerClock;
    this.onTimeTag = onTimeTag;
    this.lateTag = lateTag;
  }

  /** The shard of a (key, metric). */
  static int shardOf(String key, String metric) {
    return Math.floorMod(31 * key.hashCode() + metric.hashCode(), SHARDS);
  }

  @Override
  @SuppressWarnings("deprecation") // see the comment
  public Duration getAllowedTimestampSkew() {
    // The evidence timer is moved earlier while an element is processed, keeping its hold at
    // closedUpTo + 1ms, which is before the element. The hold does not move, so no output can be
    // behind the watermark because of it; every output of this step keeps its input's timestamp.
    return Duration.millis(Long.MAX_VALUE);
  }

  @ProcessElement
  public void process(
      @Element KV<Integer, @Nullable Event> element,
      @Timestamp Instant timestamp,
      @StateId("evidence") ValueState<Evidence> evidenceState,
      @TimerId("evidence") Timer evidenceTimer,
      MultiOutputReceiver out)
      throws Exception {
    Event event = element.getValue();
    if (event == null && timestamp.getMillis() == MIN) {
      // The shard's seed: start its evidence chain; the first firing tells which clock this is.
      // Its timer holds this step's output watermark from the start and fires as soon as the
      // watermark moves; the shard's events and hints pull the chain to where the data is.
      if (evidenceState.read() == null) {
        evidenceState.write(new Evidence(MIN, Long.MAX_VALUE, false, MIN + 1, 0));
        evidenceTimer.withOutputTimestamp(new Instant(MIN + 1)).set(new Instant(MIN + 1));
      }
      return;
    }
    Instant clock =
        timerClock == TimerClock.RUNNER ? evidenceTimer.getCurrentRelativeTime() : timestamp;
    Evidence evidence = null;
    if (!clockIsWatermark) {
      evidence = evidenceState.read();
      if (evidence != null && (evidence.clockIsWatermark() || !clock.equals(timestamp))) {
        // The portable harness shows the element's timestamp; any other clock is the watermark.
        if (!evidence.clockIsWatermark()) {
          evidenceState.write(evidence.withClockIsWatermark());
          evidenceTimer.clear();
        }
        clockIsWatermark = true;
        evidence = null;
      }
    }
    if (event != null) {
      decide(event, timestamp, clock, evidence, out);
    }
    if (evidence != null) {
      track(timestamp.getMillis(), evidence, evidenceState, evidenceTimer);
    }
  }

  private void decide(
      Event event,
      Instant timestamp,
      Instant clock,
      @Nullable Evidence evidence,
      MultiOutputReceiver out)
      throws Exception {
    KV<String, String> key = KV.of(event.key(), event.metric());
    for (BoundedWindow window : assignWindows(event, timestamp)) {
      Instant closing = window.maxTimestamp().plus(allowedLateness);
      boolean provenClosed = evidence != null && closing.getMillis() <= evidence.closedUpTo();
      IntervalWindow interval = (IntervalWindow) window;
      if (closing.isBefore(clock) || provenClosed) {
        lateEvents.inc();
        long behind = Math.max(clock.getMillis(), evidence == null ? MIN : evidence.closedUpTo());
        out.get(lateTag)
            .output(
                new LateEvent(
                    event, interval.start(), interval.end(), behind - timestamp.getMillis()));
      } else {
        out.get(onTimeTag)
            .output(KV.of(key, new WindowedEvent(event, interval.start(), interval.end())));
      }
    }
  }

  /**
   * Evidence chain only: an element's time tells roughly where the watermark is (a late element is
   * behind it, an on-time one at most the source's out-of-orderness ahead), so a chain that is far
   * ahead after an idle catch-up is pulled back to it, and the next firing may jump to it.
   */
  private void track(
      long time, Evidence evidence, ValueState<Evidence> evidenceState, Timer evidenceTimer) {
    Evidence updated = evidence;
    if (time < evidence.minSeen()) {
      updated = updated.withMinSeen(time);
    }
    long near = grid.next(Math.max(evidence.closedUpTo(), saturatedMinus(time, grid.jumpMargin())));
    if (near < evidence.target()) {
      updated = updated.withTarget(near);
      evidenceTimer
          .withOutputTimestamp(new Instant(evidence.closedUpTo() + 1))
          .set(new Instant(near));
    }
    if (updated != evidence) {
      evidenceState.write(updated);
    }
  }

  @OnTimer("evidence")
  public void onEvidence(
      OnTimerContext context,
      @StateId("evidence") ValueState<Evidence> evidenceState,
      @TimerId("evidence") Timer evidenceTimer) {
    long fired = context.fireTimestamp().getMillis();
    Instant clock =
        timerClock == TimerClock.RUNNER
            ? evidenceTimer.getCurrentRelativeTime()
            : context.fireTimestamp();
    Evidence evidence = evidenceState.read();
    if (evidence == null) {
      return; // cannot happen: the seed writes the state before it sets the timer
    }
    if (clock.getMillis() > fired) {
      // The clock shows the watermark: the clock alone decides exactly, no hold is needed.
      clockIsWatermark = true;
      evidenceState.write(evidence.withClockIsWatermark());
      return;
    }
    long closedUpTo = Math.max(evidence.closedUpTo(), fired);
    long next = grid.next(closedUpTo);
    int idleFirings = 0;
    if (evidence.minSeen() != Long.MAX_VALUE) {
      // Far behind the data (at the start, after a quiet spell): jump to a margin before it. Data
      // can run ahead of the watermark by the source's out-of-orderness; only beyond the margin
      // would the jump overshoot the watermark and hold on-time panes back by the excess.
      next = Math.max(next, grid.next(saturatedMinus(evidence.minSeen(), grid.jumpMargin())));
    } else {
      // No event or hint reached the shard since the last firing: nothing flows anywhere. After a
      // while, step exponentially so that a drained job's final watermark is reached in a few
      // dozen firings; the shard's next hint pulls the chain back if it overshoots.
      idleFirings = Math.min(evidence.idleFirings() + 1, 1 << 20);
      if (idleFirings > IDLE_FIRINGS_BEFORE_STRIDES) {
        int doublings = Math.min(idleFirings - IDLE_FIRINGS_BEFORE_STRIDES, 62);
        next = grid.next(closedUpTo, 1L << doublings);
      }
    }
    if (next >= END) {
      // Only a drained job's final watermark gets the chain here: every window has closed.
      evidenceState.write(new Evidence(END, Long.MAX_VALUE, false, END, idleFirings));
      return;
    }
    evidenceState.write(new Evidence(closedUpTo, Long.MAX_VALUE, false, next, idleFirings));
    evidenceTimer.withOutputTimestamp(new Instant(closedUpTo + 1)).set(new Instant(next));
  }

  private Collection<BoundedWindow> assignWindows(Event event, Instant timestamp) throws Exception {
    return assignWindows(windowFn, event, timestamp);
  }

  /** The windows {@code windowFn} assigns an element of the global window at {@code timestamp}. */
  static Collection<BoundedWindow> assignWindows(
      WindowFn<Object, BoundedWindow> windowFn, Object event, Instant timestamp) throws Exception {
    return windowFn.assignWindows(
        windowFn.new AssignContext() {
          @Override
          public Object element() {
            return event;
          }

          @Override
          public Instant timestamp() {
            return timestamp;
          }

          @Override
          public BoundedWindow window() {
            return GlobalWindow.INSTANCE;
          }
        });
  }

  private static long wallClock() {
    return System.currentTimeMillis(); // only paces hints
  }

  private static long saturatedMinus(long value, long minus) {
    return value - minus < MIN ? MIN : value - minus;
  }

  /**
   * Keys events by shard and, at most once a second per instance, sends every shard a hint: an
   * element with no event at the smallest event time of the bundle. Hints are what keeps the
   * evidence chain of a shard without events of its own near the watermark on the portable harness
   * (with the runner's watermark clock they are dropped unread).
   */
  static final class KeyByShard extends DoFn<Event, KV<Integer, @Nullable Event>> {
    private static final long HINT_EVERY_MILLIS = 1_000;
    private transient long lastHint;
    private transient long bundleMin;

    @StartBundle
    public void startBundle() {
      bundleMin = Long.MAX_VALUE;
    }

    @ProcessElement
    public void process(
        @Element Event event,
        @Timestamp Instant timestamp,
        OutputReceiver<KV<Integer, @Nullable Event>> out) {
      out.output(KV.of(shardOf(event.key(), event.metric()), event));
      bundleMin = Math.min(bundleMin, timestamp.getMillis());
    }

    @FinishBundle
    public void finishBundle(FinishBundleContext context) {
      long now = wallClock();
      if (bundleMin == Long.MAX_VALUE || now - lastHint < HINT_EVERY_MILLIS) {
        return;
      }
      lastHint = now;
      for (int shard = 0; shard < SHARDS; shard++) {
        context.output(KV.of(shard, null), new Instant(bundleMin), GlobalWindow.INSTANCE);
      }
    }
  }

  /** Emits every shard's seed, at the minimum timestamp; see the class comment. */
  static final class SeedShards extends DoFn<byte[], KV<Integer, @Nullable Event>> {
    @ProcessElement
    public void process(OutputReceiver<KV<Integer, @Nullable Event>> out) {
      for (int shard = 0; shard < SHARDS; shard++) {
        out.outputWithTimestamp(KV.of(shard, null), BoundedWindow.TIMESTAMP_MIN_VALUE);
      }
    }
  }

  /**
   * The instants the evidence chain fires at: every window end and every window closing (end plus
   * allowed lateness) of tumbling and sliding windows, so that a chain step releases the hold
   * exactly when the aggregation has a pane to fire; for sessions a fixed step of at most a minute.
   */
  record Grid(long period, long endPhase, long closingPhase, long span)
      implements java.io.Serializable {
    static Grid of(WindowedAggregate aggregate) {
      long lateness = aggregate.allowedLateness().getMillis();
      long size = aggregate.size().getMillis();
      switch (aggregate.kind()) {
        case TUMBLING:
          return new Grid(size, size - 1, size - 1 + lateness, size + lateness);
        case SLIDING:
          long period = aggregate.period().getMillis();
          return new Grid(period, size - 1, size - 1 + lateness, size + lateness);
        case SESSIONS:
          long step = Math.min(size, MAX_SESSION_STEP.getMillis());
          return new Grid(step, 0, 0, size + lateness);
        default:
          throw new AssertionError(aggregate.kind());
      }
    }

    /** How far before the data a catching-up chain jumps: max(span + period, 2 minutes). */
    long jumpMargin() {
      return Math.max(span + period, JUMP_MARGIN.getMillis());
    }

    /** The first grid instant after {@code after}. */
    long next(long after) {
      return Math.min(onGrid(after, endPhase), onGrid(after, closingPhase));
    }

    /** The {@code stride}-th grid instant after {@code after} (about). */
    long next(long after, long stride) {
      long skip = stride - 1 > (END - MIN) / period ? END - MIN : (stride - 1) * period;
      return next(after > END - skip ? END : after + skip);
    }

    private long onGrid(long after, long phase) {
      if (after >= END - period) {
        return END;
      }
      long first = after + 1;
      return first + Math.floorMod(phase - first, period);
    }
  }

  /**
   * A shard's evidence: every window closing at or before {@code closedUpTo} has closed; the
   * smallest event time seen since the last firing; whether the runner's clock is the watermark;
   * the evidence timer's target; how many firings in a row saw no event or hint.
   */
  record Evidence(
      long closedUpTo, long minSeen, boolean clockIsWatermark, long target, int idleFirings) {
    Evidence withMinSeen(long value) {
      return new Evidence(closedUpTo, value, clockIsWatermark, target, idleFirings);
    }

    Evidence withTarget(long value) {
      return new Evidence(closedUpTo, minSeen, clockIsWatermark, value, 0);
    }

    Evidence withClockIsWatermark() {
      return new Evidence(closedUpTo, minSeen, true, target, idleFirings);
    }
  }

  /** Coder of {@link Evidence}. */
  static final class EvidenceCoder extends DeterministicCoder<Evidence> {
    static final EvidenceCoder OF = new EvidenceCoder();

    @Override
    public void encode(Evidence value, OutputStream out) throws IOException {
      DataOutputStream data = new DataOutputStream(out);
      data.writeLong(value.closedUpTo());
      data.writeLong(value.minSeen());
      data.writeBoolean(value.clockIsWatermark());
      data.writeLong(value.target());
      data.writeInt(value.idleFirings());
      data.flush();
    }

    @Override
    public Evidence decode(InputStream in) throws IOException {
      DataInputStream data = new DataInputStream(in);
      return new Evidence(
          data.readLong(), data.readLong(), data.readBoolean(), data.readLong(), data.readInt());
    }
  }
}

package dev.sluice.transforms;

import dev.sluice.model.Alert;
import dev.sluice.model.DeadLetter;
import dev.sluice.model.DeadLetter.Reason;
import dev.sluice.model.PaneTiming;
import dev.sluice.rules.AlertState;
import dev.sluice.rules.Condition;
import dev.sluice.rules.EngineInput;
import dev.sluice.rules.EngineInput.EngineInputCoder;
import dev.sluice.rules.Rule;
import dev.sluice.rules.RuleEngine;
import dev.sluice.rules.Silence;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.state.BagState;
import org.apache.beam.sdk.state.MapState;
import org.apache.beam.sdk.state.StateSpec;
import org.apache.beam.sdk.state.StateSpecs;
import org.apache.beam.sdk.state.TimeDomain;
import org.apache.beam.sdk.state.Timer;
import org.apache.beam.sdk.state.TimerSpec;
import org.apache.beam.sdk.state.TimerSpecs;
import org.apache.beam.sdk.state.ValueState;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.TupleTag;
import org.checkerframework.checker.nullness.qual.Nullable;
import org.joda.time.Instant;

/**
 * The step {@code JudgeWindows} of {@link EvaluateRules}: one shard's rules, silences and alert
 * lifecycles, fed closed panes, event-time evidence, rule and silence updates, and judging them in
 * event-time order with a {@link RuleEngine}. State and timer ids are part of the pipeline's update
 * compatibility: never rename them.
 *
 * <p><b>Judged on arrival.</b> A closed pane that starts where its (key, metric)'s last judged
 * window ended (state {@code judgedUpTo}) has no window that could still come between, so every
 * rule but the absence rules judges it at once, instead of when the watermark has passed it (which
 * on a stream takes another exchange and the watermark's way around it). Absence rules, which
 * compare a key's windows with event-time evidence from all keys, still judge it in event-time
 * order when the watermark passes (it waits in {@code pending}, marked as judged). The first pane
 * of a (key, metric), one after a gap, a late pane of a window already judged, and session windows
 * (which never start where the previous one ended) keep the watermark path, and while one of them
 * waits, no later pane of its (key, metric) is judged on arrival (it could overtake it). A (key,
 * metric) whose judged windows overlapped (sliding windows) is never judged on arrival again. The
 * two halves of a pane's judgement see the rules in force at their own time: a rule update that
 * changes a rule from absence to another kind, or back, between them is applied to neither or to
 * both halves of that one pane.
 */
final class JudgeWindowsFn extends DoFn<KV<Integer, EngineInput>, Alert> {
  private static final Comparator<EngineInput> EVENT_TIME_ORDER =
      Comparator.comparingLong(EngineInput::time)
          .thenComparing(EngineInput::type)
          .thenComparing(i -> i.stats() == null ? "" : i.stats().key())
          .thenComparing(i -> i.stats() == null ? "" : i.stats().metric())
          .thenComparingLong(i -> i.stats() == null ? 0 : i.stats().windowStart().getMillis())
          .thenComparingLong(i -> i.stats() == null ? 0 : i.stats().paneIndex());

  private final Map<String, Rule> staticRules;
  private final Map<String, Silence> staticSilences;
  private final TupleTag<Alert> alertsTag;
  private final TupleTag<DeadLetter> deadLettersTag;

  @StateId("ruleUpdates")
  private final StateSpec<MapState<String, Rule>> ruleUpdatesSpec =
      StateSpecs.map(StringUtf8Coder.of(), Rule.RuleCoder.of());

  @StateId("alertStates")
  private final StateSpec<MapState<String, AlertState>> alertStatesSpec =
      StateSpecs.map(StringUtf8Coder.of(), AlertState.coder());

  @StateId("absenceDeadlines")
  private final StateSpec<MapState<String, Long>> deadlinesSpec =
      StateSpecs.map(StringUtf8Coder.of(), VarLongCoder.of());

  @StateId("pending")
  private final StateSpec<BagState<EngineInput>> pendingSpec =
      StateSpecs.bag(EngineInputCoder.of());

  @StateId("wakeAt")
  private final StateSpec<ValueState<Long>> wakeAtSpec = StateSpecs.value(VarLongCoder.of());

  @StateId("silences")
  private final StateSpec<MapState<String, Silence>> silencesSpec =
      StateSpecs.map(StringUtf8Coder.of(), Silence.SilenceCoder.of());

  /** Per (key, metric): the end of the latest closed window the rules judged. */
  @StateId("judgedUpTo")
  private final StateSpec<MapState<String, Long>> judgedUpToSpec =
      StateSpecs.map(StringUtf8Coder.of(), VarLongCoder.of());

  @TimerId("wake")
  private final TimerSpec wakeSpec = TimerSpecs.timer(TimeDomain.EVENT_TIME);

  private transient Map<String, Counter> transitionsByRule;
  private transient Counter fired;
  private transient Counter resolved;
  private transient Counter renotified;
  private transient Counter applied;
  private transient Counter rejected;
  private transient Counter duplicate;
  private transient Counter skipped;
  private transient Counter silenced;
  private transient Counter sentAfterSilence;
  private transient Counter silenceUpdatesApplied;
  private transient Counter silencesExpired;

  JudgeWindowsFn(
      List<Rule> rules,
      List<Silence> silences,
      TupleTag<Alert> alertsTag,
      TupleTag<DeadLetter> deadLettersTag) {
    this.staticRules = new TreeMap<>();
    for (Rule rule : rules) {
      staticRules.put(rule.id(), rule);
    }
    this.staticSilences = new TreeMap<>();
    for (Silence silence : silences) {
      staticSilences.put(silence.id(), silence);
    }
    this.alertsTag = alertsTag;
    this.deadLettersTag = deadLettersTag;
  }

  @Setup
  public void setup() {
    transitionsByRule = new HashMap<>();
    fired = Metrics.counter(EvaluateRules.METRICS_NAMESPACE, EvaluateRules.ALERTS_FIRED);
    resolved = Metrics.counter(EvaluateRules.METRICS_NAMESPACE, EvaluateRules.ALERTS_RESOLVED);
    renotified = Metrics.counter(EvaluateRules.METRICS_NAMESPACE, EvaluateRules.ALERTS_RENOTIFIED);
    applied = Metrics.counter(EvaluateRules.METRICS_NAMESPACE, EvaluateRules.RULE_UPDATES_APPLIED);
    rejected =
        Metrics.counter(EvaluateRules.METRICS_NAMESPACE, EvaluateRules.RULE_UPDATES_REJECTED);
    duplicate =
        Metrics.counter(EvaluateRules.METRICS_NAMESPACE, EvaluateRules.RULE_UPDATES_DUPLICATE);
    skipped =
        Metrics.counter(EvaluateRules.METRICS_NAMESPACE, EvaluateRules.SKIPPED_WITHOUT_REFERENCE);
    silenced = Metrics.counter(EvaluateRules.METRICS_NAMESPACE, EvaluateRules.ALERTS_SILENCED);
    sentAfterSilence =
        Metrics.counter(EvaluateRules.METRICS_NAMESPACE, EvaluateRules.ALERTS_SENT_AFTER_SILENCE);
    silenceUpdatesApplied =
        Metrics.counter(EvaluateRules.METRICS_NAMESPACE, EvaluateRules.SILENCE_UPDATES_APPLIED);
    silencesExpired =
        Metrics.counter(EvaluateRules.METRICS_NAMESPACE, EvaluateRules.SILENCES_EXPIRED);
  }

  @ProcessElement
  public void process(
      @Element KV<Integer, EngineInput> element,
      @StateId("ruleUpdates") MapState<String, Rule> ruleUpdates,
      @StateId("alertStates") MapState<String, AlertState> alertStates,
      @StateId("absenceDeadlines") MapState<String, Long> deadlines,
      @StateId("pending") BagState<EngineInput> pending,
      @StateId("wakeAt") ValueState<Long> wakeAt,
      @StateId("silences") MapState<String, Silence> silenceUpdates,
      @StateId("judgedUpTo") MapState<String, Long> judgedUpTo,
      @TimerId("wake") Timer wake,
      MultiOutputReceiver out) {
    EngineInput input = element.getValue();
    switch (input.type()) {
      case RULE:
        applyRuleUpdate(
            element.getKey() == 0,
            input,
            ruleUpdates,
            engine(alertStates, deadlines, silenceUpdates, out),
            out);
        return;
      case SILENCE:
        applySilenceUpdate(element.getKey() == 0, input, silenceUpdates, out);
        return;
      case STATS:
        if (input.stats().pane() == PaneTiming.EARLY) {
          List<Rule> speculative = new ArrayList<>();
          for (Rule rule : rulesInForce(ruleUpdates).values()) {
            if (!rule.deleted() && rule.speculative()) {
              speculative.add(rule);
            }
          }
          if (!speculative.isEmpty()) {
            RuleEngine engine = engine(alertStates, deadlines, silenceUpdates, out);
            engine.onEarlyPane(input.stats(), input.reference(), speculative, Instant.now());
            skipped.inc(engine.skippedWithoutReference());
          }
          return;
        }
        String series = seriesOf(input);
        Long judged = judgedUpTo.get(series).read();
        if (judged != null && open(judged)) {
          if (judged == input.stats().windowStart().getMillis()) {
            // No window of its (key, metric) can come between: judge it now.
            List<Rule> rules = rulesToJudge(rulesInForce(ruleUpdates), false);
            RuleEngine engine = engine(alertStates, deadlines, silenceUpdates, out);
            engine.onWindow(input.stats(), input.reference(), rules, Instant.now());
            skipped.inc(engine.skippedWithoutReference());
            judgedUpTo.put(series, input.stats().windowEnd().getMillis());
            input = input.judged();
          } else {
            // It waits for the watermark, and nothing of its (key, metric) may overtake it.
            judgedUpTo.put(series, judged + BLOCKED);
          }
        }
        break;
      default:
        break;
    }
    // Closed panes and event-time evidence wait until the watermark passes them, then are
    // judged in event-time order: the same order on every runner, bounded or not.
    pending.add(input);
    long at = input.time() - 1;
    Long scheduled = wakeAt.read();
    if (scheduled == null || at < scheduled) {
      wake.set(new Instant(at));
      wakeAt.write(at);
    }
  }

  @OnTimer("wake")
  public void onWake(
      OnTimerContext context,
      @StateId("ruleUpdates") MapState<String, Rule> ruleUpdates,
      @StateId("alertStates") MapState<String, AlertState> alertStates,
      @StateId("absenceDeadlines") MapState<String, Long> deadlines,
      @StateId("pending") BagState<EngineInput> pending,
      @StateId("wakeAt") ValueState<Long> wakeAt,
      @StateId("silences") MapState<String, Silence> silenceUpdates,
      @StateId("judgedUpTo") MapState<String, Long> judgedUpTo,
      @TimerId("wake") Timer wake,
      MultiOutputReceiver out) {
    long firedAt = context.fireTimestamp().getMillis();
    List<EngineInput> due = new ArrayList<>();
    List<EngineInput> later = new ArrayList<>();
    for (EngineInput input : pending.read()) {
      (input.time() - 1 <= firedAt ? due : later).add(input);
    }
    due.sort(EVENT_TIME_ORDER);
    Map<String, Rule> inForce = rulesInForce(ruleUpdates);
    List<Rule> rules = rulesToJudge(inForce, true);
    List<Rule> absenceRules = new ArrayList<>(rules);
    absenceRules.removeIf(rule -> rule.condition().kind() != Condition.Kind.ABSENCE);
    RuleEngine engine = engine(alertStates, deadlines, silenceUpdates, out);
    Instant now = Instant.now();
    Map<String, Long> lastJudged = new HashMap<>();
    int i = 0;
    while (i < due.size()) {
      long time = due.get(i).time();
      // All windows closing at one instant are judged before that instant counts as evidence
      // of silence, so a key's own window always wins over its deadline.
      for (; i < due.size() && due.get(i).time() == time; i++) {
        EngineInput input = due.get(i);
        if (input.type() == EngineInput.Type.STATS) {
          if (input.judgedOnArrival()) {
            engine.onWindow(input.stats(), input.reference(), absenceRules, now);
          } else {
            engine.onWindow(input.stats(), input.reference(), rules, now);
            String series = seriesOf(input);
            Long judged =
                lastJudged.containsKey(series)
                    ? lastJudged.get(series)
                    : judgedUpTo.get(series).read();
            long start = input.stats().windowStart().getMillis();
            long end = input.stats().windowEnd().getMillis();
            Long judgedEnd = judged == null ? null : judgedEnd(judged);
            if (judged != null && judged == OVERLAPPING) {
              continue; // windows that overlap (sliding): never judged on arrival
            } else if (judgedEnd != null && start < judgedEnd && end > judgedEnd) {
              lastJudged.put(series, OVERLAPPING);
            } else {
              // Judged now: open again, unless a pane of it still waits (below).
              lastJudged.put(series, judgedEnd == null || judgedEnd < end ? end : judgedEnd);
            }
          }
        }
      }
      engine.onEventTime(time, inForce, now);
    }
    skipped.inc(engine.skippedWithoutReference());
    expireSilences(silenceUpdates, latestTime(due));
    pending.clear();
    Long next = null;
    for (EngineInput input : later) {
      if (input.type() == EngineInput.Type.STATS && !input.judgedOnArrival()) {
        // Still waiting for the watermark: nothing of its (key, metric) may overtake it.
        String series = seriesOf(input);
        Long judged =
            lastJudged.containsKey(series) ? lastJudged.get(series) : judgedUpTo.get(series).read();
        if (judged != null && open(judged)) {
          lastJudged.put(series, judged + BLOCKED);
        }
      }
    }
    for (Map.Entry<String, Long> judged : lastJudged.entrySet()) {
      judgedUpTo.put(judged.getKey(), judged.getValue());
    }
    for (EngineInput input : later) {
      pending.add(input);
      next = next == null ? input.time() - 1 : Math.min(next, input.time() - 1);
    }
    if (next != null) {
      wake.set(new Instant(next));
      wakeAt.write(next);
    } else {
      wakeAt.clear();
    }
  }

  /**
   * {@code judgedUpTo} of a (key, metric) whose windows overlap (sliding windows: one started
   * before the previous one ended): no pane of it is judged on arrival, since the window judged
   * last is not the one before it.
   */
  private static final long OVERLAPPING = Long.MIN_VALUE;

  /**
   * Added to {@code judgedUpTo} while a pane of the (key, metric) waits for the watermark: no pane
   * of it is judged on arrival then, and the end of the window judged last is kept (to see at the
   * next wake whether the waiting pane's window overlaps it). Event times are within ±2^53 ms, so
   * the two ranges never meet. State of the previous version holds no blocked values.
   */
  private static final long BLOCKED = 1L << 60;

  /** Neither overlapping nor blocked: a pane starting at this end is judged on arrival. */
  private static boolean open(long judged) {
    return judged != OVERLAPPING && judged < BLOCKED / 2;
  }

  /** The end of the window judged last, blocked or not ({@code judged} is not OVERLAPPING). */
  private static long judgedEnd(long judged) {
    return judged >= BLOCKED / 2 ? judged - BLOCKED : judged;
  }

  private static String seriesOf(EngineInput input) {
    return input.stats().key() + '\u0000' + input.stats().metric();
  }

  /** The rules in force that judge windows, with or without the absence rules. */
  private static List<Rule> rulesToJudge(Map<String, Rule> inForce, boolean withAbsence) {
    List<Rule> rules = new ArrayList<>();
    for (Rule rule : inForce.values()) {
      if (!rule.deleted() && (withAbsence || rule.condition().kind() != Condition.Kind.ABSENCE)) {
        rules.add(rule);
      }
    }
    return rules;
  }

  /** The latest event time judged in this wake-up, or {@code Long.MIN_VALUE}. */
  private static long latestTime(List<EngineInput> due) {
    return due.isEmpty() ? Long.MIN_VALUE : due.get(due.size() - 1).time();
  }

  /**
   * Range silences whose end event time passed a day ago become tombstones (small, and they keep a
   * replayed older version from coming back); a late pane judged later than that is not covered by
   * them.
   */
  private void expireSilences(MapState<String, Silence> silenceUpdates, long judgedUpTo) {
    if (judgedUpTo == Long.MIN_VALUE) {
      return;
    }
    Instant graceEnd = new Instant(judgedUpTo).minus(EvaluateRules.SILENCE_EXPIRY_GRACE);
    for (Map.Entry<String, Silence> entry : silenceUpdates.entries().read()) {
      Silence silence = entry.getValue();
      if (!silence.deleted() && silence.expiredBy(graceEnd)) {
        silenceUpdates.put(entry.getKey(), Silence.deletion(silence.id(), silence.version()));
        silencesExpired.inc();
      }
    }
  }

  private List<Silence> silencesInForce(MapState<String, Silence> silenceUpdates) {
    Map<String, Silence> silences = new TreeMap<>(staticSilences);
    for (Map.Entry<String, Silence> update : silenceUpdates.entries().read()) {
      silences.put(update.getKey(), update.getValue());
    }
    List<Silence> active = new ArrayList<>();
    for (Silence silence : silences.values()) {
      if (!silence.deleted()) {
        active.add(silence);
      }
    }
    return active;
  }

  private RuleEngine engine(
      MapState<String, AlertState> alertStates,
      MapState<String, Long> deadlines,
      MapState<String, Silence> silenceUpdates,
      MultiOutputReceiver out) {
    return new RuleEngine(
        store(alertStates, deadlines), output(out), silencesInForce(silenceUpdates));
  }

  /** The same version rules as for rule updates: higher replaces, older or other is refused. */
  private void applySilenceUpdate(
      boolean reportingShard,
      EngineInput input,
      MapState<String, Silence> silenceUpdates,
      MultiOutputReceiver out) {
    Silence update = input.silence();
    Silence current = silenceUpdates.get(update.id()).read();
    if (current == null) {
      current = staticSilences.get(update.id());
    }
    // The same version again is a replay; so is one of a silence that has since expired.
    boolean applies =
        checkVersion(
            "silence",
            update.id(),
            update.version(),
            current == null ? null : current.version(),
            update.equals(current) || (current != null && current.deleted()),
            reportingShard,
            input,
            update.toJson(),
            out);
    if (applies) {
      silenceUpdates.put(update.id(), update);
      if (reportingShard) {
        silenceUpdatesApplied.inc();
      }
    }
  }

  /**
   * Whether an update of version {@code version} applies over {@code currentVersion} (null: none in
   * force): a higher version does; the same one again ({@code same}) is counted as a duplicate and
   * ignored; an older one, or the same with other content, is a {@code RULE_VERSION_CONFLICT} dead
   * letter. The reporting shard alone counts and reports.
   */
  private boolean checkVersion(
      String kind,
      String id,
      long version,
      @Nullable Long currentVersion,
      boolean same,
      boolean reportingShard,
      EngineInput input,
      String json,
      MultiOutputReceiver out) {
    if (currentVersion == null || version > currentVersion) {
      return true;
    }
    if (version == currentVersion && same) {
      if (reportingShard) {
        duplicate.inc();
      }
      return false;
    }
    if (reportingShard) {
      String conflict =
          kind
              + " '"
              + id
              + "': version "
              + version
              + (version < currentVersion
                  ? " is older than version " + currentVersion + " in force"
                  : " is already in force with other content")
              + "; raise the version to change a "
              + kind;
      rejected.inc();
      out.get(deadLettersTag)
          .output(
              DeadLetter.of(
                  EvaluateRules.STAGE,
                  Reason.RULE_VERSION_CONFLICT,
                  conflict,
                  input.payload() == null ? json : input.payload(),
                  input.source(),
                  Instant.now()));
    }
    return false;
  }

  private Map<String, Rule> rulesInForce(MapState<String, Rule> ruleUpdates) {
    Map<String, Rule> rules = new TreeMap<>(staticRules);
    Iterable<Map.Entry<String, Rule>> updates = ruleUpdates.entries().read();
    for (Map.Entry<String, Rule> update : updates) {
      rules.put(update.getKey(), update.getValue());
    }
    return rules;
  }

  private void applyRuleUpdate(
      boolean reportingShard,
      EngineInput input,
      MapState<String, Rule> ruleUpdates,
      RuleEngine engine,
      MultiOutputReceiver out) {
    Rule update = input.rule();
    Rule current = rulesInForce(ruleUpdates).get(update.id());
    if (!checkVersion(
        "rule",
        update.id(),
        update.version(),
        current == null ? null : current.version(),
        update.equals(current),
        reportingShard,
        input,
        update.toJson(),
        out)) {
      return;
    }
    ruleUpdates.put(update.id(), update);
    if (reportingShard) {
      applied.inc();
    }
    if (update.deleted() && current != null && !current.deleted()) {
      engine.onRuleDeleted(update, current, Instant.now());
    }
  }

  private RuleEngine.Output output(MultiOutputReceiver out) {
    return (alert, transition) -> {
      switch (transition) {
        case FIRED -> fired.inc();
        case RESOLVED -> resolved.inc();
        case RENOTIFIED -> renotified.inc();
        case SENT_AFTER_SILENCE -> sentAfterSilence.inc();
      }
      if (alert.silenced()) {
        silenced.inc();
      }
      transitionsByRule
          .computeIfAbsent(
              EvaluateRules.alertTransitionsCounterName(
                  alert.status().name(), transition.name(), alert.ruleId()),
              name -> Metrics.counter(EvaluateRules.METRICS_NAMESPACE, name))
          .inc();
      out.get(alertsTag).output(alert);
    };
  }

  private static RuleEngine.Store store(
      MapState<String, AlertState> states, MapState<String, Long> deadlines) {
    return new RuleEngine.Store() {
      @Override
      public AlertState get(String stateKey) {
        return states.get(stateKey).read();
      }

      @Override
      public void put(String stateKey, AlertState state) {
        states.put(stateKey, state);
      }

      @Override
      public void remove(String stateKey) {
        states.remove(stateKey);
      }

      @Override
      public Iterable<Map.Entry<String, AlertState>> states() {
        return states.entries().read();
      }

      @Override
      public Iterable<Map.Entry<String, Long>> deadlines() {
        return deadlines.entries().read();
      }

      @Override
      public void putDeadline(String stateKey, long deadline) {
        deadlines.put(stateKey, deadline);
      }

      @Override
      public void removeDeadline(String stateKey) {
        deadlines.remove(stateKey);
      }
    };
  }
}

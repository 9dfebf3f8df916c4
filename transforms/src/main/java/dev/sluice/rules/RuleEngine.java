package dev.sluice.rules;

import dev.sluice.model.Alert;
import dev.sluice.model.Alert.Status;
import dev.sluice.model.JsonSupport;
import dev.sluice.model.PaneTiming;
import dev.sluice.model.WindowStats;
import dev.sluice.rules.Condition.Kind;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.checkerframework.checker.nullness.qual.Nullable;
import org.joda.time.Duration;
import org.joda.time.Instant;

/**
 * The rules and alert lifecycle of one shard of keys, without Beam: callers feed closed windows in
 * event-time order, early panes as they come, and evidence of how far event time has got; the
 * engine keeps per (rule, key, metric) an {@link AlertState} in a {@link Store} and emits alerts.
 *
 * <p>Lifecycle: {@code FIRING} once when a condition starts to hold (the episode starts with that
 * window), nothing while it keeps holding except a repeat every {@code renotify_every} of event
 * time, {@code RESOLVED} once after {@code resolve_after} consecutive windows in which it does not
 * hold. An older pane than the last evaluated window of a (rule, key, metric) is ignored; a late
 * pane of that same window can start an episode but not count towards resolving one.
 *
 * <p>A rule with {@code for} fires only once its condition has held in consecutive windows covering
 * that much event time (a window that does not hold, or a gap between windows, starts the wait
 * over); the episode, and the FIRING alert's window, start with the first of those windows.
 *
 * <p>{@link Silence}s mark transitions they cover ({@code silenced}): stored, not sent. An episode
 * whose FIRING was silenced sends it with its first window judged after the silence (absence rules:
 * when event time passes the silence's end) if it is still firing then; its RESOLVED is silenced
 * when its FIRING never went out, and always sent when it did, so no receiver is left with an alert
 * that never resolves.
 */
public final class RuleEngine {

  /** Where the engine keeps its state (Beam state in the pipeline, maps in tests). */
  public interface Store {
    AlertState get(String stateKey);

    void put(String stateKey, AlertState state);

    void remove(String stateKey);

    Iterable<Map.Entry<String, AlertState>> states();

    Iterable<Map.Entry<String, Long>> deadlines();

    void putDeadline(String stateKey, long deadline);

    void removeDeadline(String stateKey);
  }

  /** What happened to an alert. */
  public enum Transition {
    FIRED,
    RENOTIFIED,
    RESOLVED,
    /** The FIRING of an episode whose first FIRING a silence covered, sent once it ended. */
    SENT_AFTER_SILENCE
  }

  /** Receives the engine's alerts. */
  public interface Output {
    void emit(Alert alert, Transition transition);
  }

  private final Store store;
  private final Output output;
  private final Collection<Silence> silences;

  private long skippedWithoutReference;

  public RuleEngine(Store store, Output output) {
    this(store, output, List.of());
  }

  /** An engine whose alerts the given silences may cover (see {@link Silence}). */
  public RuleEngine(Store store, Output output, Collection<Silence> silences) {
    this.store = store;
    this.output = output;
    this.silences = silences;
  }

  static String stateKey(String ruleId, String key, String metric) {
    return ruleId + '\u0000' + key + '\u0000' + metric;
  }

  private static String[] parts(String stateKey) {
    return stateKey.split("\u0000", 3);
  }

  /**
   * A closed pane ({@code ON_TIME} or {@code LATE}); closed panes must come in event-time order.
   */
  public void onWindow(WindowStats stats, Collection<Rule> rules, Instant now) {
    onWindow(stats, null, rules, now);
  }

  /**
   * A closed pane, with the key's reference values ({@code null} without enrichment or without a
   * row): a rule whose threshold is a reference column is skipped for a key without that value.
   */
  public void onWindow(
      WindowStats stats, @Nullable Map<String, ?> reference, Collection<Rule> rules, Instant now) {
    for (Rule candidate : rules) {
      if (candidate.paused() || !candidate.appliesTo(stats.key(), stats.metric())) {
        continue;
      }
      Rule rule = forKey(candidate, reference);
      if (rule == null) {
        continue;
      }
      Condition c = rule.condition();
      String metric = c.kind() == Kind.ABSENCE ? c.metric() : stats.metric();
      String k = stateKey(rule.id(), stats.key(), metric);
      AlertState st = stateFor(k, c);
      if (c.kind() == Kind.ABSENCE) {
        onAbsenceWindow(rule, stats, st, k, now);
      } else {
        long end = stats.windowEnd().getMillis();
        if (st.lastWindowEnd != null && end < st.lastWindowEnd) {
          continue; // an older window than one already judged: it cannot rewind the lifecycle
        }
        boolean sameWindow = st.lastWindowEnd != null && end == st.lastWindowEnd;
        if (!sameWindow
            && st.lastWindowEnd != null
            && stats.windowStart().getMillis() > st.lastWindowEnd) {
          st.pendingSince = null; // a gap: the condition has not held without a break
        }
        Verdict v = evaluate(rule, stats, st, sameWindow);
        st.lastWindowEnd = end;
        if (v != null) {
          transition(rule, stats, st, v, sameWindow, now);
        }
      }
      store.put(k, st);
    }
  }

  /** An early pane: only speculative threshold rules look at it, and it can only start episodes. */
  public void onEarlyPane(WindowStats stats, Collection<Rule> rules, Instant now) {
    onEarlyPane(stats, null, rules, now);
  }

  /** An early pane, with the key's reference values (see {@link #onWindow}). */
  public void onEarlyPane(
      WindowStats stats, @Nullable Map<String, ?> reference, Collection<Rule> rules, Instant now) {
    if (stats.pane() != PaneTiming.EARLY) {
      throw new IllegalArgumentException("not an early pane: " + stats.pane());
    }
    for (Rule candidate : rules) {
      if (!candidate.speculative()
          || candidate.paused()
          || !candidate.appliesTo(stats.key(), stats.metric())) {
        continue;
      }
      Rule rule = forKey(candidate, reference);
      if (rule == null) {
        continue;
      }
      String k = stateKey(rule.id(), stats.key(), stats.metric());
      AlertState st = stateFor(k, rule.condition());
      long end = stats.windowEnd().getMillis();
      if (st.firing || (st.lastWindowEnd != null && end <= st.lastWindowEnd)) {
        continue;
      }
      Double x = rule.condition().aggregate().of(stats);
      if (x != null && rule.condition().comparison().holds(x, rule.condition().threshold())) {
        fire(
            rule,
            stats.key(),
            stats.metric(),
            st,
            stats.windowStart().getMillis(),
            stats.windowStart(),
            stats.windowEnd(),
            x,
            now);
        store.put(k, st);
      }
    }
  }

  /**
   * Event time has reached {@code time} (a window ending then has closed): keys silent since before
   * {@code time - silence} now fire their absence rules.
   */
  public void onEventTime(long time, Map<String, Rule> rulesById, Instant now) {
    List<Map.Entry<String, Long>> due = new ArrayList<>();
    for (Map.Entry<String, Long> entry : store.deadlines()) {
      if (entry.getValue() <= time) {
        due.add(Map.entry(entry.getKey(), entry.getValue()));
      }
    }
    due.sort(Map.Entry.<String, Long>comparingByValue().thenComparing(Map.Entry.comparingByKey()));
    for (Map.Entry<String, Long> entry : due) {
      String k = entry.getKey();
      store.removeDeadline(k);
      String[] p = parts(k);
      Rule rule = rulesById.get(p[0]);
      AlertState st = store.get(k);
      if (rule == null || rule.deleted() || rule.paused() || st == null) {
        continue; // re-armed by the key's next window
      }
      if (st.firing) {
        if (st.unsent) { // an absence episode whose FIRING a silence covered
          Long until = silencedUntil(rule, p[1], time);
          if (until != null) {
            store.putDeadline(k, until);
          } else {
            st.unsent = false;
            st.lastNotified = time;
            emit(
                alert(
                    rule,
                    p[1],
                    p[2],
                    st,
                    Status.FIRING,
                    (time - st.silentSince) / 1000.0,
                    new Instant(st.silentSince),
                    new Instant(time),
                    now,
                    null),
                Transition.SENT_AFTER_SILENCE,
                false);
            store.put(k, st);
          }
        }
        continue;
      }
      long deadline = entry.getValue();
      st.silentSince = st.lastWindowEnd;
      Long until =
          fire(
              rule,
              p[1],
              p[2],
              st,
              deadline,
              new Instant(st.silentSince),
              new Instant(deadline),
              (deadline - st.silentSince) / 1000.0,
              now);
      if (until != null) {
        store.putDeadline(k, until);
      }
      store.put(k, st);
    }
  }

  /** Rule {@code ruleId} was deleted by {@code tombstone}: its open episodes resolve. */
  public void onRuleDeleted(Rule tombstone, Rule previous, Instant now) {
    String prefix = tombstone.id() + '\u0000';
    List<String> keys = new ArrayList<>();
    for (Map.Entry<String, AlertState> entry : store.states()) {
      if (entry.getKey().startsWith(prefix)) {
        keys.add(entry.getKey());
      }
    }
    keys.sort(null);
    for (String k : keys) {
      AlertState st = store.get(k);
      if (st != null && st.firing) {
        String[] p = parts(k);
        long last = st.lastWindowEnd == null ? st.episodeStart : st.lastWindowEnd;
        emit(
            alert(
                previous.withVersion(tombstone.version()),
                p[1],
                p[2],
                st,
                Status.RESOLVED,
                0,
                new Instant(st.episodeStart),
                new Instant(last),
                now,
                "RESOLVED: rule "
                    + tombstone.id()
                    + " was deleted (version "
                    + tombstone.version()
                    + ")"),
            Transition.RESOLVED,
            st.unsent);
      }
      store.remove(k);
      store.removeDeadline(k);
    }
  }

  /**
   * The rule with the key's threshold, or null when it compares with a reference column the key has
   * no value in. The condition's text, which the lifecycle state remembers, does not change.
   */
  private @Nullable Rule forKey(Rule rule, @Nullable Map<String, ?> reference) {
    if (rule.condition().thresholdColumn() == null) {
      return rule;
    }
    Condition resolved = rule.condition().forKey(reference);
    if (resolved == null) {
      skippedWithoutReference++;
      return null;
    }
    return rule.toBuilder().setCondition(resolved).build();
  }

  /** How many (rule, window) judgements were skipped for a key without its reference value. */
  public long skippedWithoutReference() {
    return skippedWithoutReference;
  }

  private AlertState stateFor(String k, Condition c) {
    AlertState st = store.get(k);
    String text = c.toString();
    if (st == null) {
      return AlertState.fresh(text);
    }
    if (!text.equals(st.condition)) {
      st.resetDerived(text);
    }
    return st;
  }

  private record Verdict(boolean holds, double value) {}

  private static Verdict evaluate(Rule rule, WindowStats stats, AlertState st, boolean same) {
    Condition c = rule.condition();
    Double x = c.aggregate().of(stats);
    if (x == null) {
      return null;
    }
    switch (c.kind()) {
      case THRESHOLD:
        return new Verdict(c.comparison().holds(x, c.threshold()), x);
      case RATE_OF_CHANGE:
        {
          if (same) {
            return null; // a late pane of the judged window does not move the comparison point
          }
          Double prev = st.previous;
          st.previous = x;
          if (prev == null || (c.percent() && prev == 0.0)) {
            return null;
          }
          double change = c.percent() ? (x - prev) / Math.abs(prev) * 100.0 : x - prev;
          return new Verdict(c.comparison().holds(change, c.threshold()), change);
        }
      case ANOMALY:
        {
          if (same) {
            return null;
          }
          double[] base = st.baseline;
          int n = rule.baselineWindows();
          Verdict verdict = null;
          if (base.length >= n) {
            double mean = 0;
            for (int i = base.length - n; i < base.length; i++) {
              mean += base[i];
            }
            mean /= n;
            double squares = 0;
            for (int i = base.length - n; i < base.length; i++) {
              squares += (base[i] - mean) * (base[i] - mean);
            }
            double std = Math.sqrt(squares / n);
            if (std > 0) { // a constant baseline has no spread: the z-score is undefined
              double z = (x - mean) / std;
              verdict = new Verdict(c.comparison().holds(z, c.threshold()), z);
            }
          }
          int keep = Math.min(n, base.length + 1);
          double[] next = new double[keep];
          System.arraycopy(base, base.length - (keep - 1), next, 0, keep - 1);
          next[keep - 1] = x;
          st.baseline = next;
          return verdict;
        }
      default:
        throw new AssertionError(c.kind());
    }
  }

  private void transition(
      Rule rule, WindowStats stats, AlertState st, Verdict v, boolean sameWindow, Instant now) {
    long end = stats.windowEnd().getMillis();
    if (v.holds()) {
      if (!st.firing) {
        long episode = stats.windowStart().getMillis();
        Duration pendingFor = rule.pendingFor();
        if (pendingFor != null) {
          if (st.pendingSince == null) {
            st.pendingSince = episode;
          }
          episode = st.pendingSince;
          if (end - episode < pendingFor.getMillis()) {
            return; // pending: it has not held long enough yet
          }
        }
        fire(
            rule,
            stats.key(),
            stats.metric(),
            st,
            episode,
            new Instant(episode),
            stats.windowEnd(),
            v.value(),
            now);
        return;
      }
      if (sameWindow) {
        return;
      }
      st.clearCount = 0;
      if (sendIfSilenceEnded(rule, stats, st, v, now)) {
        return;
      }
      if (rule.renotifyEvery() != null
          && end - st.lastNotified >= rule.renotifyEvery().getMillis()) {
        st.lastNotified = end;
        emit(
            firingAlert(rule, stats, st, v, now),
            Transition.RENOTIFIED,
            st.unsent || silencedUntil(rule, stats.key(), end) != null);
      }
    } else if (!st.firing) {
      if (!sameWindow) {
        st.pendingSince = null;
      }
    } else if (!sameWindow) {
      st.clearCount++;
      if (st.clearCount >= rule.resolveAfter()) {
        resolve(
            rule,
            stats.key(),
            stats.metric(),
            st,
            stats.windowStart(),
            stats.windowEnd(),
            v.value(),
            now);
      } else {
        sendIfSilenceEnded(rule, stats, st, v, now);
      }
    }
  }

  /** Sends the FIRING a silence held back, once the silence no longer covers this window. */
  private boolean sendIfSilenceEnded(
      Rule rule, WindowStats stats, AlertState st, Verdict v, Instant now) {
    long end = stats.windowEnd().getMillis();
    if (!st.unsent || silencedUntil(rule, stats.key(), end) != null) {
      return false;
    }
    st.unsent = false;
    st.lastNotified = end;
    emit(firingAlert(rule, stats, st, v, now), Transition.SENT_AFTER_SILENCE, false);
    return true;
  }

  /** A FIRING of the open episode, for this window: a re-notification, or a held-back FIRING. */
  private static Alert firingAlert(
      Rule rule, WindowStats stats, AlertState st, Verdict v, Instant now) {
    return alert(
        rule,
        stats.key(),
        stats.metric(),
        st,
        Status.FIRING,
        v.value(),
        stats.windowStart(),
        stats.windowEnd(),
        now,
        null);
  }

  /**
   * The end of the silences that cover an alert of {@code rule} on {@code key} whose window ends at
   * {@code windowEnd} (judged at its last instant), or null when none does.
   */
  private @Nullable Long silencedUntil(Rule rule, String key, long windowEnd) {
    Instant at = new Instant(windowEnd - 1);
    Long until = null;
    for (Silence silence : silences) {
      if (silence.matches(rule, key)) {
        Instant end = silence.activeUntil(at);
        if (end != null && (until == null || end.getMillis() > until)) {
          until = end.getMillis();
        }
      }
    }
    return until;
  }

  private void emit(Alert alert, Transition transition, boolean silenced) {
    output.emit(silenced ? alert.withSilenced(true) : alert, transition);
  }

  private void onAbsenceWindow(Rule rule, WindowStats stats, AlertState st, String k, Instant now) {
    long start = stats.windowStart().getMillis();
    long end = stats.windowEnd().getMillis();
    // With for, the silence must last that much longer before the alert fires.
    long silence =
        rule.condition().silentFor().getMillis()
            + (rule.pendingFor() == null ? 0 : rule.pendingFor().getMillis());
    if (st.lastWindowEnd != null && end <= st.lastWindowEnd) {
      return; // this window (another metric of it, or a late pane) was already counted
    }
    String metric = rule.condition().metric();
    Long heldBackUntil = null;
    if (!st.firing && st.lastWindowEnd != null && start - st.lastWindowEnd >= silence) {
      // The key was silent long enough before this window, though no other key proved it yet.
      st.silentSince = st.lastWindowEnd;
      long deadline = st.lastWindowEnd + silence;
      heldBackUntil =
          fire(
              rule,
              stats.key(),
              metric,
              st,
              deadline,
              new Instant(st.silentSince),
              new Instant(deadline),
              (deadline - st.silentSince) / 1000.0,
              now);
    } else if (st.firing && st.lastWindowEnd != null && start - st.lastWindowEnd >= silence) {
      st.clearCount = 0; // silent again before it counted as back: the episode goes on
    }
    if (st.firing) {
      st.clearCount++;
      if (st.clearCount >= rule.resolveAfter()) {
        double silentSeconds = (start - st.silentSince) / 1000.0;
        resolve(
            rule,
            stats.key(),
            metric,
            st,
            stats.windowStart(),
            stats.windowEnd(),
            silentSeconds,
            now);
        st.silentSince = null;
      }
    }
    st.lastWindowEnd = end;
    if (st.firing && st.unsent && heldBackUntil != null) {
      store.putDeadline(k, heldBackUntil); // to send the FIRING when the silence ends
    } else if (st.firing) {
      store.removeDeadline(k);
    } else {
      store.putDeadline(k, end + silence);
    }
  }

  /** Fires; returns the end of the silence that covers the FIRING, or null when it was sent. */
  private @Nullable Long fire(
      Rule rule,
      String key,
      String metric,
      AlertState st,
      long episode,
      Instant windowStart,
      Instant windowEnd,
      double value,
      Instant now) {
    st.firing = true;
    st.episodeStart = episode;
    st.clearCount = 0;
    st.lastNotified = windowEnd.getMillis();
    st.pendingSince = null;
    Long until = silencedUntil(rule, key, windowEnd.getMillis());
    st.unsent = until != null;
    emit(
        alert(rule, key, metric, st, Status.FIRING, value, windowStart, windowEnd, now, null),
        Transition.FIRED,
        st.unsent);
    return until;
  }

  private void resolve(
      Rule rule,
      String key,
      String metric,
      AlertState st,
      Instant windowStart,
      Instant windowEnd,
      double value,
      Instant now) {
    emit(
        alert(rule, key, metric, st, Status.RESOLVED, value, windowStart, windowEnd, now, null),
        Transition.RESOLVED,
        st.unsent); // a RESOLVED goes out whenever its FIRING did
    st.firing = false;
    st.clearCount = 0;
    st.unsent = false;
  }

  private static Alert alert(
      Rule rule,
      String key,
      String metric,
      AlertState st,
      Status status,
      double value,
      Instant windowStart,
      Instant windowEnd,
      Instant now,
      String fixedMessage) {
    Condition c = rule.condition();
    double threshold =
        c.kind() == Kind.ABSENCE ? c.silentFor().getMillis() / 1000.0 : c.threshold();
    String message = fixedMessage;
    if (message == null) {
      Map<String, String> values = new HashMap<>();
      values.put("rule_id", rule.id());
      values.put("rule_version", Long.toString(rule.version()));
      values.put("key", key);
      values.put("metric", metric);
      values.put("status", status.name());
      values.put("severity", rule.severity().name());
      values.put("value", Condition.compact(value));
      values.put("threshold", Condition.compact(threshold));
      values.put("condition", c.toString());
      values.put("window_start", JsonSupport.formatInstant(windowStart));
      values.put("window_end", JsonSupport.formatInstant(windowEnd));
      message = rule.message().render(values, rule.labels());
    }
    return new Alert(
        Alert.fingerprint(rule.id(), key, metric, new Instant(st.episodeStart)),
        rule.id(),
        rule.version(),
        key,
        metric,
        status,
        rule.severity(),
        value,
        threshold,
        windowStart,
        windowEnd,
        message,
        now,
        rule.labels());
  }
}

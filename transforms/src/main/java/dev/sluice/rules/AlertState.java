package dev.sluice.rules;

import dev.sluice.model.DeterministicCoder;
import dev.sluice.model.FormatVersion;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Arrays;
import java.util.Objects;
import org.apache.beam.sdk.coders.BooleanCoder;
import org.apache.beam.sdk.coders.DoubleCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.coders.VarIntCoder;
import org.apache.beam.sdk.coders.VarLongCoder;

/**
 * The lifecycle state of one (rule, key, metric): whether an episode is open, since when, how many
 * clear windows have followed, and what rate-of-change, anomaly and absence rules remember between
 * windows. Mutable; kept in Beam state and written back after every change.
 */
public final class AlertState {
  /** The condition the derived fields below were computed for. */
  String condition;

  boolean firing;

  /** Start of the open (or last) episode: its first window's start, or an absence deadline. */
  Long episodeStart;

  int clearCount;

  /** End of the last window evaluated, so an older pane cannot rewind the lifecycle. */
  Long lastWindowEnd;

  /** Window end of the last FIRING notification, for re-notification. */
  Long lastNotified;

  /** Rate of change: the aggregate of the previous window. */
  Double previous;

  /** Anomaly: the aggregate of the last N windows, oldest first. */
  double[] baseline = new double[0];

  /** Absence: the start of the silence (end of the last window with data) while firing. */
  Long silentSince;

  /** A rule with {@code for}: start of the run of windows in which the condition held, if any. */
  Long pendingSince;

  /** The open episode's FIRING was silenced and not sent yet: it is, once the silence ends. */
  boolean unsent;

  /** The coder of lifecycle state, for a Beam {@code MapState}. */
  public static DeterministicCoder<AlertState> coder() {
    return AlertStateCoder.INSTANCE;
  }

  static AlertState fresh(String condition) {
    AlertState s = new AlertState();
    s.condition = condition;
    return s;
  }

  /** Forgets what was derived for another condition; an open episode stays open. */
  void resetDerived(String newCondition) {
    condition = newCondition;
    previous = null;
    baseline = new double[0];
    pendingSince = null;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof AlertState s
        && Objects.equals(condition, s.condition)
        && firing == s.firing
        && Objects.equals(episodeStart, s.episodeStart)
        && clearCount == s.clearCount
        && Objects.equals(lastWindowEnd, s.lastWindowEnd)
        && Objects.equals(lastNotified, s.lastNotified)
        && Objects.equals(previous, s.previous)
        && Arrays.equals(baseline, s.baseline)
        && Objects.equals(silentSince, s.silentSince)
        && Objects.equals(pendingSince, s.pendingSince)
        && unsent == s.unsent;
  }

  @Override
  public int hashCode() {
    return Objects.hash(condition, firing, episodeStart, clearCount, lastWindowEnd);
  }

  /**
   * Deterministic coder for {@link AlertState}. Format version 2 added {@code pendingSince} and
   * {@code unsent}; state written before (unversioned) decodes with neither.
   */
  static final class AlertStateCoder extends DeterministicCoder<AlertState> {
    private static final AlertStateCoder INSTANCE = new AlertStateCoder();
    private static final int VERSION = 2;
    private static final StringUtf8Coder STRING = StringUtf8Coder.of();
    private static final VarLongCoder LONG = VarLongCoder.of();
    private static final VarIntCoder INT = VarIntCoder.of();
    private static final DoubleCoder DOUBLE = DoubleCoder.of();
    private static final BooleanCoder BOOL = BooleanCoder.of();

    static AlertStateCoder of() {
      return INSTANCE;
    }

    @Override
    public void encode(AlertState s, OutputStream out) throws IOException {
      FormatVersion.write(VERSION, out);
      STRING.encode(s.condition, out);
      BOOL.encode(s.firing, out);
      writeNullable(s.episodeStart, out);
      INT.encode(s.clearCount, out);
      writeNullable(s.lastWindowEnd, out);
      writeNullable(s.lastNotified, out);
      BOOL.encode(s.previous != null, out);
      if (s.previous != null) {
        DOUBLE.encode(s.previous, out);
      }
      INT.encode(s.baseline.length, out);
      for (double v : s.baseline) {
        DOUBLE.encode(v, out);
      }
      writeNullable(s.silentSince, out);
      writeNullable(s.pendingSince, out);
      BOOL.encode(s.unsent, out);
    }

    @Override
    public AlertState decode(InputStream in) throws IOException {
      AlertState s = new AlertState();
      FormatVersion format = FormatVersion.read(in);
      s.condition = format.firstString() != null ? format.firstString() : STRING.decode(in);
      s.firing = BOOL.decode(in);
      s.episodeStart = readNullable(in);
      s.clearCount = INT.decode(in);
      s.lastWindowEnd = readNullable(in);
      s.lastNotified = readNullable(in);
      s.previous = BOOL.decode(in) ? DOUBLE.decode(in) : null;
      s.baseline = new double[INT.decode(in)];
      for (int i = 0; i < s.baseline.length; i++) {
        s.baseline[i] = DOUBLE.decode(in);
      }
      s.silentSince = readNullable(in);
      if (format.version() >= 2) {
        s.pendingSince = readNullable(in);
        s.unsent = BOOL.decode(in);
      }
      return s;
    }

    private static void writeNullable(Long v, OutputStream out) throws IOException {
      BOOL.encode(v != null, out);
      if (v != null) {
        LONG.encode(v, out);
      }
    }

    private static Long readNullable(InputStream in) throws IOException {
      return BOOL.decode(in) ? LONG.decode(in) : null;
    }
  }
}

package dev.sluice.benchmarks.compare;

/**
 * The workload's one threshold rule with Sluice's alert lifecycle, for the hand-written baselines:
 * windows of a key are judged in event-time order; FIRING when {@code mean > threshold} starts to
 * hold, RESOLVED at the first window where it does not (Sluice's default {@code resolve_after: 1}).
 * The state of a key is the start of its open episode, or {@code null}.
 */
final class AlertRule {
  private AlertRule() {}

  /** The key's episode start after judging this window. */
  static Long nextEpisode(Long episode, long windowStart, double mean, double threshold) {
    if (mean > threshold) {
      return episode == null ? windowStart : episode;
    }
    return null;
  }

  /** The alert line this window raises, or {@code null}. */
  static String alertLine(
      String key, Long episode, long windowStart, double mean, double threshold) {
    boolean holds = mean > threshold;
    if (holds && episode == null) {
      return Outputs.alertLine(
          Workload.RULE_ID, key, Workload.RULE_METRIC, "FIRING", windowStart, mean, windowStart);
    }
    if (!holds && episode != null) {
      return Outputs.alertLine(
          Workload.RULE_ID, key, Workload.RULE_METRIC, "RESOLVED", windowStart, mean, episode);
    }
    return null;
  }
}

package dev.sluice.benchmarks.compare;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * The floor: the same work as one loop on one thread, with Jackson and hash maps. Windows close
 * when the newest event time passes their end (the input is in event-time order, so this is the
 * watermark), which keeps memory to the open windows as a streaming job would.
 */
final class PlainJavaJob {
  private PlainJavaJob() {}

  private static final class Acc {
    final String key;
    final String metric;
    long count;
    double sum;
    double min = Double.POSITIVE_INFINITY;
    double max = Double.NEGATIVE_INFINITY;

    Acc(String key, String metric) {
      this.key = key;
      this.metric = metric;
    }
  }

  static void run(Workload workload, Path outputDir) {
    TreeMap<Long, Map<String, Acc>> open = new TreeMap<>();
    Map<String, Long> episodes = new HashMap<>();
    long watermark = Long.MIN_VALUE;
    try (Outputs.LineFile out = new Outputs.LineFile(outputDir, "plain")) {
      for (long i = 0; i < workload.numEvents; i++) {
        byte[] payload = workload.payload(i);
        HandParser.Measurement m;
        try {
          m = HandParser.parse(payload);
        } catch (HandParser.Invalid invalid) {
          out.write(HandParser.deadLetterLine(invalid.getMessage(), payload));
          continue;
        }
        long windowStart = Workload.windowStart(m.eventTime);
        if (windowStart + Workload.WINDOW_MILLIS <= watermark) {
          out.write(HandParser.deadLetterLine("TOO_LATE", payload));
          continue;
        }
        Acc acc =
            open.computeIfAbsent(windowStart, w -> new HashMap<>())
                .computeIfAbsent(m.key + '\u0000' + m.metric, s -> new Acc(m.key, m.metric));
        acc.count++;
        acc.sum += m.value;
        acc.min = Math.min(acc.min, m.value);
        acc.max = Math.max(acc.max, m.value);
        watermark = Math.max(watermark, m.eventTime);
        while (!open.isEmpty() && open.firstKey() + Workload.WINDOW_MILLIS <= watermark) {
          Map.Entry<Long, Map<String, Acc>> closed = open.pollFirstEntry();
          emit(closed.getKey(), closed.getValue(), episodes, workload.threshold, out);
        }
      }
      while (!open.isEmpty()) {
        Map.Entry<Long, Map<String, Acc>> closed = open.pollFirstEntry();
        emit(closed.getKey(), closed.getValue(), episodes, workload.threshold, out);
      }
    }
  }

  private static void emit(
      long windowStart,
      Map<String, Acc> window,
      Map<String, Long> episodes,
      double threshold,
      Outputs.LineFile out) {
    for (Acc a : window.values()) {
      double mean = a.sum / a.count;
      out.write(
          Outputs.statsLine(a.key, a.metric, windowStart, a.count, a.sum, a.min, a.max, mean));
      if (a.metric.equals(Workload.RULE_METRIC)) {
        Long episode = episodes.get(a.key);
        String alert = AlertRule.alertLine(a.key, episode, windowStart, mean, threshold);
        if (alert != null) {
          out.write(alert);
        }
        Long next = AlertRule.nextEpisode(episode, windowStart, mean, threshold);
        if (next == null) {
          episodes.remove(a.key);
        } else {
          episodes.put(a.key, next);
        }
      }
    }
  }
}

package dev.sluice.pipelines;

import dev.sluice.io.EventFilesIO;
import dev.sluice.model.DeadLetter.Reason;
import dev.sluice.pipelines.metrics.MetricsEndpoint;
import dev.sluice.transforms.EvaluateRules;
import dev.sluice.transforms.ParseEvents;
import dev.sluice.transforms.WindowedAggregate;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.metrics.MetricNameFilter;
import org.apache.beam.sdk.metrics.MetricQueryResults;
import org.apache.beam.sdk.metrics.MetricResult;
import org.apache.beam.sdk.metrics.MetricsFilter;
import org.joda.time.Duration;

/**
 * Prints a progress line while a pipeline runs and a summary table when it ends, from the Beam
 * counters Sluice's transforms keep. Runners that cannot report metrics while running (or at all)
 * get progress lines with the elapsed time only.
 */
final class ProgressReporter {

  /** A snapshot of the job's counters. */
  record Counts(
      long read,
      long parsed,
      long filteredOut,
      Map<Reason, Long> deadLetters,
      long windows,
      long alerts,
      long silenced) {
    long deadLetterTotal() {
      return deadLetters.values().stream().mapToLong(Long::longValue).sum();
    }
  }

  private final PipelineResult result;
  private final long startedNanos;
  private final PrintStream out;

  ProgressReporter(PipelineResult result, long startedNanos, PrintStream out) {
    this.result = result;
    this.startedNanos = startedNanos;
    this.out = out;
  }

  /** Waits for the pipeline to finish, printing a progress line every {@code interval}. */
  PipelineResult.State awaitCompletion(Duration interval) {
    while (true) {
      PipelineResult.State state = result.waitUntilFinish(interval);
      if (state != null && state.isTerminal()) {
        return state;
      }
      printProgress();
    }
  }

  void printProgress() {
    double seconds = elapsedSeconds();
    Counts counts = counts();
    if (counts == null) {
      out.printf(Locale.ROOT, "[%7.1fs] running (this runner reports no live metrics)%n", seconds);
      return;
    }
    out.printf(
        Locale.ROOT,
        "[%7.1fs] events read %,d | windows emitted %,d | alerts %,d | dead letters %,d | %,.0f events/s%n",
        seconds,
        counts.read(),
        counts.windows(),
        counts.alerts(),
        counts.deadLetterTotal(),
        counts.read() / Math.max(seconds, 1e-3));
  }

  /** The summary table. */
  void printTable(PipelineResult.State state) {
    double seconds = elapsedSeconds();
    Counts counts = counts();
    out.println();
    out.println("Summary");
    out.println("+--------------------------------+-----------------+");
    row("pipeline state", state.name());
    row("wall time", String.format(Locale.ROOT, "%.1f s", seconds));
    if (counts != null) {
      row("events read", counts.read());
      row("events parsed", counts.parsed());
      if (counts.filteredOut() > 0) {
        row("filtered out", counts.filteredOut());
      }
      row("windows emitted (stats rows)", counts.windows());
      row("alerts", counts.alerts());
      if (counts.silenced() > 0) {
        row("  silenced (stored, not sent)", counts.silenced());
      }
      row("dead letters", counts.deadLetterTotal());
      for (Map.Entry<Reason, Long> entry : counts.deadLetters().entrySet()) {
        if (entry.getValue() > 0) {
          row("  " + entry.getKey().name(), entry.getValue());
        }
      }
      row("events/s", String.format(Locale.ROOT, "%,.0f", counts.read() / Math.max(seconds, 1e-3)));
    }
    out.println("+--------------------------------+-----------------+");
  }

  private void row(String label, Object value) {
    String text = value instanceof Long l ? String.format(Locale.ROOT, "%,d", l) : value.toString();
    out.printf("| %-30s | %15s |%n", label, text);
  }

  private double elapsedSeconds() {
    return (System.nanoTime() - startedNanos) / 1e9;
  }

  /** The current counter values, or {@code null} when the runner cannot report them. */
  Counts counts() {
    MetricQueryResults metrics;
    try {
      metrics =
          result
              .metrics()
              .queryMetrics(
                  MetricsFilter.builder()
                      .addNameFilter(MetricNameFilter.inNamespace(ParseEvents.METRICS_NAMESPACE))
                      .addNameFilter(
                          MetricNameFilter.inNamespace(WindowedAggregate.METRICS_NAMESPACE))
                      .addNameFilter(MetricNameFilter.inNamespace(EventFilesIO.METRICS_NAMESPACE))
                      .addNameFilter(MetricNameFilter.inNamespace(EvaluateRules.METRICS_NAMESPACE))
                      .build());
    } catch (RuntimeException e) {
      // Some runners report metrics only after the job, or not at all.
      return null;
    }
    long read = 0;
    long parsed = 0;
    long filteredOut = 0;
    long windows = 0;
    long alerts = 0;
    long silenced = 0;
    Map<Reason, Long> deadLetters = new EnumMap<>(Reason.class);
    for (Reason reason : Reason.values()) {
      deadLetters.put(reason, 0L);
    }
    for (MetricResult<Long> counter : metrics.getCounters()) {
      String name = counter.getName().getName();
      long value = MetricsEndpoint.committedOrAttempted(counter);
      if (name.equals(ParseEvents.PAYLOADS_READ)) {
        read += value;
      } else if (name.equals(ParseEvents.EVENTS_PARSED)) {
        parsed += value;
      } else if (name.equals(ParseEvents.FILTERED_OUT)) {
        filteredOut += value;
      } else if (name.equals(WindowedAggregate.WINDOWS_EMITTED)) {
        windows += value;
      } else if (name.equals(EvaluateRules.ALERTS_FIRED)
          || name.equals(EvaluateRules.ALERTS_RESOLVED)
          || name.equals(EvaluateRules.ALERTS_RENOTIFIED)
          || name.equals(EvaluateRules.ALERTS_SENT_AFTER_SILENCE)) {
        alerts += value;
      } else if (name.equals(EvaluateRules.ALERTS_SILENCED)) {
        silenced += value;
      } else if (name.equals(WindowedAggregate.LATE_EVENTS)) {
        deadLetters.merge(Reason.TOO_LATE, value, Long::sum);
      } else if (name.equals(EventFilesIO.CSV_ROWS_REJECTED)) {
        deadLetters.merge(Reason.MALFORMED_CSV, value, Long::sum);
      } else {
        for (Reason reason : Reason.values()) {
          if (name.equals(ParseEvents.deadLetterCounterName(reason))) {
            deadLetters.merge(reason, value, Long::sum);
          }
        }
      }
    }
    return new Counts(read, parsed, filteredOut, deadLetters, windows, alerts, silenced);
  }

  /** How many files and lines a JSON-lines sink wrote under {@code prefix} (a path and prefix). */
  static String describeFiles(String prefix) {
    Path path = Path.of(prefix).toAbsolutePath().normalize();
    return describeFiles(path.getParent(), path.getFileName().toString());
  }

  private static String describeFiles(Path dir, String kind) {
    if (!Files.isDirectory(dir)) {
      return "(no output directory)";
    }
    try (Stream<Path> files = Files.list(dir)) {
      List<Path> matching =
          files
              .filter(p -> p.getFileName().toString().startsWith(kind + "-"))
              .filter(p -> p.getFileName().toString().endsWith(".jsonl"))
              .sorted()
              .toList();
      if (matching.isEmpty()) {
        return "(no files)";
      }
      long lines = 0;
      for (Path file : matching) {
        try (Stream<String> fileLines = Files.lines(file)) {
          lines += fileLines.count();
        }
      }
      return String.format(
          Locale.ROOT,
          "%,d lines in %s%s",
          lines,
          matching.get(0),
          matching.size() > 1 ? " and " + (matching.size() - 1) + " more files" : "");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}

package dev.sluice.runners;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.local.ChildJvm;
import dev.sluice.testing.PrometheusServer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code sluice run SPEC --runner flink --metricsPort=P}: Sluice's Flink reporter serves the job's
 * metrics from the embedded Flink cluster while it runs, a real Prometheus server scrapes it, and
 * what Prometheus stored agrees with the summary the job prints at the end.
 */
class FlinkMetricsReporterIT {

  private static String spec(Path out) {
    return String.join(
        "\n",
        "name: flink-metrics-it",
        "source:",
        "  type: synthetic",
        "  unbounded: true",
        "  duration: 12s",
        "  events_per_second: 2000",
        "  keys: 20",
        "  malformed_fraction: 0.01",
        "windows:",
        "  - {type: tumbling, size: 5s, allowed_lateness: 0s}",
        "rules:",
        "  - {id: temperature-high, condition: mean(temperature) > 20, severity: CRITICAL}",
        "sinks:",
        "  stats: [{type: jsonl, path: '" + out + "/stats'}]",
        "  alerts: [{type: jsonl, path: '" + out + "/alerts'}]",
        "  dead_letters: [{type: jsonl, path: '" + out + "/deadletters'}]",
        "");
  }

  @Test
  void prometheusScrapesTheEmbeddedFlinkJobThroughSluicesReporter(@TempDir Path dir)
      throws Exception {
    Path spec = dir.resolve("spec.yaml");
    Files.writeString(spec, spec(dir.resolve("out")));
    int port = ChildJvm.freePorts(1)[0];
    Instant started = Instant.now();
    try (PrometheusServer prometheus = PrometheusServer.start(List.of("127.0.0.1:" + port))) {
      ByteArrayOutputStream captured = new ByteArrayOutputStream();
      PrintStream console = System.out;
      int status;
      System.setOut(
          new PrintStream(new TeeStream(console, captured), true, StandardCharsets.UTF_8));
      try {
        CompletableFuture<Integer> job =
            CompletableFuture.supplyAsync(
                () ->
                    SluiceCli.execute(
                        "run",
                        spec.toString(),
                        "--runner",
                        "flink",
                        "--checkpointDir=" + dir.resolve("checkpoints"),
                        "--metricsPort=" + port));
        // While the job runs, Prometheus sees the reporter's endpoint and the counters move.
        await("Prometheus scrapes events read from the running job (log:\n" + prometheus.log())
            .atMost(Duration.ofSeconds(120))
            .pollInterval(Duration.ofMillis(500))
            .until(() -> prometheus.value("sluice_events_read_total") > 0 || job.isDone());
        assertThat(job.isDone()).as("the job still ran when Prometheus saw its counters").isFalse();
        status = job.get(180, TimeUnit.SECONDS);
      } finally {
        System.setOut(console);
      }
      assertThat(status).isZero();
      String summary = captured.toString(StandardCharsets.UTF_8);
      assertThat(summary).contains("(Flink reporter in this process)");
      long read = row(summary, "events read");
      long parsed = row(summary, "events parsed");
      long deadLetters = row(summary, "dead letters");
      long windows = row(summary, "windows emitted \\(stats rows\\)");

      // The reporter keeps the last values of ended tasks, so once the source is done its
      // counters are final; Prometheus stored them before the embedded cluster stopped.
      assertThat(prometheus.value("max_over_time(sluice_events_read_total[10m])")).isEqualTo(read);
      assertThat(prometheus.value("max_over_time(sluice_events_parsed_total[10m])"))
          .isEqualTo(parsed);
      assertThat(prometheus.value("max_over_time(sum(sluice_dead_letters_total)[10m:1s])"))
          .isPositive()
          .isLessThanOrEqualTo(deadLetters);
      assertThat(prometheus.value("max_over_time(sum(sluice_windows_emitted_total)[10m:1s])"))
          .isPositive()
          .isLessThanOrEqualTo(windows);
      assertThat(prometheus.query("sluice_windows_emitted_total").findValuesAsText("timing"))
          .contains("on_time");
      // The watermark (a Beam distribution, which Flink reports as a gauge of its result): the
      // newest on-time window of this run of clock-time events ended after the run started, and
      // at most one window (5 s) after its last event.
      assertThat(prometheus.value("max_over_time(sluice_watermark_timestamp_seconds[10m])"))
          .isGreaterThanOrEqualTo(started.getEpochSecond())
          .isLessThanOrEqualTo(Instant.now().plusSeconds(5).getEpochSecond());
    }
  }

  private static long row(String summary, String label) {
    Matcher row = Pattern.compile("\\| " + label + " +\\| +([0-9,]+) \\|").matcher(summary);
    assertThat(row.find()).as("summary row %s in:\n%s", label, summary).isTrue();
    return Long.parseLong(row.group(1).replace(",", ""));
  }

  /** Writes to the console and keeps a copy. */
  private static final class TeeStream extends java.io.OutputStream {
    private final java.io.OutputStream a;
    private final java.io.OutputStream b;

    TeeStream(java.io.OutputStream a, java.io.OutputStream b) {
      this.a = a;
      this.b = b;
    }

    @Override
    public void write(int c) throws java.io.IOException {
      a.write(c);
      b.write(c);
    }

    @Override
    public void write(byte[] bytes, int off, int len) throws java.io.IOException {
      a.write(bytes, off, len);
      b.write(bytes, off, len);
    }
  }
}

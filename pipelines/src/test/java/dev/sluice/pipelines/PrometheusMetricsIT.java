package dev.sluice.pipelines;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sluice.model.DeadLetter.Reason;
import dev.sluice.pipelines.metrics.MetricsEndpoint;
import dev.sluice.pipelines.spec.PipelineSpec;
import dev.sluice.pipelines.spec.SpecPipeline;
import dev.sluice.pipelines.spec.SpecReader;
import dev.sluice.testing.PrometheusServer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real Prometheus server (Debian's {@code prometheus}) scrapes a running job's {@code /metrics}
 * endpoint on the Direct runner; the values it stored, read back through its HTTP API, are the
 * job's own summary (the counts {@link ProgressReporter} prints) and its outputs.
 */
class PrometheusMetricsIT {
  private static final Path DATA =
      Path.of("..", "examples", "data", "iot").toAbsolutePath().normalize();
  private static final ObjectMapper JSON = new ObjectMapper();

  private static String spec(Path out) {
    return String.join(
        "\n",
        "name: metrics-it",
        "source: {type: file, path: '" + DATA + "/*.jsonl'}",
        "parse:",
        "  event_id: reading_id",
        "  event_time: ts",
        "  values: {temperature: temperature, humidity: humidity}",
        "filter: 'payload.meta.site != \"lab\"'",
        "key: {expression: 'payload.meta.site + \"/\" + payload.device'}",
        "dedup: {horizon: 1h}",
        "windows:",
        "  - {type: tumbling, size: 1m, allowed_lateness: 30s}",
        "rules:",
        "  - {id: temperature-high, condition: mean(temperature) > 30, severity: CRITICAL}",
        "  - {id: humidity-high, condition: max(humidity) > 90, severity: WARNING}",
        "sinks:",
        "  stats: [{type: jsonl, path: '" + out + "/stats'}]",
        "  alerts: [{type: jsonl, path: '" + out + "/alerts'}]",
        "  dead_letters: [{type: jsonl, path: '" + out + "/deadletters'}]",
        "");
  }

  @Test
  void prometheusScrapesTheRunningJobAndStoresTheValuesOfItsSummary(@TempDir Path dir)
      throws Exception {
    PipelineSpec spec = SpecReader.parse("metrics-it.yaml", spec(dir.resolve("out")));
    Pipeline pipeline =
        Pipeline.create(
            PipelineOptionsFactory.fromArgs("--runner=DirectRunner", "--blockOnRun=false")
                .create());
    try (SinkServers servers = SinkServers.start(spec)) {
      SpecPipeline.build(pipeline, spec, servers);
      PipelineResult result = pipeline.run();
      try (MetricsEndpoint endpoint = MetricsEndpoint.forResult(result, "127.0.0.1", 0);
          PrometheusServer prometheus =
              PrometheusServer.start(List.of("127.0.0.1:" + endpoint.port()))) {
        assertThat(result.waitUntilFinish()).isEqualTo(PipelineResult.State.DONE);
        double finishedAt = System.currentTimeMillis() / 1e3;
        ProgressReporter.Counts summary =
            new ProgressReporter(
                    result, System.nanoTime(), new PrintStream(new ByteArrayOutputStream()))
                .counts();
        assertThat(summary.read()).isGreaterThan(0);
        assertThat(summary.windows()).isGreaterThan(0);
        assertThat(summary.alerts()).isGreaterThan(0);
        assertThat(summary.deadLetterTotal()).isGreaterThan(0);

        // Prometheus scrapes every second: wait for a scrape that began after the job finished,
        // so every value below comes from one scrape of the final counters (the source's count is
        // final long before the last windows fire and are written).
        await("Prometheus scrapes the finished job (log:\n" + prometheus.log() + ")")
            .atMost(Duration.ofSeconds(30))
            .pollInterval(Duration.ofMillis(500))
            .until(() -> scrapedAt(prometheus, "sluice_events_read_total") > finishedAt);
        assertThat(prometheus.value("sluice_events_read_total")).isEqualTo(summary.read());
        await()
            .atMost(Duration.ofSeconds(10))
            .until(() -> prometheus.value("up{job=\"sluice\"}") == 1);

        assertThat(prometheus.value("sluice_events_parsed_total")).isEqualTo(summary.parsed());
        assertThat(prometheus.value("sluice_events_filtered_total"))
            .isEqualTo(summary.filteredOut())
            .isGreaterThan(0);
        assertThat(prometheus.value("sum(sluice_windows_emitted_total)"))
            .isEqualTo(summary.windows());
        assertThat(prometheus.value("sum(sluice_alert_transitions_total)"))
            .isEqualTo(summary.alerts());
        assertThat(prometheus.value("sum(sluice_dead_letters_total)"))
            .isEqualTo(summary.deadLetterTotal());
        for (Map.Entry<Reason, Long> reason : summary.deadLetters().entrySet()) {
          if (reason.getValue() > 0) {
            assertThat(
                    prometheus.value(
                        "sum(sluice_dead_letters_total{reason=\"" + reason.getKey() + "\"})"))
                .as("dead letters %s", reason.getKey())
                .isEqualTo(reason.getValue().doubleValue());
          }
        }
        // Every result line went to a JSON-lines sink.
        assertThat(prometheus.value("sluice_sink_writes_total{sink=\"jsonl\"}"))
            .isEqualTo(summary.windows() + summary.alerts() + summary.deadLetterTotal());

        // Labels: rule and status of the transitions; the pane timing of the windows.
        JsonNode transitions = prometheus.query("sluice_alert_transitions_total");
        assertThat(transitions.findValuesAsText("rule"))
            .containsAnyOf("temperature-high", "humidity-high");
        assertThat(transitions.findValuesAsText("status")).contains("firing");
        assertThat(prometheus.value("sluice_windows_emitted_total{timing=\"on_time\"}"))
            .isPositive();

        // The watermark gauge: the end of the newest window closed on time.
        Instant newestOnTime = newestOnTimeWindowEnd(dir.resolve("out"));
        assertThat(prometheus.value("sluice_watermark_timestamp_seconds"))
            .isEqualTo(newestOnTime.getEpochSecond());
        assertThat(prometheus.value("sluice_watermark_lag_seconds"))
            .isGreaterThan(Instant.now().getEpochSecond() - newestOnTime.getEpochSecond() - 60.0);
      }
    }
  }

  /** When the newest stored sample of {@code series} was scraped, in epoch seconds (NaN: none). */
  private static double scrapedAt(PrometheusServer prometheus, String series) {
    return prometheus.value("timestamp(" + series + ")");
  }

  private static Instant newestOnTimeWindowEnd(Path out) throws Exception {
    Instant newest = Instant.EPOCH;
    try (Stream<Path> files = Files.list(out)) {
      for (Path file : files.filter(f -> f.getFileName().toString().startsWith("stats")).toList()) {
        for (String line : Files.readAllLines(file)) {
          JsonNode stats = JSON.readTree(line);
          Instant end = Instant.parse(stats.path("window_end").asText());
          if (stats.path("pane").asText().equals("ON_TIME") && end.isAfter(newest)) {
            newest = end;
          }
        }
      }
    }
    return newest;
  }
}

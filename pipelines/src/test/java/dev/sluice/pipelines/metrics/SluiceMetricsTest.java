package dev.sluice.pipelines.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.model.DeadLetter;
import dev.sluice.transforms.CountDeadLetters;
import dev.sluice.transforms.EvaluateRules;
import dev.sluice.transforms.WindowedAggregate;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What a scrape shows for given Beam metric values: names, labels, sums and the watermark lag. */
class SluiceMetricsTest {

  private static String scrape(List<SluiceMetrics.Reading> readings, long nowMillis)
      throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    PrometheusTextFormatWriter.create().write(out, SluiceMetrics.snapshots(readings, nowMillis));
    return out.toString(StandardCharsets.UTF_8);
  }

  @Test
  void countersOfSeveralStepsAndSubtasksAreSummedUnderOnePrometheusName() throws Exception {
    String text =
        scrape(
            List.of(
                SluiceMetrics.Reading.counter("sluice.parse", "payloads_read", 600),
                SluiceMetrics.Reading.counter("sluice.parse", "payloads_read", 400),
                SluiceMetrics.Reading.counter("sluice.postgres", "rows_written", 7),
                SluiceMetrics.Reading.counter("sluice.webhook", "retries", 2)),
            0);
    assertThat(text)
        .contains("# TYPE sluice_events_read_total counter")
        .contains("sluice_events_read_total 1000.0")
        .contains("sluice_sink_writes_total{sink=\"postgres\"} 7.0")
        .contains("sluice_sink_retries_total{sink=\"webhook\"} 2.0")
        // Shown at zero before anything happened, so rate() works from the first scrape.
        .contains("sluice_events_deduplicated_total 0.0");
  }

  @Test
  void deadLettersAlertTransitionsAndWindowsCarryTheirLabels() throws Exception {
    String text =
        scrape(
            List.of(
                SluiceMetrics.Reading.counter(
                    CountDeadLetters.METRICS_NAMESPACE,
                    CountDeadLetters.counterName(DeadLetter.Reason.MALFORMED_JSON, "parse"),
                    3),
                SluiceMetrics.Reading.counter(
                    EvaluateRules.METRICS_NAMESPACE,
                    EvaluateRules.alertTransitionsCounterName("FIRING", "FIRED", "cpu:high"),
                    2),
                SluiceMetrics.Reading.counter(
                    WindowedAggregate.METRICS_NAMESPACE,
                    WindowedAggregate.windowsEmittedCounterName(dev.sluice.model.PaneTiming.EARLY),
                    5),
                // The total the per-timing counters add up to is not exported twice.
                SluiceMetrics.Reading.counter(
                    WindowedAggregate.METRICS_NAMESPACE, WindowedAggregate.WINDOWS_EMITTED, 5)),
            0);
    assertThat(text)
        .contains("sluice_dead_letters_total{reason=\"MALFORMED_JSON\",stage=\"parse\"} 3.0")
        .contains(
            "sluice_alert_transitions_total{rule=\"cpu:high\",status=\"firing\","
                + "transition=\"fired\"} 2.0")
        .contains("sluice_windows_emitted_total{timing=\"early\"} 5.0")
        .doesNotContain("windows_emitted_total 5.0");
  }

  @Test
  void theWatermarkGaugeIsInSecondsAndItsLagIsMeasuredAtScrapeTime() throws Exception {
    String text =
        scrape(
            List.of(
                SluiceMetrics.Reading.gauge(
                    WindowedAggregate.METRICS_NAMESPACE,
                    WindowedAggregate.WATERMARK_MILLIS,
                    60_000),
                SluiceMetrics.Reading.gauge(
                    WindowedAggregate.METRICS_NAMESPACE,
                    WindowedAggregate.WATERMARK_MILLIS,
                    120_000),
                SluiceMetrics.Reading.gauge(
                    "sluice.kafka", "consumer_lag_records:1:events.v1", 42)),
            125_500);
    assertThat(text)
        .contains("sluice_watermark_timestamp_seconds 120.0")
        .contains("sluice_watermark_lag_seconds 5.5")
        .contains("sluice_kafka_consumer_lag_records{partition=\"1\",topic=\"events.v1\"} 42.0");
  }

  @Test
  void metricsOfOtherNamespacesAndUnknownNamesAreLeftOut() throws Exception {
    String text =
        scrape(
            List.of(
                SluiceMetrics.Reading.counter("org.apache.beam.io", "elements_read", 9),
                SluiceMetrics.Reading.counter("sluice.parse", "something_new", 9)),
            0);
    assertThat(text).doesNotContain("9.0");
  }
}

package dev.sluice.io;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.model.Alert;
import dev.sluice.model.JsonSupport;
import java.util.Map;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.metrics.MetricNameFilter;
import org.apache.beam.sdk.metrics.MetricResult;
import org.apache.beam.sdk.metrics.MetricsFilter;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.testing.TestPipelineExtension;
import org.apache.beam.sdk.transforms.Create;
import org.joda.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(TestPipelineExtension.class)
class LogIOTest {
  private static final Instant T0 = JsonSupport.parseInstant("2026-01-01T00:00:00Z");

  private static Alert alert(Alert.Status status) {
    return new Alert(
        "3e535ab66147203d8eb78bd7c73edb61",
        "hot",
        2,
        "sensor-7",
        "temperature",
        status,
        Alert.Severity.CRITICAL,
        81.5,
        80,
        T0,
        T0.plus(60_000),
        "mean temperature of sensor-7 is 81.5",
        T0,
        new java.util.TreeMap<>(Map.of("team", "iot")));
  }

  @Test
  void aLineSaysWhatFiredWhereAndWhen() {
    assertThat(LogIO.format(alert(Alert.Status.FIRING)))
        .isEqualTo(
            "FIRING CRITICAL hot key=sensor-7 metric=temperature value=81.5 threshold=80.0"
                + " window=[2026-01-01T00:00:00.000Z, 2026-01-01T00:01:00.000Z)"
                + " id=3e535ab66147203d8eb78bd7c73edb61 : mean temperature of sensor-7 is 81.5");
  }

  @Test
  void aSilencedAlertSaysSo() {
    assertThat(LogIO.format(alert(Alert.Status.FIRING).withSilenced(true)))
        .contains(" id=3e535ab66147203d8eb78bd7c73edb61 (silenced) : mean temperature");
  }

  @Test
  void everyAlertIsLoggedAndCounted(TestPipeline pipeline) {
    pipeline
        .apply(Create.of(alert(Alert.Status.FIRING), alert(Alert.Status.RESOLVED)))
        .apply(LogIO.write());
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();
    long logged = 0;
    for (MetricResult<Long> c :
        result
            .metrics()
            .queryMetrics(
                MetricsFilter.builder()
                    .addNameFilter(MetricNameFilter.named(LogIO.METRICS_NAMESPACE, LogIO.LOGGED))
                    .build())
            .getCounters()) {
      logged += c.getAttempted();
    }
    assertThat(logged).isEqualTo(2);
  }
}

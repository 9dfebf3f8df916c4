package dev.sluice.runners;

import static org.assertj.core.api.Assertions.assertThat;

import org.apache.beam.sdk.metrics.DistributionResult;
import org.apache.flink.metrics.Gauge;
import org.junit.jupiter.api.Test;

/** What the reporter reads from the gauges Beam's Flink runner registers. */
class FlinkMetricsReporterTest {
  @Test
  void aBeamGaugeIsItsNumberAndABeamDistributionItsMaxOnceItHasValues() {
    Gauge<Long> gauge = () -> 42L;
    Gauge<DistributionResult> distribution = () -> DistributionResult.create(30, 3, 5, 17);
    Gauge<DistributionResult> empty = () -> DistributionResult.IDENTITY_ELEMENT;
    Gauge<String> other = () -> "text";

    assertThat(FlinkMetricsReporter.gaugeValue(gauge)).isEqualTo(42.0);
    assertThat(FlinkMetricsReporter.gaugeValue(distribution)).isEqualTo(17.0);
    assertThat(FlinkMetricsReporter.gaugeValue(empty)).isNull();
    assertThat(FlinkMetricsReporter.gaugeValue(other)).isNull();
  }
}

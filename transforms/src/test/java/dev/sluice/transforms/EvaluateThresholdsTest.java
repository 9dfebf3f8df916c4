package dev.sluice.transforms;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.model.Alert;
import dev.sluice.model.Alert.Severity;
import dev.sluice.model.ModelFixtures;
import dev.sluice.transforms.ThresholdRule.Aggregate;
import dev.sluice.transforms.ThresholdRule.Comparison;
import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.testing.TestPipelineExtension;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.values.PCollection;
import org.joda.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(TestPipelineExtension.class)
class EvaluateThresholdsTest {
  private static final Instant T0 = ModelFixtures.T0;

  @Test
  void firesOncePerRuleAndWindowWhoseConditionHolds(TestPipeline pipeline) {
    ThresholdRule hot =
        ThresholdRule.of("hot", "temperature", Aggregate.MEAN, Comparison.GT, 50.0)
            .withSeverity(Severity.CRITICAL)
            .withVersion(2);
    ThresholdRule quiet =
        ThresholdRule.of("quiet", "temperature", Aggregate.COUNT, Comparison.LE, 1);
    PCollection<Alert> alerts =
        pipeline
            .apply(
                Create.of(
                    ModelFixtures.onTimeMinute(
                        "a",
                        "temperature",
                        0,
                        5,
                        50.0 * 5,
                        50.0,
                        50.0,
                        0.0), // equal: GT does not hold
                    ModelFixtures.onTimeMinute(
                        "b", "temperature", 0, 1, 50.5 * 1, 50.5, 50.5, 0.0), // hot and quiet
                    ModelFixtures.onTimeMinute(
                        "c", "humidity", 0, 9, 99.0 * 9, 99.0, 99.0, 0.0))) // other metric
            .apply(EvaluateThresholds.of(List.of(hot, quiet)));
    PAssert.that(alerts)
        .satisfies(
            all -> {
              List<Alert> list = new ArrayList<>();
              all.forEach(list::add);
              assertThat(list)
                  .extracting(Alert::ruleId, Alert::key, Alert::value, Alert::threshold)
                  .containsExactlyInAnyOrder(
                      org.assertj.core.groups.Tuple.tuple("hot", "b", 50.5, 50.0),
                      org.assertj.core.groups.Tuple.tuple("quiet", "b", 1.0, 1.0));
              Alert hotAlert =
                  list.stream().filter(a -> a.ruleId().equals("hot")).findFirst().get();
              assertThat(hotAlert.alertId())
                  .isEqualTo(Alert.fingerprint("hot", "b", "temperature", T0));
              assertThat(hotAlert.status()).isEqualTo(Alert.Status.FIRING);
              assertThat(hotAlert.severity()).isEqualTo(Severity.CRITICAL);
              assertThat(hotAlert.ruleVersion()).isEqualTo(2);
              assertThat(hotAlert.windowEnd()).isEqualTo(T0.plus(60_000));
              assertThat(hotAlert.message())
                  .isEqualTo(
                      "mean(temperature) = 50.500 > 50.0 for key b in window "
                          + "[2026-01-01T00:00:00.000Z, 2026-01-01T00:01:00.000Z)");
              return null;
            });
    pipeline.run().waitUntilFinish();
  }

  @Test
  void invalidRulesFailAtConstructionNamingTheFieldAndValue() {
    assertThatThrownBy(() -> ThresholdRule.of("bad id!", "t", Aggregate.MEAN, Comparison.GT, 1))
        .hasMessageContaining("ruleId must match")
        .hasMessageContaining("got 'bad id!'");
    assertThatThrownBy(() -> ThresholdRule.of("r", "t", Aggregate.MEAN, Comparison.GT, Double.NaN))
        .hasMessage("threshold must be a finite number, got NaN");
    assertThatThrownBy(() -> ThresholdRule.of("r", " ", Aggregate.MEAN, Comparison.GT, 1))
        .hasMessage("metric must not be blank, got ' '");
    assertThatThrownBy(
            () -> ThresholdRule.of("r", "t", Aggregate.MEAN, Comparison.GT, 1).withVersion(0))
        .hasMessage("version must be positive, got 0");
    ThresholdRule rule = ThresholdRule.of("r", "t", Aggregate.MEAN, Comparison.GT, 1);
    assertThatThrownBy(
            () ->
                EvaluateThresholds.of(
                    List.of(rule, rule.withVersion(2).withSeverity(Severity.INFO))))
        .hasMessage("rules[1].ruleId 'r' is used by an earlier rule; rule ids must be unique");
    assertThatThrownBy(() -> EvaluateThresholds.of(java.util.Arrays.asList((ThresholdRule) null)))
        .hasMessage("rules[0] must not be null");
  }
}

package dev.sluice.transforms;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.testing.RunnerPipelines;
import dev.sluice.testing.WatermarkPacedReplay;
import org.apache.beam.sdk.testing.TestPipeline;
import org.joda.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Runner parity: every event-time scenario of {@link WindowedAggregateScenariosTest}, every
 * alerting scenario of {@link RuleScenariosTest}, and the deduplication scenario of {@link
 * DeduplicateTest}, with the same assertions, on an embedded Flink cluster at parallelism 2. The
 * scripts are played by {@link WatermarkPacedReplay}, which waits for each watermark advance to
 * propagate, because Flink's own TestStream cannot stage late data.
 */
class FlinkParityTest {
  @ParameterizedTest
  @EnumSource(WindowingScenarios.class)
  void scenarioHoldsOnEmbeddedFlink(WindowingScenarios scenario) {
    TestPipeline pipeline = RunnerPipelines.embeddedFlink();
    scenario.applyTo(pipeline, pacedReplay(pipeline));
    pipeline.run().waitUntilFinish();
  }

  @ParameterizedTest
  @EnumSource(RuleScenarios.class)
  void alertingScenarioHoldsOnEmbeddedFlink(RuleScenarios scenario) {
    TestPipeline pipeline = RunnerPipelines.embeddedFlink();
    scenario.applyTo(
        pipeline,
        script -> {
          WatermarkPacedReplay<org.apache.beam.sdk.values.KV<String, String>> replay =
              WatermarkPacedReplay.of(script);
          RunnerPipelines.keepSourcesAlive(
              pipeline, replay.scriptedDuration().plus(Duration.standardSeconds(2)));
          return replay;
        });
    pipeline.run().waitUntilFinish();
  }

  @Test
  void deduplicationAcrossBundlesHoldsOnEmbeddedFlink() {
    TestPipeline pipeline = RunnerPipelines.embeddedFlink();
    assertThat(DeduplicateTest.repeatsAcrossBundles(pipeline, pacedReplay(pipeline))).isEqualTo(2);
  }

  /** Plays scripts with {@link WatermarkPacedReplay}, keeping Flink's sources alive meanwhile. */
  private static WindowingScenarios.Source pacedReplay(TestPipeline pipeline) {
    return script -> {
      WatermarkPacedReplay<dev.sluice.model.Event> replay = WatermarkPacedReplay.of(script);
      RunnerPipelines.keepSourcesAlive(
          pipeline, replay.scriptedDuration().plus(Duration.standardSeconds(2)));
      return replay;
    };
  }
}

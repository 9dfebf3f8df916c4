package dev.sluice.transforms;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.testing.RunnerPipelines;
import org.apache.beam.sdk.testing.TestPipeline;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Runner parity: the event-time scenarios of {@link WindowedAggregateScenariosTest}, with the same
 * assertions, on an embedded Flink cluster at parallelism 2 — those that Flink's TestStream can
 * stage (see {@link WindowingScenarios#flinkTestStreamReplaysIt()}); the late-data ones need a
 * source that waits for the watermark, which is still to come.
 */
class WindowedAggregateFlinkTest {
  @ParameterizedTest
  @EnumSource(
      value = WindowingScenarios.class,
      names = {"ON_TIME_WITH_OUT_OF_ORDER_EVENTS", "SLIDING_WINDOWS", "SESSION_WINDOWS"})
  void scenarioHoldsOnEmbeddedFlink(WindowingScenarios scenario) {
    assertThat(scenario.flinkTestStreamReplaysIt()).isTrue();
    TestPipeline pipeline = RunnerPipelines.embeddedFlink();
    scenario.applyTo(pipeline);
    pipeline.run().waitUntilFinish();
  }
}

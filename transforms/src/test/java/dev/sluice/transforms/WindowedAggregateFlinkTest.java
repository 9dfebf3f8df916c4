package dev.sluice.transforms;

import dev.sluice.testing.RunnerPipelines;
import org.apache.beam.sdk.testing.TestPipeline;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Runner parity: the event-time scenarios of {@link WindowedAggregateScenariosTest}, with the same
 * assertions, on an embedded Flink cluster at parallelism 2.
 */
class WindowedAggregateFlinkTest {
  @ParameterizedTest
  @EnumSource(WindowingScenarios.class)
  void scenarioHoldsOnEmbeddedFlink(WindowingScenarios scenario) {
    TestPipeline pipeline = RunnerPipelines.embeddedFlink();
    scenario.applyTo(pipeline);
    pipeline.run().waitUntilFinish();
  }
}

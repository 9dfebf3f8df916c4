package dev.sluice.transforms;

import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.testing.TestPipelineExtension;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The alerting scenarios on the Direct runner. */
@ExtendWith(TestPipelineExtension.class)
class RuleScenariosTest {
  @ParameterizedTest
  @EnumSource(RuleScenarios.class)
  void scenarioHoldsOnTheDirectRunner(RuleScenarios scenario, TestPipeline pipeline) {
    scenario.applyTo(pipeline, script -> script);
    pipeline.run().waitUntilFinish();
  }
}

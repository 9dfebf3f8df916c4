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

  /**
   * Randomized differential scripts (two with long watermark gaps) give exactly the panes and late
   * events on embedded Flink that they give on the Direct runner, where they equal Beam's windowing
   * ({@link WindowingDifferentialTest}). Families whose panes depend on processing time are left
   * out: on a real clock their early and late-firing panes are not repeatable.
   */
  @ParameterizedTest(name = "seed {0}")
  @org.junit.jupiter.params.provider.ValueSource(longs = {2, 6, 9})
  void differentialScriptGivesTheSameOutputsOnEmbeddedFlinkAsOnDirect(long seed) {
    DifferentialScenario scenario = DifferentialScenario.generate(seed);
    java.util.List<DifferentialScenario.Config> configs =
        java.util.Arrays.stream(DifferentialScenario.Config.values())
            .filter(config -> !config.processingTime)
            .toList();
    var onDirect =
        WindowingDifferentialTest.runOnDirect(scenario, configs, LateDataGate.TimerClock.RUNNER);
    WatermarkPacedReplay<dev.sluice.model.Event> replay = WatermarkPacedReplay.of(scenario.stream);
    org.apache.beam.sdk.Pipeline flink =
        org.apache.beam.sdk.Pipeline.create(
            RunnerPipelines.embeddedFlinkOptions(
                true,
                // Short bundles, so that each watermark step reaches the aggregation within the
                // replay's settle time through every operator (a bundle holds its watermark).
                "--maxBundleTimeMills=100",
                "--shutdownSourcesAfterIdleMs="
                    + replay.scriptedDuration().plus(Duration.standardSeconds(2)).getMillis()));
    var onFlink =
        WindowingDifferentialTest.run(
            scenario, configs, LateDataGate.TimerClock.RUNNER, flink, script -> replay);
    for (DifferentialScenario.Config config : configs) {
      String context = config + " on embedded Flink, " + scenario.describe();
      assertThat(onFlink.get(config).stats())
          .as("panes of %s", context)
          .isEqualTo(onDirect.get(config).stats());
      assertThat(onFlink.get(config).lateLines())
          .as("late() of %s", context)
          .isEqualTo(onDirect.get(config).lateLines());
    }
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

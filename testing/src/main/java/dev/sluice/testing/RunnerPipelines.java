package dev.sluice.testing;

import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.testing.TestPipeline;

/**
 * Test pipelines on runners other than the default Direct runner, for runner-parity tests: the same
 * transforms and assertions, another runner.
 */
public final class RunnerPipelines {
  private RunnerPipelines() {}

  /**
   * Options for an embedded Flink mini-cluster at parallelism 2: {@code streaming} selects Flink's
   * streaming mode (as for an unbounded source), else its batch mode.
   */
  public static PipelineOptions embeddedFlinkOptions(boolean streaming, String... more) {
    java.util.List<String> args =
        new java.util.ArrayList<>(
            java.util.List.of(
                "--runner=FlinkRunner",
                "--flinkMaster=[local]",
                "--parallelism=2",
                "--streaming=" + streaming));
    args.addAll(java.util.List.of(more));
    return PipelineOptionsFactory.fromArgs(args.toArray(new String[0])).create();
  }

  /**
   * A test pipeline on an embedded Flink mini-cluster ({@code --flinkMaster=[local]}), parallelism
   * 2, in streaming mode so TestStream and event-time timers behave as they do on an unbounded
   * source, with bundles of at most 100 ms.
   */
  public static TestPipeline embeddedFlink() {
    PipelineOptions options =
        PipelineOptionsFactory.fromArgs(
                "--runner=TestFlinkRunner",
                "--flinkMaster=[local]",
                "--parallelism=2",
                "--streaming=true",
                // Short bundles: an operator holds its output watermark while a bundle is open,
                // and a paced replay gives each watermark step only its settle time to arrive.
                "--maxBundleTimeMills=100")
            .create();
    // Outside a JUnit 4 rule TestPipeline refuses to run unless enforcement is configured; with it,
    // run() still checks that every PAssert succeeded. (Only a rule would notice a missing run().)
    return TestPipeline.fromOptions(options).enableAbandonedNodeEnforcement(true);
  }

  /**
   * Keeps Flink's sources (Impulse among them) running for {@code duration} after they are done, so
   * a paced replay's processing-time waits really happen.
   */
  public static void keepSourcesAlive(TestPipeline pipeline, org.joda.time.Duration duration) {
    pipeline
        .getOptions()
        .as(org.apache.beam.runners.flink.FlinkPipelineOptions.class)
        .setShutdownSourcesAfterIdleMs(duration.getMillis());
  }
}

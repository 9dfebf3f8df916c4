package dev.sluice.pipelines;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.testing.OutputFiles;
import dev.sluice.testing.RunnerPipelines;
import java.nio.file.Path;
import java.util.List;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runner parity of the whole job: the same synthetic input on the Direct runner and on embedded
 * Flink, in batch and in streaming mode, gives the same stats, alerts and dead letters.
 */
class MetricsAlertsPipelineParityTest {

  static {
    PipelineOptionsFactory.register(MetricsAlertsPipeline.Options.class);
  }

  private static final String[] JOB = {
    "--numEvents=30000",
    "--numKeys=5",
    "--spikeKeys=sensor-002",
    "--malformedFraction=0.01",
    "--store=none"
  };

  @Test
  void directAndFlinkBatchAndStreamingProduceTheSameOutput(@TempDir Path dir) throws Exception {
    List<List<String>> direct =
        run(PipelineOptionsFactory.fromArgs(JOB).create(), dir.resolve("direct"));
    List<List<String>> flinkBatch =
        run(RunnerPipelines.embeddedFlinkOptions(false, JOB), dir.resolve("flink-batch"));
    List<List<String>> flinkStreaming =
        run(RunnerPipelines.embeddedFlinkOptions(true, JOB), dir.resolve("flink-streaming"));

    assertThat(direct.get(0)).isNotEmpty();
    assertThat(direct.get(1)).isNotEmpty();
    assertThat(direct.get(2)).isNotEmpty();
    assertThat(flinkBatch).isEqualTo(direct);
    assertThat(flinkStreaming).isEqualTo(direct);
  }

  /** Runs the job; returns its stats, alerts and dead letters, normalised and sorted. */
  private static List<List<String>> run(PipelineOptions base, Path out) throws Exception {
    MetricsAlertsPipeline.Options options = base.as(MetricsAlertsPipeline.Options.class);
    options.setOutputDir(out.toString());
    Pipeline pipeline = Pipeline.create(options);
    try (MetricsAlertsPipeline.Job job = MetricsAlertsPipeline.launch(pipeline, options)) {
      assertThat(pipeline.run().waitUntilFinish()).isEqualTo(PipelineResult.State.DONE);
    }
    return List.of(
        normalised(out, "stats", "p50", "p95", "p99"),
        normalised(out, "alerts", "emitted_at"),
        normalised(out, "deadletters", "failed_at"));
  }

  private static List<String> normalised(Path dir, String prefix, String... volatileFields) {
    return OutputFiles.normalisedJsonLines(dir, prefix, volatileFields);
  }
}

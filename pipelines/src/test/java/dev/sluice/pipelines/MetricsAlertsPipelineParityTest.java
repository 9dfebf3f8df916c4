package dev.sluice.pipelines;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.testing.OutputFiles;
import dev.sluice.testing.RunnerPipelines;
import java.nio.file.Path;
import java.util.ArrayList;
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
  private static final ObjectMapper MAPPER = new ObjectMapper();

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
    try (MetricsAlertsPipeline.Job job = MetricsAlertsPipeline.build(pipeline, options)) {
      assertThat(pipeline.run().waitUntilFinish()).isEqualTo(PipelineResult.State.DONE);
    }
    return List.of(
        normalised(out, "stats", "p50", "p95", "p99"),
        normalised(out, "alerts", "emitted_at"),
        normalised(out, "deadletters", "failed_at"));
  }

  /**
   * Lines without the fields that legitimately differ between runs: processing times, and the
   * quantiles of windows with more values than the KLL sketch keeps (its compaction is random).
   */
  private static List<String> normalised(Path dir, String prefix, String... volatileFields)
      throws Exception {
    List<String> lines = new ArrayList<>();
    for (String line : OutputFiles.jsonLines(dir, prefix)) {
      ObjectNode node = (ObjectNode) MAPPER.readTree(line);
      boolean sketched = node.has("count") && node.get("count").asLong() > 200;
      for (String field : volatileFields) {
        if (!field.startsWith("p") || sketched) {
          node.remove(field);
        }
      }
      lines.add(node.toString());
    }
    lines.sort(null);
    return lines;
  }
}

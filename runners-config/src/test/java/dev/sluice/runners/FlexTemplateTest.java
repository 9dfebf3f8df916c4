package dev.sluice.runners;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sluice.pipelines.SpecJob;
import dev.sluice.pipelines.spec.SpecReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FlexTemplateTest {
  private static final Path LATENCY = Path.of("..", "examples", "latency.yaml");

  @Test
  void metadataHasAParameterPerDeploymentSettingAndTheImageRunsTheLauncher(@TempDir Path dir)
      throws Exception {
    assertThat(
            SluiceCli.execute("flex-template", LATENCY.toString(), "--output-dir", dir.toString()))
        .isZero();
    JsonNode metadata = new ObjectMapper().readTree(dir.resolve("metadata.json").toFile());
    List<String> names = new ArrayList<>();
    metadata.get("parameters").forEach(p -> names.add(p.get("name").asText()));
    assertThat(names)
        .contains("source_path", "windows_0_size", "windows_0_every", "sinks_stats_0_path");
    assertThat(metadata.get("parameters").get(0).get("helpText").asText())
        .isEqualTo(
            "Overrides source.path of latency.yaml (default examples/data/latency/requests.jsonl)");
    assertThat(Files.readString(dir.resolve("Dockerfile")))
        .contains("FROM gcr.io/dataflow-templates-base/java17-template-launcher-base")
        .contains("ENV FLEX_TEMPLATE_JAVA_MAIN_CLASS=dev.sluice.runners.FlexTemplate")
        .contains("ENV SLUICE_SPEC=${WORKDIR}/latency.yaml");
  }

  @Test
  void launcherParametersBecomeSpecOverridesAndTheRestBeamOptions() {
    List<String> beam = new ArrayList<>();
    Map<String, String> overrides =
        FlexTemplate.overrides(
            LATENCY,
            List.of("--windows_0_size=10m", "--project=p", "--region=r", "--source_path=gs://b/*"),
            beam);
    assertThat(overrides)
        .containsExactlyInAnyOrderEntriesOf(
            Map.of("windows[0].size", "10m", "source.path", "gs://b/*"));
    assertThat(beam).containsExactly("--project=p", "--region=r");
    // The override takes effect in the pipeline that is built.
    String explained =
        SpecJob.explain(
            SpecReader.read(LATENCY, overrides),
            PipelineOptionsFactory.fromArgs("--runner=DirectRunner").create());
    assertThat(explained).contains("windowSize=600000").contains("glob=gs://b/*");
  }
}

package dev.sluice.runners;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code sluice run SPEC --runner dataflow --template-file FILE} writes the job graph as a classic
 * Dataflow template, with no GCP project, credentials or network.
 */
class DataflowTemplateTest {
  @Test
  void theLatencyExampleBecomesAJobGraphWithItsNamedSteps(@TempDir Path dir) throws Exception {
    Path template = dir.resolve("latency-template.json");
    int status =
        SluiceCli.execute(
            "run",
            Path.of("..", "examples", "latency.yaml").toString(),
            "--runner",
            "dataflow",
            "--template-file",
            template.toString());
    assertThat(status).isZero();

    JsonNode graph = new ObjectMapper().readTree(template.toFile());
    Set<String> topLevel = new TreeSet<>();
    Set<String> processing = new TreeSet<>();
    for (JsonNode step : graph.get("steps")) {
      JsonNode name = step.path("properties").path("user_name");
      String[] parts = (name.isObject() ? name.path("value") : name).asText().split("/");
      topLevel.add(parts[0]);
      if (parts[0].equals("ComputeMetricsAndAlerts") && parts.length > 1) {
        processing.add(parts[1]);
      }
    }
    // The one composite every Sluice graph is built with, and its stable inner steps.
    assertThat(processing)
        .contains(
            "ParseEvents",
            "AggregateWindows",
            "LateToDeadLetters",
            "EvaluateRules",
            "CollectDeadLetters");
    assertThat(topLevel)
        .contains(
            "ReadFiles",
            "ComputeMetricsAndAlerts",
            "StoreStats-0-jsonl",
            "NotifyAlerts-0-log",
            "NotifyAlerts-1-jsonl",
            "CollectDeadLetters",
            "StoreDeadLetters-0-jsonl");
  }

  @Test
  void embeddedSinksAndTemplatesForOtherRunnersAreRefused(@TempDir Path dir) {
    String iot = ExampleSpecs.withDataPaths("iot").toString();
    String file = dir.resolve("t.json").toString();
    assertThat(SluiceCli.execute("run", iot, "--runner", "dataflow", "--template-file", file))
        .isEqualTo(2);
    String latency = Path.of("..", "examples", "latency.yaml").toString();
    assertThat(SluiceCli.execute("run", latency, "--runner", "direct", "--template-file", file))
        .isEqualTo(2);
    assertThat(java.nio.file.Files.exists(Path.of(file))).isFalse();
  }
}

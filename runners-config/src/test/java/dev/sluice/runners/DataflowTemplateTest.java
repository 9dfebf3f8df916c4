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
  void theIotExampleBecomesAJobGraphWithItsNamedSteps(@TempDir Path dir) throws Exception {
    Path template = dir.resolve("iot-template.json");
    int status =
        SluiceCli.execute(
            "run",
            Path.of("..", "examples", "iot.yaml").toString(),
            "--runner",
            "dataflow",
            "--template-file",
            template.toString());
    assertThat(status).isZero();

    JsonNode graph = new ObjectMapper().readTree(template.toFile());
    Set<String> topLevel = new TreeSet<>();
    for (JsonNode step : graph.get("steps")) {
      JsonNode name = step.path("properties").path("user_name");
      topLevel.add((name.isObject() ? name.path("value") : name).asText().split("/")[0]);
    }
    assertThat(topLevel)
        .contains(
            "ReadFiles",
            "ParseEvents",
            "AggregateWindows",
            "LateToDeadLetters",
            "EvaluateRules",
            "StoreStats-0-embedded",
            "StoreStats-1-jsonl",
            "NotifyAlerts-0-log",
            "NotifyAlerts-2-jsonl",
            "CollectDeadLetters",
            "StoreDeadLetters-1-jsonl");
  }
}

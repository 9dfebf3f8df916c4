package dev.sluice.runners;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SluiceCliTest {
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();
  private PrintStream originalOut;
  private PrintStream originalErr;

  @BeforeEach
  void capture() {
    originalOut = System.out;
    originalErr = System.err;
    System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
    System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
  }

  @AfterEach
  void restore() {
    System.setOut(originalOut);
    System.setErr(originalErr);
  }

  private static final Path IOT = ExampleSpecs.withDataPaths("iot");

  @Test
  void validateAcceptsTheExamplesWithExitStatus0() {
    assertThat(
            SluiceCli.execute(
                "validate",
                IOT.toString(),
                Path.of("..", "examples", "payments.yaml").toString(),
                Path.of("..", "examples", "latency.yaml").toString()))
        .isZero();
    assertThat(out.toString(StandardCharsets.UTF_8))
        .contains("valid pipeline iot-sensors: files source, 1 window(s), 3 rule(s), 7 sink(s)")
        .contains("valid pipeline payments")
        .contains("valid pipeline service-latency");
  }

  @Test
  void anInvalidSpecExitsWith2AndSaysFileLineAndField(@TempDir Path dir) throws Exception {
    Path bad = dir.resolve("bad.yaml");
    Files.writeString(bad, Files.readString(IOT).replace("    size: 1m", "    size: 1 minutes"));
    assertThat(SluiceCli.execute("validate", bad.toString())).isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8))
        .contains(
            "bad.yaml:25: windows[0].size: \"1 minutes\" is not a duration; use 500ms, 30s, 5m,"
                + " 2h, 1d");
  }

  @Test
  void explainPrintsTheTransformGraphAndTheOptionsInForce() {
    assertThat(SluiceCli.execute("explain", IOT.toString(), "--runner", "flink")).isZero();
    assertThat(out.toString(StandardCharsets.UTF_8))
        .contains("Pipeline iot-sensors (iot.yaml)")
        .contains("  ReadFiles  [")
        .contains("  ComputeMetricsAndAlerts  [")
        .contains("    ParseEvents")
        .contains("    AggregateWindows  [")
        .contains("    EvaluateRules  [")
        .contains("rule.dead-sensor=absent(temperature) for 5m")
        .contains("--runner=org.apache.beam.runners.flink.FlinkRunner")
        .contains("--parallelism=2");
  }

  @Test
  void badArgumentsExitWith2() {
    assertThat(SluiceCli.execute("run", IOT.toString(), "--runner", "flink-cluster")).isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8))
        .contains("--runner flink-cluster needs --flink-master host:port");
    assertThat(SluiceCli.execute("run", IOT.toString(), "--runner", "spark")).isEqualTo(2);
    assertThat(SluiceCli.execute("frobnicate")).isEqualTo(2);
  }

  private static dev.sluice.pipelines.spec.PipelineSpec specWithKafkaAlerts(String sink) {
    return dev.sluice.pipelines.spec.SpecReader.parse(
        "eos.yaml",
        String.join(
            "\n",
            "name: eos",
            "source: {type: kafka, bootstrap_servers: 'localhost:9092', topics: [readings]}",
            "windows: [{type: tumbling, size: 1m}]",
            "rules: [{id: hot, condition: mean(temperature) > 50}]",
            "sinks:",
            "  alerts: [" + sink + "]",
            ""));
  }

  @Test
  void aSpecWithAnExactlyOnceKafkaSinkRecordsTheSinksStateLayoutAndOthersDoNot() {
    String eos =
        "{type: kafka, topic: alerts, bootstrap_servers: 'localhost:9092', exactly_once: true}";
    String plain = "{type: kafka, topic: alerts, bootstrap_servers: 'localhost:9092'}";
    // A checkpoint written with Beam's exactly-once sink has no such key: "(unset)", refused.
    assertThat(SluiceCli.stateSettings(specWithKafkaAlerts(eos)))
        .containsEntry("kafka_exactly_once", dev.sluice.io.KafkaJsonIO.EXACTLY_ONCE_LAYOUT);
    // Without one, the settings are those of earlier versions: their checkpoints still resume.
    assertThat(SluiceCli.stateSettings(specWithKafkaAlerts(plain)))
        .containsOnlyKeys("source", "windows", "rules", "dedup");
  }
}

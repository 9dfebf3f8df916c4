package dev.sluice.runners.faults;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.testing.KafkaBroker;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * F9 of the fault suite: canary secrets in a Kafka properties file ({@code sasl.jaas.config}), a
 * PostgreSQL {@code password_env} and a webhook {@code url_env} never appear in what Sluice prints
 * ({@code validate}, {@code explain}), in the Dataflow template it writes, or in the pipeline as a
 * runner ships it (the portable proto and every transform's Java serialization, which Flink's job
 * graph carries). Each command runs in its own JVM with the canaries in its environment, as a user
 * would run it.
 */
class SecretsIT {
  private static final String KAFKA_CANARY = "kafka-canary-" + UUID.randomUUID();
  private static final String PASSWORD_CANARY = "pg-canary-" + UUID.randomUUID();
  private static final String WEBHOOK_CANARY = "hook-canary-" + UUID.randomUUID();
  private static final Path MODULE = Path.of("").toAbsolutePath();

  @Test
  void canarySecretsAppearInNoOutputTemplateOrShippedPipeline(@TempDir Path dir) throws Exception {
    // A real broker that accepts the canary credentials: Dataflow's template writing reads the
    // topic's partitions with them.
    try (KafkaBroker kafka =
        KafkaBroker.startWithSaslPlain(dir.resolve("kafka"), "u", KAFKA_CANARY)) {
      kafka.createTopic("events", 1);
      check(dir, kafka.saslBootstrapServers());
    }
  }

  private static void check(Path dir, String bootstrapServers) throws Exception {
    Path properties = dir.resolve("client.properties");
    Files.writeString(
        properties,
        "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\n"
            + "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required"
            + " username=\"u\" password=\""
            + KAFKA_CANARY
            + "\";\n");
    Path spec = dir.resolve("secrets.yaml");
    Files.writeString(
        spec,
        String.join(
            "\n",
            "name: secrets",
            "source:",
            "  type: kafka",
            "  bootstrap_servers: " + bootstrapServers,
            "  topics: [events]",
            "  group_id: secrets",
            "  properties_file: " + properties,
            "windows:",
            "  - {type: tumbling, size: 1m}",
            "rules:",
            "  - {id: hot, condition: mean(temperature) > 50, severity: CRITICAL}",
            "sinks:",
            "  stats:",
            "    - {type: postgres, jdbc_url: 'jdbc:postgresql://db.example:5432/metrics',"
                + " user: sluice, password_env: SLUICE_CANARY_PASSWORD}",
            "  alerts:",
            "    - {type: webhook, url_env: SLUICE_CANARY_WEBHOOK}",
            "  dead_letters:",
            "    - {type: jsonl, path: " + dir.resolve("deadletters") + "}",
            ""));
    Path template = dir.resolve("template.json");

    String validate = run(dir, "dev.sluice.runners.Launcher", "validate", spec.toString());
    String explain =
        run(dir, "dev.sluice.runners.Launcher", "explain", spec.toString(), "--runner", "flink");
    String templateOutput =
        run(
            dir,
            "dev.sluice.runners.Launcher",
            "run",
            spec.toString(),
            "--runner",
            "dataflow",
            "--template-file",
            template.toString());
    String shipped = run(dir, SecretsProbe.class.getName(), spec.toString());

    assertThat(explain).contains("ReadKafka").contains("sasl.jaas.config");
    assertThat(Files.readString(template)).contains("StoreStats");
    assertThat(shipped).contains("PostToWebhook");
    List<String> texts =
        List.of(validate, explain, templateOutput, Files.readString(template), shipped);
    for (String text : texts) {
      assertThat(text).doesNotContain(KAFKA_CANARY, PASSWORD_CANARY, WEBHOOK_CANARY);
    }
  }

  /** Runs {@code mainClass} in a child JVM with the canaries in its environment; its output. */
  private static String run(Path dir, String mainClass, String... args) throws Exception {
    String classpath =
        MODULE.resolve("target/test-classes")
            + ":"
            + MODULE.resolve("target/classes")
            + ":"
            + System.getProperty("java.class.path");
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-cp");
    command.add(classpath);
    command.add(mainClass);
    command.addAll(List.of(args));
    ProcessBuilder builder =
        new ProcessBuilder(command)
            .directory(MODULE.getParent().toFile())
            .redirectErrorStream(true);
    Map<String, String> env = builder.environment();
    env.put("SLUICE_CANARY_PASSWORD", PASSWORD_CANARY);
    env.put("SLUICE_CANARY_WEBHOOK", "https://hooks.example.com/services/" + WEBHOOK_CANARY);
    Path output = Files.createTempFile(dir, "out", ".txt");
    builder.redirectOutput(output.toFile());
    Process process = builder.start();
    assertThat(process.waitFor(3, TimeUnit.MINUTES)).isTrue();
    String text = Files.readString(output, UTF_8);
    assertThat(process.exitValue()).as(text).isZero();
    return text;
  }
}

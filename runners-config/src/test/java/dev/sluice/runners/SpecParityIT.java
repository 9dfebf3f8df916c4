package dev.sluice.runners;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.local.FlinkSessionCluster;
import dev.sluice.testing.OutputFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runner parity of the IoT example (bounded file input with out-of-order and malformed lines): the
 * same {@code sluice run} on the Direct runner, on embedded Flink and submitted to a real Flink
 * session cluster (JobManager and TaskManager as separate JVMs) produces the same stats, alerts and
 * dead letters (compared sorted, without processing times).
 */
class SpecParityIT {
  private static final Path EXAMPLES = Path.of("..", "examples").toAbsolutePath().normalize();

  /** The IoT spec with its input at the repository's data and its outputs under {@code out}. */
  private static Path spec(Path out) throws Exception {
    String text =
        Files.readString(EXAMPLES.resolve("iot.yaml"))
            .replace("examples/data/", EXAMPLES.resolve("data") + "/")
            .replace("output/", out + "/");
    Path spec = out.resolve("iot.yaml");
    Files.createDirectories(out);
    Files.writeString(spec, text);
    return spec;
  }

  private static List<List<String>> run(Path out, String... runnerArgs) throws Exception {
    List<String> args = new ArrayList<>(List.of("run", spec(out).toString()));
    args.addAll(List.of(runnerArgs));
    long started = System.nanoTime();
    assertThat(SluiceCli.execute(args.toArray(new String[0]))).isZero();
    System.out.printf(
        Locale.ROOT,
        "parity: %s took %.1f s%n",
        String.join(" ", runnerArgs),
        (System.nanoTime() - started) / 1e9);
    Path dir = out.resolve("iot-sensors");
    return List.of(
        OutputFiles.normalisedJsonLines(dir, "stats", "p50", "p95", "p99"),
        OutputFiles.normalisedJsonLines(dir, "alerts", "emitted_at"),
        OutputFiles.normalisedJsonLines(dir, "deadletters", "failed_at"));
  }

  @Test
  void theIotExampleGivesTheSameResultsOnDirectEmbeddedFlinkAndAFlinkSessionCluster(
      @TempDir Path dir) throws Exception {
    List<List<String>> direct = run(dir.resolve("direct"), "--runner", "direct");
    List<List<String>> flink = run(dir.resolve("flink"), "--runner", "flink");
    List<List<String>> cluster;
    try (FlinkSessionCluster flinkCluster = FlinkSessionCluster.start(dir.resolve("cluster"), 0)) {
      cluster =
          run(
              dir.resolve("flink-cluster"),
              "--runner",
              "flink-cluster",
              "--flink-master",
              flinkCluster.flinkMaster(),
              "--files-to-stage",
              jobJar(dir).toString());
      assertThat(flinkCluster.jobsOverview()).contains("\"state\":\"FINISHED\"");
    }

    assertThat(direct.get(0)).hasSize(420);
    assertThat(direct.get(1)).hasSize(7);
    assertThat(direct.get(2)).hasSize(4);
    assertThat(flink).isEqualTo(direct);
    assertThat(cluster).isEqualTo(direct);
  }

  /**
   * The jar the runner stages. The session cluster's JVMs run on this build's classpath (see {@link
   * FlinkSessionCluster}), which holds Sluice and its dependencies, so the jar only has to exist; a
   * cluster started from a Flink distribution gets the shaded jar instead.
   */
  private static Path jobJar(Path dir) throws Exception {
    Path jar = dir.resolve("job.jar");
    try (java.util.jar.JarOutputStream out =
        new java.util.jar.JarOutputStream(Files.newOutputStream(jar))) {
      out.putNextEntry(new java.util.zip.ZipEntry("META-INF/sluice-job.txt"));
      out.write("iot-sensors".getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }
    return jar;
  }
}

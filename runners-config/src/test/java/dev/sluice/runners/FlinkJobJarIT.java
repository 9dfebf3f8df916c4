package dev.sluice.runners;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.local.FlinkSessionCluster;
import dev.sluice.testing.OutputFiles;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Flink job jar the build makes ({@code target/sluice-flink-job.jar}: Sluice, Beam and
 * beam-runners-flink, no Flink) on a real session cluster whose JobManager and TaskManager have
 * only Flink and third-party libraries on their class path, not Sluice or Beam: everything of the
 * job must come from the jar. It is submitted twice, with Beam's FlinkRunner from this JVM ({@code
 * --flink-master host:port --files-to-stage JAR}) and with Flink's own command-line client, {@code
 * CliFrontend run JAR run SPEC --runner flink-cluster --flink-master [auto]} (what {@code flink
 * run} does) in a child JVM, and both give the same stats, alerts and dead letters.
 *
 * <p>The spec is the IoT example with its JSON-lines sinks only: the embedded PostgreSQL is not in
 * the Flink job jar.
 */
class FlinkJobJarIT {
  private static final Path EXAMPLES = Path.of("..", "examples").toAbsolutePath().normalize();
  private static final Path JOB_JAR = Path.of("target", "sluice-flink-job.jar").toAbsolutePath();
  private static final long CLIENT_TIMEOUT_SECONDS = 300;

  private static Path spec(Path out) throws Exception {
    String text =
        Files.readString(EXAMPLES.resolve("iot.yaml"))
            .replaceAll("    - type: embedded\\n      data_dir: [^\\n]*\\n", "")
            .replace("examples/data/", EXAMPLES.resolve("data") + "/")
            .replace("output/", out + "/");
    assertThat(text).doesNotContain("embedded");
    Files.createDirectories(out);
    Path spec = out.resolve("iot.yaml");
    Files.writeString(spec, text);
    return spec;
  }

  private static List<List<String>> outputs(Path out) throws Exception {
    Path dir = out.resolve("iot-sensors");
    return List.of(
        OutputFiles.normalisedJsonLines(dir, "stats", "p50", "p95", "p99"),
        OutputFiles.normalisedJsonLines(dir, "alerts", "emitted_at"),
        OutputFiles.normalisedJsonLines(dir, "deadletters", "failed_at"));
  }

  /**
   * This JVM's test class path without Sluice's modules and Beam: what a Flink installation has
   * (Flink, its dependencies, an SLF4J binding) plus other libraries of the tests.
   */
  private static String flinkOnlyClassPath() {
    String testClassPath = System.getProperty("surefire.test.class.path");
    if (testClassPath == null || testClassPath.isBlank()) {
      testClassPath = System.getProperty("java.class.path");
    }
    String repository = EXAMPLES.getParent().toString() + File.separator;
    List<String> kept = new ArrayList<>();
    for (String entry : testClassPath.split(File.pathSeparator)) {
      String path = Path.of(entry).toAbsolutePath().normalize().toString();
      boolean sluice = path.startsWith(repository) || path.contains("/dev/sluice/");
      boolean beam = path.contains("/org/apache/beam/");
      // Test libraries a Flink installation does not have either (Flink shades its own Jackson):
      // the Kafka broker's Scala and jackson-module-scala, whose Jackson module service entry
      // would clash with the job jar's Jackson.
      boolean notInFlink =
          path.contains("/com/fasterxml/jackson/")
              || path.contains("/org/scala-lang/")
              || path.contains("/kafka_2.13/");
      if (!entry.isBlank() && !sluice && !beam && !notInFlink) {
        kept.add(entry);
      }
    }
    assertThat(String.join(" ", kept)).contains("flink-clients").doesNotContain("beam-sdks");
    return String.join(File.pathSeparator, kept);
  }

  @Test
  void theFlinkJobJarRunsTheSameWithFlinkRunnerAndWithFlinksCommandLineClient(@TempDir Path dir)
      throws Exception {
    assertThat(JOB_JAR)
        .as("the Flink job jar the package phase builds (mvn package -pl runners-config -am)")
        .isRegularFile();
    String flinkClassPath = flinkOnlyClassPath();
    List<List<String>> viaFlinkRunner;
    List<List<String>> viaCliFrontend;
    String previous = System.getProperty(FlinkSessionCluster.CLASSPATH_PROPERTY);
    System.setProperty(FlinkSessionCluster.CLASSPATH_PROPERTY, flinkClassPath);
    try (FlinkSessionCluster cluster = FlinkSessionCluster.start(dir.resolve("cluster"), 0)) {
      if (previous == null) {
        System.clearProperty(FlinkSessionCluster.CLASSPATH_PROPERTY);
      } else {
        System.setProperty(FlinkSessionCluster.CLASSPATH_PROPERTY, previous);
      }
      Path out = dir.resolve("flink-runner");
      long started = System.nanoTime();
      assertThat(
              SluiceCli.execute(
                  "run",
                  spec(out).toString(),
                  "--runner",
                  "flink-cluster",
                  "--flink-master",
                  cluster.flinkMaster(),
                  "--files-to-stage",
                  JOB_JAR.toString()))
          .isZero();
      System.out.printf(
          Locale.ROOT, "job jar: FlinkRunner took %.1f s%n", (System.nanoTime() - started) / 1e9);
      viaFlinkRunner = outputs(out);

      out = dir.resolve("cli-frontend");
      started = System.nanoTime();
      runCliFrontend(cluster, flinkClassPath, spec(out), dir.resolve("cli-frontend.log"));
      System.out.printf(
          Locale.ROOT, "job jar: CliFrontend took %.1f s%n", (System.nanoTime() - started) / 1e9);
      viaCliFrontend = outputs(out);
      assertThat(cluster.jobsOverview().split("\"state\":\"FINISHED\"", -1)).hasSize(3);
    } finally {
      if (previous == null) {
        System.clearProperty(FlinkSessionCluster.CLASSPATH_PROPERTY);
      } else {
        System.setProperty(FlinkSessionCluster.CLASSPATH_PROPERTY, previous);
      }
    }

    assertThat(viaFlinkRunner.get(0)).hasSize(420);
    assertThat(viaFlinkRunner.get(1)).hasSize(7);
    assertThat(viaFlinkRunner.get(2)).hasSize(4);
    assertThat(viaCliFrontend).isEqualTo(viaFlinkRunner);
  }

  /**
   * {@code flink run JAR ARGS} against the session cluster: Flink's client in a child JVM with the
   * cluster's configuration directory ({@code FLINK_CONF_DIR}, which has its REST address and port)
   * and only Flink on its class path; the jar's main runs in it with Flink's context environment,
   * which FlinkRunner uses for {@code --flinkMaster=[auto]}.
   */
  private static void runCliFrontend(
      FlinkSessionCluster cluster, String classPath, Path spec, Path log) throws Exception {
    Path argFile = log.resolveSibling("cli-frontend.args");
    Files.writeString(
        argFile, "-cp \"" + classPath.replace("\\", "\\\\").replace("\"", "\\\"") + "\"\n");
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(jvmOptions());
    command.add("@" + argFile);
    command.add("org.apache.flink.client.cli.CliFrontend");
    command.addAll(
        List.of(
            "run",
            JOB_JAR.toString(),
            "run",
            spec.toString(),
            "--runner",
            "flink-cluster",
            "--flink-master",
            "[auto]"));
    ProcessBuilder builder =
        new ProcessBuilder(command)
            .directory(spec.getParent().toFile())
            .redirectErrorStream(true)
            .redirectOutput(log.toFile());
    builder.environment().put("FLINK_CONF_DIR", cluster.workDir().resolve("conf").toString());
    Process client = builder.start();
    client.getOutputStream().close();
    boolean exited = client.waitFor(CLIENT_TIMEOUT_SECONDS, TimeUnit.SECONDS);
    if (!exited) {
      client.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
    String output = Files.readString(log);
    assertThat(exited)
        .as("CliFrontend finished within %d s; its output:%n%s", CLIENT_TIMEOUT_SECONDS, output)
        .isTrue();
    assertThat(client.exitValue())
        .as("CliFrontend's exit status; its output:%n%s", output)
        .isZero();
    assertThat(output).contains("pipeline state", "DONE");
  }

  /** The module opens Flink needs on Java 17 (runners-config/jvm.options). */
  private static List<String> jvmOptions() throws Exception {
    List<String> options = new ArrayList<>();
    for (String line : Files.readAllLines(Path.of("jvm.options"))) {
      if (!line.isBlank() && !line.startsWith("#")) {
        options.addAll(Arrays.asList(line.trim().split("\\s+")));
      }
    }
    return options;
  }
}

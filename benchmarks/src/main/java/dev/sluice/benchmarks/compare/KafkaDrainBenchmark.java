package dev.sluice.benchmarks.compare;

import dev.sluice.local.EmbeddedPostgresStore;
import dev.sluice.testing.KafkaBroker;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * How fast the main job, as a user starts it ({@code ./sluice --source=kafka ...}, no runner
 * chosen: the launcher's default for Kafka, embedded Flink with the {@code flink} preset and its
 * checkpoints), drains a topic: a backlog of the reference workload is appended to a 2-partition
 * topic of a real broker (one window more than measured, so that the last measured window closes
 * on event time, not when the partitions go idle), then the launcher runs in its own JVM into a real PostgreSQL, and the
 * rate is the events of all windows but the first over the time from the first window's last stats
 * row to the last window's last stats row becoming visible (as phase 1 of {@link
 * LatencyBenchmark}).
 *
 * <pre>{@code
 * benchmarks/run kafka-drain --windows=3      # 3.6 million events, 1.2 million per minute
 * }</pre>
 */
public final class KafkaDrainBenchmark {
  private KafkaDrainBenchmark() {}

  public static void main(String[] args) throws Exception {
    int windows = 3;
    String resultsDir = "benchmarks/results";
    for (String arg : args) {
      String value = arg.substring(arg.indexOf('=') + 1);
      if (arg.startsWith("--windows=")) {
        windows = Integer.parseInt(value);
      } else if (arg.startsWith("--results-dir=")) {
        resultsDir = value;
      } else {
        throw new IllegalArgumentException(
            "unknown option '" + arg + "'; use --windows=N (at least 2) --results-dir=DIR");
      }
    }
    if (windows < 2) {
      throw new IllegalArgumentException("--windows must be at least 2, got " + windows);
    }
    // One window more than measured: the last measured one closes on the next one's events, not
    // when the partitions go idle.
    Workload workload = Workload.reference((windows + 1) * 1_200_000L);
    int seriesPerWindow = workload.numKeys * Workload.METRICS.length;
    Path work = Files.createTempDirectory("sluice-kafka-drain");
    Path jobLog = work.resolve("job.log");
    String report;
    try (KafkaBroker kafka = KafkaBroker.start(work.resolve("kafka"));
        EmbeddedPostgresStore postgres = EmbeddedPostgresStore.start(work.resolve("postgres"))) {
      kafka.createTopic("events", LatencyBenchmark.PARTITIONS);
      LatencyBenchmark.appendBacklog(kafka.bootstrapServers(), "events", workload);
      List<String> job = launcher(kafka.bootstrapServers(), postgres, work.resolve("out"));
      Process process =
          new ProcessBuilder(job)
              .redirectErrorStream(true)
              .redirectOutput(jobLog.toFile())
              .start();
      Map<Long, Long> completedAt = new HashMap<>();
      long started = System.nanoTime();
      long deadline = System.currentTimeMillis() + 20 * 60_000L;
      try (Connection db = postgres.connect()) {
        while (completedAt.size() < windows && System.currentTimeMillis() < deadline) {
          if (!process.isAlive()) {
            throw new IllegalStateException(
                "the job ended (exit " + process.exitValue() + "); its output: " + jobLog);
          }
          try {
            for (Map.Entry<Long, Long> w :
                LatencyBenchmark.rowsPerWindow(db, "sluice", 0).entrySet()) {
              if (w.getValue() >= seriesPerWindow) {
                completedAt.putIfAbsent(w.getKey(), System.nanoTime());
              }
            }
          } catch (java.sql.SQLException e) {
            // The job creates the table when its writers start.
          }
          LatencyBenchmark.pause(200);
        }
      } finally {
        process.destroy();
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
          process.destroyForcibly().waitFor();
        }
      }
      if (completedAt.size() < windows) {
        throw new IllegalStateException(
            "the backlog was not drained in 20 minutes; complete windows: "
                + completedAt.keySet()
                + "; job output: "
                + jobLog);
      }
      long[] times = completedAt.values().stream().mapToLong(Long::longValue).sorted().toArray();
      double rate = (windows - 1) * 1_200_000L / ((times[windows - 1] - times[0]) / 1e9);
      report =
          String.format(
              Locale.ROOT,
              "Command: `benchmarks/run kafka-drain --windows=%d` (%s). A backlog of %,d events"
                  + " (%d windows of 1.2 million, %d keys x %d metrics) on a 2-partition topic,"
                  + " drained by `%s`.%n%n"
                  + "First window's stats complete %.1f s after the job started; drain rate over"
                  + " the %d windows after it: **%,.0f events/s** (target: at least 20,000).%n",
              windows,
              LocalDate.now(ZoneOffset.UTC),
              workload.numEvents,
              windows + 1,
              workload.numKeys,
              Workload.METRICS.length,
              String.join(" ", userCommand(job)),
              (times[0] - started) / 1e9,
              windows - 1,
              rate);
    }
    System.out.print(report);
    // Broker and database data (about 1 GB) are not kept after a run that measured.
    try (java.util.stream.Stream<Path> paths = Files.walk(work)) {
      paths.sorted(java.util.Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
    }
    Path results = Path.of(resultsDir);
    Files.createDirectories(results);
    Path out = results.resolve(LocalDate.now(ZoneOffset.UTC) + "-kafka-drain.md");
    Files.writeString(out, report, StandardCharsets.UTF_8);
    System.out.println("Written: " + out);
  }

  /** The launcher in its own JVM, as {@code ./sluice} starts it, with the user's options. */
  private static List<String> launcher(
      String bootstrap, EmbeddedPostgresStore postgres, Path outputDir) throws Exception {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-Xmx4g");
    for (String line : Files.readAllLines(Path.of("runners-config/jvm.options"))) {
      if (!line.isBlank() && !line.startsWith("#")) {
        command.addAll(List.of(line.trim().split("\\s+")));
      }
    }
    command.addAll(
        List.of("-cp", System.getProperty("java.class.path"), "dev.sluice.runners.Launcher"));
    command.addAll(
        List.of(
            "--source=kafka",
            "--kafkaBootstrapServers=" + bootstrap,
            "--kafkaTopics=events",
            "--kafkaGroupId=sluice-drain",
            "--jdbcUrl=" + postgres.jdbcUrl(),
            "--jdbcUser=" + postgres.user(),
            "--jdbcPasswordFile=" + postgres.passwordFile(),
            "--outputDir=" + outputDir));
    return command;
  }

  private static List<String> userCommand(List<String> job) {
    List<String> shown = new ArrayList<>(List.of("./sluice"));
    for (String part : job.subList(job.indexOf("dev.sluice.runners.Launcher") + 1, job.size())) {
      shown.add(part.replaceAll("=.*(localhost|127\\.0\\.0\\.1|/tmp/).*", "=..."));
    }
    return shown;
  }
}

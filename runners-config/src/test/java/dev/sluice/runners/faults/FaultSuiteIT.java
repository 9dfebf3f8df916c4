package dev.sluice.runners.faults;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The fault-injection suite: real Kafka broker, real PostgreSQL, embedded Flink in a child JVM,
 * real SIGKILL. {@code mvn -B verify} runs the fast subset; {@code testing/faults/run} runs the
 * whole suite ({@code -Dsluice.faults=full}) and writes its table to {@code
 * runners-config/target/faults/report.md}.
 */
class FaultSuiteIT {
  private static final boolean FULL = "full".equals(System.getProperty("sluice.faults"));

  static List<FaultScenario> scenarios() {
    if (FULL) {
      return List.of(
          new FaultScenario("F1 kill -9 of the job x3", 300_000, 100, 15, 2).kills(3),
          new FaultScenario(
                  "F1 exactly-once Kafka alerts, kill -9 of the job x2", 300_000, 100, 15, 2)
              .kills(2)
              .exactlyOnceAlerts(),
          new FaultScenario(
                  "F1 spec with a webhook and silences, ./sluice run --runner flink, kill -9 x3",
                  300_000,
                  100,
                  15,
                  2)
              .asSpec()
              .notifyWebhook()
              .kills(3),
          new FaultScenario("F2 kill -9 of one of two TaskManagers", 300_000, 100, 15, 2)
              .onSessionCluster("kill-taskmanager"),
          new FaultScenario("F3 Kafka broker killed, restarted after 20 s", 300_000, 100, 15, 2)
              .brokerRestart(),
          new FaultScenario("F4 PostgreSQL stopped 60 s", 300_000, 100, 15, 2)
              .postgresOutage(Duration.ofSeconds(60)),
          new FaultScenario("F5 stop with savepoint, restore from it", 300_000, 100, 15, 2)
              .onSessionCluster("savepoint"),
          new FaultScenario("F6 cold start, no committed offsets", 300_000, 100, 15, 2),
          new FaultScenario("F7 3 partitions, one idle", 300_000, 100, 15, 3).activePartitions(2),
          new FaultScenario("F8 22 kinds of bad input mixed in", 300_000, 100, 15, 2).badInput());
    }
    return List.of(
        new FaultScenario("F1 kill -9 of the job x1, checkpoints every 100 ms", 60_000, 20, 12, 2)
            .kills(1)
            .checkpointEvery(100),
        new FaultScenario(
                "F1 spec with a webhook and silences, kill -9 of the job x1", 60_000, 20, 12, 2)
            .asSpec()
            .notifyWebhook()
            .kills(1),
        new FaultScenario("F4 PostgreSQL stopped 15 s", 60_000, 20, 12, 2)
            .postgresOutage(Duration.ofSeconds(15)),
        new FaultScenario("F8 22 kinds of bad input mixed in", 60_000, 20, 12, 2).badInput());
  }

  @Test
  void noFaultLosesOrDoubleCountsAnEvent() throws Exception {
    // Kept after the run (logs, checkpoints, data) for a look when a row fails.
    Path dir = Path.of("target", "faults", "work").toAbsolutePath();
    deleteRecursively(dir);
    List<FaultScenario.Row> rows = new ArrayList<>();
    long seed = Long.getLong("sluice.faults.seed", 14L);
    int i = 0;
    String only = System.getProperty("sluice.faults.only", "");
    for (FaultScenario scenario : scenarios()) {
      if (!scenario.name().startsWith(only)) {
        continue;
      }
      FaultScenario.Row row = scenario.run(dir.resolve("s" + i++), seed);
      rows.add(row);
      System.out.println(FaultScenario.HEADER + "\n" + row.markdown());
    }
    StringBuilder report = new StringBuilder(FaultScenario.HEADER).append('\n');
    rows.forEach(r -> report.append(r.markdown()).append('\n'));
    Path out = Path.of("target", "faults");
    Files.createDirectories(out);
    Files.writeString(out.resolve("report.md"), report.toString(), UTF_8);
    System.out.println(report);
    for (FaultScenario.Row row : rows) {
      assertThat(row.ok()).as(row.markdown()).isTrue();
      if (row.readPerRun().size() > 1) {
        // Every rerun resumed from a checkpoint: it read less than the whole topic.
        for (long read : row.readPerRun().subList(1, row.readPerRun().size())) {
          assertThat(read).as(row.markdown()).isLessThan(row.produced());
        }
      }
    }
  }

  private static void deleteRecursively(Path dir) throws java.io.IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (var walk = Files.walk(dir)) {
      for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}

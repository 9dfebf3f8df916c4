package dev.sluice.runners.faults;

import static java.nio.charset.StandardCharsets.UTF_8;

import dev.sluice.io.EmbeddedPostgresStore;
import dev.sluice.testing.KafkaBroker;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.function.BooleanSupplier;

/**
 * One row of the fault-injection suite: a real Kafka broker with a backlog, the main job on
 * embedded Flink into PostgreSQL, real faults (SIGKILL of the job, PostgreSQL stopped), and the
 * stored results compared with the offline computation.
 *
 * @param name e.g. {@code F1 kill -9 x3}
 * @param events backlog size
 * @param keys distinct keys
 * @param minutes event-time span, one window per minute
 * @param partitions partitions of the topic
 * @param kills SIGKILLs of the job, each at a random point between 30 % and 70 % of the backlog
 * @param postgresOutage how long an external PostgreSQL is stopped mid-run (zero: the embedded
 *     store, no outage)
 * @param activePartitions partitions that get events; the others stay idle
 * @param brokerRestart the Kafka broker is killed (SIGKILL) mid-run and started again
 * @param badInput bad payloads of every kind are mixed into the backlog
 */
record FaultScenario(
    String name,
    int events,
    int keys,
    int minutes,
    int partitions,
    int kills,
    Duration postgresOutage,
    int activePartitions,
    boolean brokerRestart,
    boolean badInput) {

  FaultScenario(
      String name,
      int events,
      int keys,
      int minutes,
      int partitions,
      int kills,
      Duration postgresOutage) {
    this(name, events, keys, minutes, partitions, kills, postgresOutage, partitions, false, false);
  }

  private static final String TOPIC = "events";
  private static final String GROUP = "sluice-faults";
  private static final Duration CATCH_UP = Duration.ofMinutes(6);
  private static final Duration BROKER_DOWN = Duration.ofSeconds(20);

  /** What a run of the scenario measured. */
  record Row(
      FaultScenario scenario,
      long produced,
      int expectedWindows,
      StoredResults stored,
      Map<String, Long> expectedDeadLetters,
      List<Long> readPerRun,
      Duration recovery,
      String note) {
    boolean ok() {
      return stored.deadLetters().equals(expectedDeadLetters)
          && stored.partial() == 0
          && stored.missing() == 0
          && stored.duplicateFiring() == 0
          && stored.neverResolved() == 0
          && stored.exact() == expectedWindows;
    }

    String markdown() {
      return String.format(
          Locale.ROOT,
          "| %s | %,d | %,d | %,d / %d / %d | %d | %d | %s | %d | %s | %.1f s | %s |",
          scenario.name(),
          produced,
          expectedWindows,
          stored.exact(),
          stored.partial(),
          stored.missing(),
          stored.duplicateFiring(),
          stored.neverResolved(),
          (stored.deadLetters().isEmpty() ? "0" : stored.deadLetters().toString())
              + (stored.deadLetters().equals(expectedDeadLetters)
                  ? ""
                  : " (expected " + expectedDeadLetters + ")"),
          stored.late(),
          readPerRun.stream().map(n -> String.format(Locale.ROOT, "%,d", n)).toList(),
          recovery.toMillis() / 1000.0,
          note);
    }
  }

  static final String HEADER =
      "| scenario | events produced | expected windows | stored exact / partial / missing |"
          + " duplicate FIRING | FIRING never RESOLVED | dead letters | late |"
          + " left to read at each start | recovery (kill → caught up) | notes |\n"
          + "|---|---|---|---|---|---|---|---|---|---|---|";

  Row run(Path work, long seed) throws Exception {
    Files.createDirectories(work);
    Path log = work.resolve("job.log");
    Backlog backlog =
        new Backlog(events, keys, minutes, partitions, activePartitions, badInput, TOPIC, seed);
    Random random = new Random(seed);
    EmbeddedPostgresStore external = null;
    int pgPort = freePort();
    KafkaBroker firstBroker = KafkaBroker.start(work.resolve("kafka"));
    KafkaBroker[] broker = {firstBroker};
    try {
      KafkaBroker kafka = firstBroker;
      kafka.createTopic(TOPIC, partitions);
      long produced = backlog.produce(kafka.bootstrapServers());
      Path out = work.resolve("out");
      List<String> args =
          new ArrayList<>(
              List.of(
                  "--preset=flink",
                  "--source=kafka",
                  "--kafkaBootstrapServers=" + kafka.bootstrapServers(),
                  "--kafkaTopics=" + TOPIC,
                  "--kafkaGroupId=" + GROUP,
                  "--outputDir=" + out,
                  "--windowSeconds=60",
                  // Checkpoints every 2 s: the kills land between several of them.
                  "--checkpointingInterval=2000",
                  "--progressSeconds=1"));
      Path passwordFile;
      String jdbcUrl;
      if (postgresOutage.isZero()) {
        args.add("--embeddedPostgresPort=" + pgPort);
        passwordFile = out.resolve("postgres").resolve(EmbeddedPostgresStore.PASSWORD_FILE);
        jdbcUrl = "jdbc:postgresql://localhost:" + pgPort + "/postgres";
      } else {
        external = EmbeddedPostgresStore.start(work.resolve("postgres"), pgPort);
        passwordFile = external.passwordFile();
        jdbcUrl = external.jdbcUrl();
        args.add("--jdbcUrl=" + jdbcUrl);
        args.add("--jdbcPasswordFile=" + passwordFile);
      }
      List<Long> reads = new ArrayList<>();
      long killedAt = 0;
      // Progress is what the job committed to its consumer group: Flink commits the offsets of
      // a checkpoint once it is complete, so a kill lands after the job durably got that far.
      for (int k = 0; k < kills; k++) {
        long before = committed(kafka);
        double fraction = 0.3 + 0.4 * random.nextDouble();
        long target = Math.max(before + 1, (long) (fraction * produced));
        JobProcess job = JobProcess.start(log, args);
        awaitOrFail(job, log, () -> committed(broker[0]) >= target, CATCH_UP);
        job.kill();
        killedAt = System.nanoTime();
        long at = committed(broker[0]);
        reads.add(produced - before);
        append(log, "SIGKILL with " + at + " of " + produced + " records committed");
      }
      long resumedAt = committed(kafka);
      JobProcess job = JobProcess.start(log, args);
      long started = System.nanoTime();
      if (external != null) {
        EmbeddedPostgresStore db = external;
        awaitOrFail(job, log, () -> committed(broker[0]) >= produced * 4 / 10, CATCH_UP);
        append(log, "PostgreSQL stopped for " + postgresOutage.toSeconds() + " s");
        db.close();
        long stoppedAt = System.nanoTime();
        awaitOrFail(
            job, log, () -> System.nanoTime() - stoppedAt >= postgresOutage.toNanos(), CATCH_UP);
        external = EmbeddedPostgresStore.start(work.resolve("postgres"), pgPort);
        append(log, "PostgreSQL started again");
        killedAt = stoppedAt;
      }
      if (brokerRestart) {
        awaitOrFail(job, log, () -> committed(broker[0]) >= produced * 4 / 10, CATCH_UP);
        append(log, "Kafka broker killed (SIGKILL)");
        broker[0].kill();
        killedAt = System.nanoTime();
        long killed = killedAt;
        awaitOrFail(job, log, () -> System.nanoTime() - killed >= BROKER_DOWN.toNanos(), CATCH_UP);
        broker[0] = broker[0].restart();
        append(log, "Kafka broker started again");
      }
      StoredResults[] last = {null};
      String url = jdbcUrl;
      boolean caughtUp =
          await(
              job,
              () -> {
                try {
                  last[0] = StoredResults.read(url, passwordFile, backlog);
                } catch (Exception e) {
                  return false;
                }
                return last[0].allExact(backlog)
                    && last[0].deadLetters().equals(backlog.expectedDeadLetters)
                    && last[0].firing()
                        >= backlog.expectedEpisodes().values().stream().mapToInt(List::size).sum()
                    && last[0].neverResolved() == 0;
              },
              CATCH_UP);
      long end = System.nanoTime();
      reads.add(produced - resumedAt);
      job.stop();
      if (last[0] == null) {
        last[0] = StoredResults.read(url, passwordFile, backlog);
      }
      long from = killedAt == 0 ? started : killedAt;
      String note = caughtUp ? "" : "did not catch up within " + CATCH_UP.toMinutes() + " min";
      return new Row(
          this,
          produced,
          backlog.expectedWindows(),
          last[0],
          backlog.expectedDeadLetters,
          reads,
          Duration.ofNanos(end - from),
          note);
    } finally {
      if (external != null) {
        external.close();
      }
      broker[0].close();
    }
  }

  private static long committed(KafkaBroker kafka) {
    Map<Integer, Long> offsets = kafka.committedOffsets(GROUP, TOPIC);
    return offsets.values().stream().mapToLong(Long::longValue).sum();
  }

  private static void awaitOrFail(
      JobProcess job, Path log, BooleanSupplier condition, Duration timeout) throws IOException {
    if (!await(job, condition, timeout)) {
      boolean alive = job.isAlive();
      job.kill();
      throw new IllegalStateException(
          "the job "
              + (alive ? "did not get there in " + timeout : "exited with " + job.exitValue())
              + "; its output:\n"
              + String.join("\n", tail(job.output(), 40))
              + "\n(full log: "
              + log
              + ")");
    }
  }

  /** Polls {@code condition} every 500 ms until it holds, the job exits, or the timeout. */
  private static boolean await(JobProcess job, BooleanSupplier condition, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (condition.getAsBoolean()) {
        return true;
      }
      if (!job.isAlive()) {
        return false;
      }
      job.await(Duration.ofMillis(500));
    }
    return false;
  }

  private static List<String> tail(List<String> lines, int n) {
    return lines.subList(Math.max(0, lines.size() - n), lines.size());
  }

  private static void append(Path log, String line) throws IOException {
    Files.writeString(
        log,
        "### " + line + "\n",
        UTF_8,
        java.nio.file.StandardOpenOption.CREATE,
        java.nio.file.StandardOpenOption.APPEND);
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }
}

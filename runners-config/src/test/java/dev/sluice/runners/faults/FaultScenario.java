package dev.sluice.runners.faults;

import static java.nio.charset.StandardCharsets.UTF_8;

import dev.sluice.local.EmbeddedPostgresStore;
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
 * embedded Flink (or a session cluster) into PostgreSQL, real faults (SIGKILL of the job or of a
 * TaskManager, PostgreSQL stopped, the broker killed, stop with savepoint), and the stored results
 * compared with the offline computation.
 *
 * <pre>{@code
 * new FaultScenario("F1 kill -9 x3", 300_000, 100, 15, 2).kills(3).run(workDir, seed);
 * }</pre>
 */
final class FaultScenario {
  private final String name;
  private final int events;
  private final int keys;
  private final int minutes;
  private final int partitions;
  private int activePartitions;
  private int kills;
  private Duration postgresOutage = Duration.ZERO;
  private boolean brokerRestart;
  private boolean badInput;
  private String clusterFault;
  private long checkpointMillis = 2000;
  private boolean spec;
  private boolean exactlyOnceAlerts;
  private boolean webhook;

  /**
   * @param name e.g. {@code F1 kill -9 x3}
   * @param events backlog size
   * @param keys distinct keys
   * @param minutes event-time span, one window per minute
   * @param partitions partitions of the topic
   */
  FaultScenario(String name, int events, int keys, int minutes, int partitions) {
    this.name = name;
    this.events = events;
    this.keys = keys;
    this.minutes = minutes;
    this.partitions = partitions;
    this.activePartitions = partitions;
  }

  /** SIGKILLs of the job, each 30 % to 70 % into what is left of the backlog at its start. */
  FaultScenario kills(int kills) {
    this.kills = kills;
    return this;
  }

  /** An external PostgreSQL is stopped this long mid-run (default: the embedded store). */
  FaultScenario postgresOutage(Duration outage) {
    this.postgresOutage = outage;
    return this;
  }

  /** Only the first {@code active} partitions get events; the others stay idle. */
  FaultScenario activePartitions(int active) {
    this.activePartitions = active;
    return this;
  }

  /** The Kafka broker is killed (SIGKILL) mid-run and started again. */
  FaultScenario brokerRestart() {
    this.brokerRestart = true;
    return this;
  }

  /** Bad payloads of every kind ({@link Backlog#BAD_PAYLOADS}) are mixed into the backlog. */
  FaultScenario badInput() {
    this.badInput = true;
    return this;
  }

  /**
   * On a Flink session cluster with two TaskManagers: {@code kill-taskmanager} (SIGKILL of one
   * TaskManager mid-run; the job restarts by itself) or {@code savepoint} (stop with savepoint
   * mid-run, then the same command with {@code --from-savepoint}).
   */
  FaultScenario onSessionCluster(String fault) {
    this.clusterFault = fault;
    return this;
  }

  /**
   * The job is a pipeline spec run with {@code ./sluice run SPEC --runner flink} (Kafka source,
   * embedded PostgreSQL sinks) instead of the main job.
   */
  FaultScenario asSpec() {
    this.spec = true;
    return this;
  }

  /**
   * Alerts also go to a Kafka topic with {@code --alertsExactlyOnce=true}; a {@code read_committed}
   * consumer must then see each notification exactly once, across the kills.
   */
  FaultScenario exactlyOnceAlerts() {
    this.exactlyOnceAlerts = true;
    return this;
  }

  /**
   * With {@link #asSpec}: alerts also go to a webhook (a receiver in this JVM, so it outlives the
   * job's kills), and two silences cover key-042 entirely and key-007's first FIRING. The webhook
   * must get every notification the store has as not silenced (a re-send after a restart with the
   * same idempotency key), and never a silenced one.
   */
  FaultScenario notifyWebhook() {
    this.webhook = true;
    return this;
  }

  /** Checkpoints every {@code millis} ms (default 2000). */
  FaultScenario checkpointEvery(long millis) {
    this.checkpointMillis = millis;
    return this;
  }

  String name() {
    return name;
  }

  int kills() {
    return kills;
  }

  private static final String TOPIC = "events";
  private static final String GROUP = "sluice-faults";
  private static final String ALERTS_TOPIC = "alerts";
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
      return !note.contains("NOT exactly once")
          && !note.contains("NOT as stored")
          && stored.deadLetters().equals(expectedDeadLetters)
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
    dev.sluice.local.FlinkSessionCluster cluster = null;
    ProcessHandle extraTaskManager = null;
    WebhookReceiver receiver = webhook ? WebhookReceiver.start() : null;
    int pgPort = freePort();
    KafkaBroker firstBroker = KafkaBroker.start(work.resolve("kafka"));
    KafkaBroker[] broker = {firstBroker};
    try {
      KafkaBroker kafka = firstBroker;
      kafka.createTopic(TOPIC, partitions);
      long produced = backlog.produce(kafka.bootstrapServers());
      Path out = work.resolve("out");
      if (clusterFault != null) {
        cluster = dev.sluice.local.FlinkSessionCluster.start(work.resolve("cluster"), 0);
        extraTaskManager = cluster.addTaskManager();
      }
      List<String> args =
          spec
              ? specArgs(work, kafka.bootstrapServers(), out, backlog, receiver)
              : new ArrayList<>(
                  List.of(
                      clusterFault == null ? "--preset=flink" : "--preset=flink-cluster",
                      "--source=kafka",
                      "--kafkaBootstrapServers=" + kafka.bootstrapServers(),
                      "--kafkaTopics=" + TOPIC,
                      "--kafkaGroupId=" + GROUP,
                      "--outputDir=" + out,
                      "--windowSeconds=60",
                      // Checkpoints every 2 s (100 ms in the fast F1, so state coders are snapshot
                      // at
                      // any moment): the kills land between several of them.
                      "--checkpointingInterval=" + checkpointMillis,
                      "--progressSeconds=1"));
      if (cluster != null) {
        args.add("--flinkMaster=" + cluster.flinkMaster());
        args.add("--filesToStage=" + jobJar(work));
      }
      if (exactlyOnceAlerts) {
        kafka.createTopic(ALERTS_TOPIC, 1);
        args.add("--alertsTopic=" + ALERTS_TOPIC);
        args.add("--alertsExactlyOnce=true");
      }
      Path passwordFile;
      String jdbcUrl;
      if (spec) {
        passwordFile = out.resolve("postgres").resolve(EmbeddedPostgresStore.PASSWORD_FILE);
        jdbcUrl = null; // a new port each run: read from the server's postmaster.pid
      } else if (postgresOutage.isZero()) {
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
        // 30 % to 70 % into what is left to read, so every run gets somewhere before its kill.
        double fraction = 0.3 + 0.4 * random.nextDouble();
        // A run that already committed everything (a fast job) is killed as soon as it is back:
        // a target past the end could never be reached.
        long target =
            Math.min(produced, before + Math.max(1, (long) (fraction * (produced - before))));
        JobProcess job = JobProcess.start(log, args);
        awaitOrFail(job, log, () -> committed(broker[0]) >= target, CATCH_UP);
        job.kill();
        killedAt = System.nanoTime();
        long at = committed(broker[0]);
        reads.add(produced - before);
        append(log, "SIGKILL with " + at + " of " + produced + " records committed");
      }
      long resumedAt = committed(kafka);
      JobProcess first = JobProcess.start(log, args);
      JobProcess job = first;
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
      if ("kill-taskmanager".equals(clusterFault)) {
        awaitOrFail(job, log, () -> committed(broker[0]) >= produced * 4 / 10, CATCH_UP);
        append(log, "TaskManager 2 killed (SIGKILL, pid " + extraTaskManager.pid() + ")");
        extraTaskManager.destroyForcibly();
        killedAt = System.nanoTime();
      }
      if ("savepoint".equals(clusterFault)) {
        awaitOrFail(job, log, () -> committed(broker[0]) >= produced * 4 / 10, CATCH_UP);
        String jobId = runningJob(cluster);
        Path savepoint =
            dev.sluice.local.FlinkSavepoints.write(
                cluster.restPort(), jobId, work.resolve("savepoints"), true);
        append(log, "stopped with savepoint " + savepoint);
        killedAt = System.nanoTime();
        job.await(Duration.ofMinutes(2));
        job.stop();
        long before = committed(broker[0]);
        List<String> restore = new ArrayList<>(args);
        restore.add("--from-savepoint=" + savepoint);
        reads.add(produced - resumedAt);
        resumedAt = before;
        job = JobProcess.start(log, restore);
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
      String fixedUrl = jdbcUrl;
      Path dataDir = out.resolve("postgres");
      java.util.function.Supplier<String> url =
          () -> fixedUrl != null ? fixedUrl : jdbcUrlOf(dataDir);
      boolean caughtUp =
          await(
              job,
              () -> {
                try {
                  last[0] = StoredResults.read(url.get(), passwordFile, backlog);
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
      String kafkaAlerts = "";
      boolean kafkaAlertsOk = true;
      if (exactlyOnceAlerts) {
        int expected = 2 * backlog.expectedEpisodes().values().stream().mapToInt(List::size).sum();
        Map<String, Integer> seen = committedAlerts(broker[0], expected);
        int records = seen.values().stream().mapToInt(Integer::intValue).sum();
        long repeats = seen.values().stream().filter(n -> n > 1).count();
        kafkaAlertsOk = records == expected && repeats == 0;
        kafkaAlerts =
            "Kafka alerts (read_committed, exactly-once sink): "
                + records
                + " records for "
                + expected
                + " notifications, "
                + repeats
                + " repeated";
      }
      String webhookNote = "";
      if (receiver != null) {
        if (last[0] == null) { // not caught up: judge the webhook by what is stored now
          last[0] = StoredResults.read(url.get(), passwordFile, backlog);
        }
        StoredResults stored = last[0];
        // Delivery follows the store closely, not in lockstep: wait for what the store says.
        await(
            job, () -> receiver.keys().containsAll(stored.notifications()), Duration.ofMinutes(1));
        webhookNote = receiver.check(stored);
      }
      job.stop();
      if (last[0] == null) {
        last[0] = StoredResults.read(url.get(), passwordFile, backlog);
      }
      long from = killedAt == 0 ? started : killedAt;
      String note =
          (caughtUp ? "" : "did not catch up within " + CATCH_UP.toMinutes() + " min; ")
              + kafkaAlerts
              + (kafkaAlertsOk ? "" : " (NOT exactly once)");
      note =
          note.isEmpty() || webhookNote.isEmpty() ? note + webhookNote : note + "; " + webhookNote;
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
      if (cluster != null) {
        cluster.close();
      }
      broker[0].close();
      if (receiver != null) {
        receiver.close();
      }
    }
  }

  /**
   * The alerts a {@code read_committed} consumer sees on the alerts topic, counted by alert id and
   * status; waits up to a minute for {@code expected} of them.
   */
  private static Map<String, Integer> committedAlerts(KafkaBroker kafka, int expected) {
    java.util.Properties props = new java.util.Properties();
    props.put("bootstrap.servers", kafka.bootstrapServers());
    props.put("isolation.level", "read_committed");
    props.put("enable.auto.commit", "false");
    props.put("key.deserializer", org.apache.kafka.common.serialization.StringDeserializer.class);
    props.put("value.deserializer", org.apache.kafka.common.serialization.StringDeserializer.class);
    Map<String, Integer> seen = new java.util.TreeMap<>();
    com.fasterxml.jackson.databind.ObjectMapper json =
        new com.fasterxml.jackson.databind.ObjectMapper();
    try (var consumer =
        new org.apache.kafka.clients.consumer.KafkaConsumer<String, String>(props)) {
      var partition = new org.apache.kafka.common.TopicPartition(ALERTS_TOPIC, 0);
      consumer.assign(List.of(partition));
      consumer.seekToBeginning(List.of(partition));
      long deadline = System.nanoTime() + Duration.ofMinutes(1).toNanos();
      int records = 0;
      while (System.nanoTime() < deadline && records < expected) {
        records += count(consumer.poll(Duration.ofMillis(500)), json, seen);
      }
      // Anything beyond the expected count shows up as a repeat.
      count(consumer.poll(Duration.ofSeconds(2)), json, seen);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return seen;
  }

  /** Counts {@code records} by alert id and status into {@code seen}; returns how many. */
  private static int count(
      org.apache.kafka.clients.consumer.ConsumerRecords<String, String> records,
      com.fasterxml.jackson.databind.ObjectMapper json,
      Map<String, Integer> seen)
      throws IOException {
    for (var record : records) {
      var alert = json.readTree(record.value());
      seen.merge(
          alert.path("alert_id").asText() + " " + alert.path("status").asText(), 1, Integer::sum);
    }
    return records.count();
  }

  /** {@code jdbc:postgresql://localhost:PORT/postgres} of the server running on {@code dir}. */
  private static String jdbcUrlOf(Path dir) {
    try {
      List<String> lines = Files.readAllLines(dir.resolve("postmaster.pid"));
      return "jdbc:postgresql://localhost:" + lines.get(3).trim() + "/postgres";
    } catch (IOException | IndexOutOfBoundsException e) {
      throw new IllegalStateException("no PostgreSQL running on " + dir, e);
    }
  }

  /** The spec (written into {@code work}) and the {@code ./sluice run} arguments for it. */
  private List<String> specArgs(
      Path work, String bootstrapServers, Path out, Backlog backlog, WebhookReceiver receiver)
      throws IOException {
    Path specFile = work.resolve("faults.yaml");
    String store = "{type: embedded, data_dir: " + out.resolve("postgres") + "}";
    List<String> alertSinks = new ArrayList<>(List.of(store));
    List<String> silences = new ArrayList<>();
    if (receiver != null) {
      alertSinks.add(
          "{type: webhook, url: '" + receiver.url() + "', allow_private_addresses: true}");
      java.time.Instant t0 = backlog.start;
      silences.add("silences:");
      silences.add(
          "  - {id: quiet-042, matchers: {key: key-042}, starts_at: '"
              + t0
              + "', ends_at: '"
              + t0.plus(Duration.ofMinutes(minutes))
              + "'}");
      // Covers the window [3, 4) of key-007's first episode, not [4, 5): its FIRING goes out then.
      silences.add(
          "  - {id: late-007, matchers: {key: key-007, rule: 'temperature-*'}, starts_at: '"
              + t0.plus(Duration.ofMinutes(3))
              + "', ends_at: '"
              + t0.plus(Duration.ofSeconds(4 * 60 + 30))
              + "'}");
    }
    Files.writeString(
        specFile,
        String.join(
            "\n",
            "name: faults-spec",
            "source:",
            "  type: kafka",
            "  bootstrap_servers: " + bootstrapServers,
            "  topics: [" + TOPIC + "]",
            "  group_id: " + GROUP,
            "windows:",
            "  - {type: tumbling, size: 1m}",
            "rules:",
            "  - {id: temperature-high, condition: mean(temperature) > 50, severity: CRITICAL}",
            String.join("\n", silences),
            "sinks:",
            "  stats: [" + store + "]",
            "  alerts: [" + String.join(", ", alertSinks) + "]",
            "  dead_letters: [" + store + "]",
            ""));
    return new ArrayList<>(
        List.of(
            "run",
            specFile.toString(),
            "--runner",
            "flink",
            "--checkpoint-dir",
            out.resolve("checkpoints").toString(),
            "--",
            "--checkpointingInterval=" + checkpointMillis));
  }

  private static String runningJob(dev.sluice.local.FlinkSessionCluster cluster)
      throws IOException {
    for (com.fasterxml.jackson.databind.JsonNode job :
        new com.fasterxml.jackson.databind.ObjectMapper()
            .readTree(cluster.jobsOverview())
            .path("jobs")) {
      if (job.path("state").asText().equals("RUNNING")) {
        return job.path("jid").asText();
      }
    }
    throw new IllegalStateException("no running job: " + cluster.jobsOverview());
  }

  /** The jar a session cluster stages; its JVMs already run on this build's classpath. */
  private static Path jobJar(Path dir) throws IOException {
    Path jar = dir.resolve("job.jar");
    try (java.util.jar.JarOutputStream out =
        new java.util.jar.JarOutputStream(Files.newOutputStream(jar))) {
      out.putNextEntry(new java.util.zip.ZipEntry("META-INF/sluice-job.txt"));
      out.write("fault suite".getBytes(UTF_8));
    }
    return jar;
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

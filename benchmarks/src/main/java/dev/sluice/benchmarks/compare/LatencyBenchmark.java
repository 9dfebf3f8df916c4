package dev.sluice.benchmarks.compare;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.io.KafkaJsonIO;
import dev.sluice.io.PostgresIO;
import dev.sluice.local.EmbeddedPostgresStore;
import dev.sluice.model.RawPayload;
import dev.sluice.pipelines.EmbeddedStores;
import dev.sluice.runners.RunnerPreset;
import dev.sluice.testing.KafkaBroker;
import dev.sluice.transforms.ComputeMetricsAndAlerts;
import dev.sluice.transforms.ParseEvents;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.values.PCollection;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.joda.time.Duration;

/**
 * End-to-end latency of Sluice on embedded Flink with a real Kafka broker and a real PostgreSQL:
 * from an event's append to Kafka until its window's alert can be read from the alerts topic, and
 * until its window's stats row is visible in PostgreSQL, at half the sustainable throughput.
 *
 * <pre>{@code
 * benchmarks/run latency                 # measure the sustainable rate, then run at 50% of it
 * benchmarks/run latency --rate=20000 --windows=3
 * }</pre>
 *
 * <p>Phase 1 (sustainable throughput): three windows of the reference workload are appended to a
 * topic first, then the job drains them; the rate is the events of windows 2 and 3 over the time
 * between window 1's and window 3's last stats row becoming visible in PostgreSQL. Phase 2
 * (latency): a producer appends events at the chosen rate with {@code event_time} = the wall clock
 * when it makes them, so a window closes in wall-clock time at its {@code window_end}; the alerts
 * topic is consumed and PostgreSQL polled every 50 ms. Latency is measured beyond the window close:
 * an event waits for its window to end (up to a minute) by design; what the system adds is the time
 * from {@code window_end} to the alert and the row. The first, partial window and one warm-up
 * window are not measured.
 */
public final class LatencyBenchmark {
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
  static final int PARTITIONS = 2;

  private LatencyBenchmark() {}

  /**
   * The job's options beyond the FLINK preset: the tuned ones, bundles and watermarks for latency.
   */
  static List<String> jobOptions() {
    List<String> args = new ArrayList<>(SluiceFlinkTuning.BEST);
    // Bundles that fill up before their time limit even at a modest rate: Beam's Flink operators
    // hold the watermark while a bundle is open, and after a bundle that ended on time the next
    // element opens another before the watermark is let out. With 5000 elements and 100 ms, a
    // steady stream below 50,000 events/s per subtask never let the watermark through: windows
    // closed only when the stream paused.
    args.removeIf(a -> a.startsWith("--maxBundleSize="));
    args.add("--maxBundleSize=1000");
    args.addAll(
        List.of(
            "--streaming=true",
            "--attachedMode=false",
            // Bundles and watermarks are held up to these intervals: latency, not throughput.
            "--maxBundleTimeMills=100",
            "--autoWatermarkInterval=50"));
    return args;
  }

  /** The job under test: Kafka in, stats to PostgreSQL, alerts to Kafka. */
  static Pipeline pipeline(
      String bootstrap,
      String topic,
      String alertsTopic,
      PostgresIO.Database database,
      String schema,
      double threshold,
      Duration outOfOrderness) {
    List<String> args = jobOptions();
    Pipeline p =
        Pipeline.create(
            PipelineOptionsFactory.fromArgs(
                    RunnerPreset.FLINK.mergeWith(args).toArray(new String[0]))
                .create());
    ParseEvents<RawPayload> parse = ParseEvents.fromRawPayloads();
    PCollection<RawPayload> payloads =
        p.apply(
            "ReadEvents",
            KafkaJsonIO.read()
                .withBootstrapServers(bootstrap)
                .withTopics(List.of(topic))
                .withGroupId("sluice-" + topic)
                .withMaxOutOfOrderness(outOfOrderness)
                .withEventTimeFrom(parse));
    ComputeMetricsAndAlerts.Result processed =
        payloads.apply(
            "ComputeMetricsAndAlerts", SluiceBeamJob.processing(threshold).withParse(parse));
    processed
        .stats()
        .get(0)
        // Written apart from the step that closes the windows: the rule step's input does not
        // wait for PostgreSQL (PostgresIO.Write#withWriters).
        .apply(
            "WriteStats", PostgresIO.writeStats().to(database).withSchema(schema).withWriters(2));
    processed
        .alerts()
        .apply(
            "WriteAlerts",
            KafkaJsonIO.writeAlerts().withBootstrapServers(bootstrap).to(alertsTopic));
    return p;
  }

  public static void main(String[] args) throws Exception {
    double rateArg = 0;
    int windows = 3;
    int warmupWindows = 1;
    long outOfOrdernessMs = 200;
    String resultsDir = "benchmarks/results";
    for (String arg : args) {
      String name = arg.contains("=") ? arg.substring(0, arg.indexOf('=')) : arg;
      String value = arg.contains("=") ? arg.substring(arg.indexOf('=') + 1) : "";
      switch (name) {
        case "--rate" -> rateArg = Double.parseDouble(value);
        case "--windows" -> windows = Integer.parseInt(value);
        case "--warmup-windows" -> warmupWindows = Integer.parseInt(value);
        case "--out-of-orderness-ms" -> outOfOrdernessMs = Long.parseLong(value);
        case "--results-dir" -> resultsDir = value;
        default ->
            throw new IllegalArgumentException(
                "unknown option '"
                    + arg
                    + "'; use --rate=EVENTS_PER_S (default: half the measured sustainable rate)"
                    + " --windows=N --warmup-windows=N --out-of-orderness-ms=MS --results-dir=DIR");
      }
    }
    if (windows < 1) {
      throw new IllegalArgumentException("--windows must be at least 1, got " + windows);
    }
    Path work = Files.createTempDirectory("sluice-latency");
    Workload workload = Workload.reference(3 * 1_200_000L);
    int seriesPerWindow = workload.numKeys * Workload.METRICS.length;
    Duration outOfOrderness = Duration.millis(outOfOrdernessMs);
    ObjectNode report = JSON.createObjectNode();
    try (KafkaBroker kafka = KafkaBroker.start(work.resolve("kafka"));
        EmbeddedPostgresStore postgres = EmbeddedPostgresStore.start(work.resolve("postgres"))) {
      String bootstrap = kafka.bootstrapServers();
      PostgresIO.createTables(EmbeddedStores.database(postgres), "drain");
      PostgresIO.createTables(EmbeddedStores.database(postgres), "live");

      // Phase 1: sustainable throughput, draining a backlog of three windows.
      kafka.createTopic("backlog", PARTITIONS);
      kafka.createTopic("backlog-alerts", 1);
      appendBacklog(bootstrap, "backlog", workload);
      PipelineResult drain =
          pipeline(
                  bootstrap,
                  "backlog",
                  "backlog-alerts",
                  EmbeddedStores.database(postgres),
                  "drain",
                  workload.threshold,
                  outOfOrderness)
              .run();
      Map<Long, Long> completedAt = new HashMap<>();
      long deadline = System.currentTimeMillis() + 15 * 60_000L;
      try (Connection db = connect(postgres)) {
        while (completedAt.size() < 3 && System.currentTimeMillis() < deadline) {
          for (Map.Entry<Long, Long> w : rowsPerWindow(db, "drain", 0).entrySet()) {
            if (w.getValue() >= seriesPerWindow) {
              completedAt.putIfAbsent(w.getKey(), System.nanoTime());
            }
          }
          pause(100);
        }
      }
      drain.cancel();
      if (completedAt.size() < 3) {
        throw new IllegalStateException(
            "the backlog was not drained in 15 minutes; complete windows: " + completedAt.keySet());
      }
      long[] times = completedAt.values().stream().mapToLong(Long::longValue).sorted().toArray();
      double sustainable = 2 * 1_200_000L / ((times[2] - times[0]) / 1e9);
      double rate = rateArg > 0 ? rateArg : sustainable / 2;
      System.out.printf(
          "Sustainable: %,.0f events/s (Kafka -> Sluice on Flink -> PostgreSQL); latency run at"
              + " %,.0f events/s%n",
          sustainable, rate);

      // Phase 2: latency at the chosen rate.
      kafka.createTopic("events", PARTITIONS);
      kafka.createTopic("alerts", 1);
      PipelineResult live =
          pipeline(
                  bootstrap,
                  "events",
                  "alerts",
                  EmbeddedStores.database(postgres),
                  "live",
                  workload.threshold,
                  outOfOrderness)
              .run();
      long start = System.currentTimeMillis();
      // The first, partial window is never measured, nor the warm-up windows after it: the first
      // window closes on cold code (JIT, fresh state), 12 s after its end in a trial run.
      long firstMeasured =
          Workload.windowStart(start) + (1 + warmupWindows) * Workload.WINDOW_MILLIS;
      long lastMeasuredEnd = firstMeasured + windows * Workload.WINDOW_MILLIS;
      AtomicBoolean producing = new AtomicBoolean(true);
      AtomicLong produced = new AtomicLong();
      Thread producerThread =
          new Thread(
              () ->
                  // Until every measured window is complete (or the wait gives up), so that the
                  // last window closes on a running stream too: a stream that stops makes its
                  // partitions idle, and the watermark then jumps ahead of where events put it.
                  produce(bootstrap, workload, rate, lastMeasuredEnd + 61_000, produced, producing),
              "latency-producer");
      Map<String, Long> alertLatency = new ConcurrentHashMap<>();
      AtomicBoolean consuming = new AtomicBoolean(true);
      Thread consumerThread =
          new Thread(
              () ->
                  consumeAlerts(bootstrap, firstMeasured, lastMeasuredEnd, alertLatency, consuming),
              "latency-alerts");
      producerThread.start();
      consumerThread.start();
      System.out.printf(
          "Producing from %s; measuring %d windows from %s to %s%n",
          java.time.Instant.ofEpochMilli(start),
          windows,
          java.time.Instant.ofEpochMilli(firstMeasured),
          java.time.Instant.ofEpochMilli(lastMeasuredEnd));
      List<Long> rowLatencies = new ArrayList<>();
      Map<Long, Long> seen = new HashMap<>();
      Map<Long, Long> windowComplete = new HashMap<>();
      long stopAt = lastMeasuredEnd + 60_000;
      try (Connection db = connect(postgres)) {
        while (System.currentTimeMillis() < stopAt && windowComplete.size() < windows) {
          long now = System.currentTimeMillis();
          for (Map.Entry<Long, Long> w : rowsPerWindow(db, "live", firstMeasured).entrySet()) {
            long windowEnd = w.getKey();
            if (windowEnd > lastMeasuredEnd) {
              continue;
            }
            long before = seen.getOrDefault(windowEnd, 0L);
            for (long r = before; r < w.getValue(); r++) {
              rowLatencies.add(now - windowEnd);
            }
            seen.put(windowEnd, w.getValue());
            if (w.getValue() >= seriesPerWindow) {
              windowComplete.putIfAbsent(windowEnd, now - windowEnd);
            }
          }
          pause(50);
        }
      }
      // Alerts of the last window may trail its stats (a (key, metric) whose previous window the
      // rule step has not judged yet waits for the watermark to pass its stats): wait until no new
      // one has come for 5 s, at most a minute.
      long alertsDeadline = System.currentTimeMillis() + 60_000;
      int alertsSeen = -1;
      long quietSince = System.currentTimeMillis();
      while (System.currentTimeMillis() < alertsDeadline
          && System.currentTimeMillis() - quietSince < 5_000) {
        if (alertLatency.size() != alertsSeen) {
          alertsSeen = alertLatency.size();
          quietSince = System.currentTimeMillis();
        }
        pause(200);
      }
      producing.set(false);
      consuming.set(false);
      producerThread.join();
      consumerThread.join();
      live.cancel();

      long[] alerts = alertLatency.values().stream().mapToLong(Long::longValue).sorted().toArray();
      long[] rows = rowLatencies.stream().mapToLong(Long::longValue).sorted().toArray();
      report.put("date", LocalDate.now(ZoneOffset.UTC).toString());
      // Every option as given: a short run's figures must not pass for the default run's.
      report.put(
          "command", String.join(" ", "benchmarks/run latency", String.join(" ", args)).trim());
      report.put(
          "pipeline",
          "Kafka (2 partitions) -> ParseEvents -> WindowedAggregate (1-minute tumbling) ->"
              + " PostgreSQL upsert; EvaluateRules -> Kafka alerts topic; FlinkRunner embedded,"
              + " parallelism 2, "
              + String.join(" ", jobOptions())
              + "; watermark "
              + outOfOrdernessMs
              + " ms behind the newest event time per partition");
      report
          .putObject("machine")
          .put("cores", Runtime.getRuntime().availableProcessors())
          .put("cpu", Compare.cpuModel());
      report.put("sustainable_events_per_second", Math.round(sustainable));
      report.put("rate_events_per_second", Math.round(rate));
      report.put("events_produced", produced.get());
      report.put("windows_measured", windows);
      report.put("warmup_windows", warmupWindows);
      report.put("windows_complete", windowComplete.size());
      report.set("alert_ms_after_window_end", percentiles(alerts));
      report.set("stats_row_ms_after_window_end", percentiles(rows));
      report.set("window_complete_ms_after_window_end", JSON.valueToTree(windowComplete));
      report.put(
          "target_met",
          alerts.length > 0
              && percentile(alerts, 99) < 1000
              && rows.length > 0
              && percentile(rows, 99) < 1000);
    }
    String date = LocalDate.now(ZoneOffset.UTC).toString();
    Path dir = Paths.get(resultsDir);
    Files.createDirectories(dir);
    Files.writeString(dir.resolve(date + "-latency.json"), JSON.writeValueAsString(report));
    String md = markdown(report);
    Files.writeString(dir.resolve(date + "-latency.md"), md);
    System.out.println();
    System.out.println(md);
    System.out.println(
        "Written: "
            + dir.resolve(date + "-latency.json")
            + " and .md"
            + Compare.chart(report, dir.resolve(date + "-latency.png")));
    System.exit(0);
  }

  static String markdown(JsonNode r) {
    JsonNode a = r.get("alert_ms_after_window_end");
    JsonNode s = r.get("stats_row_ms_after_window_end");
    return String.format(
        Locale.ROOT,
        "Command: `%s` (%s). %s.%n"
            + "Sustainable throughput (draining a 3.6M-event backlog): %,d events/s; measured at"
            + " %,d events/s over %d windows after %d warm-up window(s) (%,d events produced).%n%n"
            + "| beyond window close | n | p50 ms | p99 ms | max ms |%n"
            + "|---|---:|---:|---:|---:|%n"
            + "| alert readable on the alerts topic | %d | %d | %d | %d |%n"
            + "| stats row visible in PostgreSQL | %d | %d | %d | %d |%n%n"
            + "Target p99 < 1000 ms: %s.%n",
        r.get("command").asText(),
        r.get("date").asText(),
        r.get("pipeline").asText(),
        r.get("sustainable_events_per_second").asLong(),
        r.get("rate_events_per_second").asLong(),
        r.get("windows_measured").asInt(),
        r.get("warmup_windows").asInt(),
        r.get("events_produced").asLong(),
        a.get("n").asLong(),
        a.get("p50").asLong(),
        a.get("p99").asLong(),
        a.get("max").asLong(),
        s.get("n").asLong(),
        s.get("p50").asLong(),
        s.get("p99").asLong(),
        s.get("max").asLong(),
        r.get("target_met").asBoolean() ? "met" : "NOT met");
  }

  private static ObjectNode percentiles(long[] sorted) {
    ObjectNode n = JSON.createObjectNode();
    n.put("n", sorted.length);
    n.put("p50", percentile(sorted, 50));
    n.put("p90", percentile(sorted, 90));
    n.put("p99", percentile(sorted, 99));
    n.put("max", sorted.length == 0 ? -1 : sorted[sorted.length - 1]);
    return n;
  }

  static long percentile(long[] sorted, double p) {
    if (sorted.length == 0) {
      return -1;
    }
    int index = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
    return sorted[Math.max(0, Math.min(sorted.length - 1, index))];
  }

  /** Appends the workload's events to {@code topic}, round-robin over its partitions. */
  static void appendBacklog(String bootstrap, String topic, Workload workload) {
    long appendStart = System.nanoTime();
    try (KafkaProducer<byte[], byte[]> producer = producer(bootstrap)) {
      for (long i = 0; i < workload.numEvents; i++) {
        producer.send(
            new ProducerRecord<>(topic, (int) (i % PARTITIONS), null, workload.payload(i)));
      }
      producer.flush();
    }
    System.out.printf(
        "Appended %,d events to %s in %.1f s%n",
        workload.numEvents, topic, (System.nanoTime() - appendStart) / 1e9);
  }

  private static KafkaProducer<byte[], byte[]> producer(String bootstrap) {
    Properties props = new Properties();
    props.put("bootstrap.servers", bootstrap);
    props.put("key.serializer", ByteArraySerializer.class.getName());
    props.put("value.serializer", ByteArraySerializer.class.getName());
    props.put("acks", "1");
    props.put("linger.ms", "5");
    props.put("batch.size", Integer.toString(256 * 1024));
    return new KafkaProducer<>(props);
  }

  /** Appends events at {@code rate} per second, stamped with the wall clock, until {@code end}. */
  private static void produce(
      String bootstrap,
      Workload workload,
      double rate,
      long end,
      AtomicLong produced,
      AtomicBoolean producing) {
    try (KafkaProducer<byte[], byte[]> producer = producer(bootstrap)) {
      long start = System.nanoTime();
      long i = 0;
      while (producing.get() && System.currentTimeMillis() < end) {
        long due = (long) ((System.nanoTime() - start) / 1e9 * rate);
        for (; i < due; i++) {
          producer.send(
              new ProducerRecord<>(
                  "events",
                  (int) (i % PARTITIONS),
                  null,
                  workload.payload(i, System.currentTimeMillis())));
        }
        produced.set(i);
        pause(2);
      }
    }
  }

  /** Latency of every alert of a measured window: when it was read, minus its window end. */
  private static void consumeAlerts(
      String bootstrap,
      long firstMeasured,
      long lastMeasuredEnd,
      Map<String, Long> latency,
      AtomicBoolean consuming) {
    Properties props = new Properties();
    props.put("bootstrap.servers", bootstrap);
    props.put("group.id", "latency-benchmark");
    props.put("auto.offset.reset", "earliest");
    props.put("key.deserializer", StringDeserializer.class.getName());
    props.put("value.deserializer", StringDeserializer.class.getName());
    ObjectMapper mapper = new ObjectMapper();
    try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(props)) {
      consumer.subscribe(List.of("alerts"));
      while (consuming.get()) {
        for (ConsumerRecord<String, String> record :
            consumer.poll(java.time.Duration.ofMillis(20))) {
          long now = System.currentTimeMillis();
          try {
            JsonNode alert = mapper.readTree(record.value());
            long windowEnd =
                java.time.Instant.parse(alert.get("window_end").asText()).toEpochMilli();
            if (windowEnd > firstMeasured && windowEnd <= lastMeasuredEnd) {
              latency.putIfAbsent(
                  alert.get("alert_id").asText() + "/" + alert.get("status").asText(),
                  now - windowEnd);
            }
          } catch (java.io.IOException e) {
            throw new IllegalStateException("not an alert: " + record.value(), e);
          }
        }
      }
    }
  }

  private static Connection connect(EmbeddedPostgresStore postgres) throws Exception {
    return postgres.connect();
  }

  /** Stats rows per window end (epoch millis) for windows ending after {@code after}. */
  static Map<Long, Long> rowsPerWindow(Connection db, String schema, long after)
      throws Exception {
    Map<Long, Long> rows = new HashMap<>();
    try (Statement st = db.createStatement();
        ResultSet rs =
            st.executeQuery(
                "SELECT (extract(epoch FROM window_end) * 1000)::bigint, count(*) FROM "
                    + schema
                    + ".window_stats WHERE window_end > to_timestamp("
                    + after / 1000.0
                    + ") GROUP BY window_end")) {
      while (rs.next()) {
        rows.put(rs.getLong(1), rs.getLong(2));
      }
    }
    return rows;
  }

  static void pause(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}

package dev.sluice.pipelines;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.sluice.pipelines.spec.PipelineSpec;
import dev.sluice.pipelines.spec.SpecException;
import dev.sluice.pipelines.spec.SpecPipeline;
import dev.sluice.pipelines.spec.SpecReader;
import dev.sluice.transforms.Checks;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.options.Validation;
import org.joda.time.Duration;

/**
 * Sluice's main job: a bundled spec ({@code main-job.yaml}: synthetic JSON events → {@link
 * dev.sluice.transforms.ComputeMetricsAndAlerts} → per (key, metric) event-time tumbling windows
 * with count, sum, min, max, mean, stddev and quantiles → a threshold rule → alerts), whose options
 * set the spec's settings. Stats, alerts and dead letters go to JSON-lines files under {@code
 * --outputDir} and to an embedded PostgreSQL (or yours, or none).
 *
 * <pre>{@code
 * ./sluice --numEvents=1000000 --outputDir=output
 * }</pre>
 *
 * <p>Bounded by default ({@code --numEvents}); {@code --unbounded=true} generates {@code
 * --eventsPerSecond} in real time for {@code --durationSeconds}. While it runs it prints a progress
 * line every {@code --progressSeconds}, and a summary table at the end — the same as {@code
 * ./sluice run SPEC} on every runner, because it is the same code.
 */
public final class MetricsAlertsPipeline {

  /** Options of the main job. */
  public interface Options extends PipelineOptions, StartingPoint.Options, DashboardOptions {
    @Description("Directory the stats, alerts and dead letters JSON-lines files are written to.")
    @Default.String("output")
    @Validation.Required
    String getOutputDir();

    void setOutputDir(String value);

    @Description("Number of synthetic events to generate (bounded mode).")
    Long getNumEvents();

    void setNumEvents(Long value);

    @Description(
        "Generate events in real time at --eventsPerSecond instead of a bounded --numEvents.")
    @Default.Boolean(false)
    boolean getUnbounded();

    void setUnbounded(boolean value);

    @Description("Unbounded mode: stop generating after this many seconds (0 = never).")
    @Default.Long(0L)
    long getDurationSeconds();

    void setDurationSeconds(long value);

    @Description("Events per second of event time (unbounded mode: also of wall-clock time).")
    Double getEventsPerSecond();

    void setEventsPerSecond(Double value);

    @Description("Seed of the synthetic generator; the same seed gives the same events.")
    Long getSeed();

    void setSeed(Long value);

    @Description("Number of distinct keys (sensors).")
    Integer getNumKeys();

    void setNumKeys(Integer value);

    @Description("Fraction of malformed payloads, each of which must end in a dead letter.")
    Double getMalformedFraction();

    void setMalformedFraction(Double value);

    @Description("Fraction of events that arrive out of order.")
    Double getOutOfOrderFraction();

    void setOutOfOrderFraction(Double value);

    @Description(
        "Unbounded mode: fraction of events that arrive after their window has closed; they"
            + " become TOO_LATE dead letters.")
    Double getLateFraction();

    void setLateFraction(Double value);

    @Description("How long after a window's end late events still update it, in seconds.")
    Long getAllowedLatenessSeconds();

    void setAllowedLatenessSeconds(Long value);

    @Description("Largest out-of-order delay, in seconds of event time.")
    Long getMaxOutOfOrderSeconds();

    void setMaxOutOfOrderSeconds(Long value);

    @Description("Comma-separated keys whose temperature spikes for 1 minute every 10 minutes.")
    String getSpikeKeys();

    void setSpikeKeys(String value);

    @Description("Tumbling window size in seconds.")
    Long getWindowSeconds();

    void setWindowSeconds(Long value);

    @Description(
        "The default rule fires when a window's mean temperature exceeds this value, and resolves"
            + " after a window at or below it.")
    Double getTemperatureThreshold();

    void setTemperatureThreshold(Double value);

    @Description(
        "A rules file (JSON array, or one JSON rule per line) used instead of the default rule.")
    String getRulesFile();

    void setRulesFile(String value);

    @Description(
        "A file pattern watched for rule updates while the job runs (requires --unbounded), e.g."
            + " 'rules/*.json'.")
    String getRuleUpdates();

    void setRuleUpdates(String value);

    @Description(
        "Where events come from: synthetic (generated, the default), files (--inputFiles) or kafka"
            + " (--kafkaBootstrapServers, --kafkaTopics).")
    @Default.String("synthetic")
    String getSource();

    void setSource(String value);

    @Description(
        "--source=files: a glob of JSON-lines (.jsonl, .ndjson, .json) or CSV (.csv, with a header)"
            + " files, replayed once, e.g. 'data/*.jsonl'.")
    String getInputFiles();

    void setInputFiles(String value);

    @Description("Kafka brokers (host:port,...) for --source=kafka and the Kafka sinks.")
    String getKafkaBootstrapServers();

    void setKafkaBootstrapServers(String value);

    @Description("--source=kafka: comma-separated topics to read events from.")
    @Default.String("events")
    String getKafkaTopics();

    void setKafkaTopics(String value);

    @Description("--source=kafka: the consumer group; offsets are committed to it on checkpoints.")
    @Default.String("sluice-metrics")
    String getKafkaGroupId();

    void setKafkaGroupId(String value);

    @Description(
        "--source=kafka: where a new consumer group starts, earliest (default: nothing produced"
            + " before the first start is skipped) or latest.")
    @Default.String("earliest")
    String getKafkaAutoOffsetReset();

    void setKafkaAutoOffsetReset(String value);

    @Description(
        "--source=kafka: stop after this many records (0 = read until cancelled), for replays.")
    @Default.Long(0L)
    long getKafkaMaxRecords();

    void setKafkaMaxRecords(long value);

    @Description(
        "A Java properties file with Kafka client settings for the source and the sinks (SASL,"
            + " SSL ...). Passwords and JAAS configs in it never reach logs or display data.")
    String getKafkaProperties();

    void setKafkaProperties(String value);

    @Description(
        "A Kafka topic of rule updates (JSON rules; a higher version replaces a rule from its"
            + " arrival on). Read from the beginning at every start; needs an unbounded source.")
    String getRuleUpdatesTopic();

    void setRuleUpdatesTopic(String value);

    @Description("Publish alerts to this Kafka topic as JSON, record key = alert_id.")
    String getAlertsTopic();

    void setAlertsTopic(String value);

    @Description(
        "With --alertsTopic: exactly-once alert output (Kafka transactions; needs checkpoints, as"
            + " the Flink presets have). Default false: at-least-once, record key = alert_id.")
    @Default.Boolean(false)
    boolean getAlertsExactlyOnce();

    void setAlertsExactlyOnce(boolean value);

    @Description("Publish dead letters to this Kafka topic as JSON, record key = source.")
    String getDeadLettersTopic();

    void setDeadLettersTopic(String value);

    @Description(
        "Where stats, alerts and dead letters are stored besides the JSON-lines files: embedded (a"
            + " PostgreSQL started by the job, data in <outputDir>/postgres; the default without"
            + " --jdbcUrl), postgres (your own, --jdbcUrl; the default with it) or none.")
    String getStore();

    void setStore(String value);

    @Description(
        "Your own PostgreSQL, e.g. jdbc:postgresql://db:5432/metrics. The password comes from the"
            + " environment variable SLUICE_JDBC_PASSWORD, never from the command line.")
    String getJdbcUrl();

    void setJdbcUrl(String value);

    @Description("The PostgreSQL user (with --jdbcUrl).")
    String getJdbcUser();

    void setJdbcUser(String value);

    @Description(
        "A file whose first line is the PostgreSQL password (with --jdbcUrl), read where the"
            + " writers connect; else the variable SLUICE_JDBC_PASSWORD, if set.")
    String getJdbcPasswordFile();

    void setJdbcPasswordFile(String value);

    @Description("The PostgreSQL schema of the tables window_stats, alerts and dead_letters.")
    @Default.String("sluice")
    String getDbSchema();

    void setDbSchema(String value);

    @Description("Port of the embedded PostgreSQL (0 = any free port).")
    @Default.Integer(0)
    int getEmbeddedPostgresPort();

    void setEmbeddedPostgresPort(int value);

    @Description("Seconds between progress lines.")
    @Default.Long(2L)
    long getProgressSeconds();

    void setProgressSeconds(long value);
  }

  /** The bundled spec of the main job, a resource next to this class. */
  static final String BUNDLED_SPEC = "main-job.yaml";

  /** The environment variable the PostgreSQL password is read from. */
  public static final String JDBC_PASSWORD_ENV = "SLUICE_JDBC_PASSWORD";

  private MetricsAlertsPipeline() {}

  /**
   * Parses the options and runs the job. Exit status: 0 when the job finished, 2 for invalid
   * options (with a message naming the option and the value), 1 when the job failed.
   */
  public static void main(String[] args) {
    Options options;
    PipelineSpec spec;
    try {
      PipelineOptionsFactory.register(Options.class);
      options = PipelineOptionsFactory.fromArgs(args).withValidation().as(Options.class);
      spec = spec(options);
    } catch (IllegalArgumentException e) {
      System.err.println("Invalid configuration: " + e.getMessage());
      System.exit(2);
      return;
    }
    PipelineResult.State state;
    try {
      state =
          SpecJob.run(
              spec, options, System.out, Duration.standardSeconds(options.getProgressSeconds()));
    } catch (IllegalArgumentException e) {
      System.err.println("Invalid configuration: " + e.getMessage());
      System.exit(2);
      return;
    }
    if (state != PipelineResult.State.DONE) {
      System.exit(1);
    }
  }

  /**
   * A job started by {@link #launch}: the graph's outputs and the embedded PostgreSQL it started
   * (if any), which {@link #close} stops once the job is done (the data directory stays).
   */
  public record Job(PipelineSpec spec, SpecPipeline.Built outputs, SinkServers servers)
      implements AutoCloseable {
    @Override
    public void close() {
      servers.close();
    }
  }

  /**
   * What the launcher does before it runs the main job: starts the spec's servers (the embedded
   * PostgreSQL, the tables), then builds the graph into {@code pipeline}. Close the job when the
   * pipeline is done.
   */
  public static Job launch(Pipeline pipeline, Options options) {
    PipelineSpec spec = spec(options);
    SinkServers servers = SinkServers.start(spec);
    try {
      return new Job(spec, SpecPipeline.build(pipeline, spec, servers), servers);
    } catch (RuntimeException e) {
      servers.close();
      throw e;
    }
  }

  /**
   * The main job's spec: the bundled spec with the options' settings.
   *
   * @throws IllegalArgumentException naming the first invalid option and its value
   */
  public static PipelineSpec spec(Options options) {
    validate(options);
    ObjectNode root = bundledSpec();
    Map<String, String> settings = new LinkedHashMap<>();
    Map<String, String> flagOfPath = new LinkedHashMap<>();
    String source = sourceKind(options);
    ObjectNode src = (ObjectNode) root.get("source");
    switch (source) {
      case "files" -> {
        src = root.putObject("source").put("type", "file");
        set(settings, flagOfPath, "source.path", "--inputFiles", options.getInputFiles());
      }
      case "kafka" -> {
        src = root.putObject("source").put("type", "kafka");
        src.put("bootstrap_servers", options.getKafkaBootstrapServers());
        ArrayNode topics = src.putArray("topics");
        kafkaTopics(options).forEach(topics::add);
        src.put("group_id", options.getKafkaGroupId());
        src.put("auto_offset_reset", options.getKafkaAutoOffsetReset());
        src.put("max_records", options.getKafkaMaxRecords());
        if (options.getKafkaProperties() != null) {
          src.put("properties_file", options.getKafkaProperties());
        }
        flagOfPath.put("source.topics", "--kafkaTopics");
        flagOfPath.put("source.group_id", "--kafkaGroupId");
        flagOfPath.put("source.auto_offset_reset", "--kafkaAutoOffsetReset");
        flagOfPath.put("source.max_records", "--kafkaMaxRecords");
      }
      default -> {
        if (options.getUnbounded()) {
          src.remove("events");
          src.put("unbounded", true);
          if (options.getDurationSeconds() > 0) {
            src.put("duration", options.getDurationSeconds() + "s");
          }
          flagOfPath.put("source.duration", "--durationSeconds");
        }
        set(settings, flagOfPath, "source.events", "--numEvents", text(options.getNumEvents()));
        set(settings, flagOfPath, "source.keys", "--numKeys", text(options.getNumKeys()));
        set(settings, flagOfPath, "source.seed", "--seed", text(options.getSeed()));
        set(
            settings,
            flagOfPath,
            "source.events_per_second",
            "--eventsPerSecond",
            text(options.getEventsPerSecond()));
        set(
            settings,
            flagOfPath,
            "source.malformed_fraction",
            "--malformedFraction",
            text(options.getMalformedFraction()));
        set(
            settings,
            flagOfPath,
            "source.out_of_order_fraction",
            "--outOfOrderFraction",
            text(options.getOutOfOrderFraction()));
        set(
            settings,
            flagOfPath,
            "source.late_fraction",
            "--lateFraction",
            text(options.getLateFraction()));
        if (options.getSpikeKeys() != null) {
          ArrayNode spikes = src.putArray("spike_keys");
          commaSeparated(options.getSpikeKeys()).forEach(spikes::add);
        }
      }
    }
    if (options.getMaxOutOfOrderSeconds() != null) {
      src.put("max_out_of_order", options.getMaxOutOfOrderSeconds() + "s");
    }
    flagOfPath.put("source.max_out_of_order", "--maxOutOfOrderSeconds");
    set(
        settings,
        flagOfPath,
        "windows[0].size",
        "--windowSeconds",
        seconds(options.getWindowSeconds()));
    set(
        settings,
        flagOfPath,
        "windows[0].allowed_lateness",
        "--allowedLatenessSeconds",
        seconds(options.getAllowedLatenessSeconds()));
    if (options.getRulesFile() != null) {
      root.remove("rules");
      root.put("rules_file", options.getRulesFile());
      flagOfPath.put("rules_file", "--rulesFile");
    } else {
      set(
          settings,
          flagOfPath,
          "rules[0].condition",
          "--temperatureThreshold",
          options.getTemperatureThreshold() == null
              ? null
              : "mean(temperature) > "
                  + dev.sluice.rules.Condition.compact(options.getTemperatureThreshold()));
    }
    if (options.getRuleUpdates() != null || options.getRuleUpdatesTopic() != null) {
      ObjectNode updates = root.putObject("rule_updates");
      if (options.getRuleUpdates() != null) {
        updates.put("files", options.getRuleUpdates());
        flagOfPath.put("rule_updates.files", "--ruleUpdates");
      }
      if (options.getRuleUpdatesTopic() != null) {
        updates.put("kafka_topic", options.getRuleUpdatesTopic());
        updates.put("bootstrap_servers", options.getKafkaBootstrapServers());
        if (options.getKafkaProperties() != null) {
          updates.put("properties_file", options.getKafkaProperties());
        }
        flagOfPath.put("rule_updates.kafka_topic", "--ruleUpdatesTopic");
      }
    }
    sinks(root, options);
    String text;
    try {
      text = new ObjectMapper(new YAMLFactory()).writeValueAsString(root);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    try {
      return SpecReader.parse(BUNDLED_SPEC, text, settings);
    } catch (SpecException e) {
      throw new IllegalArgumentException(flagFor(e.getMessage(), flagOfPath) + e.getMessage(), e);
    }
  }

  private static String text(Number value) {
    return value == null ? null : value.toString();
  }

  private static String seconds(Long value) {
    return value == null ? null : value + "s";
  }

  private static void set(
      Map<String, String> settings,
      Map<String, String> flagOfPath,
      String path,
      String flag,
      String value) {
    flagOfPath.put(path, flag);
    if (value != null) {
      settings.put(path, value);
    }
  }

  /** "--flag: " for the option behind the spec path a message names, else "". */
  private static String flagFor(String message, Map<String, String> flagOfPath) {
    String best = null;
    for (String path : flagOfPath.keySet()) {
      if (message.contains(" " + path + ":") && (best == null || path.length() > best.length())) {
        best = path;
      }
    }
    return best == null ? "" : flagOfPath.get(best) + ": ";
  }

  /** The sinks: JSON-lines files under --outputDir, the --store, and the Kafka topics. */
  private static void sinks(ObjectNode root, Options options) {
    String dir = options.getOutputDir();
    String store = store(options);
    ObjectNode sinks = root.putObject("sinks");
    for (String kind : List.of("stats", "alerts", "dead_letters")) {
      ArrayNode list = sinks.putArray(kind);
      list.addObject()
          .put("type", "jsonl")
          .put("path", dir + "/" + (kind.equals("dead_letters") ? "deadletters" : kind));
      switch (store) {
        case "embedded" ->
            list.addObject()
                .put("type", "embedded")
                .put("data_dir", dir + "/postgres")
                .put("schema", options.getDbSchema())
                .put("port", options.getEmbeddedPostgresPort());
        case "postgres" -> {
          ObjectNode db =
              list.addObject()
                  .put("type", "postgres")
                  .put("jdbc_url", options.getJdbcUrl())
                  .put("schema", options.getDbSchema());
          if (options.getJdbcUser() != null) {
            db.put("user", options.getJdbcUser());
          }
          if (options.getJdbcPasswordFile() != null) {
            db.put("password_file", options.getJdbcPasswordFile());
          } else if (System.getenv(JDBC_PASSWORD_ENV) != null) {
            db.put("password_env", JDBC_PASSWORD_ENV);
          }
        }
        default -> {}
      }
      String topic =
          kind.equals("alerts")
              ? options.getAlertsTopic()
              : kind.equals("dead_letters") ? options.getDeadLettersTopic() : null;
      if (topic != null) {
        ObjectNode kafka =
            list.addObject()
                .put("type", "kafka")
                .put("topic", topic)
                .put("bootstrap_servers", options.getKafkaBootstrapServers());
        if (options.getKafkaProperties() != null) {
          kafka.put("properties_file", options.getKafkaProperties());
        }
        if (kind.equals("alerts") && options.getAlertsExactlyOnce()) {
          kafka.put("exactly_once", true);
        }
      }
    }
  }

  private static ObjectNode bundledSpec() {
    try (InputStream in = MetricsAlertsPipeline.class.getResourceAsStream(BUNDLED_SPEC)) {
      if (in == null) {
        throw new IllegalStateException("the bundled spec " + BUNDLED_SPEC + " is missing");
      }
      return (ObjectNode) new ObjectMapper(new YAMLFactory()).readTree(in);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Checks the options that are not spec settings, or combine, naming each as the user typed it;
   * the spec checks every value (see {@link #spec}).
   *
   * @throws IllegalArgumentException naming the first invalid option and its value
   */
  public static void validate(Options options) {
    Checks.notBlank("--outputDir", options.getOutputDir());
    if (!options.getUnbounded() && options.getDurationSeconds() != 0) {
      throw new IllegalArgumentException(
          "--durationSeconds applies only with --unbounded=true, got "
              + options.getDurationSeconds()
              + (options.getNumEvents() == null
                  ? " with a bounded source"
                  : " with a bounded --numEvents=" + options.getNumEvents()));
    }
    if (options.getUnbounded() && options.getNumEvents() != null) {
      throw new IllegalArgumentException(
          "--numEvents applies to a bounded source; with --unbounded=true use --durationSeconds,"
              + " got --numEvents="
              + options.getNumEvents());
    }
    inRange("--durationSeconds", options.getDurationSeconds(), 0, MAX_SECONDS);
    if (options.getAllowedLatenessSeconds() != null) {
      inRange("--allowedLatenessSeconds", options.getAllowedLatenessSeconds(), 0, MAX_SECONDS);
    }
    if (options.getMaxOutOfOrderSeconds() != null) {
      inRange("--maxOutOfOrderSeconds", options.getMaxOutOfOrderSeconds(), 0, MAX_SECONDS);
    }
    if (options.getWindowSeconds() != null) {
      inRange("--windowSeconds", options.getWindowSeconds(), 1, MAX_SECONDS);
    }
    if (options.getTemperatureThreshold() != null) {
      Checks.finite("--temperatureThreshold", options.getTemperatureThreshold());
    }
    if (options.getRuleUpdates() != null && !options.getUnbounded()) {
      throw new IllegalArgumentException(
          "--ruleUpdates watches files while the job runs; it needs --unbounded, got --ruleUpdates="
              + options.getRuleUpdates());
    }
    inRange("--progressSeconds", options.getProgressSeconds(), 1, MAX_SECONDS);
    String source = sourceKind(options);
    if (source.equals("files")) {
      Checks.notBlank("--inputFiles (with --source=files)", options.getInputFiles());
    }
    if (source.equals("kafka")
        || options.getAlertsTopic() != null
        || options.getDeadLettersTopic() != null
        || options.getRuleUpdatesTopic() != null) {
      Checks.notBlank(
          "--kafkaBootstrapServers (with --source=kafka, --alertsTopic, --deadLettersTopic or"
              + " --ruleUpdatesTopic)",
          options.getKafkaBootstrapServers());
    }
    if (options.getRuleUpdatesTopic() != null
        && !source.equals("kafka")
        && !options.getUnbounded()) {
      throw new IllegalArgumentException(
          "--ruleUpdatesTopic is read while the job runs; it needs --source=kafka or --unbounded,"
              + " got --ruleUpdatesTopic="
              + options.getRuleUpdatesTopic());
    }
    if (source.equals("kafka")) {
      kafkaTopics(options);
      Checks.notBlank("--kafkaGroupId", options.getKafkaGroupId());
      inRange("--kafkaMaxRecords", options.getKafkaMaxRecords(), 0, Long.MAX_VALUE - 1);
    }
    store(options);
    if (options.getJdbcUrl() != null) {
      Checks.notBlank("--jdbcUrl", options.getJdbcUrl());
    }
    inRange("--embeddedPostgresPort", options.getEmbeddedPostgresPort(), 0, 65_535);
  }

  /** {@code synthetic}, {@code files} or {@code kafka}. */
  static String sourceKind(Options options) {
    String source = options.getSource() == null ? "synthetic" : options.getSource();
    if (!List.of("synthetic", "files", "kafka").contains(source)) {
      throw new IllegalArgumentException(
          "--source must be synthetic, files or kafka, got '" + options.getSource() + "'");
    }
    return source;
  }

  /**
   * {@code embedded}, {@code postgres} or {@code none}; without --store, postgres iff --jdbcUrl.
   */
  static String store(Options options) {
    String store = options.getStore();
    if (store == null) {
      return options.getJdbcUrl() != null ? "postgres" : "embedded";
    }
    if (!List.of("embedded", "postgres", "none").contains(store)) {
      throw new IllegalArgumentException(
          "--store must be embedded, postgres or none, got '" + store + "'");
    }
    if (store.equals("postgres") && options.getJdbcUrl() == null) {
      throw new IllegalArgumentException("--store=postgres needs --jdbcUrl");
    }
    if (!store.equals("postgres") && options.getJdbcUrl() != null) {
      throw new IllegalArgumentException(
          "--jdbcUrl is only used with --store=postgres, got --store=" + store);
    }
    return store;
  }

  private static List<String> kafkaTopics(Options options) {
    List<String> topics = commaSeparated(options.getKafkaTopics());
    if (topics.isEmpty()) {
      throw new IllegalArgumentException(
          "--kafkaTopics must name at least one topic, got '" + options.getKafkaTopics() + "'");
    }
    return topics;
  }

  /** Ten years: more than any window, delay or run length this job is meant for. */
  private static final long MAX_SECONDS = 10L * 366 * 24 * 3600;

  private static void inRange(String name, long value, long min, long max) {
    if (value < min || value > max) {
      throw new IllegalArgumentException(
          name + " must be between " + min + " and " + max + ", got " + value);
    }
  }

  private static List<String> commaSeparated(String csv) {
    return csv == null || csv.isBlank()
        ? List.of()
        : Arrays.stream(csv.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
  }
}

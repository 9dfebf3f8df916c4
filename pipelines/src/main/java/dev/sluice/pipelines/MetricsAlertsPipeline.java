package dev.sluice.pipelines;

import dev.sluice.io.EventFilesIO;
import dev.sluice.io.JsonLinesIO;
import dev.sluice.io.KafkaJsonIO;
import dev.sluice.io.PostgresIO;
import dev.sluice.io.RuleFilesIO;
import dev.sluice.io.SyntheticIO;
import dev.sluice.local.EmbeddedPostgresStore;
import dev.sluice.model.Alert;
import dev.sluice.model.Alert.Severity;
import dev.sluice.model.DeadLetter;
import dev.sluice.model.Event;
import dev.sluice.model.RawPayload;
import dev.sluice.model.WindowStats;
import dev.sluice.rules.Condition;
import dev.sluice.rules.Rule;
import dev.sluice.transforms.Checks;
import dev.sluice.transforms.EvaluateRules;
import dev.sluice.transforms.OutputWithDeadLetters;
import dev.sluice.transforms.ParseEvents;
import dev.sluice.transforms.WindowedAggregate;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.options.Validation;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionList;
import org.apache.beam.sdk.values.TypeDescriptor;
import org.joda.time.Duration;
import org.joda.time.Instant;

/**
 * The walking skeleton, and Sluice's main job: synthetic JSON events → {@link ParseEvents} (bad
 * payloads to dead letters) → per (key, metric) event-time tumbling windows with count, sum, min,
 * max, mean and stddev → a static threshold rule → alerts. Stats, alerts and dead letters are
 * written as JSON lines under {@code --outputDir}.
 *
 * <pre>{@code
 * ./sluice --numEvents=1000000 --outputDir=output
 * }</pre>
 *
 * <p>Bounded by default ({@code --numEvents}); {@code --unbounded=true} generates {@code
 * --eventsPerSecond} in real time for {@code --durationSeconds}. While it runs it prints a progress
 * line every {@code --progressSeconds}, and a summary table at the end.
 */
public final class MetricsAlertsPipeline {

  /** Options of the main job. */
  public interface Options extends PipelineOptions, StartingPoint.Options {
    @Description("Directory the stats, alerts and dead letters JSON-lines files are written to.")
    @Default.String("output")
    @Validation.Required
    String getOutputDir();

    void setOutputDir(String value);

    @Description("Number of synthetic events to generate (bounded mode).")
    @Default.Long(1_000_000L)
    long getNumEvents();

    void setNumEvents(long value);

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
    @Default.Double(1_000.0)
    double getEventsPerSecond();

    void setEventsPerSecond(double value);

    @Description("Seed of the synthetic generator; the same seed gives the same events.")
    @Default.Long(42L)
    long getSeed();

    void setSeed(long value);

    @Description("Number of distinct keys (sensors).")
    @Default.Integer(100)
    int getNumKeys();

    void setNumKeys(int value);

    @Description("Fraction of malformed payloads, each of which must end in a dead letter.")
    @Default.Double(0.001)
    double getMalformedFraction();

    void setMalformedFraction(double value);

    @Description("Fraction of events that arrive out of order.")
    @Default.Double(0.05)
    double getOutOfOrderFraction();

    void setOutOfOrderFraction(double value);

    @Description(
        "Unbounded mode: fraction of events that arrive after their window has closed; they"
            + " become TOO_LATE dead letters.")
    @Default.Double(0.0)
    double getLateFraction();

    void setLateFraction(double value);

    @Description("How long after a window's end late events still update it, in seconds.")
    @Default.Long(0L)
    long getAllowedLatenessSeconds();

    void setAllowedLatenessSeconds(long value);

    @Description("Largest out-of-order delay, in seconds of event time.")
    @Default.Long(10L)
    long getMaxOutOfOrderSeconds();

    void setMaxOutOfOrderSeconds(long value);

    @Description("Comma-separated keys whose temperature spikes for 1 minute every 10 minutes.")
    @Default.String("sensor-007,sensor-042")
    String getSpikeKeys();

    void setSpikeKeys(String value);

    @Description("Tumbling window size in seconds.")
    @Default.Long(60L)
    long getWindowSeconds();

    void setWindowSeconds(long value);

    @Description(
        "The default rule fires when a window's mean temperature exceeds this value, and resolves"
            + " after a window at or below it.")
    @Default.Double(50.0)
    double getTemperatureThreshold();

    void setTemperatureThreshold(double value);

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

  /** The three outputs of the job's processing. */
  public record Outputs(
      PCollection<WindowStats> stats,
      PCollection<Alert> alerts,
      PCollection<DeadLetter> deadLetters) {}

  /**
   * A built job: its outputs, and the embedded PostgreSQL it started (if any), which {@link #close}
   * stops once the job is done (the data directory stays).
   */
  public record Job(Outputs outputs, Store store) implements AutoCloseable {
    @Override
    public void close() {
      store.close();
    }
  }

  /** Where the job stores its results in PostgreSQL, if anywhere. */
  public record Store(PostgresIO.Database database, String schema, EmbeddedPostgresStore embedded)
      implements AutoCloseable {
    static final Store NONE = new Store(null, null, null);

    /** A line telling the user where the data is and how to query it. */
    String describe() {
      if (database == null) {
        return "PostgreSQL store: none (--store=none)";
      }
      if (embedded != null) {
        return "PostgreSQL store: embedded PostgreSQL 16 at "
            + embedded.jdbcUrl()
            + " (schema "
            + schema
            + ", data in "
            + embedded.dataDirectory()
            + "); query it while the job runs, e.g. PGPASSWORD=$(cat "
            + embedded.passwordFile()
            + ") psql 'postgresql://postgres@localhost:"
            + embedded.port()
            + "/postgres', or with ./sluice query \"SELECT ...\"";
      }
      return "PostgreSQL store: " + database.displayUrl() + " (schema " + schema + ")";
    }

    @Override
    public void close() {
      if (embedded != null) {
        embedded.close();
      }
    }
  }

  private MetricsAlertsPipeline() {}

  /**
   * Parses the options and runs the job. Exit status: 0 when the job finished, 2 for invalid
   * options (with a message naming the option and the value), 1 when the job failed.
   */
  public static void main(String[] args) {
    Pipeline pipeline;
    Options options;
    Job job;
    try {
      PipelineOptionsFactory.register(Options.class);
      options = PipelineOptionsFactory.fromArgs(args).withValidation().as(Options.class);
      if (sourceKind(options).equals("kafka")) {
        StartingPoint.checkKafka(
            options,
            options.getKafkaBootstrapServers(),
            options.getKafkaGroupId(),
            kafkaTopics(options),
            kafkaClientProperties(options),
            System.out);
      }
      pipeline = Pipeline.create(options);
      job = build(pipeline, options);
    } catch (IllegalArgumentException e) {
      System.err.println("Invalid configuration: " + e.getMessage());
      System.exit(2);
      return;
    }
    PipelineResult.State state;
    try (job) {
      state = run(pipeline, options, job, System.out);
    }
    if (state != PipelineResult.State.DONE) {
      System.exit(1);
    }
  }

  /** Runs a pipeline made by {@link #build}, printing progress and the summary to stdout. */
  public static PipelineResult.State run(Pipeline pipeline, Options options) {
    return run(pipeline, options, null, System.out);
  }

  /** Runs a pipeline made by {@link #build}, printing progress and the summary to {@code out}. */
  public static PipelineResult.State run(Pipeline pipeline, Options options, PrintStream out) {
    return run(pipeline, options, null, out);
  }

  /**
   * Runs the pipeline of {@code job} (made by {@link #build}), printing where results go, progress
   * and the summary to {@code out}.
   */
  public static PipelineResult.State run(
      Pipeline pipeline, Options options, Job job, PrintStream out) {
    long started = System.nanoTime();
    out.printf(
        "Sluice main job: %s, runner %s, writing to %s%n",
        describeSource(options),
        options.getRunner().getSimpleName(),
        Path.of(options.getOutputDir()).toAbsolutePath().normalize());
    if (job != null) {
      out.println(job.store().describe());
    }
    PipelineResult result = pipeline.run();
    ProgressReporter reporter = new ProgressReporter(result, started, out);
    PipelineResult.State state =
        reporter.awaitCompletion(Duration.standardSeconds(options.getProgressSeconds()));
    reporter.printSummary(state, options.getOutputDir());
    return state;
  }

  private static String describeSource(Options options) {
    return switch (sourceKind(options)) {
      case "files" -> "files " + options.getInputFiles();
      case "kafka" ->
          "Kafka topics "
              + options.getKafkaTopics()
              + " at "
              + options.getKafkaBootstrapServers()
              + (options.getKafkaMaxRecords() > 0
                  ? " (" + options.getKafkaMaxRecords() + " records)"
                  : "");
      default ->
          options.getUnbounded()
              ? "unbounded synthetic source, " + options.getEventsPerSecond() + " events/s"
              : options.getNumEvents() + " synthetic events";
    };
  }

  /**
   * Checks every option of the job, naming it as the user typed it.
   *
   * @throws IllegalArgumentException naming the first invalid option and its value
   */
  public static void validate(Options options) {
    Checks.notBlank("--outputDir", options.getOutputDir());
    if (options.getUnbounded()) {
      inRange("--durationSeconds", options.getDurationSeconds(), 0, MAX_SECONDS);
    } else {
      Checks.positive("--numEvents", options.getNumEvents());
      if (options.getDurationSeconds() != 0) {
        throw new IllegalArgumentException(
            "--durationSeconds applies only with --unbounded=true, got "
                + options.getDurationSeconds()
                + " with a bounded --numEvents="
                + options.getNumEvents());
      }
    }
    Checks.positive("--eventsPerSecond", options.getEventsPerSecond());
    Checks.positive("--numKeys", options.getNumKeys());
    Checks.fraction("--malformedFraction", options.getMalformedFraction());
    Checks.fraction("--outOfOrderFraction", options.getOutOfOrderFraction());
    Checks.fraction("--lateFraction", options.getLateFraction());
    if (options.getLateFraction() + options.getOutOfOrderFraction() > 1.0) {
      throw new IllegalArgumentException(
          "--lateFraction + --outOfOrderFraction must not exceed 1, got "
              + options.getLateFraction()
              + " + "
              + options.getOutOfOrderFraction());
    }
    inRange("--allowedLatenessSeconds", options.getAllowedLatenessSeconds(), 0, MAX_SECONDS);
    inRange("--maxOutOfOrderSeconds", options.getMaxOutOfOrderSeconds(), 0, MAX_SECONDS);
    inRange("--windowSeconds", options.getWindowSeconds(), 1, MAX_SECONDS);
    Checks.finite("--temperatureThreshold", options.getTemperatureThreshold());
    rules(options); // a bad rules file fails here, naming file, line and field
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

  /**
   * Validates the options, then adds source, processing and sinks: JSON-lines files always, the
   * PostgreSQL store (embedded by default: started here, stopped by {@link Job#close}) and Kafka
   * topics when asked. Close the returned job when the pipeline is done.
   */
  public static Job build(Pipeline pipeline, Options options) {
    validate(options);
    List<PCollection<RawPayload>> ruleSources = new ArrayList<>();
    if (options.getRuleUpdates() != null) {
      ruleSources.add(
          pipeline.apply("WatchRuleFiles", RuleFilesIO.watch(options.getRuleUpdates())));
    }
    if (options.getRuleUpdatesTopic() != null) {
      KafkaJsonIO.Read rulesTopic =
          KafkaJsonIO.readControlTopic()
              .withBootstrapServers(options.getKafkaBootstrapServers())
              .withTopics(List.of(options.getRuleUpdatesTopic()));
      if (options.getKafkaProperties() != null) {
        rulesTopic = rulesTopic.withConsumerPropertiesFile(Path.of(options.getKafkaProperties()));
      }
      ruleSources.add(pipeline.apply("ReadRuleUpdatesTopic", rulesTopic));
    }
    PCollection<RawPayload> ruleUpdates =
        ruleSources.isEmpty()
            ? null
            : ruleSources.size() == 1
                ? ruleSources.get(0)
                : PCollectionList.of(ruleSources).apply("MergeRuleUpdates", Flatten.pCollections());
    Outputs processed =
        switch (sourceKind(options)) {
          case "files" -> {
            OutputWithDeadLetters<RawPayload> read =
                pipeline.apply("ReadFiles", EventFilesIO.read(options.getInputFiles()));
            yield processPayloads(read.output(), options, ruleUpdates, read.deadLetters());
          }
          case "kafka" ->
              processPayloads(
                  pipeline.apply("ReadKafka", kafkaSource(options)), options, ruleUpdates, null);
          default ->
              process(pipeline.apply("ReadSynthetic", source(options)), options, ruleUpdates);
        };
    String dir = options.getOutputDir();
    processed
        .stats()
        .apply("WriteStats", JsonLinesIO.write(WindowStats::toJson).to(dir + "/stats"));
    processed.alerts().apply("WriteAlerts", JsonLinesIO.write(Alert::toJson).to(dir + "/alerts"));
    List<PCollection<DeadLetter>> sinkRejects = new ArrayList<>();
    if (options.getAlertsTopic() != null) {
      processed
          .alerts()
          .apply(
              "PublishAlerts",
              kafkaProperties(
                  options.getAlertsExactlyOnce()
                      ? KafkaJsonIO.writeAlerts()
                          .withBootstrapServers(options.getKafkaBootstrapServers())
                          .to(options.getAlertsTopic())
                          .withExactlyOnce(options.getJobName() + "-alerts")
                      : KafkaJsonIO.writeAlerts()
                          .withBootstrapServers(options.getKafkaBootstrapServers())
                          .to(options.getAlertsTopic()),
                  options));
    }
    Store store = startStore(options);
    try {
      if (store.database() != null) {
        PostgresIO.Database db = store.database();
        String schema = store.schema();
        sinkRejects.add(
            processed
                .stats()
                .apply(
                    "StoreStats",
                    PostgresIO.writeStats().to(db).withSchema(schema).withCreateTables(true)));
        sinkRejects.add(
            processed
                .alerts()
                .apply(
                    "StoreAlerts",
                    PostgresIO.writeAlerts().to(db).withSchema(schema).withCreateTables(true)));
      }
      PCollection<DeadLetter> deadLetters =
          sinkRejects.isEmpty()
              ? processed.deadLetters()
              : PCollectionList.of(processed.deadLetters())
                  .and(sinkRejects)
                  .apply("CollectSinkRejects", Flatten.pCollections());
      deadLetters.apply(
          "WriteDeadLetters", JsonLinesIO.write(DeadLetter::toJson).to(dir + "/deadletters"));
      if (store.database() != null) {
        // Dead letters the dead-letter store itself refuses go to the files and Kafka only.
        deadLetters.apply(
            "StoreDeadLetters",
            PostgresIO.writeDeadLetters()
                .to(store.database())
                .withSchema(store.schema())
                .withCreateTables(true));
      }
      if (options.getDeadLettersTopic() != null) {
        deadLetters.apply(
            "PublishDeadLetters",
            kafkaProperties(
                KafkaJsonIO.writeDeadLetters()
                    .withBootstrapServers(options.getKafkaBootstrapServers())
                    .to(options.getDeadLettersTopic()),
                options));
      }
      return new Job(new Outputs(processed.stats(), processed.alerts(), deadLetters), store);
    } catch (RuntimeException e) {
      store.close();
      throw e;
    }
  }

  private static <T> KafkaJsonIO.Write<T> kafkaProperties(
      KafkaJsonIO.Write<T> write, Options options) {
    return options.getKafkaProperties() == null
        ? write
        : write.withProducerPropertiesFile(Path.of(options.getKafkaProperties()));
  }

  /**
   * Starts the embedded PostgreSQL (or checks the external one) and creates the tables, so a bad
   * URL or password fails before the pipeline runs and the tables can be queried at once.
   */
  static Store startStore(Options options) {
    String kind = store(options);
    if (kind.equals("none")) {
      return Store.NONE;
    }
    String schema = options.getDbSchema();
    EmbeddedPostgresStore embedded = null;
    PostgresIO.Database database;
    if (kind.equals("embedded")) {
      embedded =
          EmbeddedPostgresStore.start(
              Path.of(options.getOutputDir(), "postgres"), options.getEmbeddedPostgresPort());
      database = EmbeddedStores.database(embedded);
    } else {
      database = PostgresIO.database(options.getJdbcUrl());
      if (options.getJdbcUser() != null) {
        database = database.withUser(options.getJdbcUser());
      }
      if (options.getJdbcPasswordFile() != null) {
        database = database.withPasswordFile(Path.of(options.getJdbcPasswordFile()));
      } else if (System.getenv(JDBC_PASSWORD_ENV) != null) {
        // Read again where the writers connect: the value is never part of the job graph.
        database = database.withPasswordEnv(JDBC_PASSWORD_ENV);
      }
    }
    try {
      PostgresIO.createTables(database, schema);
    } catch (RuntimeException e) {
      if (embedded != null) {
        embedded.close();
      }
      throw new IllegalArgumentException(
          "--jdbcUrl: cannot create the tables in "
              + database
              + " (schema "
              + schema
              + "): "
              + e.getMessage(),
          e);
    }
    return new Store(database, schema, embedded);
  }

  /** The environment variable the PostgreSQL password is read from. */
  public static final String JDBC_PASSWORD_ENV = "SLUICE_JDBC_PASSWORD";

  private static KafkaJsonIO.ClientProperties kafkaClientProperties(Options options) {
    return options.getKafkaProperties() == null
        ? KafkaJsonIO.ClientProperties.of(java.util.Map.of())
        : KafkaJsonIO.ClientProperties.fromFile(
            "--kafkaProperties", Path.of(options.getKafkaProperties()));
  }

  /** The Kafka source of {@code --source=kafka}. */
  static KafkaJsonIO.Read kafkaSource(Options options) {
    KafkaJsonIO.Read read =
        KafkaJsonIO.read()
            .withBootstrapServers(options.getKafkaBootstrapServers())
            .withTopics(kafkaTopics(options))
            .withGroupId(options.getKafkaGroupId())
            .withAutoOffsetReset(options.getKafkaAutoOffsetReset())
            .withMaxOutOfOrderness(Duration.standardSeconds(options.getMaxOutOfOrderSeconds()));
    if (options.getKafkaProperties() != null) {
      read = read.withConsumerPropertiesFile(Path.of(options.getKafkaProperties()));
    }
    if (options.getKafkaMaxRecords() > 0) {
      read = read.withMaxNumRecords(options.getKafkaMaxRecords());
    }
    return read;
  }

  static SyntheticIO.Read source(Options options) {
    SyntheticIO.Read read =
        SyntheticIO.read()
            .withSeed(options.getSeed())
            .withNumKeys(options.getNumKeys())
            .withEventsPerSecond(options.getEventsPerSecond())
            .withMalformedFraction(options.getMalformedFraction())
            .withOutOfOrderFraction(options.getOutOfOrderFraction())
            .withLateFraction(options.getLateFraction())
            .withAllowedLateness(Duration.standardSeconds(options.getAllowedLatenessSeconds()))
            .withMaxOutOfOrderDelay(Duration.standardSeconds(options.getMaxOutOfOrderSeconds()))
            .withSpikeKeys(commaSeparated(options.getSpikeKeys()));
    if (!options.getUnbounded()) {
      return read.withNumEvents(options.getNumEvents());
    }
    read = read.unbounded();
    return options.getDurationSeconds() > 0
        ? read.withMaxDuration(Duration.standardSeconds(options.getDurationSeconds()))
        : read;
  }

  /** The processing between source and sinks: the seam tests use with their own payloads. */
  public static Outputs process(PCollection<String> payloads, Options options) {
    return process(payloads, options, null);
  }

  /** As {@link #process(PCollection, Options)}, with rule updates while the job runs. */
  public static Outputs process(
      PCollection<String> payloads, Options options, PCollection<RawPayload> ruleUpdates) {
    return processParsed(
        payloads.apply("ParseEvents", ParseEvents.fromJson()), options, ruleUpdates, null);
  }

  /**
   * The processing of payloads that carry their source ({@code file:line}, {@code
   * topic/partition/offset}); {@code readRejects} (may be null) are the source's own dead letters.
   */
  public static Outputs processPayloads(
      PCollection<RawPayload> payloads,
      Options options,
      PCollection<RawPayload> ruleUpdates,
      PCollection<DeadLetter> readRejects) {
    return processParsed(
        payloads.apply("ParseEvents", ParseEvents.fromRawPayloads()),
        options,
        ruleUpdates,
        readRejects);
  }

  private static Outputs processParsed(
      OutputWithDeadLetters<Event> parsed,
      Options options,
      PCollection<RawPayload> ruleUpdates,
      PCollection<DeadLetter> readRejects) {
    WindowedAggregate.Result aggregated =
        parsed
            .output()
            .apply(
                "AggregateWindows",
                WindowedAggregate.tumbling(Duration.standardSeconds(options.getWindowSeconds()))
                    .withAllowedLateness(
                        Duration.standardSeconds(options.getAllowedLatenessSeconds())));
    PCollection<WindowStats> stats = aggregated.output();
    EvaluateRules evaluate = EvaluateRules.of(rules(options));
    OutputWithDeadLetters<Alert> judged =
        stats.apply(
            "EvaluateRules",
            ruleUpdates == null ? evaluate : evaluate.withRuleUpdates(ruleUpdates));
    PCollection<Alert> alerts = judged.output();
    // Events too late for their window join the dead letters as TOO_LATE, so none is lost.
    PCollection<DeadLetter> tooLate =
        aggregated
            .late()
            .apply(
                "LateToDeadLetters",
                MapElements.into(TypeDescriptor.of(DeadLetter.class))
                    .via(late -> late.toDeadLetter("aggregate", Instant.now())))
            .setCoder(DeadLetter.DeadLetterCoder.of());
    PCollectionList<DeadLetter> all =
        PCollectionList.of(parsed.deadLetters()).and(tooLate).and(judged.deadLetters());
    if (readRejects != null) {
      all = all.and(readRejects);
    }
    PCollection<DeadLetter> deadLetters = all.apply("CollectDeadLetters", Flatten.pCollections());
    return new Outputs(stats, alerts, deadLetters);
  }

  /**
   * The rules of {@code --rulesFile}, or the default: {@code mean(temperature) >
   * --temperatureThreshold}, critical, resolved after one window at or below it.
   */
  static List<Rule> rules(Options options) {
    if (options.getRulesFile() != null) {
      return RuleFilesIO.load(Path.of(options.getRulesFile()));
    }
    return List.of(
        Rule.of(
                "temperature-high",
                "mean(temperature) > " + Condition.compact(options.getTemperatureThreshold()))
            .withSeverity(Severity.CRITICAL)
            .withMessage(
                "{status}: mean temperature of {key} is {value} in [{window_start}, {window_end}),"
                    + " threshold {threshold}"));
  }

  private static List<String> commaSeparated(String csv) {
    return csv == null || csv.isBlank()
        ? List.of()
        : Arrays.stream(csv.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
  }
}

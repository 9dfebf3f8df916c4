package dev.sluice.pipelines;

import dev.sluice.io.JsonLinesIO;
import dev.sluice.io.RuleFilesIO;
import dev.sluice.io.SyntheticIO;
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
  public interface Options extends PipelineOptions {
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

  private MetricsAlertsPipeline() {}

  /**
   * Parses the options and runs the job. Exit status: 0 when the job finished, 2 for invalid
   * options (with a message naming the option and the value), 1 when the job failed.
   */
  public static void main(String[] args) {
    Pipeline pipeline;
    Options options;
    try {
      PipelineOptionsFactory.register(Options.class);
      options = PipelineOptionsFactory.fromArgs(args).withValidation().as(Options.class);
      pipeline = Pipeline.create(options);
      build(pipeline, options);
    } catch (IllegalArgumentException e) {
      System.err.println("Invalid configuration: " + e.getMessage());
      System.exit(2);
      return;
    }
    PipelineResult.State state = run(pipeline, options);
    if (state != PipelineResult.State.DONE) {
      System.exit(1);
    }
  }

  /** Runs a pipeline made by {@link #build}, printing progress and the summary to stdout. */
  public static PipelineResult.State run(Pipeline pipeline, Options options) {
    return run(pipeline, options, System.out);
  }

  /** Runs a pipeline made by {@link #build}, printing progress and the summary to {@code out}. */
  public static PipelineResult.State run(Pipeline pipeline, Options options, PrintStream out) {
    long started = System.nanoTime();
    out.printf(
        "Sluice main job: %s, runner %s, writing to %s%n",
        options.getUnbounded()
            ? "unbounded synthetic source, " + options.getEventsPerSecond() + " events/s"
            : options.getNumEvents() + " synthetic events",
        options.getRunner().getSimpleName(),
        Path.of(options.getOutputDir()).toAbsolutePath().normalize());
    PipelineResult result = pipeline.run();
    ProgressReporter reporter = new ProgressReporter(result, started, out);
    PipelineResult.State state =
        reporter.awaitCompletion(Duration.standardSeconds(options.getProgressSeconds()));
    reporter.printSummary(state, options.getOutputDir());
    return state;
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
  }

  /** Ten years: more than any window, delay or run length this job is meant for. */
  private static final long MAX_SECONDS = 10L * 366 * 24 * 3600;

  private static void inRange(String name, long value, long min, long max) {
    if (value < min || value > max) {
      throw new IllegalArgumentException(
          name + " must be between " + min + " and " + max + ", got " + value);
    }
  }

  /** Validates the options, then adds source, processing and JSON-lines sinks. */
  public static Outputs build(Pipeline pipeline, Options options) {
    validate(options);
    PCollection<String> payloads = pipeline.apply("ReadSynthetic", source(options));
    PCollection<RawPayload> ruleUpdates =
        options.getRuleUpdates() == null
            ? null
            : pipeline.apply("WatchRuleFiles", RuleFilesIO.watch(options.getRuleUpdates()));
    Outputs outputs = process(payloads, options, ruleUpdates);
    String dir = options.getOutputDir();
    outputs.stats().apply("WriteStats", JsonLinesIO.write(WindowStats::toJson).to(dir + "/stats"));
    outputs.alerts().apply("WriteAlerts", JsonLinesIO.write(Alert::toJson).to(dir + "/alerts"));
    outputs
        .deadLetters()
        .apply("WriteDeadLetters", JsonLinesIO.write(DeadLetter::toJson).to(dir + "/deadletters"));
    return outputs;
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
            .withSpikeKeys(spikeKeys(options.getSpikeKeys()));
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
    OutputWithDeadLetters<Event> parsed = payloads.apply("ParseEvents", ParseEvents.fromJson());
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
    PCollection<DeadLetter> deadLetters =
        PCollectionList.of(parsed.deadLetters())
            .and(tooLate)
            .and(judged.deadLetters())
            .apply("CollectDeadLetters", Flatten.pCollections());
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

  private static List<String> spikeKeys(String csv) {
    return csv == null || csv.isBlank()
        ? List.of()
        : Arrays.stream(csv.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
  }
}

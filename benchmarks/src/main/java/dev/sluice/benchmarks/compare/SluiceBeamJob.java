package dev.sluice.benchmarks.compare;

import dev.sluice.model.Alert;
import dev.sluice.model.DeadLetter;
import dev.sluice.model.LateEvent;
import dev.sluice.model.RawPayload;
import dev.sluice.model.WindowStats;
import dev.sluice.rules.Rule;
import dev.sluice.runners.RunnerPreset;
import dev.sluice.transforms.ComputeMetricsAndAlerts;
import dev.sluice.transforms.Deduplicate;
import dev.sluice.transforms.ParseEvents;
import dev.sluice.transforms.WindowedAggregate;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.coders.ByteArrayCoder;
import org.apache.beam.sdk.io.GenerateSequence;
import org.apache.beam.sdk.io.Read;
import org.apache.beam.sdk.metrics.MetricNameFilter;
import org.apache.beam.sdk.metrics.MetricsFilter;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.Filter;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionList;
import org.apache.beam.sdk.values.TypeDescriptor;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.joda.time.Duration;
import org.joda.time.Instant;

/**
 * The workload as a Sluice user writes it: Sluice's own transforms ({@code ParseEvents}, {@code
 * WindowedAggregate}, {@code EvaluateRules}) on an unbounded source, so the streaming paths run
 * (per-key lateness state, the rule shards' event-time ordering), on whichever runner the preset
 * names.
 */
final class SluiceBeamJob {
  private SluiceBeamJob() {}

  /**
   * Runs the job. {@code unbounded} reads the workload the way Kafka delivers it; otherwise it is a
   * bounded sequence (the Direct runner's unbounded reads evaluate a handful of elements per bundle
   * and re-deserialize the source for the next: 300,000 events did not finish in 11 minutes).
   */
  static void run(
      Workload workload,
      Path outputDir,
      RunnerPreset preset,
      boolean unbounded,
      List<String> extraArgs) {
    run(workload, outputDir, preset, unbounded, null, extraArgs);
  }

  /**
   * As {@link #run(Workload, Path, RunnerPreset, boolean, List)}, parsing with {@code parse} (e.g.
   * {@link #EXPRESSIONS} or {@link #FILTER}) instead of the default when it is not null.
   */
  static void run(
      Workload workload,
      Path outputDir,
      RunnerPreset preset,
      boolean unbounded,
      ParseEvents<RawPayload> parse,
      List<String> extraArgs) {
    run(workload, outputDir, preset, unbounded, parse, null, extraArgs);
  }

  /**
   * As {@link #run(Workload, Path, RunnerPreset, boolean, ParseEvents, List)}, deduplicating by
   * event id within {@code dedupHorizon} ({@code ComputeMetricsAndAlerts.withDeduplication}) when
   * it is not null. Returns the job's {@code duplicates_dropped} counter.
   */
  static long run(
      Workload workload,
      Path outputDir,
      RunnerPreset preset,
      boolean unbounded,
      ParseEvents<RawPayload> parse,
      Duration dedupHorizon,
      List<String> extraArgs) {
    PipelineOptions options =
        PipelineOptionsFactory.fromArgs(preset.mergeWith(extraArgs).toArray(new String[0]))
            .withValidation()
            .create();
    Pipeline pipeline = Pipeline.create(options);
    build(pipeline, workload, unbounded, parse, dedupHorizon, outputDir.toString());
    PipelineResult result = pipeline.run();
    PipelineResult.State state = result.waitUntilFinish();
    if (state != PipelineResult.State.DONE) {
      throw new IllegalStateException("the Sluice job ended " + state);
    }
    long dropped = 0;
    for (var counter :
        result
            .metrics()
            .queryMetrics(
                MetricsFilter.builder()
                    .addNameFilter(
                        MetricNameFilter.named(
                            Deduplicate.METRICS_NAMESPACE, Deduplicate.DUPLICATES_DROPPED))
                    .build())
            .getCounters()) {
      dropped += counter.getAttempted();
    }
    return dropped;
  }

  static void build(Pipeline pipeline, Workload workload, boolean unbounded, String dir) {
    build(pipeline, workload, unbounded, null, dir);
  }

  static void build(
      Pipeline pipeline,
      Workload workload,
      boolean unbounded,
      ParseEvents<RawPayload> parse,
      String dir) {
    build(pipeline, workload, unbounded, parse, null, dir);
  }

  static void build(
      Pipeline pipeline,
      Workload workload,
      boolean unbounded,
      ParseEvents<RawPayload> parse,
      Duration dedupHorizon,
      String dir) {
    ComputeMetricsAndAlerts processing = processing(workload.threshold);
    if (parse != null) {
      processing = processing.withParse(parse);
    }
    if (dedupHorizon != null) {
      processing = processing.withDeduplication(dedupHorizon);
    }
    PCollection<byte[]> payloads =
        unbounded
            ? pipeline.apply("ReadWorkload", Read.from(new WorkloadSource(workload)))
            : pipeline
                .apply("ReadWorkload", GenerateSequence.from(0).to(workload.streamLength()))
                .apply("GeneratePayloads", ParDo.of(new PayloadFn(workload)))
                .setCoder(ByteArrayCoder.of());
    ComputeMetricsAndAlerts.Result processed =
        payloads
            .apply(
                "ToRawPayload",
                MapElements.into(TypeDescriptor.of(RawPayload.class))
                    .via(bytes -> new RawPayload(bytes, null)))
            .setCoder(RawPayload.RawPayloadCoder.of())
            .apply("ComputeMetricsAndAlerts", processing);
    processed
        .stats()
        .get(0)
        // The derived metric's windows are computed like any other, but not written: the output
        // stays comparable with the other implementations'.
        .apply("NotDerived", Filter.by((WindowStats s) -> !s.metric().equals(DERIVED_METRIC)))
        .apply(
            "FormatStats",
            MapElements.into(TypeDescriptors.strings())
                .via(
                    (WindowStats s) ->
                        Outputs.statsLine(
                            s.key(),
                            s.metric(),
                            s.windowStart().getMillis(),
                            s.count(),
                            s.sum(),
                            s.min(),
                            s.max(),
                            s.mean())))
        .apply("WriteStats", ParDo.of(new WriteLinesFn(dir, "stats")));
    processed
        .alerts()
        .apply(
            "FormatAlerts",
            MapElements.into(TypeDescriptors.strings())
                .via(
                    (Alert a) ->
                        Outputs.alertLine(
                            a.alertId(),
                            a.ruleId(),
                            a.key(),
                            a.metric(),
                            a.status().name(),
                            a.windowStart().getMillis(),
                            a.value())))
        .apply("WriteAlerts", ParDo.of(new WriteLinesFn(dir, "alerts")));
    PCollection<String> late =
        processed
            .late()
            .apply(
                "FormatLate",
                MapElements.into(TypeDescriptors.strings())
                    .via(
                        (LateEvent e) ->
                            "D|TOO_LATE|" + e.event().key() + '|' + e.event().metric()));
    PCollection<String> deadLetters =
        processed
            .deadLetters()
            // TOO_LATE events are written from late(), as the other jobs write them.
            .apply("NotLate", Filter.by((DeadLetter d) -> d.reason() != DeadLetter.Reason.TOO_LATE))
            .apply(
                "FormatDeadLetters",
                MapElements.into(TypeDescriptors.strings())
                    .via((DeadLetter d) -> "D|" + d.reason() + '|' + d.payload()));
    PCollectionList.of(deadLetters)
        .and(late)
        .apply("AllRejects", Flatten.pCollections())
        .apply("WriteDeadLetters", ParDo.of(new WriteLinesFn(dir, "dead-letters")));
  }

  /** The metric {@link #EXPRESSIONS} derives. */
  static final String DERIVED_METRIC = "value_scaled";

  /**
   * The filter variant's parse step: a filter on a nested attribute that every reference payload
   * passes (so the outputs stay comparable) but that is evaluated on every one.
   */
  static final ParseEvents<RawPayload> FILTER =
      ParseEvents.fromRawPayloads()
          .withFilter("payload.attributes.region != \"moon-1\" && payload.value > -1.0e9");

  /** {@link #FILTER} and a derived metric per payload, which doubles the events aggregated. */
  static final ParseEvents<RawPayload> EXPRESSIONS =
      FILTER.withDerived(java.util.Map.of(DERIVED_METRIC, "payload.value * 1.8 + 32.0"));

  /** The workload's aggregation: 1-minute tumbling windows, count/sum/min/max/mean. */
  static WindowedAggregate aggregation() {
    return WindowedAggregate.tumbling(Duration.millis(Workload.WINDOW_MILLIS)).withQuantiles(false);
  }

  /** The workload's one threshold rule. */
  /** The workload's processing: its aggregation and its one threshold rule. */
  static ComputeMetricsAndAlerts processing(double threshold) {
    return ComputeMetricsAndAlerts.of(aggregation())
        .withRules(
            List.of(
                Rule.of(Workload.RULE_ID, "mean(" + Workload.RULE_METRIC + ") > " + threshold)));
  }

  /** Stream position to payload, timestamped with its event time. */
  static final class PayloadFn extends DoFn<Long, byte[]> {
    private static final long serialVersionUID = 1L;
    private final Workload workload;

    PayloadFn(Workload workload) {
      this.workload = workload;
    }

    @ProcessElement
    public void process(@Element Long position, OutputReceiver<byte[]> out) {
      long i = workload.eventAt(position);
      out.outputWithTimestamp(workload.payload(i), new Instant(workload.eventTimeMillis(i)));
    }
  }

  /** Appends lines to a file per DoFn instance, flushed at the end of every bundle. */
  static final class WriteLinesFn extends DoFn<String, Void> {
    private static final long serialVersionUID = 1L;
    private final String dir;
    private final String prefix;
    private transient Outputs.LineFile file;

    WriteLinesFn(String dir, String prefix) {
      this.dir = dir;
      this.prefix = prefix;
    }

    @Setup
    public void setup() {
      file = new Outputs.LineFile(Paths.get(dir), prefix);
    }

    @ProcessElement
    public void process(@Element String line) {
      file.write(line);
    }

    @FinishBundle
    public void finishBundle() {
      file.flush();
    }

    @Teardown
    public void teardown() {
      if (file != null) {
        file.close();
      }
    }
  }
}

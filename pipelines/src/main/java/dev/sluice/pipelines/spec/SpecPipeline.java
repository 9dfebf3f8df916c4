package dev.sluice.pipelines.spec;

import dev.sluice.io.AlertmanagerIO;
import dev.sluice.io.EventFilesIO;
import dev.sluice.io.JsonLinesIO;
import dev.sluice.io.KafkaJsonIO;
import dev.sluice.io.LogIO;
import dev.sluice.io.PostgresIO;
import dev.sluice.io.ReferenceTableIO;
import dev.sluice.io.RuleFilesIO;
import dev.sluice.io.SyntheticIO;
import dev.sluice.io.WebhookIO;
import dev.sluice.model.Alert;
import dev.sluice.model.DeadLetter;
import dev.sluice.model.RawPayload;
import dev.sluice.model.WindowStats;
import dev.sluice.pipelines.spec.PipelineSpec.Files;
import dev.sluice.pipelines.spec.PipelineSpec.Kafka;
import dev.sluice.pipelines.spec.PipelineSpec.Sink;
import dev.sluice.pipelines.spec.PipelineSpec.Synthetic;
import dev.sluice.pipelines.spec.PipelineSpec.WindowSpec;
import dev.sluice.transforms.ComputeMetricsAndAlerts;
import dev.sluice.transforms.CountDeadLetters;
import dev.sluice.transforms.Enrichment;
import dev.sluice.transforms.FieldMapping;
import dev.sluice.transforms.OutputWithDeadLetters;
import dev.sluice.transforms.ParseEvents;
import dev.sluice.transforms.WindowedAggregate;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.values.PBegin;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionList;

/**
 * Builds the Beam pipeline a {@link PipelineSpec} describes: the spec's source, {@link
 * ComputeMetricsAndAlerts} (the one place Sluice's processing is assembled), and the spec's sinks,
 * whose rejects join the dead letters. Every Sluice job's graph is built here: specs, the main job
 * (a bundled spec), the benchmarks.
 *
 * <pre>{@code
 * PipelineSpec spec = SpecReader.read(Path.of("examples/iot.yaml"));
 * Pipeline pipeline = Pipeline.create(options);
 * try (SinkServers servers = SinkServers.start(spec)) {   // the launcher's job
 *   SpecPipeline.build(pipeline, spec, servers);
 *   pipeline.run().waitUntilFinish();
 * }
 * }</pre>
 *
 * <p>Building starts nothing and connects nowhere: {@link SinkDatabases#unstarted()} gives the
 * databases for {@code explain} and templates.
 */
public final class SpecPipeline {
  private SpecPipeline() {}

  /** The step of the processing between source and sinks. */
  public static final String PROCESS_STEP = "ComputeMetricsAndAlerts";

  /** The built pipeline's outputs ({@code alerts} is null for a spec without rules). */
  public record Built(
      List<PCollection<WindowStats>> stats,
      PCollection<Alert> alerts,
      PCollection<DeadLetter> deadLetters) {}

  /** Adds the spec's transforms to {@code pipeline}, its databases unstarted (as for explain). */
  public static Built build(Pipeline pipeline, PipelineSpec spec) {
    return build(pipeline, spec, SinkDatabases.unstarted());
  }

  /** Adds the spec's transforms to {@code pipeline}, storing into {@code databases}. */
  public static Built build(Pipeline pipeline, PipelineSpec spec, SinkDatabases databases) {
    ParseEvents<RawPayload> parse = ParseEvents.fromRawPayloads().withMapping(spec.mapping());
    List<PCollection<DeadLetter>> deadLetters = new ArrayList<>();
    PCollection<RawPayload> payloads;
    if (spec.source() instanceof Synthetic s) {
      payloads = pipeline.apply("ReadSynthetic", synthetic(s, spec.windows().get(0)));
    } else if (spec.source() instanceof Files f) {
      // CSV cells are text; the columns the mapping reads as numbers become JSON numbers.
      List<String> numeric = new ArrayList<>(spec.mapping().valueFields().values());
      if (spec.mapping().valueField() != null) {
        numeric.add(spec.mapping().valueField());
      }
      if (spec.mapping().timeFormat() != FieldMapping.TimeFormat.ISO_8601) {
        numeric.add(spec.mapping().timeField());
      }
      EventFilesIO.Read read =
          EventFilesIO.read(f.path()).withNumericColumns(numeric.toArray(new String[0]));
      if (f.format() != null) {
        read =
            read.withFormat(
                f.format().equals("csv")
                    ? EventFilesIO.Format.CSV
                    : EventFilesIO.Format.JSON_LINES);
      }
      OutputWithDeadLetters<RawPayload> lines = pipeline.apply("ReadFiles", read);
      deadLetters.add(lines.deadLetters());
      payloads = lines.output();
    } else {
      Kafka k = (Kafka) spec.source();
      KafkaJsonIO.Read read =
          KafkaJsonIO.read()
              .withBootstrapServers(k.bootstrapServers())
              .withTopics(k.topics())
              .withGroupId(k.groupId())
              .withAutoOffsetReset(k.autoOffsetReset())
              .withMaxOutOfOrderness(k.maxOutOfOrder())
              .withEventTimeFrom(parse);
      if (k.propertiesFile() != null) {
        read = read.withConsumerPropertiesFile(Path.of(k.propertiesFile()));
      }
      if (k.maxRecords() > 0) {
        read = read.withMaxNumRecords(k.maxRecords());
      }
      payloads = pipeline.apply("ReadKafka", read);
    }
    ComputeMetricsAndAlerts.Result processed =
        payloads.apply(
            PROCESS_STEP, processing(pipeline, spec).withRuleUpdates(ruleUpdates(pipeline, spec)));
    deadLetters.add(processed.deadLetters());
    List<PCollection<WindowStats>> statsPerWindow = processed.stats();
    PCollection<Alert> alerts = processed.alerts();

    List<PCollection<DeadLetter>> sinkRejects = new ArrayList<>();
    for (int w = 0; w < statsPerWindow.size(); w++) {
      String suffix = ComputeMetricsAndAlerts.windowSuffix(w);
      for (int i = 0; i < spec.statsSinks().size(); i++) {
        Sink sink = spec.statsSinks().get(i);
        String step = "StoreStats" + suffix + "-" + i + "-" + sink.type();
        PCollection<WindowStats> stats = statsPerWindow.get(w);
        switch (sink.type()) {
          case "jsonl" ->
              stats.apply(
                  step,
                  JsonLinesIO.write(WindowStats::toJson)
                      .to(w == 0 ? sink.path() : sink.path() + "-w" + w));
          default ->
              sinkRejects.add(
                  stats.apply(
                      step,
                      PostgresIO.writeStats()
                          .to(databases.of(sink))
                          .withSchema(sink.schema())
                          .withCreateTables(true)));
        }
      }
    }
    if (alerts != null) {
      for (int i = 0; i < spec.alertSinks().size(); i++) {
        Sink sink = spec.alertSinks().get(i);
        String step = "NotifyAlerts-" + i + "-" + sink.type();
        switch (sink.type()) {
          case "log" -> alerts.apply(step, LogIO.write());
          case "jsonl" -> alerts.apply(step, JsonLinesIO.write(Alert::toJson).to(sink.path()));
          case "kafka" -> {
            KafkaJsonIO.Write<Alert> write = kafka(KafkaJsonIO.writeAlerts(), sink);
            if (sink.exactlyOnce()) {
              write = write.withExactlyOnce(pipeline.getOptions().getJobName() + "-alerts");
            }
            alerts.apply(step, write);
          }
          case "webhook" -> sinkRejects.add(alerts.apply(step, webhook(sink)));
          case "alertmanager" -> sinkRejects.add(alerts.apply(step, alertmanager(sink)));
          default ->
              sinkRejects.add(
                  alerts.apply(
                      step,
                      PostgresIO.writeAlerts()
                          .to(databases.of(sink))
                          .withSchema(sink.schema())
                          .withCreateTables(true)));
        }
      }
    }
    deadLetters.addAll(sinkRejects);
    // Dead letters the dead-letter sinks themselves refuse are not fed back (they would loop).
    PCollection<DeadLetter> allDeadLetters =
        PCollectionList.of(deadLetters)
            .apply("CollectDeadLetters", Flatten.pCollections())
            .setCoder(DeadLetter.DeadLetterCoder.of())
            .apply("CountDeadLetters", CountDeadLetters.of());
    for (int i = 0; i < spec.deadLetterSinks().size(); i++) {
      Sink sink = spec.deadLetterSinks().get(i);
      String step = "StoreDeadLetters-" + i + "-" + sink.type();
      switch (sink.type()) {
        case "jsonl" ->
            allDeadLetters.apply(step, JsonLinesIO.write(DeadLetter::toJson).to(sink.path()));
        case "kafka" -> allDeadLetters.apply(step, kafka(KafkaJsonIO.writeDeadLetters(), sink));
        default ->
            allDeadLetters.apply(
                step,
                PostgresIO.writeDeadLetters()
                    .to(databases.of(sink))
                    .withSchema(sink.schema())
                    .withCreateTables(true));
      }
    }
    return new Built(statsPerWindow, alerts, allDeadLetters);
  }

  /**
   * The spec's processing between source and sinks (parse with its mapping, dedup, windows, rules),
   * without rule updates: the seam tests feed their own payloads to.
   */
  public static ComputeMetricsAndAlerts processing(PipelineSpec spec) {
    if (spec.processing().enrich() != null) {
      throw new IllegalArgumentException(
          "the spec has an enrich block; use processing(pipeline, spec)");
    }
    return processing(null, spec);
  }

  /**
   * As {@link #processing(PipelineSpec)}, with the spec's reference table read in {@code pipeline}:
   * once when the job ends by itself, every {@code refresh_every} when it runs until cancelled.
   */
  public static ComputeMetricsAndAlerts processing(Pipeline pipeline, PipelineSpec spec) {
    List<WindowedAggregate> windows = new ArrayList<>();
    spec.windows().forEach(w -> windows.add(aggregate(w)));
    PipelineSpec.Processing p = spec.processing();
    ParseEvents<RawPayload> parse = ParseEvents.fromRawPayloads().withMapping(spec.mapping());
    if (p.filter() != null) {
      parse = parse.withFilter(p.filter());
    }
    if (p.keyExpression() != null) {
      parse = parse.withKeyExpression(p.keyExpression());
    }
    if (!p.derived().isEmpty()) {
      parse = parse.withDerived(p.derived());
    }
    ComputeMetricsAndAlerts process =
        ComputeMetricsAndAlerts.of(windows)
            .withParse(parse)
            .withRules(spec.rules())
            .withSilences(spec.silences());
    if (p.enrich() != null) {
      ReferenceTableIO.Read read = ProcessingSpecReader.read(p.enrich());
      if (!spec.endsByItself()) {
        read = read.withRefreshEvery(p.enrich().refreshEvery());
      }
      Enrichment enrichment = Enrichment.of(pipeline.apply(ENRICH_STEP, read));
      process =
          process.withEnrichment(
              p.enrich().defaults() == null
                  ? enrichment
                  : enrichment.withDefaults(p.enrich().defaults()));
    }
    return spec.dedupHorizon() == null ? process : process.withDeduplication(spec.dedupHorizon());
  }

  /** The step that reads the reference table of an {@code enrich} block. */
  public static final String ENRICH_STEP = "ReadReferenceTable";

  private static PTransform<PBegin, PCollection<RawPayload>> synthetic(
      Synthetic s, WindowSpec firstWindow) {
    SyntheticIO.Read read =
        SyntheticIO.read()
            .withNumKeys(s.keys())
            .withSeed(s.seed())
            .withEventsPerSecond(s.eventsPerSecond())
            .withMalformedFraction(s.malformedFraction())
            .withOutOfOrderFraction(s.outOfOrderFraction())
            .withMaxOutOfOrderDelay(s.maxOutOfOrder())
            .withLateFraction(s.lateFraction())
            .withAllowedLateness(firstWindow.allowedLateness())
            .withSpikeKeys(s.spikeKeys());
    if (!s.unbounded()) {
      read = read.withNumEvents(s.events());
    } else {
      read = read.unbounded();
      if (s.duration() != null) {
        read = read.withMaxDuration(s.duration());
      }
    }
    return read.asRawPayloads();
  }

  private static PCollection<RawPayload> ruleUpdates(Pipeline pipeline, PipelineSpec spec) {
    List<PCollection<RawPayload>> sources = new ArrayList<>();
    if (spec.ruleUpdates().files() != null) {
      sources.add(pipeline.apply("WatchRuleFiles", RuleFilesIO.watch(spec.ruleUpdates().files())));
    }
    if (spec.ruleUpdates().kafkaTopic() != null) {
      KafkaJsonIO.Read read =
          KafkaJsonIO.readControlTopic()
              .withBootstrapServers(spec.ruleUpdates().bootstrapServers())
              .withTopics(List.of(spec.ruleUpdates().kafkaTopic()));
      if (spec.ruleUpdates().propertiesFile() != null) {
        read = read.withConsumerPropertiesFile(Path.of(spec.ruleUpdates().propertiesFile()));
      }
      sources.add(pipeline.apply("ReadRuleUpdatesTopic", read));
    }
    if (sources.isEmpty()) {
      return null;
    }
    return sources.size() == 1
        ? sources.get(0)
        : PCollectionList.of(sources).apply("MergeRuleUpdates", Flatten.pCollections());
  }

  private static WindowedAggregate aggregate(WindowSpec w) {
    WindowedAggregate aggregate =
        switch (w.type()) {
          case "tumbling" -> WindowedAggregate.tumbling(w.size());
          case "sliding" -> WindowedAggregate.sliding(w.size(), w.every());
          default -> WindowedAggregate.sessions(w.gap());
        };
    aggregate = aggregate.withAllowedLateness(w.allowedLateness()).withQuantiles(w.quantiles());
    if (w.earlyFirings() != null) {
      aggregate = aggregate.withEarlyFiringsEvery(w.earlyFirings());
    }
    if (w.distinctOf() != null) {
      aggregate = aggregate.withDistinctCountOf(w.distinctOf());
    }
    return aggregate;
  }

  private static <T> KafkaJsonIO.Write<T> kafka(KafkaJsonIO.Write<T> write, Sink sink) {
    write = write.withBootstrapServers(sink.bootstrapServers()).to(sink.topic());
    return sink.propertiesFile() == null
        ? write
        : write.withProducerPropertiesFile(Path.of(sink.propertiesFile()));
  }

  private static WebhookIO.Write webhook(Sink sink) {
    String variable = urlVariable(sink, "webhook");
    WebhookIO.Write write;
    if (variable != null) {
      // Checked here, read again on the worker: the URL itself never enters the job graph.
      WebhookIO.checkUrl(System.getenv(variable), sink.allowPrivateAddresses());
      write = WebhookIO.write().toUrlFromEnv(variable);
    } else {
      write = WebhookIO.write().to(sink.url());
    }
    if ("slack".equals(sink.format())) {
      write = write.withSlackFormat();
    } else if ("alertmanager".equals(sink.format())) {
      write = write.withAlertmanagerFormat();
    }
    if (!sink.allowedHosts().isEmpty()) {
      write = write.withAllowedHosts(new HashSet<>(sink.allowedHosts()));
    }
    return write.withAllowPrivateAddresses(sink.allowPrivateAddresses());
  }

  private static AlertmanagerIO.Write alertmanager(Sink sink) {
    String variable = urlVariable(sink, "alertmanager");
    AlertmanagerIO.Write write;
    if (variable != null) {
      AlertmanagerIO.checkUrl(System.getenv(variable), sink.allowPrivateAddresses());
      write = AlertmanagerIO.write().toUrlFromEnv(variable);
    } else {
      write = AlertmanagerIO.write().to(sink.url());
    }
    if (!sink.allowedHosts().isEmpty()) {
      write = write.withAllowedHosts(new HashSet<>(sink.allowedHosts()));
    }
    if (sink.resendEvery() != null) {
      write = write.withResendInterval(sink.resendEvery());
    }
    return write.withAllowPrivateAddresses(sink.allowPrivateAddresses());
  }

  /** The environment variable of a {@code url_env} sink, checked to be set; null for a url. */
  private static String urlVariable(Sink sink, String type) {
    if (!sink.url().startsWith("env:")) {
      return null;
    }
    String variable = sink.url().substring(4);
    if (System.getenv(variable) == null) {
      throw new IllegalArgumentException(
          type + " url_env: environment variable " + variable + " is not set");
    }
    return variable;
  }
}

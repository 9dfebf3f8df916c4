package dev.sluice.pipelines.spec;

import static java.nio.charset.StandardCharsets.UTF_8;

import dev.sluice.io.EventFilesIO;
import dev.sluice.io.JsonLinesIO;
import dev.sluice.io.KafkaJsonIO;
import dev.sluice.io.LogIO;
import dev.sluice.io.PostgresIO;
import dev.sluice.io.RuleFilesIO;
import dev.sluice.io.SyntheticIO;
import dev.sluice.io.WebhookIO;
import dev.sluice.local.EmbeddedPostgresStore;
import dev.sluice.model.Alert;
import dev.sluice.model.DeadLetter;
import dev.sluice.model.Event;
import dev.sluice.model.RawPayload;
import dev.sluice.model.WindowStats;
import dev.sluice.pipelines.EmbeddedStores;
import dev.sluice.pipelines.spec.PipelineSpec.Files;
import dev.sluice.pipelines.spec.PipelineSpec.Kafka;
import dev.sluice.pipelines.spec.PipelineSpec.Sink;
import dev.sluice.pipelines.spec.PipelineSpec.Synthetic;
import dev.sluice.pipelines.spec.PipelineSpec.WindowSpec;
import dev.sluice.transforms.Deduplicate;
import dev.sluice.transforms.EvaluateRules;
import dev.sluice.transforms.FieldMapping;
import dev.sluice.transforms.OutputWithDeadLetters;
import dev.sluice.transforms.ParseEvents;
import dev.sluice.transforms.WindowedAggregate;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionList;
import org.apache.beam.sdk.values.TypeDescriptor;
import org.joda.time.Instant;

/**
 * Builds the Beam pipeline a {@link PipelineSpec} describes, with Sluice's Java API (the same
 * transforms and IO a Java user would apply).
 *
 * <pre>{@code
 * PipelineSpec spec = SpecReader.read(Path.of("examples/iot.yaml"));
 * Pipeline pipeline = Pipeline.create(options);
 * try (SpecPipeline.Built built = SpecPipeline.build(pipeline, spec, true)) {
 *   pipeline.run().waitUntilFinish();
 * }
 * }</pre>
 *
 * <p>With {@code startServers} false (for {@code explain} and offline templates) the embedded
 * PostgreSQL is not started and no table is created; the graph is the same.
 */
public final class SpecPipeline {
  private SpecPipeline() {}

  /**
   * The built pipeline's outputs ({@code alerts} is null for a spec without rules) and the embedded
   * stores it started, stopped by close.
   */
  public record Built(
      List<PCollection<WindowStats>> stats,
      PCollection<Alert> alerts,
      PCollection<DeadLetter> deadLetters,
      List<EmbeddedPostgresStore> stores,
      List<String> notes)
      implements AutoCloseable {
    @Override
    public void close() {
      for (EmbeddedPostgresStore store : stores) {
        store.close();
      }
    }
  }

  /** Adds the spec's transforms to {@code pipeline}. */
  public static Built build(Pipeline pipeline, PipelineSpec spec, boolean startServers) {
    Databases databases = new Databases(startServers);
    try {
      return compose(pipeline, spec, databases);
    } catch (RuntimeException e) {
      databases.close();
      throw e;
    }
  }

  private static Built compose(Pipeline pipeline, PipelineSpec spec, Databases databases) {
    ParseEvents<RawPayload> parse = ParseEvents.fromRawPayloads().withMapping(spec.mapping());
    List<PCollection<DeadLetter>> deadLetters = new ArrayList<>();
    PCollection<RawPayload> payloads;
    if (spec.source() instanceof Synthetic s) {
      payloads =
          pipeline
              .apply(
                  "ReadSynthetic",
                  SyntheticIO.read()
                      .withNumEvents(s.events())
                      .withNumKeys(s.keys())
                      .withSeed(s.seed())
                      .withEventsPerSecond(s.eventsPerSecond())
                      .withMalformedFraction(s.malformedFraction())
                      .withOutOfOrderFraction(s.outOfOrderFraction())
                      .withMaxOutOfOrderDelay(s.maxOutOfOrder())
                      .withSpikeKeys(s.spikeKeys()))
              .apply(
                  "ToRawPayload",
                  MapElements.into(TypeDescriptor.of(RawPayload.class))
                      .via(text -> new RawPayload(text.getBytes(UTF_8), null)))
              .setCoder(RawPayload.RawPayloadCoder.of());
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
    OutputWithDeadLetters<Event> parsed = payloads.apply("ParseEvents", parse);
    deadLetters.add(parsed.deadLetters());
    PCollection<Event> events = parsed.output();
    if (spec.dedupHorizon() != null) {
      events =
          events.apply("Deduplicate", Deduplicate.byEventId().withHorizon(spec.dedupHorizon()));
    }

    PCollection<RawPayload> ruleUpdates = ruleUpdates(pipeline, spec);
    List<PCollection<WindowStats>> statsPerWindow = new ArrayList<>();
    List<PCollection<Alert>> alertsPerWindow = new ArrayList<>();
    for (int i = 0; i < spec.windows().size(); i++) {
      String suffix = i == 0 ? "" : Integer.toString(i);
      WindowedAggregate.Result aggregated =
          events.apply("AggregateWindows" + suffix, aggregate(spec.windows().get(i)));
      statsPerWindow.add(aggregated.output());
      deadLetters.add(
          aggregated
              .late()
              .apply(
                  "LateToDeadLetters" + suffix,
                  MapElements.into(TypeDescriptor.of(DeadLetter.class))
                      .via(late -> late.toDeadLetter("aggregate", Instant.now())))
              .setCoder(DeadLetter.DeadLetterCoder.of()));
      if (!spec.rules().isEmpty() || ruleUpdates != null) {
        EvaluateRules evaluate = EvaluateRules.of(spec.rules());
        OutputWithDeadLetters<Alert> judged =
            aggregated
                .output()
                .apply(
                    "EvaluateRules" + suffix,
                    ruleUpdates == null ? evaluate : evaluate.withRuleUpdates(ruleUpdates));
        alertsPerWindow.add(judged.output());
        deadLetters.add(judged.deadLetters());
      }
    }
    // Without rules there are no alerts (and validation allows no alert sinks then).
    PCollection<Alert> alerts =
        alertsPerWindow.isEmpty()
            ? null
            : alertsPerWindow.size() == 1
                ? alertsPerWindow.get(0)
                : PCollectionList.of(alertsPerWindow)
                    .apply("CollectAlerts", Flatten.pCollections())
                    .setCoder(Alert.AlertCoder.of());

    List<PCollection<DeadLetter>> sinkRejects = new ArrayList<>();
    for (int w = 0; w < statsPerWindow.size(); w++) {
      String suffix = w == 0 ? "" : Integer.toString(w);
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
    if (!alertsPerWindow.isEmpty()) {
      for (int i = 0; i < spec.alertSinks().size(); i++) {
        Sink sink = spec.alertSinks().get(i);
        String step = "NotifyAlerts-" + i + "-" + sink.type();
        switch (sink.type()) {
          case "log" -> alerts.apply(step, LogIO.write());
          case "jsonl" -> alerts.apply(step, JsonLinesIO.write(Alert::toJson).to(sink.path()));
          case "kafka" -> alerts.apply(step, kafka(KafkaJsonIO.writeAlerts(), sink));
          case "webhook" -> sinkRejects.add(alerts.apply(step, webhook(sink)));
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
    PCollection<DeadLetter> allDeadLetters =
        PCollectionList.of(deadLetters)
            .apply("CollectDeadLetters", Flatten.pCollections())
            .setCoder(DeadLetter.DeadLetterCoder.of());
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
    return new Built(
        statsPerWindow, alerts, allDeadLetters, databases.started(), databases.notes());
  }

  private static PCollection<RawPayload> ruleUpdates(Pipeline pipeline, PipelineSpec spec) {
    List<PCollection<RawPayload>> sources = new ArrayList<>();
    if (spec.ruleUpdates().files() != null) {
      sources.add(pipeline.apply("WatchRuleFiles", RuleFilesIO.watch(spec.ruleUpdates().files())));
    }
    if (spec.ruleUpdates().kafkaTopic() != null) {
      Kafka k = (Kafka) spec.source();
      KafkaJsonIO.Read read =
          KafkaJsonIO.readControlTopic()
              .withBootstrapServers(k.bootstrapServers())
              .withTopics(List.of(spec.ruleUpdates().kafkaTopic()));
      if (k.propertiesFile() != null) {
        read = read.withConsumerPropertiesFile(Path.of(k.propertiesFile()));
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
    String url = sink.url();
    WebhookIO.Write write;
    if (url.startsWith("env:")) {
      String variable = url.substring(4);
      String value = System.getenv(variable);
      if (value == null) {
        throw new IllegalArgumentException(
            "webhook url_env: environment variable " + variable + " is not set");
      }
      // Checked here, read again on the worker: the URL itself never enters the job graph.
      WebhookIO.checkUrl(value, sink.allowPrivateAddresses());
      write = WebhookIO.write().toUrlFromEnv(variable);
    } else {
      write = WebhookIO.write().to(url);
    }
    if ("slack".equals(sink.format())) {
      write = write.withSlackFormat();
    }
    if (!sink.allowedHosts().isEmpty()) {
      write = write.withAllowedHosts(new HashSet<>(sink.allowedHosts()));
    }
    return write.withAllowPrivateAddresses(sink.allowPrivateAddresses());
  }

  /** The databases of the spec's sinks: one embedded server per data directory. */
  private static final class Databases {
    final boolean startServers;
    private final Map<String, EmbeddedPostgresStore> embedded = new LinkedHashMap<>();
    private final Map<String, PostgresIO.Database> external = new LinkedHashMap<>();
    private final List<String> notes = new ArrayList<>();

    Databases(boolean startServers) {
      this.startServers = startServers;
    }

    PostgresIO.Database of(Sink sink) {
      if (sink.type().equals("embedded")) {
        if (!startServers) {
          // Started at run time; until then a placeholder that names the data directory.
          return PostgresIO.database(
              "jdbc:postgresql://localhost/embedded?data_dir=" + sink.dataDir());
        }
        EmbeddedPostgresStore store =
            embedded.computeIfAbsent(
                sink.dataDir(),
                dir -> {
                  EmbeddedPostgresStore started = EmbeddedPostgresStore.start(Path.of(dir));
                  notes.add(
                      "embedded PostgreSQL at "
                          + started.jdbcUrl()
                          + " (data in "
                          + started.dataDirectory()
                          + ")");
                  return started;
                });
        PostgresIO.Database db = EmbeddedStores.database(store);
        ensureTables(db, sink.schema());
        return db;
      }
      String id = sink.jdbcUrl() + "|" + sink.user() + "|" + sink.passwordEnv();
      PostgresIO.Database db = external.get(id);
      if (db == null) {
        db = PostgresIO.database(sink.jdbcUrl());
        if (sink.user() != null) {
          db = db.withUser(sink.user());
        }
        if (sink.passwordEnv() != null) {
          if (startServers && System.getenv(sink.passwordEnv()) == null) {
            throw new IllegalArgumentException(
                "password_env: environment variable " + sink.passwordEnv() + " is not set");
          }
          // Read where the writers connect (on the workers, also from a template): the value is
          // never part of the job graph.
          db = db.withPasswordEnv(sink.passwordEnv());
        }
        external.put(id, db);
        notes.add("PostgreSQL at " + db.displayUrl());
      }
      ensureTables(db, sink.schema());
      return db;
    }

    private final java.util.Set<String> created = new HashSet<>();

    private void ensureTables(PostgresIO.Database db, String schema) {
      if (startServers && created.add(db.displayUrl() + "|" + schema)) {
        PostgresIO.createTables(db, schema);
      }
    }

    List<EmbeddedPostgresStore> started() {
      return new ArrayList<>(embedded.values());
    }

    List<String> notes() {
      return notes;
    }

    void close() {
      embedded.values().forEach(EmbeddedPostgresStore::close);
    }
  }
}

package dev.sluice.pipelines.spec;

import dev.sluice.rules.Rule;
import dev.sluice.transforms.FieldMapping;
import java.util.List;
import org.joda.time.Duration;

/**
 * A monitoring pipeline described in YAML (see {@link SpecReader} for the format): a source, how to
 * parse it, optional de-duplication, one or more window aggregations, rules, and sinks. It is plain
 * data; {@link SpecPipeline} turns it into Beam transforms through Sluice's Java API.
 */
public record PipelineSpec(
    String file,
    String name,
    Source source,
    FieldMapping mapping,
    Duration dedupHorizon,
    List<WindowSpec> windows,
    List<Rule> rules,
    RuleUpdates ruleUpdates,
    List<Sink> statsSinks,
    List<Sink> alertSinks,
    List<Sink> deadLetterSinks) {

  /** Where events come from. */
  public sealed interface Source permits Synthetic, Files, Kafka {}

  /**
   * Seeded synthetic sensor events: {@code events} of them (bounded), or, {@code unbounded}, {@code
   * eventsPerSecond} in real time for {@code duration} (null: until cancelled).
   */
  public record Synthetic(
      long events,
      int keys,
      long seed,
      double eventsPerSecond,
      double malformedFraction,
      double outOfOrderFraction,
      Duration maxOutOfOrder,
      List<String> spikeKeys,
      boolean unbounded,
      Duration duration,
      double lateFraction)
      implements Source {}

  /** A bounded replay of JSON-lines or CSV files. */
  public record Files(String path, String format) implements Source {}

  /** Kafka topics (unbounded, or bounded by {@code maxRecords}). */
  public record Kafka(
      String bootstrapServers,
      List<String> topics,
      String groupId,
      String propertiesFile,
      Duration maxOutOfOrder,
      String autoOffsetReset,
      long maxRecords)
      implements Source {}

  /** One windowed aggregation. */
  public record WindowSpec(
      String type,
      Duration size,
      Duration every,
      Duration gap,
      Duration allowedLateness,
      Duration earlyFirings,
      boolean quantiles,
      String distinctOf) {}

  /**
   * Rule updates while the job runs (either may be null); the topic is read from {@code
   * bootstrapServers} with the client settings of {@code propertiesFile} (may be null).
   */
  public record RuleUpdates(
      String files, String kafkaTopic, String bootstrapServers, String propertiesFile) {
    static final RuleUpdates NONE = new RuleUpdates(null, null, null, null);
  }

  /**
   * A sink: {@code type} is one of embedded, postgres, jsonl, log, kafka, webhook; the other fields
   * apply to some types only (null otherwise). Secrets are references (an environment variable or a
   * file), never values. {@code port} is an embedded database's port (0: any free port); {@code
   * exactlyOnce} makes a Kafka alert sink transactional.
   */
  public record Sink(
      String type,
      String path,
      String jdbcUrl,
      String user,
      String passwordEnv,
      String passwordFile,
      String schema,
      String dataDir,
      String topic,
      String bootstrapServers,
      String propertiesFile,
      String url,
      String format,
      List<String> allowedHosts,
      boolean allowPrivateAddresses,
      int port,
      boolean exactlyOnce) {}

  /** True when every source is bounded, so the job ends by itself. */
  public boolean bounded() {
    return !(source instanceof Kafka k && k.maxRecords() == 0)
        && !(source instanceof Synthetic s && s.unbounded())
        && ruleUpdates.files() == null
        && ruleUpdates.kafkaTopic() == null;
  }
}

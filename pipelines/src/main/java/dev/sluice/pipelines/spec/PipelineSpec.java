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

  /** Seeded synthetic sensor events (bounded). */
  public record Synthetic(
      long events,
      int keys,
      long seed,
      double eventsPerSecond,
      double malformedFraction,
      double outOfOrderFraction,
      Duration maxOutOfOrder,
      List<String> spikeKeys)
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

  /** Rule updates while the job runs (either may be null). */
  public record RuleUpdates(String files, String kafkaTopic) {
    static final RuleUpdates NONE = new RuleUpdates(null, null);
  }

  /**
   * A sink: {@code type} is one of embedded, postgres, jsonl, log, kafka, webhook; the other fields
   * apply to some types only (null otherwise). Secrets are references (an environment variable or a
   * file), never values.
   */
  public record Sink(
      String type,
      String path,
      String jdbcUrl,
      String user,
      String passwordEnv,
      String schema,
      String dataDir,
      String topic,
      String bootstrapServers,
      String propertiesFile,
      String url,
      String format,
      List<String> allowedHosts,
      boolean allowPrivateAddresses) {}

  /** True when every source is bounded, so the job ends by itself. */
  public boolean bounded() {
    return !(source instanceof Kafka k && k.maxRecords() == 0)
        && ruleUpdates.files() == null
        && ruleUpdates.kafkaTopic() == null;
  }
}

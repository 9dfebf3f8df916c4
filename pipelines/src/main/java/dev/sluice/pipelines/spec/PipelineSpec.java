package dev.sluice.pipelines.spec;

import dev.sluice.rules.Rule;
import dev.sluice.rules.Silence;
import dev.sluice.transforms.FieldMapping;
import java.util.Collections;
import java.util.List;
import java.util.SortedMap;
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
    List<Sink> deadLetterSinks,
    Processing processing,
    List<Silence> silences) {

  /**
   * What happens to each payload between parsing and the windows: a CEL filter, a key expression
   * (or {@code keyField}, a path, which the mapping already holds), derived metrics, and an
   * enrichment table; each may be null (derived: empty).
   */
  public record Processing(
      String filter,
      String keyExpression,
      String keyField,
      SortedMap<String, String> derived,
      Enrich enrich) {
    static final Processing NONE =
        new Processing(null, null, null, Collections.emptySortedMap(), null);
  }

  /**
   * A reference table by key: a CSV file ({@code csv}) or a PostgreSQL table ({@code database}, a
   * sink of type postgres for its connection, and {@code table}); re-read every {@code
   * refreshEvery} when the source is unbounded. {@code defaults} are the values of keys without a
   * row (null: such keys are skipped by rules on reference columns). {@code columns}: for a CSV
   * file, each column the spec saw and whether it holds numbers; null for a database.
   */
  public record Enrich(
      String csv,
      Sink database,
      String table,
      String keyColumn,
      Duration refreshEvery,
      SortedMap<String, Object> defaults,
      SortedMap<String, Boolean> columns) {}

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
   * A sink: {@code type} is one of embedded, postgres, jsonl, log, kafka, webhook, alertmanager;
   * the other fields apply to some types only (null otherwise). Secrets are references (an
   * environment variable or a file), never values. {@code port} is an embedded database's port (0:
   * any free port); {@code exactlyOnce} makes a Kafka alert sink transactional; {@code resendEvery}
   * is how often an Alertmanager sink re-sends a firing alert.
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
      boolean exactlyOnce,
      Duration resendEvery) {

    /** A sink that is not an Alertmanager's. */
    public Sink(
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
        boolean exactlyOnce) {
      this(
          type,
          path,
          jdbcUrl,
          user,
          passwordEnv,
          passwordFile,
          schema,
          dataDir,
          topic,
          bootstrapServers,
          propertiesFile,
          url,
          format,
          allowedHosts,
          allowPrivateAddresses,
          port,
          exactlyOnce,
          null);
    }
  }

  /**
   * True when the job ends by itself: every source is bounded, or the only unbounded one is a
   * synthetic source with a duration. (A reference table is then read once, not refreshed.)
   */
  public boolean endsByItself() {
    return bounded()
        || (source instanceof Synthetic s
            && s.duration() != null
            && ruleUpdates.files() == null
            && ruleUpdates.kafkaTopic() == null);
  }

  /** True when every source is bounded, so the job ends by itself. */
  public boolean bounded() {
    return !(source instanceof Kafka k && k.maxRecords() == 0)
        && !(source instanceof Synthetic s && s.unbounded())
        && ruleUpdates.files() == null
        && ruleUpdates.kafkaTopic() == null;
  }
}

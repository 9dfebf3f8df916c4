package dev.sluice.transforms;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.auto.value.AutoValue;
import dev.sluice.model.Alert;
import dev.sluice.model.DeadLetter;
import dev.sluice.model.DeadLetter.Reason;
import dev.sluice.model.PaneTiming;
import dev.sluice.model.RawPayload;
import dev.sluice.model.WindowStats;
import dev.sluice.rules.EngineInput;
import dev.sluice.rules.EngineInput.EngineInputCoder;
import dev.sluice.rules.Rule;
import dev.sluice.rules.RuleEngine;
import dev.sluice.rules.Silence;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.VarIntCoder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.Combine;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.transforms.Max;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.transforms.windowing.BoundedWindow;
import org.apache.beam.sdk.transforms.windowing.DefaultTrigger;
import org.apache.beam.sdk.transforms.windowing.GlobalWindows;
import org.apache.beam.sdk.transforms.windowing.Window;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionList;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TupleTag;
import org.apache.beam.sdk.values.TupleTagList;
import org.checkerframework.checker.nullness.qual.Nullable;
import org.joda.time.Duration;
import org.joda.time.Instant;

/**
 * Evaluates {@link Rule}s against window stats and manages each (rule, key, metric)'s alert
 * lifecycle: {@code FIRING} once when a condition starts to hold, {@code RESOLVED} once after
 * {@code resolve_after} clear windows. Rules can come as a static list, from an unbounded stream of
 * rule updates (JSON, one rule per payload), or both.
 *
 * <pre>{@code
 * OutputWithDeadLetters<Alert> result = stats.apply("EvaluateRules",
 *     EvaluateRules.of(List.of(
 *             Rule.of("hot", "mean(temperature) > 80").withResolveAfter(2),
 *             Rule.of("dead-sensor", "absent(temperature) for 5m")))
 *         .withRuleUpdates(ruleJsonPayloads));
 * result.output();      // alerts
 * result.deadLetters(); // rejected rule updates (INVALID_RULE, RULE_VERSION_CONFLICT)
 * }</pre>
 *
 * <p><b>How it works.</b> Keys are spread over {@code shards} shards; every rule update goes to
 * every shard. A shard judges each (key, metric)'s closed panes ({@code ON_TIME}, {@code LATE}) in
 * event-time order, so results do not depend on bundling, on the runner, or on whether the input is
 * bounded: a pane that starts where its (key, metric)'s last judged window ended is judged on
 * arrival, any other is buffered until the watermark passes it; absence rules judge every pane when
 * the watermark passes it. Early panes are judged on arrival, by speculative rules only. Rule
 * updates apply from their arrival on: to every pane judged after it.
 *
 * <p><b>Absence</b> needs evidence that event time moved on: a closed window (of any key) ending at
 * or after the deadline. The end of a bounded input is not silence, and a stream with no data at
 * all raises no absence alerts (watch the source for that).
 *
 * <p><b>Rule updates</b>: a higher {@code version} of an {@code id} replaces it, {@code paused}
 * stops it, {@code deleted} removes it and resolves its open alerts. An invalid update is a dead
 * letter {@code INVALID_RULE}; an older version, or the same version with other content, is a dead
 * letter {@code RULE_VERSION_CONFLICT}; the same version again is ignored (a replayed rule topic is
 * harmless). The rules in force are not disturbed by rejected updates.
 *
 * <p><b>Silences</b> ({@link Silence}) come as a static list ({@link #withSilences}) and on the
 * rule-update channel as {@code {"silence": {...}}} payloads, versioned like rules ({@code deleted}
 * removes one; a range silence is dropped a day after event time passed its end). A transition a
 * silence covers is emitted with {@code silenced: true}, judged in event time; see {@link
 * RuleEngine} for when a held-back FIRING is sent.
 *
 * <p>Alert ids are deterministic fingerprints of (rule, key, metric, episode start), the same on
 * every runner and replay; only {@code emitted_at} differs.
 */
@AutoValue
public abstract class EvaluateRules
    extends PTransform<PCollection<WindowStats>, OutputWithDeadLetters<Alert>> {

  public static final String METRICS_NAMESPACE = "sluice.rules";
  public static final String ALERTS_FIRED = "alerts_fired";
  public static final String ALERTS_RESOLVED = "alerts_resolved";
  public static final String ALERTS_RENOTIFIED = "alerts_renotified";
  public static final String RULE_UPDATES_APPLIED = "rule_updates_applied";
  public static final String RULE_UPDATES_REJECTED = "rule_updates_rejected";
  public static final String RULE_UPDATES_DUPLICATE = "rule_updates_duplicate";

  /**
   * Prefix of the counters of alert transitions per status, transition and rule: {@code
   * alert_transitions:FIRING:FIRED:<rule id>} (see {@link #alertTransitionsCounterName}).
   */
  public static final String ALERT_TRANSITIONS = "alert_transitions:";

  /**
   * The counter of the transitions {@code transition} (FIRED, RESOLVED, RENOTIFIED,
   * SENT_AFTER_SILENCE) to {@code status} of rule {@code ruleId}; the rule id comes last, so it may
   * contain any character.
   */
  public static String alertTransitionsCounterName(
      String status, String transition, String ruleId) {
    return ALERT_TRANSITIONS + status + ":" + transition + ":" + ruleId;
  }

  /** Alerts emitted with {@code silenced: true}. */
  public static final String ALERTS_SILENCED = "alerts_silenced";

  /** FIRING alerts a silence held back, sent when it ended while the episode still fired. */
  public static final String ALERTS_SENT_AFTER_SILENCE = "alerts_sent_after_silence";

  public static final String SILENCE_UPDATES_APPLIED = "silence_updates_applied";

  /**
   * Range silences from the rule-update channel dropped a day after event time passed their end.
   */
  public static final String SILENCES_EXPIRED = "silences_expired";

  /** Windows a rule on a reference column was not judged for: the key had no such value. */
  public static final String SKIPPED_WITHOUT_REFERENCE = "rules_skipped_without_reference";

  static final String STAGE = "rules";
  static final int DEFAULT_SHARDS = 256;

  /** How long after its end a range silence from the rule-update channel is kept. */
  static final Duration SILENCE_EXPIRY_GRACE = Duration.standardDays(1);

  abstract List<Rule> rules();

  abstract List<Silence> silences();

  abstract @Nullable PCollection<RawPayload> ruleUpdates();

  abstract int shards();

  abstract @Nullable Enrichment enrichment();

  abstract Builder toBuilder();

  @AutoValue.Builder
  abstract static class Builder {
    abstract Builder setRules(List<Rule> rules);

    abstract Builder setSilences(List<Silence> silences);

    abstract Builder setRuleUpdates(PCollection<RawPayload> updates);

    abstract Builder setShards(int shards);

    abstract Builder setEnrichment(@Nullable Enrichment enrichment);

    abstract EvaluateRules build();
  }

  /** Static rules; more can arrive {@link #withRuleUpdates}. Ids must be unique. */
  public static EvaluateRules of(List<Rule> rules) {
    Checks.notNull("rules", rules);
    Set<String> ids = new HashSet<>();
    for (int i = 0; i < rules.size(); i++) {
      Rule rule = Checks.notNull("rules[" + i + "]", rules.get(i));
      if (rule.deleted()) {
        throw new IllegalArgumentException(
            "rules[" + i + "] '" + rule.id() + "' is a deletion; static rules must be rules");
      }
      if (!ids.add(rule.id())) {
        throw new IllegalArgumentException(
            "rules["
                + i
                + "].id '"
                + rule.id()
                + "' is used by an earlier rule; ids must be unique");
      }
    }
    return new AutoValue_EvaluateRules.Builder()
        .setRules(List.copyOf(rules))
        .setSilences(List.of())
        .setShards(DEFAULT_SHARDS)
        .build();
  }

  /**
   * Rule updates, one JSON rule per payload (see {@link Rule}); typically unbounded (a Kafka topic,
   * a watched directory).
   */
  public EvaluateRules withRuleUpdates(PCollection<RawPayload> updates) {
    return toBuilder().setRuleUpdates(Checks.notNull("ruleUpdates", updates)).build();
  }

  /**
   * Static silences (from a spec, say); more can arrive on the rule-update channel, and a higher
   * version of one of these ids replaces it there. Ids must be unique.
   */
  public EvaluateRules withSilences(List<Silence> silences) {
    Checks.notNull("silences", silences);
    Set<String> ids = new HashSet<>();
    for (int i = 0; i < silences.size(); i++) {
      Silence silence = Checks.notNull("silences[" + i + "]", silences.get(i));
      if (silence.deleted()) {
        throw new IllegalArgumentException(
            "silences["
                + i
                + "] '"
                + silence.id()
                + "' is a deletion; static silences must be"
                + " silences");
      }
      if (!ids.add(silence.id())) {
        throw new IllegalArgumentException(
            "silences[" + i + "].id '" + silence.id() + "' is used by an earlier silence");
      }
    }
    return toBuilder().setSilences(List.copyOf(silences)).build();
  }

  /**
   * How many shards keys are spread over (default 256): the rule step's maximum parallelism, and
   * the number of copies of each rule update and of each event-time mark. A shard buffers its keys'
   * closed panes until the watermark passes them, and the Direct runner copies that buffer for
   * every bundle, so more shards mean less copying: with 10,000 keys x 3 metrics, 16 shards ran at
   * 900 events/s on the Direct runner.
   */
  public EvaluateRules withShards(int shards) {
    if (shards < 1 || shards > 4096) {
      throw new IllegalArgumentException("shards must be from 1 to 4096, got " + shards);
    }
    return toBuilder().setShards(shards).build();
  }

  /**
   * Each key's thresholds from a reference table: a rule such as {@code mean(temperature) >
   * ref.max_temperature} compares each key's windows with its own row's value (see {@link
   * Enrichment} for keys without one). The table as it is when a window's stats reach this step is
   * the one used.
   */
  public EvaluateRules withEnrichment(Enrichment enrichment) {
    return toBuilder().setEnrichment(Checks.notNull("enrichment", enrichment)).build();
  }

  @Override
  public OutputWithDeadLetters<Alert> expand(PCollection<WindowStats> stats) {
    if (rules().isEmpty() && ruleUpdates() == null) {
      throw new IllegalArgumentException(
          "EvaluateRules has no rules: give static rules or withRuleUpdates(...)");
    }
    if (enrichment() == null) {
      for (Rule rule : rules()) {
        if (rule.condition().thresholdColumn() != null) {
          throw new IllegalArgumentException(
              "rule '"
                  + rule.id()
                  + "' compares with ref."
                  + rule.condition().thresholdColumn()
                  + " but there is no reference table: add enrichment");
        }
      }
    }
    int shards = shards();
    KvCoder<Integer, EngineInput> inputCoder = KvCoder.of(VarIntCoder.of(), EngineInputCoder.of());
    List<PCollection<KV<Integer, EngineInput>>> inputs = new ArrayList<>();
    ParDo.SingleOutput<WindowStats, KV<Integer, EngineInput>> shard =
        ParDo.of(new ShardStatsFn(shards, enrichment()));
    if (enrichment() != null) {
      shard = shard.withSideInputs(enrichment().table());
    }
    inputs.add(
        stats
            .apply("ShardByKey", shard)
            .setCoder(inputCoder)
            .apply("StatsToGlobalWindow", toGlobalWindow()));
    inputs.add(
        stats
            .apply("ClosedWindowEnds", ParDo.of(new ClosedWindowEndFn()))
            .setCoder(VarLongCoder.of())
            .apply("LatestClosedWindowEnd", Combine.globally(Max.ofLongs()).withoutDefaults())
            .apply("BroadcastEventTime", ParDo.of(new BroadcastEventTimeFn(shards)))
            .setCoder(inputCoder)
            .apply("EventTimeToGlobalWindow", toGlobalWindow()));
    TupleTag<Alert> alertsTag = Tags.alerts();
    TupleTag<DeadLetter> deadLettersTag = Tags.deadLetters();
    List<PCollection<DeadLetter>> deadLetters = new ArrayList<>();
    if (ruleUpdates() != null) {
      TupleTag<KV<Integer, EngineInput>> updatesTag = Tags.updates();
      PCollectionTuple parsed =
          ruleUpdates()
              .apply(
                  "ParseRuleUpdates",
                  ParDo.of(new ParseRuleFn(shards, deadLettersTag))
                      .withOutputTags(updatesTag, TupleTagList.of(deadLettersTag)));
      parsed.get(deadLettersTag).setCoder(DeadLetter.DeadLetterCoder.of());
      deadLetters.add(parsed.get(deadLettersTag));
      inputs.add(
          parsed
              .get(updatesTag)
              .setCoder(inputCoder)
              .apply("RuleUpdatesToGlobalWindow", toGlobalWindow()));
    }
    PCollectionTuple judged =
        PCollectionList.of(inputs)
            .apply("MergeEngineInputs", Flatten.pCollections())
            .apply(
                "JudgeWindows",
                ParDo.of(new JudgeWindowsFn(rules(), silences(), alertsTag, deadLettersTag))
                    .withOutputTags(alertsTag, TupleTagList.of(deadLettersTag)));
    PCollection<Alert> alerts = judged.get(alertsTag).setCoder(Alert.AlertCoder.of());
    deadLetters.add(judged.get(deadLettersTag).setCoder(DeadLetter.DeadLetterCoder.of()));
    PCollection<DeadLetter> allDeadLetters =
        PCollectionList.of(deadLetters)
            .apply("MergeRuleDeadLetters", Flatten.pCollections())
            .setCoder(DeadLetter.DeadLetterCoder.of());
    return OutputWithDeadLetters.in(
        PCollectionTuple.of(alertsTag, alerts).and(deadLettersTag, allDeadLetters),
        alertsTag,
        deadLettersTag);
  }

  private static Window<KV<Integer, EngineInput>> toGlobalWindow() {
    return Window.<KV<Integer, EngineInput>>into(new GlobalWindows())
        .triggering(DefaultTrigger.of())
        .withAllowedLateness(Duration.ZERO)
        .discardingFiredPanes();
  }

  @Override
  public void populateDisplayData(DisplayData.Builder builder) {
    super.populateDisplayData(builder);
    builder.add(DisplayData.item("shards", shards()));
    builder.add(DisplayData.item("ruleUpdates", ruleUpdates() != null));
    builder.add(DisplayData.item("enrichment", enrichment() != null));
    for (Rule rule : rules()) {
      builder.add(
          DisplayData.item(
              "rule." + rule.id(),
              rule.condition() + " (" + rule.severity() + ", version " + rule.version() + ")"));
    }
    for (Silence silence : silences()) {
      builder.add(DisplayData.item("silence." + silence.id(), silence.toJson()));
    }
  }

  /** Tags made outside instance methods, so they do not capture this transform. */
  private static final class Tags {
    static TupleTag<Alert> alerts() {
      return new TupleTag<Alert>() {};
    }

    static TupleTag<DeadLetter> deadLetters() {
      return new TupleTag<DeadLetter>() {};
    }

    static TupleTag<KV<Integer, EngineInput>> updates() {
      return new TupleTag<KV<Integer, EngineInput>>() {};
    }
  }

  static int shardOf(String key, int shards) {
    return Math.floorMod(key.hashCode(), shards);
  }

  private static final class ShardStatsFn extends DoFn<WindowStats, KV<Integer, EngineInput>> {
    private final int shards;
    private final @Nullable Enrichment enrichment;

    ShardStatsFn(int shards, @Nullable Enrichment enrichment) {
      this.shards = shards;
      this.enrichment = enrichment;
    }

    @ProcessElement
    public void process(
        @Element WindowStats s,
        ProcessContext context,
        OutputReceiver<KV<Integer, EngineInput>> out) {
      EngineInput input =
          enrichment == null
              ? EngineInput.stats(s)
              : EngineInput.stats(
                  s, enrichment.rowFor(context.sideInput(enrichment.table()), s.key()));
      out.output(KV.of(shardOf(s.key(), shards), input));
    }
  }

  /**
   * Ends of closed windows: an early pane's window has not closed, so it proves nothing. One
   * element per window is evidence enough, so an instance emits each window's end once: without
   * this every pane of every key went through the global {@code Max}, a single-key shuffle of all
   * stats, and on the Direct runner (which does not lift combiners) a bag copied per bundle, time
   * quadratic in the keys (10,000 keys x 3 metrics: 270 events/s). Another instance, or this one
   * after it was discarded with a failed bundle, emits the end again; the maximum is the same.
   */
  private static final class ClosedWindowEndFn extends DoFn<WindowStats, Long> {
    private static final int REMEMBERED_WINDOWS = 4096;
    private transient Set<BoundedWindow> emitted;

    @Setup
    public void setup() {
      emitted =
          Collections.newSetFromMap(
              new LinkedHashMap<BoundedWindow, Boolean>() {
                @Override
                protected boolean removeEldestEntry(Map.Entry<BoundedWindow, Boolean> eldest) {
                  return size() > REMEMBERED_WINDOWS;
                }
              });
    }

    @ProcessElement
    public void process(@Element WindowStats s, BoundedWindow window, OutputReceiver<Long> out) {
      if (s.pane() != PaneTiming.EARLY && emitted.add(window)) {
        out.output(s.windowEnd().getMillis());
      }
    }
  }

  private static final class BroadcastEventTimeFn extends DoFn<Long, KV<Integer, EngineInput>> {
    private final int shards;

    BroadcastEventTimeFn(int shards) {
      this.shards = shards;
    }

    @ProcessElement
    public void process(@Element Long time, OutputReceiver<KV<Integer, EngineInput>> out) {
      if (time == Long.MIN_VALUE) {
        return; // Max's identity: an empty pane (a closing pane may fire with no new windows)
      }
      for (int shard = 0; shard < shards; shard++) {
        out.output(KV.of(shard, EngineInput.eventTime(time)));
      }
    }
  }

  private static final class ParseRuleFn extends DoFn<RawPayload, KV<Integer, EngineInput>> {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private final int shards;
    private final TupleTag<DeadLetter> deadLettersTag;
    private transient Counter invalid;

    ParseRuleFn(int shards, TupleTag<DeadLetter> deadLettersTag) {
      this.shards = shards;
      this.deadLettersTag = deadLettersTag;
    }

    @Setup
    public void setup() {
      invalid = Metrics.counter(METRICS_NAMESPACE, RULE_UPDATES_REJECTED);
    }

    @ProcessElement
    public void process(
        @Element RawPayload payload,
        OutputReceiver<KV<Integer, EngineInput>> updates,
        MultiOutputReceiver out) {
      String text = DeadLetter.decodeUtf8OrNull(payload.bytes());
      EngineInput update;
      try {
        if (text == null) {
          throw new IllegalArgumentException("rule update is not UTF-8 text");
        }
        update = parse(text, payload.source());
      } catch (IllegalArgumentException e) {
        invalid.inc();
        out.get(deadLettersTag)
            .output(
                DeadLetter.ofBytes(
                    STAGE,
                    Reason.INVALID_RULE,
                    e.getMessage(),
                    payload.bytes(),
                    payload.source(),
                    Instant.now()));
        return;
      }
      for (int shard = 0; shard < shards; shard++) {
        updates.output(KV.of(shard, update));
      }
    }

    /** A rule, or a silence: {@code {"silence": {...}}}. */
    private static EngineInput parse(String text, String source) {
      JsonNode tree;
      try {
        tree = MAPPER.readTree(text);
      } catch (JsonProcessingException e) {
        tree = null; // Rule.fromJson explains what is wrong with it
      }
      if (tree != null && tree.isObject() && tree.has("silence")) {
        if (tree.size() != 1) {
          throw new IllegalArgumentException(
              "a silence update is {\"silence\": {...}} with nothing beside it");
        }
        return EngineInput.silence(Silence.fromTree(tree.get("silence")), text, source);
      }
      // Parsed once: Rule.fromJson would read the text again (it explains a text that is no JSON).
      return EngineInput.rule(
          tree == null ? Rule.fromJson(text) : Rule.fromTree(tree), text, source);
    }
  }
}

package dev.sluice.transforms;

import static java.util.Objects.requireNonNull;

import com.google.auto.value.AutoValue;
import dev.sluice.model.Alert;
import dev.sluice.model.DeadLetter;
import dev.sluice.model.Event;
import dev.sluice.model.LateEvent;
import dev.sluice.model.RawPayload;
import dev.sluice.model.WindowStats;
import dev.sluice.rules.Rule;
import dev.sluice.rules.Silence;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionList;
import org.apache.beam.sdk.values.POutput;
import org.apache.beam.sdk.values.PValue;
import org.apache.beam.sdk.values.TupleTag;
import org.apache.beam.sdk.values.TypeDescriptor;
import org.checkerframework.checker.nullness.qual.Nullable;
import org.joda.time.Duration;
import org.joda.time.Instant;

/**
 * Sluice's processing in one step: raw payloads → {@link ParseEvents} → optional {@link
 * Deduplicate} → one {@link WindowedAggregate} per window → {@link EvaluateRules} → alerts; bad
 * payloads, events too late for their window and rejected rule updates become dead letters. Every
 * Sluice job (a YAML spec, the main job, the benchmarks) is this transform between a source and its
 * sinks.
 *
 * <pre>{@code
 * ComputeMetricsAndAlerts.Result result =
 *     payloads.apply("ComputeMetricsAndAlerts",
 *         ComputeMetricsAndAlerts.of(WindowedAggregate.tumbling(Duration.standardMinutes(1)))
 *             .withDeduplication(Duration.standardMinutes(10))
 *             .withRules(List.of(Rule.of("hot", "mean(temperature) > 50"))));
 * result.stats().get(0);   // window stats of the first (here: only) window
 * result.alerts();         // FIRING / RESOLVED alerts, null without rules and rule updates
 * result.late();           // events that came after their window closed ...
 * result.deadLetters();    // ... which are also here, as TOO_LATE, with every other rejection
 * }</pre>
 *
 * <p><b>Step names</b> (a contract for savepoints): {@code ParseEvents}, {@code Deduplicate},
 * {@code AggregateWindows}, {@code LateToDeadLetters}, {@code EvaluateRules} (the second window's
 * steps end in 1, the third's in 2, ...), {@code CollectAlerts}, {@code CollectLate} and {@code
 * CollectDeadLetters}.
 */
@AutoValue
public abstract class ComputeMetricsAndAlerts
    extends PTransform<PCollection<RawPayload>, ComputeMetricsAndAlerts.Result> {

  abstract ParseEvents<RawPayload> parse();

  abstract @Nullable Duration dedupHorizon();

  abstract List<WindowedAggregate> windows();

  abstract List<Rule> rules();

  abstract List<Silence> silences();

  abstract @Nullable PCollection<RawPayload> ruleUpdates();

  abstract @Nullable Enrichment enrichment();

  abstract Builder toBuilder();

  @AutoValue.Builder
  abstract static class Builder {
    abstract Builder setParse(ParseEvents<RawPayload> parse);

    abstract Builder setDedupHorizon(@Nullable Duration horizon);

    abstract Builder setWindows(List<WindowedAggregate> windows);

    abstract Builder setRules(List<Rule> rules);

    abstract Builder setSilences(List<Silence> silences);

    abstract Builder setRuleUpdates(@Nullable PCollection<RawPayload> updates);

    abstract Builder setEnrichment(@Nullable Enrichment enrichment);

    abstract ComputeMetricsAndAlerts build();
  }

  /** Parses with the data contract's field names, aggregates in each window, and has no rules. */
  public static ComputeMetricsAndAlerts of(WindowedAggregate window, WindowedAggregate... more) {
    List<WindowedAggregate> windows = new ArrayList<>();
    windows.add(requireNonNull(window, "window"));
    for (WindowedAggregate w : more) {
      windows.add(requireNonNull(w, "window"));
    }
    return of(windows);
  }

  /** As {@link #of(WindowedAggregate, WindowedAggregate...)}, for a list of one or more windows. */
  public static ComputeMetricsAndAlerts of(List<WindowedAggregate> windows) {
    if (windows.isEmpty()) {
      throw new IllegalArgumentException("windows: at least one window aggregation is needed");
    }
    return new AutoValue_ComputeMetricsAndAlerts.Builder()
        .setParse(ParseEvents.fromRawPayloads())
        .setWindows(List.copyOf(windows))
        .setRules(List.of())
        .setSilences(List.of())
        .build();
  }

  /** Parses with {@code parse} (a field mapping, limits) instead of the default. */
  public ComputeMetricsAndAlerts withParse(ParseEvents<RawPayload> parse) {
    return toBuilder().setParse(requireNonNull(parse, "parse")).build();
  }

  /**
   * Drops events whose {@code event_id} was seen within {@code horizon} before they reach the
   * windows (see {@link Deduplicate}).
   */
  public ComputeMetricsAndAlerts withDeduplication(Duration horizon) {
    Checks.positive("dedup horizon", requireNonNull(horizon, "horizon").getMillis());
    return toBuilder().setDedupHorizon(horizon).build();
  }

  /** Evaluates these rules against every window's stats (see {@link EvaluateRules}). */
  public ComputeMetricsAndAlerts withRules(List<Rule> rules) {
    return toBuilder().setRules(List.copyOf(rules)).build();
  }

  /** Silences for the rules' alerts (see {@link Silence}); more can come with the rule updates. */
  public ComputeMetricsAndAlerts withSilences(List<Silence> silences) {
    return toBuilder().setSilences(List.copyOf(silences)).build();
  }

  /**
   * Rule updates while the job runs: JSON rules, and silences as {@code {"silence": {...}}}, one
   * per payload (see {@link EvaluateRules}).
   */
  public ComputeMetricsAndAlerts withRuleUpdates(@Nullable PCollection<RawPayload> updates) {
    return toBuilder().setRuleUpdates(updates).build();
  }

  /**
   * Joins events and stats by key with a reference table: {@code ref.<column>} in the parse step's
   * filter and derive expressions, and per-key thresholds in rules ({@code mean(temperature) >
   * ref.max_temperature}).
   */
  public ComputeMetricsAndAlerts withEnrichment(@Nullable Enrichment enrichment) {
    return toBuilder().setEnrichment(enrichment).build();
  }

  /** The name of window {@code index}'s steps: "" for the first, then "1", "2", .... */
  public static String windowSuffix(int index) {
    return index == 0 ? "" : Integer.toString(index);
  }

  @Override
  public Result expand(PCollection<RawPayload> payloads) {
    ParseEvents<RawPayload> parse =
        enrichment() == null ? parse() : parse().withEnrichment(enrichment());
    OutputWithDeadLetters<Event> parsed = payloads.apply("ParseEvents", parse);
    List<PCollection<DeadLetter>> deadLetters = new ArrayList<>();
    deadLetters.add(parsed.deadLetters());
    PCollection<Event> events = parsed.output();
    if (dedupHorizon() != null) {
      events = events.apply("Deduplicate", Deduplicate.byEventId().withHorizon(dedupHorizon()));
    }
    boolean judge = !rules().isEmpty() || ruleUpdates() != null;
    List<PCollection<WindowStats>> stats = new ArrayList<>();
    List<PCollection<LateEvent>> late = new ArrayList<>();
    List<PCollection<Alert>> alerts = new ArrayList<>();
    for (int i = 0; i < windows().size(); i++) {
      String suffix = windowSuffix(i);
      WindowedAggregate.Result aggregated =
          events.apply("AggregateWindows" + suffix, windows().get(i));
      stats.add(aggregated.output());
      late.add(aggregated.late());
      // Events too late for their window join the dead letters as TOO_LATE: none is lost.
      deadLetters.add(
          aggregated
              .late()
              .apply(
                  "LateToDeadLetters" + suffix,
                  MapElements.into(TypeDescriptor.of(DeadLetter.class))
                      .via(event -> event.toDeadLetter("aggregate", Instant.now())))
              .setCoder(DeadLetter.DeadLetterCoder.of()));
      if (judge) {
        EvaluateRules evaluate = EvaluateRules.of(rules()).withSilences(silences());
        if (enrichment() != null) {
          evaluate = evaluate.withEnrichment(enrichment());
        }
        OutputWithDeadLetters<Alert> judged =
            aggregated
                .output()
                .apply(
                    "EvaluateRules" + suffix,
                    ruleUpdates() == null ? evaluate : evaluate.withRuleUpdates(ruleUpdates()));
        alerts.add(judged.output());
        deadLetters.add(judged.deadLetters());
      }
    }
    PCollection<Alert> allAlerts =
        alerts.isEmpty() ? null : flatten(alerts, "CollectAlerts", Alert.AlertCoder.of());
    PCollection<LateEvent> allLate = flatten(late, "CollectLate", LateEvent.LateEventCoder.of());
    PCollection<DeadLetter> allDeadLetters =
        PCollectionList.of(deadLetters)
            .apply("CollectDeadLetters", Flatten.pCollections())
            .setCoder(DeadLetter.DeadLetterCoder.of());
    return new Result(payloads.getPipeline(), stats, allAlerts, allLate, allDeadLetters);
  }

  private static <T> PCollection<T> flatten(
      List<PCollection<T>> parts, String name, org.apache.beam.sdk.coders.Coder<T> coder) {
    return parts.size() == 1
        ? parts.get(0)
        : PCollectionList.of(parts).apply(name, Flatten.pCollections()).setCoder(coder);
  }

  @Override
  public void populateDisplayData(DisplayData.Builder builder) {
    super.populateDisplayData(builder);
    builder.add(DisplayData.item("windows", windows().size()).withLabel("Window aggregations"));
    builder.add(DisplayData.item("rules", rules().size()).withLabel("Static rules"));
    builder.add(DisplayData.item("ruleUpdates", ruleUpdates() != null).withLabel("Rule updates"));
    builder.add(DisplayData.item("enrichment", enrichment() != null).withLabel("Enrichment"));
    if (dedupHorizon() != null) {
      builder.add(
          DisplayData.item("dedupHorizon", dedupHorizon().toString())
              .withLabel("De-duplication horizon"));
    }
  }

  /** The outputs of {@link ComputeMetricsAndAlerts}. */
  public static final class Result implements POutput {
    private final Pipeline pipeline;
    private final List<PCollection<WindowStats>> stats;
    private final @Nullable PCollection<Alert> alerts;
    private final PCollection<LateEvent> late;
    private final PCollection<DeadLetter> deadLetters;

    Result(
        Pipeline pipeline,
        List<PCollection<WindowStats>> stats,
        @Nullable PCollection<Alert> alerts,
        PCollection<LateEvent> late,
        PCollection<DeadLetter> deadLetters) {
      this.pipeline = pipeline;
      this.stats = List.copyOf(stats);
      this.alerts = alerts;
      this.late = late;
      this.deadLetters = deadLetters;
    }

    /** One {@link WindowStats} per (key, metric, window, pane), for each window in order. */
    public List<PCollection<WindowStats>> stats() {
      return stats;
    }

    /** The alerts of every window's rules; null when there are no rules and no rule updates. */
    public @Nullable PCollection<Alert> alerts() {
      return alerts;
    }

    /** Events that arrived after their window had closed (also in {@link #deadLetters}). */
    public PCollection<LateEvent> late() {
      return late;
    }

    /** Every rejection: bad payloads, duplicates' none, TOO_LATE events, bad rule updates. */
    public PCollection<DeadLetter> deadLetters() {
      return deadLetters;
    }

    @Override
    public Pipeline getPipeline() {
      return pipeline;
    }

    @Override
    public Map<TupleTag<?>, PValue> expand() {
      Map<TupleTag<?>, PValue> outputs = new LinkedHashMap<>();
      for (int i = 0; i < stats.size(); i++) {
        outputs.put(new TupleTag<WindowStats>("stats" + windowSuffix(i)), stats.get(i));
      }
      if (alerts != null) {
        outputs.put(new TupleTag<Alert>("alerts"), alerts);
      }
      outputs.put(new TupleTag<LateEvent>("late"), late);
      outputs.put(new TupleTag<DeadLetter>("deadLetters"), deadLetters);
      return outputs;
    }

    @Override
    public void finishSpecifyingOutput(
        String transformName,
        org.apache.beam.sdk.values.PInput input,
        PTransform<?, ?> transform) {}
  }
}

package dev.sluice.transforms;

import com.google.auto.value.AutoValue;
import dev.sluice.model.Alert;
import dev.sluice.model.JsonSupport;
import dev.sluice.model.WindowStats;
import java.util.List;
import java.util.Locale;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.values.PCollection;
import org.joda.time.Instant;

/**
 * Evaluates static {@link ThresholdRule}s against each window's stats and emits a {@code FIRING}
 * {@link Alert} for every (rule, window) whose condition holds.
 *
 * <pre>{@code
 * PCollection<Alert> alerts = stats.apply("EvaluateThresholds", EvaluateThresholds.of(List.of(
 *     ThresholdRule.of("hot", "temperature", Aggregate.MEAN, Comparison.GT, 40.0))));
 * }</pre>
 *
 * <p>The episode of an alert is its window, so {@code alert_id} is the fingerprint of rule, key,
 * metric and window start: identical across retries and replays. Stateless and element-wise; each
 * pane of a window is evaluated, so with early or late panes a window can alert more than once
 * under the same id.
 */
@AutoValue
public abstract class EvaluateThresholds
    extends PTransform<PCollection<WindowStats>, PCollection<Alert>> {

  public static final String METRICS_NAMESPACE = "sluice.rules";
  public static final String ALERTS_FIRED = "alerts_fired";

  abstract List<ThresholdRule> rules();

  public static EvaluateThresholds of(List<ThresholdRule> rules) {
    Checks.notNull("rules", rules);
    java.util.Set<String> ids = new java.util.HashSet<>();
    for (int i = 0; i < rules.size(); i++) {
      Checks.notNull("rules[" + i + "]", rules.get(i));
      if (!ids.add(rules.get(i).ruleId())) {
        throw new IllegalArgumentException(
            "rules["
                + i
                + "].ruleId '"
                + rules.get(i).ruleId()
                + "' is used by an earlier rule; rule ids must be unique");
      }
    }
    return new AutoValue_EvaluateThresholds(List.copyOf(rules));
  }

  @Override
  public PCollection<Alert> expand(PCollection<WindowStats> stats) {
    return stats
        .apply("EvaluateRules", ParDo.of(new EvaluateFn(rules())))
        .setCoder(Alert.AlertCoder.of());
  }

  @Override
  public void populateDisplayData(DisplayData.Builder builder) {
    super.populateDisplayData(builder);
    for (ThresholdRule rule : rules()) {
      builder.add(
          DisplayData.item(
              "rule." + rule.ruleId(),
              rule.condition() + " (" + rule.severity() + ", version " + rule.version() + ")"));
    }
  }

  private static final class EvaluateFn extends DoFn<WindowStats, Alert> {
    private final List<ThresholdRule> rules;
    private transient Counter fired;

    EvaluateFn(List<ThresholdRule> rules) {
      this.rules = rules;
    }

    @Setup
    public void setup() {
      fired = Metrics.counter(METRICS_NAMESPACE, ALERTS_FIRED);
    }

    @ProcessElement
    public void process(@Element WindowStats stats, OutputReceiver<Alert> out) {
      for (ThresholdRule rule : rules) {
        if (!rule.metric().equals(stats.metric())) {
          continue;
        }
        Double value = rule.aggregate().of(stats);
        if (value == null || !rule.comparison().holds(value, rule.threshold())) {
          continue;
        }
        fired.inc();
        out.output(
            new Alert(
                Alert.fingerprint(rule.ruleId(), stats.key(), stats.metric(), stats.windowStart()),
                rule.ruleId(),
                rule.version(),
                stats.key(),
                stats.metric(),
                Alert.Status.FIRING,
                rule.severity(),
                value,
                rule.threshold(),
                stats.windowStart(),
                stats.windowEnd(),
                String.format(
                    Locale.ROOT,
                    "%s(%s) = %.3f %s %s for key %s in window [%s, %s)",
                    rule.aggregate().name().toLowerCase(Locale.ROOT),
                    stats.metric(),
                    value,
                    rule.comparison().symbol(),
                    rule.threshold(),
                    stats.key(),
                    JsonSupport.formatInstant(stats.windowStart()),
                    JsonSupport.formatInstant(stats.windowEnd())),
                Instant.now()));
      }
    }
  }
}

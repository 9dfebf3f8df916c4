package dev.sluice.rules;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.model.Alert;
import dev.sluice.model.ModelFixtures;
import dev.sluice.model.PaneTiming;
import dev.sluice.model.WindowStats;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.joda.time.Duration;
import org.joda.time.Instant;
import org.junit.jupiter.api.Test;

/** The lifecycle rules of {@link RuleEngine} without a pipeline, one behaviour per test. */
class RuleEngineTest {
  private static final Instant NOW = Instant.parse("2026-06-01T00:00:00Z");
  private final MapStore store = new MapStore();
  private final List<String> alerts = new ArrayList<>();
  private final List<Alert> raw = new ArrayList<>();
  private final RuleEngine engine =
      new RuleEngine(
          store,
          (alert, transition) -> {
            raw.add(alert);
            alerts.add(transition + " " + alert.status() + " " + minute(alert.windowEnd()));
          });

  private static WindowStats window(int minute, double mean) {
    return ModelFixtures.onTimeMinute("k", "m", minute, 1, mean, mean, mean, 0.0);
  }

  private static WindowStats pane(int minute, double mean, PaneTiming timing, int index) {
    WindowStats w = window(minute, mean);
    return new WindowStats(
        w.key(),
        w.metric(),
        w.windowStart(),
        w.windowEnd(),
        w.count(),
        w.sum(),
        w.min(),
        w.max(),
        w.mean(),
        w.stddev(),
        w.p50(),
        w.p95(),
        w.p99(),
        w.distinct(),
        timing,
        index,
        false);
  }

  private static long minute(Instant t) {
    return (t.getMillis() - ModelFixtures.T0.getMillis()) / 60_000;
  }

  @Test
  void holdingConditionFiresOnceAndResolvesAfterClearWindows() {
    List<Rule> rules = List.of(Rule.of("r", "mean(m) > 10").withResolveAfter(2));
    double[] means = {11, 12, 13, 5, 14, 5, 5, 5};
    for (int m = 0; m < means.length; m++) {
      engine.onWindow(window(m, means[m]), rules, NOW);
    }
    assertThat(alerts).containsExactly("FIRED FIRING 1", "RESOLVED RESOLVED 7");
    assertThat(raw.get(0).alertId()).isEqualTo(raw.get(1).alertId());
    assertThat(raw.get(0).alertId()).isEqualTo(Alert.fingerprint("r", "k", "m", ModelFixtures.T0));
  }

  @Test
  void renotifiesEveryIntervalOfEventTimeWhileHolding() {
    List<Rule> rules =
        List.of(Rule.of("r", "mean(m) > 10").withRenotifyEvery(Duration.standardMinutes(3)));
    for (int m = 0; m < 8; m++) {
      engine.onWindow(window(m, 20), rules, NOW);
    }
    assertThat(alerts)
        .containsExactly("FIRED FIRING 1", "RENOTIFIED FIRING 4", "RENOTIFIED FIRING 7");
    assertThat(raw).extracting(Alert::alertId).containsOnly(raw.get(0).alertId());
  }

  @Test
  void earlyPanesCountOnlyForSpeculativeRulesAndTheFinalPaneDecides() {
    Rule cautious = Rule.of("cautious", "mean(m) > 10");
    Rule eager = Rule.of("eager", "mean(m) > 10").withSpeculative(true);
    engine.onEarlyPane(pane(0, 50, PaneTiming.EARLY, 0), List.of(cautious, eager), NOW);
    assertThat(raw).extracting(Alert::ruleId).containsExactly("eager");
    // The window closes below the threshold: the speculative alert resolves.
    engine.onWindow(pane(0, 5, PaneTiming.ON_TIME, 1), List.of(cautious, eager), NOW);
    assertThat(alerts).containsExactly("FIRED FIRING 1", "RESOLVED RESOLVED 1");
  }

  @Test
  void aLatePaneCanStartAnEpisodeButOlderWindowsCannotRewindIt() {
    List<Rule> rules = List.of(Rule.of("r", "mean(m) > 10"));
    engine.onWindow(window(0, 5), rules, NOW);
    engine.onWindow(window(1, 5), rules, NOW);
    engine.onWindow(pane(0, 50, PaneTiming.LATE, 1), rules, NOW); // older than minute 1: ignored
    assertThat(alerts).isEmpty();
    engine.onWindow(pane(1, 50, PaneTiming.LATE, 1), rules, NOW); // the latest window, corrected
    engine.onWindow(pane(1, 5, PaneTiming.LATE, 2), rules, NOW); // same window: cannot resolve
    assertThat(alerts).containsExactly("FIRED FIRING 2");
    engine.onWindow(window(2, 5), rules, NOW);
    assertThat(alerts).containsExactly("FIRED FIRING 2", "RESOLVED RESOLVED 3");
  }

  @Test
  void pausedRulesAndOtherMetricsOrKeysAreNotEvaluated() {
    engine.onWindow(window(0, 50), List.of(Rule.of("p", "mean(m) > 10").withPaused(true)), NOW);
    engine.onWindow(window(0, 50), List.of(Rule.of("o", "mean(other) > 10")), NOW);
    engine.onWindow(window(0, 50), List.of(Rule.of("x", "mean(m) > 10").withKeys("j*")), NOW);
    assertThat(alerts).isEmpty();
  }

  @Test
  void aConstantBaselineHasNoZScoreAndPercentChangeFromZeroIsUndefined() {
    List<Rule> rules =
        List.of(
            Rule.of("z", "zscore(mean(m)) > 3").withBaselineWindows(3),
            Rule.of("pct", "change(mean(m)) > 10%"));
    double[] means = {0, 0, 0, 100};
    for (int m = 0; m < means.length; m++) {
      engine.onWindow(window(m, means[m]), rules, NOW);
    }
    assertThat(alerts).isEmpty();
  }

  @Test
  void messagesRenderTheTemplateWithLabels() {
    Rule rule =
        Rule.of("hot", "mean(m) > 10")
            .withLabels(Map.of("team", "iot"))
            .withMessage(
                "{status} {rule_id} v{rule_version} {key}/{metric} {value} {condition}"
                    + " [{window_start}, {window_end}) {label.team}");
    engine.onWindow(window(0, 12.5), List.of(rule), NOW);
    assertThat(raw.get(0).message())
        .isEqualTo(
            "FIRING hot v1 k/m 12.5 mean(m) > 10"
                + " [2026-01-01T00:00:00.000Z, 2026-01-01T00:01:00.000Z) iot");
    assertThat(raw.get(0).labels()).containsEntry("team", "iot");
    assertThat(raw.get(0).emittedAt()).isEqualTo(NOW);
  }

  @Test
  void absenceNeedsEvidenceAndResolvesAfterEnoughWindowsBack() {
    Rule dead = Rule.of("dead", "absent(m) for 2m").withResolveAfter(2);
    Map<String, Rule> byId = Map.of("dead", dead);
    engine.onWindow(window(0, 1), List.of(dead), NOW); // seen until minute 1: deadline 3
    engine.onEventTime(ModelFixtures.T0.getMillis() + 2 * 60_000, byId, NOW);
    assertThat(alerts).isEmpty();
    engine.onEventTime(ModelFixtures.T0.getMillis() + 3 * 60_000, byId, NOW);
    assertThat(alerts).containsExactly("FIRED FIRING 3");
    engine.onWindow(window(5, 1), List.of(dead), NOW);
    assertThat(alerts).hasSize(1); // one window back is not enough with resolve_after 2
    engine.onWindow(window(6, 1), List.of(dead), NOW);
    assertThat(alerts).containsExactly("FIRED FIRING 3", "RESOLVED RESOLVED 7");
    assertThat(raw.get(0).alertId()).isEqualTo(raw.get(1).alertId());
    assertThat(raw.get(0).value()).isEqualTo(120.0);
  }

  @Test
  void deletingARuleResolvesItsOpenEpisodes() {
    Rule rule = Rule.of("r", "mean(m) > 10");
    engine.onWindow(window(0, 50), List.of(rule), NOW);
    engine.onRuleDeleted(Rule.deletion("r", 2), rule, NOW);
    assertThat(alerts).containsExactly("FIRED FIRING 1", "RESOLVED RESOLVED 1");
    assertThat(raw.get(1).ruleVersion()).isEqualTo(2);
    assertThat(raw.get(1).message()).contains("was deleted");
    assertThat(store.states).isEmpty();
  }

  /** An in-memory {@link RuleEngine.Store}. */
  static final class MapStore implements RuleEngine.Store {
    final Map<String, AlertState> states = new TreeMap<>();
    final Map<String, Long> deadlines = new TreeMap<>();

    @Override
    public AlertState get(String stateKey) {
      return states.get(stateKey);
    }

    @Override
    public void put(String stateKey, AlertState state) {
      states.put(stateKey, state);
    }

    @Override
    public void remove(String stateKey) {
      states.remove(stateKey);
    }

    @Override
    public Iterable<Map.Entry<String, AlertState>> states() {
      return new ArrayList<>(states.entrySet());
    }

    @Override
    public Iterable<Map.Entry<String, Long>> deadlines() {
      return new ArrayList<>(deadlines.entrySet());
    }

    @Override
    public void putDeadline(String stateKey, long deadline) {
      deadlines.put(stateKey, deadline);
    }

    @Override
    public void removeDeadline(String stateKey) {
      deadlines.remove(stateKey);
    }
  }
}

package dev.sluice.rules;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.model.Alert;
import dev.sluice.model.ModelFixtures;
import dev.sluice.model.WindowStats;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.util.CoderUtils;
import org.joda.time.Duration;
import org.joda.time.Instant;
import org.junit.jupiter.api.Test;

/**
 * {@code for} and silences in {@link RuleEngine}, without a pipeline. Alerts are written {@code
 * TRANSITION STATUS [start,end) silenced?} in minutes after {@link ModelFixtures#T0}.
 */
class RuleEnginePendingAndSilenceTest {
  private static final Instant NOW = Instant.parse("2026-06-01T00:00:00Z");
  private final RuleEngineTest.MapStore store = new RuleEngineTest.MapStore();
  private final List<String> alerts = new ArrayList<>();
  private final List<Alert> raw = new ArrayList<>();

  private RuleEngine engine(Silence... silences) {
    return new RuleEngine(
        store,
        (alert, transition) -> {
          raw.add(alert);
          alerts.add(
              transition
                  + " "
                  + alert.status()
                  + " ["
                  + minute(alert.windowStart())
                  + ","
                  + minute(alert.windowEnd())
                  + ")"
                  + (alert.silenced() ? " silenced" : ""));
        },
        List.of(silences));
  }

  private static WindowStats window(int minute, double mean) {
    return ModelFixtures.onTimeMinute("k", "m", minute, 1, mean, mean, mean, 0.0);
  }

  private static long minute(Instant t) {
    return (t.getMillis() - ModelFixtures.T0.getMillis()) / 60_000;
  }

  private static long millis(int minute) {
    return ModelFixtures.T0.getMillis() + minute * 60_000L;
  }

  private static Silence silence(int fromMinute, int toMinute) {
    return Silence.fromJson(
        "{\"id\":\"s\",\"matchers\":{\"rule\":\"r\"},\"starts_at\":\""
            + new Instant(millis(fromMinute))
            + "\",\"ends_at\":\""
            + new Instant(millis(toMinute))
            + "\"}");
  }

  @Test
  void forWaitsUntilTheConditionHeldLongEnoughAndTheEpisodeStartsWithItsFirstWindow() {
    RuleEngine engine = engine();
    List<Rule> rules =
        List.of(Rule.of("r", "mean(m) > 10").withPendingFor(Duration.standardMinutes(3)));
    double[] means = {20, 20, 20, 20, 5};
    for (int m = 0; m < means.length; m++) {
      engine.onWindow(window(m, means[m]), rules, NOW);
    }
    assertThat(alerts).containsExactly("FIRED FIRING [0,3)", "RESOLVED RESOLVED [4,5)");
    assertThat(raw.get(0).alertId()).isEqualTo(Alert.fingerprint("r", "k", "m", ModelFixtures.T0));
  }

  @Test
  void aClearWindowOrAGapStartsTheWaitOver() {
    RuleEngine engine = engine();
    List<Rule> rules =
        List.of(Rule.of("r", "mean(m) > 10").withPendingFor(Duration.standardMinutes(3)));
    // holds 0,1 then clear at 2; holds 3,4 then no window at 5 (a gap); holds 6,7,8
    int[] minutes = {0, 1, 2, 3, 4, 6, 7, 8};
    double[] means = {20, 20, 5, 20, 20, 20, 20, 20};
    for (int i = 0; i < minutes.length; i++) {
      engine.onWindow(window(minutes[i], means[i]), rules, NOW);
    }
    assertThat(alerts).containsExactly("FIRED FIRING [6,9)");
  }

  @Test
  void forOnAnAbsenceRuleExtendsTheSilenceItWaitsFor() {
    RuleEngine engine = engine();
    Rule dead = Rule.of("r", "absent(m) for 2m").withPendingFor(Duration.standardMinutes(1));
    engine.onWindow(window(0, 1), List.of(dead), NOW); // seen until minute 1: deadline 1+2+1
    engine.onEventTime(millis(3), Map.of("r", dead), NOW);
    assertThat(alerts).isEmpty();
    engine.onEventTime(millis(4), Map.of("r", dead), NOW);
    assertThat(alerts).containsExactly("FIRED FIRING [1,4)");
    assertThat(raw.get(0).threshold()).isEqualTo(120.0); // the condition's own 2m
  }

  @Test
  void aSilencedFiringIsSentWithTheFirstWindowAfterTheSilenceWhileTheEpisodeLasts() {
    RuleEngine engine = engine(silence(0, 2));
    List<Rule> rules = List.of(Rule.of("r", "mean(m) > 10"));
    double[] means = {20, 20, 20, 5};
    for (int m = 0; m < means.length; m++) {
      engine.onWindow(window(m, means[m]), rules, NOW);
    }
    assertThat(alerts)
        .containsExactly(
            "FIRED FIRING [0,1) silenced",
            "SENT_AFTER_SILENCE FIRING [2,3)",
            "RESOLVED RESOLVED [3,4)");
    assertThat(raw).extracting(Alert::alertId).containsOnly(raw.get(0).alertId());
  }

  @Test
  void anEpisodeThatEndsInsideTheSilenceIsNeverSent() {
    RuleEngine engine = engine(silence(0, 10));
    List<Rule> rules = List.of(Rule.of("r", "mean(m) > 10"));
    double[] means = {20, 5, 20, 5};
    for (int m = 0; m < means.length; m++) {
      engine.onWindow(window(m, means[m]), rules, NOW);
    }
    assertThat(alerts)
        .containsExactly(
            "FIRED FIRING [0,1) silenced",
            "RESOLVED RESOLVED [1,2) silenced",
            "FIRED FIRING [2,3) silenced",
            "RESOLVED RESOLVED [3,4) silenced");
  }

  @Test
  void aResolvedIsSentWhenItsFiringWasEvenInsideASilence() {
    RuleEngine engine = engine(silence(1, 10));
    List<Rule> rules = List.of(Rule.of("r", "mean(m) > 10"));
    engine.onWindow(window(0, 20), rules, NOW);
    engine.onWindow(window(1, 5), rules, NOW);
    assertThat(alerts).containsExactly("FIRED FIRING [0,1)", "RESOLVED RESOLVED [1,2)");
  }

  @Test
  void aSilenceThatEndsAtAWindowsEndCoversThatWindow() {
    RuleEngine engine = engine(silence(0, 1));
    engine.onWindow(window(0, 20), List.of(Rule.of("r", "mean(m) > 10")), NOW);
    assertThat(alerts).containsExactly("FIRED FIRING [0,1) silenced");
  }

  @Test
  void aSilencedAbsenceFiringIsSentWhenEventTimePassesTheSilencesEnd() {
    RuleEngine engine = engine(silence(0, 6));
    Rule dead = Rule.of("r", "absent(m) for 2m");
    Map<String, Rule> byId = Map.of("r", dead);
    engine.onWindow(window(0, 1), List.of(dead), NOW);
    engine.onEventTime(millis(3), byId, NOW);
    engine.onEventTime(millis(5), byId, NOW);
    assertThat(alerts).containsExactly("FIRED FIRING [1,3) silenced");
    engine.onEventTime(millis(7), byId, NOW);
    assertThat(alerts)
        .containsExactly("FIRED FIRING [1,3) silenced", "SENT_AFTER_SILENCE FIRING [1,7)");
  }

  @Test
  void renotificationsInsideASilenceAreSilenced() {
    RuleEngine engine = engine(silence(2, 4));
    List<Rule> rules =
        List.of(Rule.of("r", "mean(m) > 10").withRenotifyEvery(Duration.standardMinutes(2)));
    for (int m = 0; m < 7; m++) {
      engine.onWindow(window(m, 20), rules, NOW);
    }
    assertThat(alerts)
        .containsExactly(
            "FIRED FIRING [0,1)",
            "RENOTIFIED FIRING [2,3) silenced",
            "RENOTIFIED FIRING [4,5)",
            "RENOTIFIED FIRING [6,7)");
  }

  @Test
  void stateWrittenBeforeTheNewFieldsStillDecodes() throws Exception {
    AlertState s = AlertState.fresh("mean(m) > 10");
    s.firing = true;
    s.episodeStart = 5L;
    s.lastWindowEnd = 60_000L;
    s.lastNotified = 60_000L;
    s.pendingSince = 7L;
    s.unsent = true;
    assertThat(CoderUtils.clone(AlertState.coder(), s)).isEqualTo(s);
    // The unversioned layout: condition, firing, episodeStart, clearCount, lastWindowEnd,
    // lastNotified, previous, baseline, silentSince.
    java.io.ByteArrayOutputStream old = new java.io.ByteArrayOutputStream();
    org.apache.beam.sdk.coders.StringUtf8Coder.of().encode("mean(m) > 10", old);
    org.apache.beam.sdk.coders.BooleanCoder.of().encode(true, old);
    for (long v : new long[] {5L}) {
      org.apache.beam.sdk.coders.BooleanCoder.of().encode(true, old);
      org.apache.beam.sdk.coders.VarLongCoder.of().encode(v, old);
    }
    org.apache.beam.sdk.coders.VarIntCoder.of().encode(0, old);
    for (long v : new long[] {60_000L, 60_000L}) {
      org.apache.beam.sdk.coders.BooleanCoder.of().encode(true, old);
      org.apache.beam.sdk.coders.VarLongCoder.of().encode(v, old);
    }
    org.apache.beam.sdk.coders.BooleanCoder.of().encode(false, old);
    org.apache.beam.sdk.coders.VarIntCoder.of().encode(0, old);
    org.apache.beam.sdk.coders.BooleanCoder.of().encode(false, old);
    AlertState decoded = CoderUtils.decodeFromByteArray(AlertState.coder(), old.toByteArray());
    s.pendingSince = null;
    s.unsent = false;
    assertThat(decoded).isEqualTo(s);
  }
}

package dev.sluice.transforms;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.model.Alert;
import dev.sluice.model.DeadLetter;
import dev.sluice.model.Event;
import dev.sluice.model.ModelFixtures;
import dev.sluice.model.RawPayload;
import dev.sluice.model.ReferenceTable;
import dev.sluice.rules.Condition;
import dev.sluice.rules.Rule;
import dev.sluice.rules.Silence;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestStream;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.View;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PBegin;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.PCollectionView;
import org.apache.beam.sdk.values.TimestampedValue;
import org.apache.beam.sdk.values.TupleTag;
import org.apache.beam.sdk.values.TupleTagList;
import org.joda.time.Duration;
import org.joda.time.Instant;

/**
 * Alerting scenarios: events through one-minute windows into {@link EvaluateRules}, staged with a
 * TestStream that also carries rule updates, and the exact alerts and dead letters expected. Each
 * alert is written {@code STATUS rule vN key metric [start,end) value} with times in minutes after
 * {@link ModelFixtures#T0}. The same scenarios run on the Direct runner and on embedded Flink.
 */
enum RuleScenarios {
  /** A flapping signal: resolve_after 2 damps it into exactly two episodes. */
  THRESHOLD_LIFECYCLE_WITH_FLAPPING(
      (p, source) -> {
        Script s = new Script();
        double[] a = {70, 90, 70, 90, 70, 70, 95, 60, 60};
        for (int m = 0; m < a.length; m++) {
          s.event("a", "temperature", m, a[m]).event("b", "temperature", m, 55);
          s.watermark(m + 1);
        }
        List<Rule> rules =
            List.of(
                Rule.of("hot", "mean(temperature) > 80").withResolveAfter(2).withKeys("a*"),
                Rule.of("warm-b", "max(temperature) >= 55").withKeys("b"));
        Outputs out = s.run(p, source, rules);
        expectAlerts(
            out.alerts,
            "FIRING hot v1 a temperature [1,2) 90",
            "RESOLVED hot v1 a temperature [5,6) 70",
            "FIRING hot v1 a temperature [6,7) 95",
            "RESOLVED hot v1 a temperature [8,9) 60",
            "FIRING warm-b v1 b temperature [0,1) 55");
        PAssert.that(out.deadLetters).empty();
      }),

  /** Change between consecutive windows, in percent and absolute. */
  RATE_OF_CHANGE(
      (p, source) -> {
        Script s = new Script();
        double[] a = {10, 12, 20, 21, 10};
        for (int m = 0; m < a.length; m++) {
          s.event("a", "temperature", m, a[m]).watermark(m + 1);
        }
        Outputs out =
            s.run(
                p,
                source,
                List.of(
                    Rule.of("jump", "change(mean(temperature)) > 50%"),
                    Rule.of("drop", "change(mean(temperature)) < -5")));
        expectAlerts(
            out.alerts,
            "FIRING jump v1 a temperature [2,3) 66.6667",
            "RESOLVED jump v1 a temperature [3,4) 5",
            "FIRING drop v1 a temperature [4,5) -11");
      }),

  /** A z-score against the key's own last four windows. */
  ANOMALY_AGAINST_OWN_BASELINE(
      (p, source) -> {
        Script s = new Script();
        double[] x = {10, 12, 10, 12, 20, 11};
        for (int m = 0; m < x.length; m++) {
          s.event("api", "latency_ms", m, x[m]).event("db", "latency_ms", m, 100 + m % 2);
          s.watermark(m + 1);
        }
        Outputs out =
            s.run(
                p,
                source,
                List.of(Rule.of("odd", "zscore(mean(latency_ms)) > 3").withBaselineWindows(4)));
        expectAlerts(
            out.alerts,
            "FIRING odd v1 api latency_ms [4,5) 9",
            "RESOLVED odd v1 api latency_ms [5,6) -0.650945");
      }),

  /**
   * A dead sensor: key a is silent from minute 3 to 7 while b keeps sending, so absence fires at
   * the deadline (minute 6) and resolves when a is back. The end of the input is not silence.
   */
  ABSENCE_FIRES_WHEN_SILENT_AND_RESOLVES_ON_RETURN(
      (p, source) -> {
        Script s = new Script();
        for (int m = 0; m < 10; m++) {
          if (m < 3 || m >= 7) {
            s.event("a", "temperature", m, 20);
          }
          s.event("b", "temperature", m, 21).watermark(m + 1);
        }
        Outputs out =
            s.run(p, source, List.of(Rule.of("dead-sensor", "absent(temperature) for 3m")));
        expectAlerts(
            out.alerts,
            "FIRING dead-sensor v1 a temperature [3,6) 180",
            "RESOLVED dead-sensor v1 a temperature [7,8) 240");
      }),

  /**
   * Rules changed while the pipeline runs: v2 raises the threshold (the open alert resolves under
   * v2 and a new one fires under v2), invalid and stale updates go to dead letters without
   * disturbing v2, a repeated v2 is ignored, and v3 deletes the rule, resolving its open alert.
   */
  RULES_CHANGED_MID_STREAM(
      (p, source) -> {
        String v1 = "{\"id\":\"hot\",\"version\":1,\"condition\":\"mean(temperature) > 80\"}";
        String v2 =
            "{\"id\":\"hot\",\"version\":2,\"condition\":\"mean(temperature) > 95\","
                + "\"severity\":\"CRITICAL\",\"labels\":{\"team\":\"iot\"}}";
        String invalid = "{\"id\":\"bad\",\"condition\":\"avg(temperature) > 1\"}";
        String stale = "{\"id\":\"hot\",\"version\":1,\"condition\":\"mean(temperature) > 1\"}";
        String v3 = "{\"id\":\"hot\",\"version\":3,\"deleted\":true}";
        Script s = new Script().rule(v1);
        s.event("a", "temperature", 0, 90).event("a", "temperature", 1, 90).watermark(2).settle();
        s.rule(v2).rule(invalid).rule(stale).rule(v2);
        s.event("a", "temperature", 2, 90).event("a", "temperature", 3, 99).watermark(4).settle();
        s.rule(v3);
        s.event("a", "temperature", 4, 99).watermark(5);
        Outputs out = s.run(p, source, List.of());
        expectAlerts(
            out.alerts,
            "FIRING hot v1 a temperature [0,1) 90",
            "RESOLVED hot v2 a temperature [2,3) 90",
            "FIRING hot v2 a temperature [3,4) 99",
            "RESOLVED hot v3 a temperature [3,4) 0");
        PAssert.that(out.deadLetters)
            .satisfies(
                all -> {
                  List<String> got = new ArrayList<>();
                  for (DeadLetter d : all) {
                    got.add(d.reason() + " " + d.payload() + " " + d.source());
                    assertThat(d.error()).isNotBlank();
                  }
                  assertThat(got)
                      .containsExactlyInAnyOrder(
                          "INVALID_RULE " + invalid + " test:rules",
                          "RULE_VERSION_CONFLICT " + stale + " test:rules");
                  return null;
                });
        PAssert.that(out.alerts)
            .satisfies(
                all -> {
                  for (Alert alert : all) {
                    if (alert.ruleVersion() == 2) {
                      assertThat(alert.severity()).isEqualTo(Alert.Severity.CRITICAL);
                      assertThat(alert.labels()).containsEntry("team", "iot");
                    }
                  }
                  return null;
                });
      }),

  /**
   * Each key's threshold from its reference row: a at 50 fires, b at 80 does not, c has no row and
   * is skipped (it neither fires nor resolves); a rule update to a fixed threshold applies to all.
   */
  PER_KEY_THRESHOLDS_FROM_REFERENCE(
      (p, source) -> {
        Script s = new Script();
        for (int m = 0; m < 3; m++) {
          s.event("a", "temperature", m, 60).event("b", "temperature", m, 60);
          s.event("c", "temperature", m, 90).watermark(m + 1);
        }
        s.settle().rule("{\"id\":\"hot\",\"version\":2,\"condition\":\"mean(temperature) > 85\"}");
        s.event("c", "temperature", 3, 90).watermark(4);
        Outputs out =
            s.run(
                p,
                source,
                List.of(Rule.of("hot", "mean(temperature) > ref.max_temperature")),
                Map.of("a", 50.0, "b", 80.0),
                null);
        expectAlerts(
            out.alerts,
            "FIRING hot v1 a temperature [0,1) 60",
            "FIRING hot v2 c temperature [3,4) 90");
        expectThresholds(out.alerts, "a=50.0", "c=85.0");
        PAssert.that(out.deadLetters).empty();
      }),

  /** With defaults, a key without a row takes the default threshold. */
  PER_KEY_THRESHOLDS_WITH_DEFAULTS(
      (p, source) -> {
        Script s = new Script();
        for (int m = 0; m < 2; m++) {
          s.event("a", "temperature", m, 60).event("c", "temperature", m, m == 0 ? 70 : 40);
          s.watermark(m + 1);
        }
        Outputs out =
            s.run(
                p,
                source,
                List.of(Rule.of("hot", "mean(temperature) > ref.max_temperature")),
                Map.of("a", 65.0),
                Map.of("max_temperature", 55.0));
        expectAlerts(
            out.alerts,
            "FIRING hot v1 c temperature [0,1) 70",
            "RESOLVED hot v1 c temperature [1,2) 40");
        expectThresholds(out.alerts, "c=55.0", "c=55.0");
        PAssert.that(out.deadLetters).empty();
      }),

  /**
   * {@code for: 3m}: a holds from minute 1 on and fires once three windows held, its episode
   * starting with the first; b flaps (two windows hot, one cool) and never fires; {@code for: 1m}
   * on an absence of 2m fires for dead-c a minute after the bare deadline.
   */
  PENDING_FOR_WITH_AND_WITHOUT_FLAPPING(
      (p, source) -> {
        Script s = new Script();
        double[] b = {90, 90, 60, 90, 90, 60, 90, 90};
        for (int m = 0; m < b.length; m++) {
          s.event("a", "temperature", m, m == 0 ? 60 : 90).event("b", "temperature", m, b[m]);
          if (m < 2) {
            s.event("dead-c", "temperature", m, 20);
          }
          s.watermark(m + 1);
        }
        Outputs out =
            s.run(
                p,
                source,
                List.of(
                    Rule.of("hot", "mean(temperature) > 80")
                        .withKeys("?")
                        .withPendingFor(Time.minutes(3)),
                    Rule.of("dead", "absent(temperature) for 2m")
                        .withKeys("dead-*")
                        .withPendingFor(Time.minutes(1))));
        expectAlerts(
            out.alerts,
            "FIRING hot v1 a temperature [1,4) 90",
            "FIRING dead v1 dead-c temperature [2,5) 180");
        PAssert.that(out.deadLetters).empty();
      }),

  /**
   * Static silences in event time: a weekly window, Sunday 01:30 to 03:30 in Europe/Berlin, on the
   * night clocks go forward (2026-03-29: 00:30Z to 01:30Z, one hour, not two), and a range on
   * web-1. Both keys flap every 20 minutes. A transition inside a silence is emitted silenced; an
   * episode whose FIRING was silenced resolves silenced; one still firing when the silence ends
   * sends its FIRING then.
   */
  SILENCES_BY_RANGE_AND_WEEKLY_WINDOW_ACROSS_A_DAYLIGHT_SAVING_CHANGE(
      (p, source) -> {
        Script s = new Script(Time.DST_SUNDAY);
        for (int m = 0; m <= 140; m += 20) {
          s.event("db-1", "temperature", m, m % 40 == 0 ? 90 : 60);
          s.event("web-1", "temperature", m, m <= 60 ? 90 : 60).watermark(m + 1);
        }
        Outputs out =
            s.run(
                p,
                source,
                List.of(Rule.of("hot", "max(temperature) > 80")),
                List.of(
                    Silence.fromJson(
                        "{\"id\":\"db-nights\",\"matchers\":{\"key\":\"db-*\"},"
                            + "\"weekly\":{\"days\":[\"SUN\"],\"from\":\"01:30\","
                            + "\"to\":\"03:30\",\"time_zone\":\"Europe/Berlin\"}}"),
                    Silence.fromJson(
                        "{\"id\":\"web-deploy\",\"matchers\":{\"key\":\"web-1\","
                            + "\"rule\":\"h*\"},\"starts_at\":\"2026-03-29T00:00:00Z\","
                            + "\"ends_at\":\"2026-03-29T00:30:00Z\"}")));
        expectAlertsFrom(
            Time.DST_SUNDAY,
            out.alerts,
            "FIRING hot v1 db-1 temperature [0,1) 90",
            "RESOLVED hot v1 db-1 temperature [20,21) 60",
            "FIRING hot v1 db-1 temperature [40,41) 90 silenced",
            "RESOLVED hot v1 db-1 temperature [60,61) 60 silenced",
            "FIRING hot v1 db-1 temperature [80,81) 90 silenced",
            "RESOLVED hot v1 db-1 temperature [100,101) 60 silenced",
            "FIRING hot v1 db-1 temperature [120,121) 90",
            "RESOLVED hot v1 db-1 temperature [140,141) 60",
            "FIRING hot v1 web-1 temperature [0,1) 90 silenced",
            "FIRING hot v1 web-1 temperature [40,41) 90",
            "RESOLVED hot v1 web-1 temperature [80,81) 60");
        PAssert.that(out.deadLetters).empty();
      }),

  /**
   * Silences sent on the rule-update channel: s1 silences a, then its deletion lets a's held-back
   * FIRING out with a's next window; s2 silences b for two minutes and b's FIRING goes out when it
   * ends; an invalid silence and a stale version of s1 are dead letters.
   */
  RUNTIME_SILENCES(
      (p, source) -> {
        String s1 =
            "{\"silence\":{\"id\":\"s1\",\"matchers\":{\"key\":\"a\"},"
                + "\"starts_at\":\"2026-01-01T00:00:00Z\",\"ends_at\":\"2026-01-02T00:00:00Z\"}}";
        String s1Deleted = "{\"silence\":{\"id\":\"s1\",\"version\":2,\"deleted\":true}}";
        String s2 =
            "{\"silence\":{\"id\":\"s2\",\"matchers\":{\"key\":\"b\"},"
                + "\"starts_at\":\"2026-01-01T00:02:00Z\",\"ends_at\":\"2026-01-01T00:04:00Z\"}}";
        String invalid = "{\"silence\":{\"id\":\"s3\",\"matchers\":{\"key\":\"a\"}}}";
        Script s = new Script().rule(s1).rule(s2);
        s.event("a", "temperature", 0, 90).event("a", "temperature", 1, 90).watermark(2).settle();
        s.rule(s1Deleted).rule(invalid).rule(s1);
        for (int m = 2; m < 6; m++) {
          s.event("a", "temperature", m, 90).event("b", "temperature", m, 90).watermark(m + 1);
        }
        Outputs out = s.run(p, source, List.of(Rule.of("hot", "mean(temperature) > 80")));
        expectAlerts(
            out.alerts,
            "FIRING hot v1 a temperature [0,1) 90 silenced",
            "FIRING hot v1 a temperature [2,3) 90",
            "FIRING hot v1 b temperature [2,3) 90 silenced",
            "FIRING hot v1 b temperature [4,5) 90");
        PAssert.that(out.deadLetters)
            .satisfies(
                all -> {
                  List<String> got = new ArrayList<>();
                  for (DeadLetter d : all) {
                    got.add(d.reason() + " " + d.payload());
                    assertThat(d.error()).startsWith("silence '");
                  }
                  assertThat(got)
                      .containsExactlyInAnyOrder(
                          "INVALID_RULE " + invalid, "RULE_VERSION_CONFLICT " + s1);
                  return null;
                });
      });

  private final Scenario scenario;

  RuleScenarios(Scenario scenario) {
    this.scenario = scenario;
  }

  void applyTo(Pipeline pipeline, Source source) {
    scenario.apply(pipeline, source);
  }

  /** Makes the pipeline's input from a script: the TestStream itself, or a replay of it. */
  interface Source {
    PTransform<PBegin, PCollection<KV<String, String>>> apply(
        TestStream<KV<String, String>> script);
  }

  @FunctionalInterface
  interface Scenario {
    void apply(Pipeline pipeline, Source source);
  }

  /** The two outputs of {@link EvaluateRules}. */
  record Outputs(PCollection<Alert> alerts, PCollection<DeadLetter> deadLetters) {}

  /** Builds a TestStream of events and rule updates (tagged {@code event} / {@code rule}). */
  static final class Script {
    private TestStream.Builder<KV<String, String>> builder =
        TestStream.create(KvCoder.of(StringUtf8Coder.of(), StringUtf8Coder.of()));
    private final Instant origin;
    private Instant watermark;
    private int seq;

    Script() {
      this(Time.T0);
    }

    /** A script whose minutes count from {@code origin}. */
    Script(Instant origin) {
      this.origin = origin;
      this.watermark = origin;
    }

    Script event(String key, String metric, int minute, double value) {
      Instant at = origin.plus(Duration.standardMinutes(minute)).plus(Duration.standardSeconds(30));
      Event e = new Event("e" + seq++, key, metric, value, at, null);
      builder = builder.addElements(TimestampedValue.of(KV.of("event", e.toJson()), at));
      return this;
    }

    Script rule(String json) {
      builder = builder.addElements(TimestampedValue.of(KV.of("rule", json), watermark));
      return this;
    }

    Script watermark(int minute) {
      watermark = origin.plus(Duration.standardMinutes(minute));
      builder = builder.advanceWatermarkTo(watermark);
      return this;
    }

    /**
     * Nudges the watermark forward a few milliseconds at a time, so that on runners that forward a
     * held-back watermark only when the next one arrives (Flink) every window already closed is
     * judged before the script goes on: a rule update applies from its arrival on, so the scenario
     * must know which windows came before it.
     */
    Script settle() {
      for (int i = 0; i < 4; i++) {
        watermark = watermark.plus(Duration.millis(1));
        builder = builder.advanceWatermarkTo(watermark);
      }
      return this;
    }

    Outputs run(Pipeline p, Source source, List<Rule> rules) {
      return run(p, source, rules, null, null);
    }

    Outputs run(Pipeline p, Source source, List<Rule> rules, List<Silence> silences) {
      return run(p, source, rules, null, null, silences);
    }

    /**
     * With enrichment: {@code maxTemperatures} is the reference column {@code max_temperature} by
     * key; {@code defaults}, if not null, the values of keys without a row.
     */
    Outputs run(
        Pipeline p,
        Source source,
        List<Rule> rules,
        Map<String, Double> maxTemperatures,
        Map<String, Double> defaults) {
      return run(p, source, rules, maxTemperatures, defaults, List.of());
    }

    private Outputs run(
        Pipeline p,
        Source source,
        List<Rule> rules,
        Map<String, Double> maxTemperatures,
        Map<String, Double> defaults,
        List<Silence> silences) {
      TestStream<KV<String, String>> stream = builder.advanceWatermarkToInfinity();
      EvaluateRules evaluate = EvaluateRules.of(rules).withSilences(silences);
      if (maxTemperatures != null) {
        Map<String, Map<String, Double>> rows = new HashMap<>();
        maxTemperatures.forEach((key, max) -> rows.put(key, Map.of("max_temperature", max)));
        PCollectionView<ReferenceTable> table =
            p.apply(
                    "ReferenceRows",
                    Create.of(ReferenceTable.of(rows, "test", Time.T0))
                        .withCoder(ReferenceTable.ReferenceTableCoder.of()))
                .apply("ReferenceView", View.asSingleton());
        Enrichment enrichment = Enrichment.of(table);
        evaluate =
            evaluate.withEnrichment(
                defaults == null ? enrichment : enrichment.withDefaults(defaults));
      }
      PCollectionTuple split =
          p.apply(source.apply(stream))
              .apply(
                  "SplitScript",
                  ParDo.of(new SplitFn()).withOutputTags(EVENTS, TupleTagList.of(RULES)));
      PCollection<RawPayload> updates = split.get(RULES).setCoder(RawPayload.RawPayloadCoder.of());
      OutputWithDeadLetters<Alert> result =
          split
              .get(EVENTS)
              .setCoder(Event.EventCoder.of())
              .apply(WindowedAggregate.tumbling(Time.MINUTE).withQuantiles(false))
              .output()
              .apply(evaluate.withRuleUpdates(updates));
      return new Outputs(result.output(), result.deadLetters());
    }
  }

  private static final TupleTag<Event> EVENTS = new TupleTag<Event>() {};
  private static final TupleTag<RawPayload> RULES = new TupleTag<RawPayload>() {};

  private static final class SplitFn extends DoFn<KV<String, String>, Event> {
    @ProcessElement
    public void process(@Element KV<String, String> line, MultiOutputReceiver out) {
      if (line.getKey().equals("event")) {
        out.get(EVENTS).output(Event.fromJson(line.getValue()));
      } else {
        out.get(RULES)
            .output(new RawPayload(line.getValue().getBytes(StandardCharsets.UTF_8), "test:rules"));
      }
    }
  }

  /**
   * Asserts the alerts exactly (order aside), that FIRING and RESOLVED of one episode share one
   * deterministic id, and that every id is the fingerprint of its episode.
   */
  static void expectAlerts(PCollection<Alert> alerts, String... expected) {
    expectAlertsFrom(Time.T0, alerts, expected);
  }

  /** {@link #expectAlerts} with times in minutes after {@code origin}. */
  static void expectAlertsFrom(Instant origin, PCollection<Alert> alerts, String... expected) {
    PAssert.that(alerts)
        .satisfies(
            all -> {
              List<String> got = new ArrayList<>();
              Map<String, String> firingIdByEpisodeKey = new HashMap<>();
              for (Alert a : all) {
                got.add(describe(a, origin));
                assertThat(a.alertId()).matches("[0-9a-f]{32}");
                String episodeKey = a.ruleId() + "/" + a.key() + "/" + a.metric();
                if (a.status() == Alert.Status.FIRING) {
                  firingIdByEpisodeKey.put(episodeKey + "/" + a.alertId(), a.alertId());
                }
              }
              assertThat(got).containsExactlyInAnyOrder(expected);
              for (Alert a : all) {
                if (a.status() == Alert.Status.RESOLVED) {
                  String episodeKey = a.ruleId() + "/" + a.key() + "/" + a.metric();
                  assertThat(firingIdByEpisodeKey)
                      .as("RESOLVED %s has the id of a FIRING alert", describe(a, origin))
                      .containsKey(episodeKey + "/" + a.alertId());
                }
              }
              return null;
            });
  }

  /** The thresholds of the alerts, as {@code key=threshold}, in any order. */
  static void expectThresholds(PCollection<Alert> alerts, String... expected) {
    PAssert.that(alerts)
        .satisfies(
            all -> {
              List<String> got = new ArrayList<>();
              for (Alert a : all) {
                got.add(a.key() + "=" + a.threshold());
              }
              assertThat(got).containsExactlyInAnyOrder(expected);
              return null;
            });
  }

  static String describe(Alert a) {
    return describe(a, Time.T0);
  }

  static String describe(Alert a, Instant origin) {
    return a.status()
        + " "
        + a.ruleId()
        + " v"
        + a.ruleVersion()
        + " "
        + a.key()
        + " "
        + a.metric()
        + " ["
        + minutes(a.windowStart(), origin)
        + ","
        + minutes(a.windowEnd(), origin)
        + ") "
        + Condition.compact(a.value())
        + (a.silenced() ? " silenced" : "");
  }

  private static String minutes(Instant t, Instant origin) {
    return Condition.compact((t.getMillis() - origin.getMillis()) / 60_000.0);
  }

  /** Constants the scenarios use (an enum constant may not name its enum's static fields). */
  static final class Time {
    static final Instant T0 = ModelFixtures.T0;
    static final Duration MINUTE = Duration.standardMinutes(1);

    /** Midnight UTC on the Sunday Europe/Berlin's clocks go forward (02:00 CET to 03:00 CEST). */
    static final Instant DST_SUNDAY = Instant.parse("2026-03-29T00:00:00Z");

    static Duration minutes(int n) {
      return Duration.standardMinutes(n);
    }
  }
}

package dev.sluice.rules;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.model.Alert.Severity;
import dev.sluice.rules.Condition.Kind;
import java.util.Map;
import org.apache.beam.sdk.testing.CoderProperties;
import org.joda.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class RuleTest {

  @Test
  void eachKindIsReadFromJson() {
    Rule threshold =
        Rule.fromJson(
            "{\"id\":\"slow\",\"version\":3,\"condition\":\"p99(latency_ms) >= 500\","
                + "\"severity\":\"critical\",\"labels\":{\"team\":\"api\"},\"keys\":\"/v1/*\","
                + "\"resolve_after\":2,\"renotify_every\":\"30m\",\"speculative\":true,"
                + "\"message\":\"{key} p99 {value} ms\"}");
    assertThat(threshold.condition())
        .isEqualTo(
            new Condition(
                Kind.THRESHOLD, Aggregate.P99, "latency_ms", Comparison.GE, 500, false, null));
    assertThat(threshold.version()).isEqualTo(3);
    assertThat(threshold.severity()).isEqualTo(Severity.CRITICAL);
    assertThat(threshold.labels()).isEqualTo(Map.of("team", "api"));
    assertThat(threshold.keys().matches("/v1/orders")).isTrue();
    assertThat(threshold.resolveAfter()).isEqualTo(2);
    assertThat(threshold.renotifyEvery()).isEqualTo(Duration.standardMinutes(30));
    assertThat(threshold.speculative()).isTrue();

    Rule rate = Rule.fromJson("{\"id\":\"jump\",\"condition\":\"change(mean(t)) < -20%\"}");
    assertThat(rate.condition().kind()).isEqualTo(Kind.RATE_OF_CHANGE);
    assertThat(rate.condition().percent()).isTrue();
    assertThat(rate.condition().threshold()).isEqualTo(-20.0);

    Rule anomaly =
        Rule.fromJson(
            "{\"id\":\"odd\",\"condition\":\"zscore(mean(amount)) > 3\",\"baseline_windows\":30}");
    assertThat(anomaly.condition().kind()).isEqualTo(Kind.ANOMALY);
    assertThat(anomaly.baselineWindows()).isEqualTo(30);

    Rule absence = Rule.fromJson("{\"id\":\"dead\",\"condition\":\"absent(*) for 5m\"}");
    assertThat(absence.condition().kind()).isEqualTo(Kind.ABSENCE);
    assertThat(absence.condition().silentFor()).isEqualTo(Duration.standardMinutes(5));
    assertThat(absence.appliesTo("any-key", "any-metric")).isTrue();

    Rule deletion = Rule.fromJson("{\"id\":\"dead\",\"version\":2,\"deleted\":true}");
    assertThat(deletion).isEqualTo(Rule.deletion("dead", 2));
  }

  @Test
  void jsonAndCoderRoundTrip() throws Exception {
    Rule[] rules = {
      Rule.of("hot", "mean(temperature) > 80.5")
          .withSeverity(Severity.INFO)
          .withLabels(Map.of("b", "2", "a", "1"))
          .withKeys("sensor-?")
          .withResolveAfter(3)
          .withRenotifyEvery(Duration.standardSeconds(90))
          .withMessage("{status}: {label.a} {key}")
          .withPaused(true),
      Rule.of("odd", "zscore(p50(x)) <= -2.5").withBaselineWindows(5),
      Rule.of("dead", "absent(temperature) for 90s"),
      Rule.of("jump", "change(distinct(user)) > 100"),
      Rule.deletion("gone", 7)
    };
    for (Rule rule : rules) {
      assertThat(Rule.fromJson(rule.toJson())).isEqualTo(rule);
      CoderProperties.coderDecodeEncodeEqual(Rule.RuleCoder.of(), rule);
      if (!rule.deleted()) {
        assertThat(Condition.parse(rule.condition().toString())).isEqualTo(rule.condition());
      }
    }
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "avg(temperature) > 1 | unknown aggregate 'avg'; use one of count, sum, min, max, mean",
        "mean temperature > 1 | is not understood; use e.g. mean(temperature) > 80",
        "mean(temperature) = 1 | is not understood",
        "mean(temperature) > hot | is not understood",
        "absent(temperature) for 5 minutes | \"5 minutes\" is not a duration; use 500ms, 30s, 5m",
        "absent(temperature) > 1 | absence takes a duration",
        "absent(temperature) for 0s | the silence must be longer than 0",
        "mean(*) > 1 | only absence conditions may use the metric *",
        "mean(t) > 1e400 | is not a finite number",
      })
  void badConditionsSayWhatIsAllowed(String condition, String message) {
    assertThatThrownBy(() -> Rule.of("r", condition))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("rule 'r': ")
        .hasMessageContaining(message.trim());
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "{\"id\":\"r\",\"condition\":\"mean(t) > 1\",\"treshold\":2}"
            + " | rule 'r': unknown field 'treshold'; allowed: id, version, condition",
        "{\"condition\":\"mean(t) > 1\"} | field 'id' is required",
        "{\"id\":\"r\"} | rule 'r': field 'condition' is required",
        "{\"id\":\"r s\",\"condition\":\"mean(t) > 1\"} | rule id must match",
        "{\"id\":\"r\",\"version\":0,\"condition\":\"mean(t) > 1\"}"
            + " | rule 'r': version must be at least 1, got 0",
        "{\"id\":\"r\",\"version\":\"2\",\"condition\":\"mean(t) > 1\"}"
            + " | rule 'r': field 'version' must be an integer",
        "{\"id\":\"r\",\"condition\":\"mean(t) > 1\",\"severity\":\"URGENT\"}"
            + " | rule 'r': severity 'URGENT' is not one of INFO, WARNING, CRITICAL",
        "{\"id\":\"r\",\"condition\":\"mean(t) > 1\",\"resolve_after\":0}"
            + " | rule 'r': resolve_after must be from 1 to 1000 windows, got 0",
        "{\"id\":\"r\",\"condition\":\"change(mean(t)) > 1\",\"speculative\":true}"
            + " | rule 'r': speculative applies to threshold rules only",
        "{\"id\":\"r\",\"condition\":\"absent(t) for 1m\",\"renotify_every\":\"5m\"}"
            + " | rule 'r': renotify_every applies to window rules, not to absence rules",
        "{\"id\":\"r\",\"condition\":\"mean(t) > 1\",\"baseline_windows\":5}"
            + " | rule 'r': baseline_windows applies to anomaly rules only",
        "{\"id\":\"r\",\"condition\":\"zscore(mean(t)) > 1\",\"baseline_windows\":1}"
            + " | rule 'r': baseline_windows must be from 2 to 1000, got 1",
        "{\"id\":\"r\",\"condition\":\"mean(t) > 1\",\"labels\":{\"team\":1}}"
            + " | rule 'r': label 'team' must be a string",
        "{\"id\":\"r\",\"condition\":\"mean(t) > 1\",\"message\":\"{host} is hot\"}"
            + " | rule 'r': message: unknown placeholder {host}",
        "{\"id\":\"r\",\"condition\":\"mean(t) > 1\",\"renotify_every\":\"often\"}"
            + " | rule 'r': renotify_every: \"often\" is not a duration",
        "{\"id\":\"r\",\"condition\":\"mean(t) > 1\",\"paused\":\"yes\"}"
            + " | rule 'r': field 'paused' must be true or false",
        "{\"id\":\"r\",\"condition\":\"mean(t) > 1\"  | rule is not valid JSON",
        "[1] | a rule must be a JSON object",
      })
  void badRulesNameTheFieldAndValue(String json, String message) {
    assertThatThrownBy(() -> Rule.fromJson(json))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(message.trim());
  }

  @Test
  void keyFiltersAreExactOrGlobs() {
    assertThat(new KeyFilter("sensor-7").matches("sensor-7")).isTrue();
    assertThat(new KeyFilter("sensor-7").matches("sensor-70")).isFalse();
    assertThat(new KeyFilter("sensor-*").matches("sensor-")).isTrue();
    assertThat(new KeyFilter("sensor-*").matches("sensor-12")).isTrue();
    assertThat(new KeyFilter("sensor-*").matches("Sensor-12")).isFalse();
    assertThat(new KeyFilter("eu-??-*").matches("eu-de-berlin")).isTrue();
    assertThat(new KeyFilter("eu-??-*").matches("eu-d-berlin")).isFalse();
    assertThat(new KeyFilter("a.b*").matches("axb1")).isFalse(); // regex characters are literal
    assertThat(KeyFilter.ALL.matches("")).isTrue();
  }

  @Test
  void messageTemplatesFillPlaceholdersAndLabels() {
    MessageTemplate t = new MessageTemplate("{key} at {value} ({label.team}{label.none})");
    assertThat(t.render(Map.of("key", "a", "value", "81"), Map.of("team", "iot")))
        .isEqualTo("a at 81 (iot)");
  }

  @Test
  void numbersAreShownShort() {
    assertThat(Condition.compact(80)).isEqualTo("80");
    assertThat(Condition.compact(66.666666666)).isEqualTo("66.6667");
    assertThat(Condition.compact(-0.5)).isEqualTo("-0.5");
    assertThat(Condition.compact(1e20)).isEqualTo("1.00000e+20");
  }

  @Test
  void theBuilderMakesTheSameRuleAsOfAndTheWithMethods() {
    Rule built =
        Rule.builder()
            .setId("hot")
            .setCondition(Condition.parse("mean(temperature) > 80"))
            .setSeverity(Severity.CRITICAL)
            .setLabels(new java.util.TreeMap<>(Map.of("team", "iot")))
            .setResolveAfter(2)
            .build();
    Rule withs =
        Rule.of("hot", "mean(temperature) > 80")
            .withSeverity(Severity.CRITICAL)
            .withLabels(Map.of("team", "iot"))
            .withResolveAfter(2);
    assertThat(built).isEqualTo(withs).hasSameHashCodeAs(withs);
    assertThat(built.toJson()).isEqualTo(withs.toJson());
    assertThat(built.toBuilder().build()).isEqualTo(built);
    assertThat(built.toBuilder().setVersion(2).build()).isEqualTo(built.withVersion(2));
    assertThatThrownBy(() -> built.labels().put("x", "y"))
        .isInstanceOf(UnsupportedOperationException.class);
  }

  @Test
  void theBuilderValidatesWhatTheConstructorDid() {
    assertThatThrownBy(() -> Rule.builder().build())
        .hasMessage("rule id must match [A-Za-z0-9][A-Za-z0-9_.-]{0,127}, got null");
    assertThatThrownBy(() -> Rule.builder().setId("x").build())
        .hasMessage("rule 'x': condition is required");
    assertThatThrownBy(() -> Rule.of("x", "mean(t) > 1").toBuilder().setVersion(0).build())
        .hasMessage("rule 'x': version must be at least 1, got 0");
    assertThat(Rule.builder().setId("x").setDeleted(true).build()).isEqualTo(Rule.deletion("x", 1));
  }

  @Test
  void ruleIsJavaSerializableAndItsDefaultCoderIsTheJsonCoder() throws Exception {
    Rule rule = Rule.of("hot", "mean(temperature) > 80").withRenotifyEvery(Duration.millis(5));
    assertThat(org.apache.beam.sdk.util.SerializableUtils.clone(rule)).isEqualTo(rule);
    assertThat(
            org.apache.beam.sdk.coders.CoderRegistry.createDefault()
                .getCoder(org.apache.beam.sdk.values.TypeDescriptor.of(Rule.class)))
        .isSameAs(Rule.RuleCoder.of());
    // The coder's bytes are the rule's JSON (length-prefixed UTF-8), as before.
    CoderProperties.coderDecodeEncodeEqual(Rule.RuleCoder.of(), rule);
    java.io.ByteArrayOutputStream json = new java.io.ByteArrayOutputStream();
    org.apache.beam.sdk.coders.StringUtf8Coder.of().encode(rule.toJson(), json);
    assertThat(org.apache.beam.sdk.util.CoderUtils.encodeToByteArray(Rule.RuleCoder.of(), rule))
        .isEqualTo(json.toByteArray());
    assertThat(rule.toJson())
        .isEqualTo(
            "{\"id\":\"hot\",\"version\":1,\"condition\":\"mean(temperature) > 80\","
                + "\"severity\":\"WARNING\",\"message\":\"{status} {severity}: {condition} for key"
                + " {key} (value {value})\",\"keys\":\"*\",\"resolve_after\":1,"
                + "\"renotify_every\":\"5ms\"}");
  }

  @Test
  void aThresholdCanBeAReferenceColumnResolvedPerKey() throws Exception {
    Condition c = Condition.parse("mean(temperature) >  ref.max_temperature");
    assertThat(c.kind()).isEqualTo(Kind.THRESHOLD);
    assertThat(c.thresholdColumn()).isEqualTo("max_temperature");
    assertThat(c.toString()).isEqualTo("mean(temperature) > ref.max_temperature");
    assertThat(Condition.parse(c.toString())).isEqualTo(c);
    Condition forA = c.forKey(Map.of("max_temperature", 50.0, "site", "x"));
    assertThat(forA.threshold()).isEqualTo(50.0);
    assertThat(forA.toString()).isEqualTo(c.toString());
    assertThat(c.forKey(null)).isNull();
    assertThat(c.forKey(Map.of("site", "x"))).isNull();
    assertThat(c.forKey(Map.of("max_temperature", "fifty"))).isNull();
    Condition fixed = Condition.parse("mean(temperature) > 50");
    assertThat(fixed.forKey(null)).isSameAs(fixed);
    Rule rule = Rule.of("hot", "max(t) >= ref.limit");
    assertThat(Rule.fromJson(rule.toJson())).isEqualTo(rule);
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> Condition.parse("change(mean(t)) > ref.limit"))
        .hasMessageContaining("is not understood");

    // Stats carry their key's numbers across the rule step's shuffle and state.
    EngineInput.EngineInputCoder coder = EngineInput.EngineInputCoder.of();
    dev.sluice.model.WindowStats stats =
        dev.sluice.model.ModelFixtures.onTimeMinute("a", "t", 0, 1, 10.0, 10.0, 10.0, 0.0);
    EngineInput with = EngineInput.stats(stats, Map.of("limit", 5.0, "site", "x"));
    EngineInput decoded =
        org.apache.beam.sdk.util.CoderUtils.decodeFromByteArray(
            coder, org.apache.beam.sdk.util.CoderUtils.encodeToByteArray(coder, with));
    assertThat(decoded.reference()).containsExactly(Map.entry("limit", 5.0));
    assertThat(decoded.stats()).isEqualTo(stats);
    EngineInput without = EngineInput.stats(stats);
    assertThat(
            org.apache.beam.sdk.util.CoderUtils.decodeFromByteArray(
                    coder, org.apache.beam.sdk.util.CoderUtils.encodeToByteArray(coder, without))
                .reference())
        .isNull();
  }
}

package dev.sluice.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sluice.model.Alert.Severity;
import dev.sluice.model.Alert.Status;
import dev.sluice.model.DeadLetter.Reason;
import java.util.Map;
import java.util.TreeMap;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.coders.CoderRegistry;
import org.apache.beam.sdk.testing.CoderProperties;
import org.apache.beam.sdk.util.CoderUtils;
import org.joda.time.Instant;
import org.junit.jupiter.api.Test;

/** The data model: coders round-trip and are deterministic; JSON uses the contract's names. */
class ModelTest {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final Instant T0 = ModelFixtures.T0;

  static Event event() {
    return new Event(
        "e-1",
        "sensor-1",
        "temperature",
        21.5,
        T0.plus(1_234),
        new TreeMap<>(Map.of("site", "berlin", "floor", "2")));
  }

  static WindowStats stats(Double p50, Long distinct) {
    return new WindowStats(
        "sensor-1",
        "temperature",
        T0,
        T0.plus(60_000),
        4,
        10.0,
        1.0,
        4.0,
        2.5,
        Math.sqrt(1.25),
        p50,
        p50 == null ? null : 3.9,
        p50 == null ? null : 4.0,
        distinct,
        PaneTiming.ON_TIME,
        0,
        true);
  }

  static Alert alert() {
    return new Alert(
        Alert.fingerprint("hot", "sensor-1", "temperature", T0),
        "hot",
        3,
        "sensor-1",
        "temperature",
        Status.FIRING,
        Severity.CRITICAL,
        71.2,
        50.0,
        T0,
        T0.plus(60_000),
        "mean(temperature) = 71.2 > 50",
        T0.plus(61_000));
  }

  static DeadLetter deadLetter() {
    return DeadLetter.of(
        "parse", Reason.MISSING_FIELD, "field 'key' is missing", "{\"a\":1}", "t/0/7", T0);
  }

  @Test
  void codersRoundTripAndAreDeterministic() throws Exception {
    roundTrip(Event.EventCoder.of(), event(), event().withAttributes(null));
    roundTrip(WindowStats.WindowStatsCoder.of(), stats(3.0, 17L), stats(null, null));
    roundTrip(Alert.AlertCoder.of(), alert(), alert().withEmittedAt(T0));
    roundTrip(Alert.AlertCoder.of(), alert(), alert().withSilenced(true));
    roundTrip(
        DeadLetter.DeadLetterCoder.of(),
        deadLetter(),
        DeadLetter.ofBytes(
            "parse", Reason.MALFORMED_JSON, "x", new byte[] {(byte) 0xff}, null, T0));
  }

  private static <T> void roundTrip(Coder<T> coder, T first, T second) throws Exception {
    CoderProperties.coderDecodeEncodeEqual(coder, first);
    CoderProperties.coderDecodeEncodeEqual(coder, second);
    CoderProperties.coderDeterministic(coder, first, CoderUtils.clone(coder, first));
    CoderProperties.coderSerializable(coder);
    coder.verifyDeterministic();
    assertThat(CoderUtils.clone(coder, first)).isNotEqualTo(second);
  }

  @Test
  void defaultCodersAreTheModelCoders() throws Exception {
    CoderRegistry registry = CoderRegistry.createDefault();
    assertThat(registry.getCoder(Event.class)).isInstanceOf(Event.EventCoder.class);
    assertThat(registry.getCoder(WindowStats.class))
        .isInstanceOf(WindowStats.WindowStatsCoder.class);
    assertThat(registry.getCoder(Alert.class)).isInstanceOf(Alert.AlertCoder.class);
    assertThat(registry.getCoder(DeadLetter.class)).isInstanceOf(DeadLetter.DeadLetterCoder.class);
  }

  @Test
  void attributeOrderDoesNotChangeTheEncoding() throws Exception {
    Map<String, String> forward = new java.util.LinkedHashMap<>();
    forward.put("a", "1");
    forward.put("b", "2");
    Map<String, String> backward = new java.util.LinkedHashMap<>();
    backward.put("b", "2");
    backward.put("a", "1");
    CoderProperties.coderDeterministic(
        Event.EventCoder.of(), event().withAttributes(forward), event().withAttributes(backward));
  }

  @Test
  void eventJsonUsesContractNamesAndRoundTrips() throws Exception {
    String json = event().toJson();
    assertThat(ModelFixtures.fieldNames(json))
        .containsExactly("event_id", "key", "metric", "value", "event_time", "attributes");
    JsonNode node = MAPPER.readTree(json);
    assertThat(node.get("event_time").asText()).isEqualTo("2026-01-01T00:00:01.234Z");
    assertThat(node.get("attributes").get("site").asText()).isEqualTo("berlin");
    assertThat(Event.fromJson(json)).isEqualTo(event());
  }

  @Test
  void windowStatsJsonUsesContractNamesAndOmitsWhatWasNotComputed() throws Exception {
    assertThat(ModelFixtures.fieldNames(stats(3.0, 17L).toJson()))
        .containsExactlyElementsOf(ModelFixtures.WINDOW_STATS_FIELDS);
    assertThat(ModelFixtures.fieldNames(stats(null, null).toJson()))
        .doesNotContain("p50", "distinct");
    assertThat(WindowStats.fromJson(stats(3.0, 17L).toJson())).isEqualTo(stats(3.0, 17L));
    assertThat(WindowStats.fromJson(stats(null, null).toJson())).isEqualTo(stats(null, null));
  }

  @Test
  void alertJsonUsesContractNamesAndRoundTrips() throws Exception {
    assertThat(ModelFixtures.fieldNames(alert().toJson()))
        .containsExactly(
            "alert_id",
            "rule_id",
            "rule_version",
            "key",
            "metric",
            "status",
            "severity",
            "value",
            "threshold",
            "window_start",
            "window_end",
            "message",
            "emitted_at",
            "silenced");
    assertThat(Alert.fromJson(alert().toJson())).isEqualTo(alert());
    assertThat(Alert.fromJson(alert().withSilenced(true).toJson()).silenced()).isTrue();
  }

  @Test
  void alertsEncodedBeforeSilencedExistedStillDecodeAsNotSilenced() throws Exception {
    Alert a = alert().withSilenced(true);
    assertThat(CoderUtils.clone(Alert.AlertCoder.of(), a)).isEqualTo(a);
    // The unversioned layout: the same fields, no version before them and no flag after them.
    java.io.ByteArrayOutputStream old = new java.io.ByteArrayOutputStream();
    CoderSupport.writeString(a.alertId(), old);
    CoderSupport.writeString(a.ruleId(), old);
    CoderSupport.writeLong(a.ruleVersion(), old);
    CoderSupport.writeString(a.key(), old);
    CoderSupport.writeString(a.metric(), old);
    CoderSupport.writeEnum(a.status(), old);
    CoderSupport.writeEnum(a.severity(), old);
    CoderSupport.writeDouble(a.value(), old);
    CoderSupport.writeDouble(a.threshold(), old);
    CoderSupport.writeInstant(a.windowStart(), old);
    CoderSupport.writeInstant(a.windowEnd(), old);
    CoderSupport.writeString(a.message(), old);
    CoderSupport.writeInstant(a.emittedAt(), old);
    CoderSupport.writeStringMap(a.labels(), old);
    assertThat(CoderUtils.decodeFromByteArray(Alert.AlertCoder.of(), old.toByteArray()))
        .isEqualTo(a.withSilenced(false));
  }

  @Test
  void alertIdIsADeterministicFingerprintOfRuleKeyMetricAndEpisode() {
    String id = Alert.fingerprint("hot", "sensor-1", "temperature", T0);
    assertThat(id).hasSize(32).matches("[0-9a-f]{32}");
    assertThat(Alert.fingerprint("hot", "sensor-1", "temperature", T0)).isEqualTo(id);
    assertThat(Alert.fingerprint("hot", "sensor-2", "temperature", T0)).isNotEqualTo(id);
    assertThat(Alert.fingerprint("hot", "sensor-1", "temperature", T0.plus(60_000)))
        .isNotEqualTo(id);
    assertThat(Alert.fingerprint("cold", "sensor-1", "temperature", T0)).isNotEqualTo(id);
  }

  @Test
  void deadLetterKeepsTextPayloadsAsTextAndOtherBytesAsBase64() throws Exception {
    assertThat(ModelFixtures.fieldNames(deadLetter().toJson()))
        .containsExactly("stage", "reason", "error", "payload", "source", "failed_at");
    byte[] notUtf8 = {'{', (byte) 0xc3, (byte) 0x28, '}'};
    DeadLetter binary =
        DeadLetter.ofBytes("parse", Reason.MALFORMED_JSON, "not UTF-8", notUtf8, null, T0);
    assertThat(binary.payload()).isNull();
    assertThat(binary.payloadBytes()).isEqualTo(notUtf8);
    assertThat(ModelFixtures.fieldNames(binary.toJson()))
        .containsExactly("stage", "reason", "error", "payload_base64", "failed_at");
    assertThat(DeadLetter.fromJson(binary.toJson())).isEqualTo(binary);
    assertThat(DeadLetter.fromJson(deadLetter().toJson())).isEqualTo(deadLetter());
  }

  @Test
  void timestampsAreIsoUtcWithMillisecondsAndZ() {
    assertThat(JsonSupport.formatInstant(T0)).isEqualTo("2026-01-01T00:00:00.000Z");
    assertThat(JsonSupport.parseInstant("2026-01-01T01:00:00+01:00")).isEqualTo(T0);
    assertThatThrownBy(() -> JsonSupport.parseInstant("yesterday"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'yesterday' is not an ISO-8601 date-time");
  }

  @Test
  void strictReadersNameTheBadField() {
    assertThatThrownBy(() -> Event.fromJson("{\"event_id\":\"e\",\"metric\":\"m\"}"))
        .hasMessageContaining("missing field 'key'");
    assertThatThrownBy(() -> DeadLetter.of("parse", Reason.BAD_TYPE, "e", null, null, T0))
        .hasMessageContaining("exactly one of payload and payloadBase64");
  }
}

package dev.sluice.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.transforms.EventParser;
import dev.sluice.transforms.ParseEvents;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.beam.sdk.io.kafka.KafkaRecord;
import org.apache.beam.sdk.io.kafka.KafkaTimestampType;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.transforms.windowing.BoundedWindow;
import org.apache.beam.sdk.values.KV;
import org.joda.time.Duration;
import org.joda.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KafkaJsonIOTest {
  private static final Duration DELAY = Duration.standardSeconds(10);
  private static final Instant NOW = Instant.parse("2026-06-01T12:00:00Z");

  private static KafkaJsonIO.EventTimePolicy policy() {
    return new KafkaJsonIO.EventTimePolicy(
        EventParser.of(ParseEvents.fromRawPayloads()), DELAY, Optional.empty(), null);
  }

  private static KafkaRecord<byte[], byte[]> record(String value) {
    return new KafkaRecord<>(
        "events", 0, 0, 0, KafkaTimestampType.CREATE_TIME, null, KV.of(null, value.getBytes()));
  }

  private static String event(String time) {
    return "{\"event_id\":\"e\",\"key\":\"k\",\"metric\":\"m\",\"value\":1,\"event_time\":\""
        + time
        + "\"}";
  }

  @Test
  void watermarkIsTheLargestEventTimeMinusTheOutOfOrdernessAndNeverMovesBack() {
    KafkaJsonIO.EventTimePolicy policy = policy();
    assertThat(policy.getTimestampForRecord(null, record(event("2026-01-01T00:01:00Z"))))
        .isEqualTo(Instant.parse("2026-01-01T00:01:00Z"));
    // An out-of-order record keeps its own event time but does not move the watermark back.
    assertThat(policy.getTimestampForRecord(null, record(event("2026-01-01T00:00:30Z"))))
        .isEqualTo(Instant.parse("2026-01-01T00:00:30Z"));
    assertThat(policy.advance(5, NOW, NOW)).isEqualTo(Instant.parse("2026-01-01T00:00:50Z"));
    // A record that does not parse gets the earliest timestamp: ParseEvents says what is wrong.
    assertThat(policy.getTimestampForRecord(null, record("{oops")))
        .isEqualTo(BoundedWindow.TIMESTAMP_MIN_VALUE);
    assertThat(policy.advance(5, NOW, NOW)).isEqualTo(Instant.parse("2026-01-01T00:00:50Z"));
  }

  @Test
  void aPartitionThatNeverHadARecordAdvancesWhenItsBacklogIsEmpty() {
    KafkaJsonIO.EventTimePolicy policy = policy();
    // Unknown backlog (-1) or records waiting: nothing is known, the watermark stays at the start.
    assertThat(policy.advance(-1, NOW, NOW)).isEqualTo(BoundedWindow.TIMESTAMP_MIN_VALUE);
    assertThat(policy.advance(3, NOW, NOW)).isEqualTo(BoundedWindow.TIMESTAMP_MIN_VALUE);
    // Caught up (idle): the check time minus the out-of-orderness, so windows elsewhere close.
    assertThat(policy.advance(0, NOW, NOW)).isEqualTo(NOW.minus(DELAY));
  }

  @Test
  void anIdlePartitionWithOldDataFollowsTheCheckTimeAndFutureEventTimesAreCappedAtNow() {
    KafkaJsonIO.EventTimePolicy policy = policy();
    policy.getTimestampForRecord(null, record(event("2026-01-01T00:00:00Z")));
    assertThat(policy.advance(0, NOW, NOW)).isEqualTo(NOW.minus(DELAY));

    KafkaJsonIO.EventTimePolicy future = policy();
    future.getTimestampForRecord(null, record(event("2026-06-01T12:30:00Z")));
    assertThat(future.advance(2, NOW, NOW)).isEqualTo(NOW.minus(DELAY));
  }

  @Test
  void secretPropertiesAreRecognisedByNameAndNeverDisplayed(@TempDir Path dir) throws Exception {
    assertThat(KafkaJsonIO.isSecret("sasl.jaas.config")).isTrue();
    assertThat(KafkaJsonIO.isSecret("ssl.keystore.password")).isTrue();
    assertThat(KafkaJsonIO.isSecret("ssl.keystore.key")).isTrue();
    assertThat(KafkaJsonIO.isSecret("basic.auth.user.info")).isTrue();
    assertThat(KafkaJsonIO.isSecret("security.protocol")).isFalse();
    assertThat(KafkaJsonIO.isSecret("fetch.max.bytes")).isFalse();

    Path file = dir.resolve("client.properties");
    Files.writeString(file, "security.protocol=SASL_SSL\nssl.truststore.password=t0p\n");
    KafkaJsonIO.Read read =
        KafkaJsonIO.read()
            .withBootstrapServers("b:9092")
            .withTopics(List.of("t"))
            .withConsumerPropertiesFile(file);
    String display = DisplayData.from(read).toString();
    assertThat(display)
        .contains("SASL_SSL")
        .contains("ssl.truststore.password")
        .doesNotContain("t0p");
    assertThat(KafkaJsonIO.ClientProperties.fromFile("f", file).toString()).doesNotContain("t0p");
  }

  @Test
  void secretsOfAPropertiesFileAreReadWhereTheClientIsCreatedNeverSerialized(@TempDir Path dir)
      throws Exception {
    Path file = dir.resolve("client.properties");
    String canary = "canary-3f9a1c-secret";
    Files.writeString(
        file,
        "security.protocol=SASL_PLAINTEXT\nsasl.jaas.config=PlainLoginModule required password=\""
            + canary
            + "\";\n");
    KafkaJsonIO.Read read =
        KafkaJsonIO.read()
            .withBootstrapServers("b:9092")
            .withTopics(List.of("t"))
            .withGroupId("g")
            .withConsumerPropertiesFile(file);
    KafkaJsonIO.Write<String> write =
        KafkaJsonIO.write((String s) -> s, (String s) -> s)
            .withBootstrapServers("b:9092")
            .to("alerts")
            .withProducerPropertiesFile(file);
    // What a runner serializes into its job graph or template.
    for (java.io.Serializable transform : List.<java.io.Serializable>of(read, write)) {
      byte[] serialized =
          org.apache.beam.sdk.util.SerializableUtils.serializeToByteArray(transform);
      assertThat(new String(serialized, java.nio.charset.StandardCharsets.ISO_8859_1))
          .doesNotContain(canary);
    }
    // On the worker, the client gets the secret from the file.
    KafkaJsonIO.ClientProperties properties = KafkaJsonIO.ClientProperties.fromFile("f", file);
    assertThat(properties.secretNames()).containsExactly("sasl.jaas.config");
    assertThat(properties.withSecrets(Map.of()).get("sasl.jaas.config").toString())
        .contains(canary);
  }

  @Test
  void invalidSettingsFailAtConstructionNamingTheSettingAndValue(@TempDir Path dir) {
    assertThatThrownBy(() -> KafkaJsonIO.read().withAutoOffsetReset("none"))
        .hasMessage("autoOffsetReset must be earliest or latest, got 'none'");
    assertThatThrownBy(() -> KafkaJsonIO.read().withTopics(List.of()))
        .hasMessage("topics must name at least one topic, got []");
    assertThatThrownBy(
            () -> KafkaJsonIO.read().withConsumerPropertiesFile(dir.resolve("missing.properties")))
        .hasMessageStartingWith("consumerPropertiesFile: cannot read ")
        .hasMessageContaining("missing.properties");
    assertThatThrownBy(
            () -> KafkaJsonIO.read().withConsumerProperties(Map.of("enable.auto.commit", "true")))
        .hasMessage(
            "consumerProperties: enable.auto.commit is set by Sluice and cannot be overridden");
    assertThatThrownBy(
            () ->
                KafkaJsonIO.read()
                    .withBootstrapServers("b:9092")
                    .withTopics(List.of("t"))
                    .expand(null))
        .hasMessage(
            "groupId must be set (withGroupId) to commit offsets, or use withCommitOffsets(false)");
  }

  /** A gauge that records what it is set to. */
  private static final class RecordingGauge implements org.apache.beam.sdk.metrics.Gauge {
    final List<Long> values = new java.util.ArrayList<>();

    @Override
    public void set(long value) {
      values.add(value);
    }

    @Override
    public org.apache.beam.sdk.metrics.MetricName getName() {
      return org.apache.beam.sdk.metrics.MetricName.named("test", "lag");
    }
  }

  @Test
  void theLagGaugeIsSetAtMostEvery1000ChangesOr200MsAndAlwaysWhenTheLagReachesZero() {
    RecordingGauge gauge = new RecordingGauge();
    long[] nanos = {0};
    KafkaJsonIO.LagGauge lag = new KafkaJsonIO.LagGauge(gauge, true, () -> nanos[0]);
    for (long backlog = 5000; backlog >= 3000; backlog--) {
      lag.report(backlog); // catching up within a few microseconds: only every 1000th change
    }
    assertThat(gauge.values).containsExactly(5000L, 4000L, 3000L);
    lag.report(2500); // held back
    nanos[0] += 200_000_000L;
    lag.report(2500); // a later call publishes it
    lag.report(2499);
    lag.report(0);
    lag.report(0);
    assertThat(gauge.values).containsExactly(5000L, 4000L, 3000L, 2500L, 0L);
  }

  @Test
  void unthrottledTheLagGaugeIsSetOnEveryChange() {
    RecordingGauge gauge = new RecordingGauge();
    KafkaJsonIO.LagGauge lag = new KafkaJsonIO.LagGauge(gauge, false, () -> 0L);
    for (long backlog : new long[] {49, 48, 48, 47, -1, 40}) {
      lag.report(backlog);
    }
    assertThat(gauge.values).containsExactly(49L, 48L, 47L, 40L);
  }
}

package dev.sluice.io;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.model.Alert;
import dev.sluice.model.DeadLetter;
import dev.sluice.model.Event;
import dev.sluice.model.RawPayload;
import dev.sluice.testing.KafkaBroker;
import dev.sluice.transforms.OutputWithDeadLetters;
import dev.sluice.transforms.ParseEvents;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.runners.TransformHierarchy;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.testing.TestPipelineExtension;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.Reify;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.joda.time.Instant;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** {@link KafkaJsonIO} against a real Kafka 3.9 broker (KRaft, child JVM, SASL/PLAIN listener). */
@ExtendWith(TestPipelineExtension.class)
class KafkaJsonIOIT {
  private static final String USER = "sluice";
  private static final String SECRET = "pw-" + Long.toHexString(System.nanoTime()) + "-never-shown";

  @TempDir static Path workDir;
  private static KafkaBroker kafka;

  @BeforeAll
  static void startKafka() {
    kafka = KafkaBroker.startWithSaslPlain(workDir.resolve("kafka"), USER, SECRET);
  }

  @AfterAll
  static void stopKafka() {
    if (kafka != null) {
      kafka.close();
    }
  }

  private static String event(String id, String key, double value, String time) {
    return String.format(
        "{\"event_id\":\"%s\",\"key\":\"%s\",\"metric\":\"temperature\",\"value\":%s,"
            + "\"event_time\":\"%s\"}",
        id, key, value, time);
  }

  @Test
  void theReaderReportsEachPartitionsConsumerLagInRecords(TestPipeline pipeline) {
    kafka.createTopic("lagged", 1);
    List<String> records = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      records.add(event("l" + i, "s1", i, "2026-01-01T00:00:05Z"));
    }
    kafka.send("lagged", 0, records);
    pipeline.apply(
        KafkaJsonIO.read()
            .withBootstrapServers(kafka.bootstrapServers())
            .withTopics(List.of("lagged"))
            .withGroupId("it-lag")
            .withMaxNumRecords(10));
    org.apache.beam.sdk.PipelineResult result = pipeline.run();
    result.waitUntilFinish();
    List<Long> lags = new ArrayList<>();
    result
        .metrics()
        .queryMetrics(
            org.apache.beam.sdk.metrics.MetricsFilter.builder()
                .addNameFilter(
                    org.apache.beam.sdk.metrics.MetricNameFilter.named(
                        KafkaJsonIO.METRICS_NAMESPACE,
                        KafkaJsonIO.consumerLagGaugeName(
                            new org.apache.kafka.common.TopicPartition("lagged", 0))))
                .build())
        .getGauges()
        .forEach(g -> lags.add(g.getAttempted().getValue()));
    // 50 records in the partition, 10 read: 40 not read yet (the reader fetched the latest offset
    // when it started).
    assertThat(lags).containsExactly(40L);
  }

  @Test
  void eventsGetTheirEventTimeAndMalformedRecordsBecomeDeadLettersWithCoordinates(
      TestPipeline pipeline) {
    kafka.createTopic("events", 3);
    kafka.send(
        "events",
        0,
        List.of(
            event("e1", "s1", 20, "2026-01-01T00:00:05Z"),
            event("e2", "s1", 21, "2026-01-01T00:00:02Z")));
    List<Long> offsets =
        kafka.send(
            "events",
            1,
            List.of(event("e3", "s2", 22, "2026-01-01T00:00:09Z"), "{\"event_id\":", "[1,2]"));
    // Partition 2 stays empty.

    PCollection<RawPayload> payloads =
        pipeline.apply(
            KafkaJsonIO.read()
                .withBootstrapServers(kafka.bootstrapServers())
                .withTopics(List.of("events"))
                .withGroupId("it-coordinates")
                .withMaxNumRecords(5));
    OutputWithDeadLetters<Event> parsed = payloads.apply(ParseEvents.fromRawPayloads());
    PAssert.that(
            parsed
                .output()
                .apply(Reify.timestamps())
                .apply(
                    "EventIdAtTimestamp",
                    MapElements.into(TypeDescriptors.strings())
                        .via(tv -> tv.getValue().eventId() + "@" + tv.getTimestamp())))
        .containsInAnyOrder(
            "e1@2026-01-01T00:00:05.000Z",
            "e2@2026-01-01T00:00:02.000Z",
            "e3@2026-01-01T00:00:09.000Z");
    PAssert.that(
            parsed
                .deadLetters()
                .apply(
                    "ReasonSourcePayload",
                    MapElements.into(TypeDescriptors.strings())
                        .via(d -> d.reason() + " " + d.source() + " " + d.payload())))
        .containsInAnyOrder(
            "MALFORMED_JSON events/1/" + offsets.get(1) + " {\"event_id\":",
            "BAD_TYPE events/1/" + offsets.get(2) + " [1,2]");
    pipeline.run().waitUntilFinish();
  }

  @Test
  void alertsAreWrittenAsJsonKeyedByAlertId(TestPipeline pipeline) {
    kafka.createTopic("alerts", 2);
    Instant start = Instant.parse("2026-01-01T00:01:00Z");
    List<Alert> alerts = new ArrayList<>();
    for (Alert.Status status : Alert.Status.values()) {
      alerts.add(
          new Alert(
              "id-" + status.ordinal(),
              "hot",
              1,
              "s1",
              "temperature",
              status,
              Alert.Severity.CRITICAL,
              81,
              80,
              start,
              start.plus(org.joda.time.Duration.standardMinutes(1)),
              "hot",
              start,
              new TreeMap<>()));
    }
    pipeline
        .apply(Create.of(alerts))
        .apply(
            KafkaJsonIO.writeAlerts().withBootstrapServers(kafka.bootstrapServers()).to("alerts"));
    pipeline.run().waitUntilFinish();

    List<ConsumerRecord<String, String>> records =
        kafka.readAll("alerts", 2, Duration.ofSeconds(60));
    Map<String, String> byKey = new TreeMap<>();
    records.forEach(r -> byKey.put(r.key(), r.value()));
    assertThat(records).hasSize(2);
    assertThat(byKey)
        .containsExactlyInAnyOrderEntriesOf(
            Map.of("id-0", alerts.get(0).toJson(), "id-1", alerts.get(1).toJson()));
  }

  @Test
  void aSaslPasswordInClientPropertiesAppearsInNoLogLineAndNoDisplayData(TestPipeline pipeline)
      throws Exception {
    kafka.createTopic("secure-events", 1);
    kafka.createTopic("secure-dead-letters", 1);
    kafka.send("secure-events", 0, List.of(event("s1", "k", 1, "2026-01-01T00:00:00Z"), "oops"));
    Path properties = workDir.resolve("client.properties");
    Files.writeString(
        properties,
        String.join(
            "\n",
            "security.protocol=SASL_PLAINTEXT",
            "sasl.mechanism=PLAIN",
            "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required"
                + " username=\""
                + USER
                + "\" password=\""
                + SECRET
                + "\";"));

    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    PrintStream out = System.out;
    PrintStream err = System.err;
    System.setOut(new PrintStream(new Tee(out, captured), true, StandardCharsets.UTF_8));
    System.setErr(new PrintStream(new Tee(err, captured), true, StandardCharsets.UTF_8));
    try {
      OutputWithDeadLetters<Event> parsed =
          pipeline
              .apply(
                  "ReadSecureEvents",
                  KafkaJsonIO.read()
                      .withBootstrapServers(kafka.saslBootstrapServers())
                      .withTopics(List.of("secure-events"))
                      .withGroupId("it-sasl")
                      .withConsumerPropertiesFile(properties)
                      .withMaxNumRecords(2))
              .apply(ParseEvents.fromRawPayloads());
      PAssert.that(
              parsed
                  .output()
                  .apply(MapElements.into(TypeDescriptors.strings()).via(Event::eventId)))
          .containsInAnyOrder("s1");
      parsed
          .deadLetters()
          .apply(
              "PublishDeadLetters",
              KafkaJsonIO.writeDeadLetters()
                  .withBootstrapServers(kafka.saslBootstrapServers())
                  .withProducerPropertiesFile(properties)
                  .to("secure-dead-letters"));
      List<String> display = displayData(pipeline);
      pipeline.run().waitUntilFinish();

      // The records were read and written through the SASL listener, so the password was used.
      List<ConsumerRecord<String, String>> deadLetters =
          kafka.readAll("secure-dead-letters", 1, Duration.ofSeconds(60));
      assertThat(deadLetters).hasSize(1);
      assertThat(DeadLetter.fromJson(deadLetters.get(0).value()).source())
          .isEqualTo("secure-events/0/1");

      assertThat(display).isNotEmpty().noneMatch(item -> item.contains(SECRET));
      assertThat(display)
          .anyMatch(item -> item.contains("secretProperties") && item.contains("sasl.jaas.config"))
          .anyMatch(item -> item.contains("security.protocol") && item.contains("SASL_PLAINTEXT"));
      assertThat(pipeline.getOptions().toString()).doesNotContain(SECRET);
      System.out.flush();
      System.err.flush();
    } finally {
      System.setOut(out);
      System.setErr(err);
    }
    String log = captured.toString(StandardCharsets.UTF_8);
    // Kafka's clients logged their configuration (so logging was captured), secrets hidden.
    assertThat(log).contains("sasl.jaas.config = [hidden]");
    assertThat(log).doesNotContain(SECRET);
  }

  private static List<String> displayData(Pipeline pipeline) {
    List<String> items = new ArrayList<>();
    pipeline.traverseTopologically(
        new Pipeline.PipelineVisitor.Defaults() {
          @Override
          public CompositeBehavior enterCompositeTransform(TransformHierarchy.Node node) {
            add(node);
            return CompositeBehavior.ENTER_TRANSFORM;
          }

          @Override
          public void visitPrimitiveTransform(TransformHierarchy.Node node) {
            add(node);
          }

          private void add(TransformHierarchy.Node node) {
            if (node.getTransform() != null) {
              DisplayData.from(node.getTransform())
                  .items()
                  .forEach(i -> items.add(i.getKey() + "=" + i.getValue()));
              items.add(node.getFullName() + " " + node.getTransform());
            }
          }
        });
    return items;
  }

  /** Writes to the real stream and to a capture buffer. */
  private static final class Tee extends OutputStream {
    private final OutputStream a;
    private final OutputStream b;

    Tee(OutputStream a, OutputStream b) {
      this.a = a;
      this.b = b;
    }

    @Override
    public void write(int c) throws java.io.IOException {
      a.write(c);
      synchronized (b) {
        b.write(c);
      }
    }

    @Override
    public void write(byte[] bytes, int off, int len) throws java.io.IOException {
      a.write(bytes, off, len);
      synchronized (b) {
        b.write(bytes, off, len);
      }
    }
  }
}

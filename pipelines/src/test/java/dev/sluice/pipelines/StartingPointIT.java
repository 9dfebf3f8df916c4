package dev.sluice.pipelines;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.io.KafkaJsonIO;
import dev.sluice.testing.KafkaBroker;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The launch-time check of a Kafka job's starting point, against a real broker. */
class StartingPointIT {
  private static final KafkaJsonIO.ClientProperties NO_PROPERTIES =
      KafkaJsonIO.ClientProperties.of(Map.of());

  @Test
  void offsetsCommittedByAnEarlierRunAreRefusedWithoutStateAndResetByFresh(@TempDir Path dir) {
    try (KafkaBroker kafka = KafkaBroker.start(dir.resolve("kafka"))) {
      kafka.createTopic("events", 2);
      kafka.send("events", 0, List.of("a", "b", "c"));
      kafka.send("events", 1, List.of("d", "e"));
      StartingPoint.Options options = PipelineOptionsFactory.as(StartingPoint.Options.class);
      PrintStream out = new PrintStream(new ByteArrayOutputStream());

      // A first start: no committed offsets, nothing to check.
      StartingPoint.checkKafka(
          options, kafka.bootstrapServers(), "g", List.of("events"), NO_PROPERTIES, out);

      commit(kafka, "g", Map.of(new TopicPartition("events", 0), 2L));
      assertThatThrownBy(
              () ->
                  StartingPoint.checkKafka(
                      options,
                      kafka.bootstrapServers(),
                      "g",
                      List.of("events"),
                      NO_PROPERTIES,
                      out))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageStartingWith(
              "--kafkaGroupId: consumer group g has offsets committed by an earlier run ({events-0=2})")
          .hasMessageContaining("--fresh");

      // With state restored from a checkpoint, the committed offsets are fine.
      options.setRestoredState("/checkpoints/chk-4");
      StartingPoint.checkKafka(
          options, kafka.bootstrapServers(), "g", List.of("events"), NO_PROPERTIES, out);

      // --fresh moves the group back to the earliest records.
      options.setRestoredState(null);
      options.setFresh(true);
      StartingPoint.checkKafka(
          options, kafka.bootstrapServers(), "g", List.of("events"), NO_PROPERTIES, out);
      assertThat(kafka.committedOffsets("g", "events")).containsExactly(Map.entry(0, 0L));
    }
  }

  private static void commit(KafkaBroker kafka, String group, Map<TopicPartition, Long> offsets) {
    Properties props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
    props.put(ConsumerConfig.GROUP_ID_CONFIG, group);
    props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(props)) {
      Map<TopicPartition, OffsetAndMetadata> commit = new java.util.HashMap<>();
      offsets.forEach((p, o) -> commit.put(p, new OffsetAndMetadata(o)));
      consumer.commitSync(commit);
    }
  }
}

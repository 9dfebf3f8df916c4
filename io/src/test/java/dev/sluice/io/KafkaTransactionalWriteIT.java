package dev.sluice.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.io.KafkaTransactionalWrite.SequencedRecord;
import dev.sluice.io.KafkaTransactionalWrite.ShardSettings;
import dev.sluice.testing.KafkaBroker;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.NullableCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.coders.VarIntCoder;
import org.apache.beam.sdk.metrics.MetricNameFilter;
import org.apache.beam.sdk.metrics.MetricResult;
import org.apache.beam.sdk.metrics.MetricsFilter;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.testing.TestPipelineExtension;
import org.apache.beam.sdk.testing.TestStream;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.KV;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link KafkaTransactionalWrite} against a real Kafka broker (KRaft, child JVM): what a {@code
 * read_committed} consumer sees across restarts, replays and a second writer of the same shard.
 */
@ExtendWith(TestPipelineExtension.class)
class KafkaTransactionalWriteIT {
  private static final Duration DEADLINE = Duration.ofSeconds(30);

  @TempDir static Path workDir;
  private static KafkaBroker kafka;

  @BeforeAll
  static void startKafka() {
    kafka = KafkaBroker.start(workDir.resolve("kafka"));
  }

  @AfterAll
  static void stopKafka() {
    if (kafka != null) {
      kafka.close();
    }
  }

  private static ShardSettings settings(String topic, String group) {
    kafka.createTopic(topic, 1);
    return new ShardSettings(
        kafka.bootstrapServers(), topic, group, KafkaJsonIO.ClientProperties.EMPTY);
  }

  private static SequencedRecord record(String epoch, long id) {
    return new SequencedRecord(epoch, id, "k" + id, "v" + id);
  }

  private static List<String> committedValues(String topic, int atLeast) {
    List<String> values = new ArrayList<>();
    for (ConsumerRecord<String, String> r : kafka.readCommitted(topic, atLeast, DEADLINE)) {
      values.add(r.value());
    }
    return values;
  }

  @Test
  void aRestartedShardKnowsHowFarItsEpochGotAndNothingOfAnotherEpoch() {
    ShardSettings settings = settings("restart", "it-restart");
    try (KafkaTransactionalShard first = new KafkaTransactionalShard(settings)) {
      assertThat(first.committed("epoch-a")).isEqualTo(-1);
      for (long id = 0; id < 4; id++) {
        first.send(record("epoch-a", id));
      }
      first.commit();
    }
    try (KafkaTransactionalShard second = new KafkaTransactionalShard(settings)) {
      assertThat(second.committed("epoch-a")).isEqualTo(3);
      // A run with --fresh draws a new epoch: its numbering starts over.
      assertThat(second.committed("epoch-b")).isEqualTo(-1);
      second.send(record("epoch-a", 4));
      second.send(record("epoch-a", 5));
      second.commit();
      assertThat(second.committed("epoch-a")).isEqualTo(5);
    }
    assertThat(committedValues("restart", 6)).containsExactly("v0", "v1", "v2", "v3", "v4", "v5");
  }

  @Test
  void aSecondWriterOfTheShardFencesTheFirstAndAbortsItsOpenTransaction() {
    ShardSettings settings = settings("fenced", "it-fenced");
    try (KafkaTransactionalShard zombie = new KafkaTransactionalShard(settings)) {
      zombie.send(record("epoch-z", 0));
      try (KafkaTransactionalShard successor = new KafkaTransactionalShard(settings)) {
        assertThatThrownBy(zombie::commit).isInstanceOf(KafkaException.class);
        assertThat(successor.committed("epoch-z")).isEqualTo(-1);
        successor.send(new SequencedRecord("epoch-z", 0, "k0", "from the successor"));
        successor.commit();
      }
    }
    assertThat(committedValues("fenced", 1)).containsExactly("from the successor");
  }

  @Test
  void instancesOfTheStepTakingTurnsInOneJvmShareTheShardsProducerInsteadOfFencingIt() {
    ShardSettings settings = settings("turns", "it-turns");
    // Two instances of the writing step (the Direct runner keeps one per thread) run the shard's
    // bundles in turn: each borrows the JVM's producer, commits, gives it back.
    KafkaTransactionalShard.join(settings);
    KafkaTransactionalShard.join(settings);
    try {
      KafkaTransactionalShard first = null;
      for (long id = 0; id < 6; id++) {
        KafkaTransactionalShard lent = KafkaTransactionalShard.borrow(settings);
        if (first == null) {
          first = lent;
        }
        assertThat(lent).isSameAs(first);
        lent.send(record("epoch-t", id));
        lent.commit();
        KafkaTransactionalShard.giveBack(lent);
      }
    } finally {
      KafkaTransactionalShard.leave(settings);
      KafkaTransactionalShard.leave(settings);
    }
    assertThat(committedValues("turns", 6)).containsExactly("v0", "v1", "v2", "v3", "v4", "v5");
  }

  @Test
  void aProducerThatANewerOneReplacedIsClosedAndNotLentAgain() {
    ShardSettings settings = settings("replaced", "it-replaced");
    KafkaTransactionalShard.join(settings);
    try {
      // A bundle hangs with the producer; the runner retries the bundle elsewhere in the JVM.
      KafkaTransactionalShard stuck = KafkaTransactionalShard.borrow(settings);
      stuck.send(record("epoch-s", 0));
      KafkaTransactionalShard retry = KafkaTransactionalShard.borrow(settings);
      assertThat(retry).isNotSameAs(stuck);
      retry.send(new SequencedRecord("epoch-s", 0, "k0", "from the retry"));
      retry.commit();
      KafkaTransactionalShard.giveBack(retry);
      assertThatThrownBy(stuck::commit).isInstanceOf(KafkaException.class);
      KafkaTransactionalShard.discard(stuck);

      KafkaTransactionalShard next = KafkaTransactionalShard.borrow(settings);
      assertThat(next).isSameAs(retry);
      assertThat(next.committed("epoch-s")).isZero();
      KafkaTransactionalShard.giveBack(next);
    } finally {
      KafkaTransactionalShard.leave(settings);
    }
    assertThat(committedValues("replaced", 1)).containsExactly("from the retry");
  }

  @Test
  void replayedRecordsThatKafkaAlreadyHasAreSkippedAndCounted(TestPipeline pipeline) {
    ShardSettings settings = settings("replay", "it-replay");
    // What the job wrote after its last checkpoint, before it was killed: ids 0..4.
    try (KafkaTransactionalShard before = new KafkaTransactionalShard(settings)) {
      for (long id = 0; id < 5; id++) {
        before.send(record("epoch-r", id));
      }
      before.commit();
    }
    // Restored from that checkpoint, the step sees ids 0..9 again (stable input), in any order.
    List<KV<Integer, SequencedRecord>> replay = new ArrayList<>();
    for (long id = 9; id >= 0; id--) {
      replay.add(KV.of(0, record("epoch-r", id)));
    }
    pipeline
        .apply(Create.of(replay).withCoder(KvCoder.of(VarIntCoder.of(), SequencedRecord.CODER)))
        .apply(ParDo.of(new KafkaTransactionalWrite.WriteTransactionsFn(settings)));
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    assertThat(committedValues("replay", 10))
        .containsExactly("v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9");
    long skipped = 0;
    for (MetricResult<Long> c :
        result
            .metrics()
            .queryMetrics(
                MetricsFilter.builder()
                    .addNameFilter(
                        MetricNameFilter.named(
                            KafkaJsonIO.METRICS_NAMESPACE,
                            KafkaTransactionalWrite.RECORDS_ALREADY_COMMITTED))
                    .build())
            .getCounters()) {
      skipped += c.getAttempted();
    }
    assertThat(skipped).isEqualTo(5);
  }

  @Test
  void theTransformWritesEachRecordOnceAndStoresItsProgressUnderTheRunsEpoch(
      TestPipeline pipeline) {
    settings("whole", "it-whole");
    // Many bundles, so the Direct runner runs the writing step on several threads (instances).
    Coder<KV<String, String>> coder =
        KvCoder.of(NullableCoder.of(StringUtf8Coder.of()), StringUtf8Coder.of());
    TestStream.Builder<KV<String, String>> stream = TestStream.create(coder);
    List<KV<String, String>> records = new ArrayList<>();
    for (int bundle = 0; bundle < 40; bundle++) {
      List<KV<String, String>> batch = new ArrayList<>();
      for (int i = bundle * 5; i < bundle * 5 + 5; i++) {
        batch.add(KV.of(i % 3 == 0 ? null : "key-" + (i % 7), "record-" + i));
      }
      records.addAll(batch);
      stream = stream.addElements(batch.get(0), batch.subList(1, batch.size()).toArray(KV[]::new));
    }
    pipeline
        .apply(stream.advanceWatermarkToInfinity())
        .apply(
            new KafkaTransactionalWrite(
                kafka.bootstrapServers(), "whole", "it-whole", KafkaJsonIO.ClientProperties.EMPTY));
    pipeline.run().waitUntilFinish();

    List<String> expected = new ArrayList<>();
    records.forEach(r -> expected.add(r.getValue()));
    assertThat(committedValues("whole", 200)).containsExactlyInAnyOrderElementsOf(expected);
    // The sink group's progress: the last id written, under the run's own epoch.
    Map<String, Object> config = new HashMap<>();
    config.put("bootstrap.servers", kafka.bootstrapServers());
    config.put("group.id", "it-whole");
    config.put("key.deserializer", StringDeserializer.class);
    config.put("value.deserializer", StringDeserializer.class);
    TopicPartition partition = new TopicPartition("whole", 0);
    String metadata;
    try (var consumer = new KafkaConsumer<String, String>(config)) {
      metadata = consumer.committed(Set.of(partition), DEADLINE).get(partition).metadata();
    }
    assertThat(metadata).matches("\\{\"seq\":199,\"id\":\"[0-9a-f-]{36}\"\\}");
  }
}

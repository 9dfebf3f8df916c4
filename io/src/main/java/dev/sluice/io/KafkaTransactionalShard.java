package dev.sluice.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.io.KafkaTransactionalWrite.SequencedRecord;
import dev.sluice.io.KafkaTransactionalWrite.ShardSettings;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * The transactional producer of a {@link KafkaTransactionalWrite} shard and its progress in Kafka:
 * {@link #committed} reads the last id committed for an epoch (once, then follows its own commits),
 * {@link #send} opens a transaction when none is open, {@link #commit} commits it with the last id
 * sent.
 *
 * <p>A JVM keeps one producer per transactional id, lent to whichever instance of the writing step
 * runs the shard's bundle ({@link #borrow}, {@link #giveBack}). A runner may run a step's bundles
 * on several instances in one JVM (the Direct runner keeps one per thread); a producer per instance
 * would fence the other instances' producers, each new one with {@code initTransactions}, and their
 * next transaction would fail with {@code ProducerFencedException}. A producer that failed, or that
 * a newer one replaced, is closed instead of lent again.
 */
final class KafkaTransactionalShard implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration TIMEOUT = Duration.ofSeconds(60);

  // Per transactional id: the idle producer, the newest one created, the live step instances.
  private static final Map<String, KafkaTransactionalShard> IDLE = new HashMap<>();
  private static final Map<String, KafkaTransactionalShard> NEWEST = new HashMap<>();
  private static final Map<String, Integer> USERS = new HashMap<>();

  private final ShardSettings settings;
  private final Producer<String, String> producer;
  private final TopicPartition progressPartition;
  private final Map<String, Long> committed = new HashMap<>();
  private boolean open;
  private @Nullable String openEpoch;
  private long lastSent = -1;

  /** A new producer for the shard; fences off any earlier one and aborts its open transaction. */
  KafkaTransactionalShard(ShardSettings settings) {
    this.settings = settings;
    this.progressPartition = new TopicPartition(settings.topic, KafkaTransactionalWrite.SHARD);
    Map<String, Object> config = new HashMap<>();
    config.putAll(settings.properties.plain());
    config.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, settings.bootstrapServers);
    config.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
    config.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
    config.put(ProducerConfig.ACKS_CONFIG, "all");
    config.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    config.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, settings.transactionalId());
    this.producer = new KafkaProducer<>(settings.properties.withSecrets(config));
    try {
      producer.initTransactions();
    } catch (RuntimeException e) {
      producer.close(Duration.ZERO);
      throw e;
    }
  }

  /** A step instance that may borrow the shard's producer starts ({@code @Setup}). */
  static synchronized void join(ShardSettings settings) {
    USERS.merge(settings.transactionalId(), 1, Integer::sum);
  }

  /** A step instance ends ({@code @Teardown}); the last one closes the idle producer. */
  static void leave(ShardSettings settings) {
    String id = settings.transactionalId();
    KafkaTransactionalShard idle = null;
    synchronized (KafkaTransactionalShard.class) {
      int users = USERS.merge(id, -1, Integer::sum);
      if (users <= 0) {
        USERS.remove(id);
        idle = IDLE.remove(id);
        if (idle != null) {
          NEWEST.remove(id, idle);
        }
      }
    }
    if (idle != null) {
      idle.close();
    }
  }

  /** The JVM's idle producer of the shard, or a new one (which replaces any other). */
  static KafkaTransactionalShard borrow(ShardSettings settings) {
    String id = settings.transactionalId();
    synchronized (KafkaTransactionalShard.class) {
      KafkaTransactionalShard idle = IDLE.remove(id);
      if (idle != null) {
        return idle;
      }
    }
    KafkaTransactionalShard created = new KafkaTransactionalShard(settings);
    synchronized (KafkaTransactionalShard.class) {
      NEWEST.put(id, created);
    }
    return created;
  }

  /** Returns a producer with no open transaction; one a newer producer replaced is closed. */
  static void giveBack(KafkaTransactionalShard shard) {
    String id = shard.settings.transactionalId();
    synchronized (KafkaTransactionalShard.class) {
      if (!shard.open && NEWEST.get(id) == shard && !IDLE.containsKey(id)) {
        IDLE.put(id, shard);
        return;
      }
    }
    shard.close();
  }

  /** Closes a producer that failed or whose bundle failed; its open transaction is aborted. */
  static void discard(KafkaTransactionalShard shard) {
    synchronized (KafkaTransactionalShard.class) {
      NEWEST.remove(shard.settings.transactionalId(), shard);
    }
    shard.close();
  }

  /** The last id of {@code epoch} committed to Kafka, or -1 (none, or another epoch's). */
  long committed(String epoch) {
    Long known = committed.get(epoch);
    if (known == null) {
      known = readCommitted(epoch);
      committed.put(epoch, known);
    }
    return known;
  }

  private long readCommitted(String epoch) {
    Map<String, Object> config = new HashMap<>();
    config.putAll(settings.properties.plain());
    config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, settings.bootstrapServers);
    config.put(ConsumerConfig.GROUP_ID_CONFIG, settings.sinkGroupId);
    config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    config.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    config.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    try (Consumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(settings.properties.withSecrets(config))) {
      OffsetAndMetadata offset =
          consumer.committed(Set.of(progressPartition), TIMEOUT).get(progressPartition);
      if (offset == null || offset.metadata() == null || offset.metadata().isEmpty()) {
        return -1;
      }
      JsonNode metadata = JSON.readTree(offset.metadata());
      return epoch.equals(metadata.path("id").asText()) ? metadata.path("seq").asLong(-1) : -1;
    } catch (IOException e) {
      throw new UncheckedIOException(
          "the progress of Kafka sink group " + settings.sinkGroupId + " is not readable", e);
    }
  }

  void send(SequencedRecord record) {
    if (!open) {
      producer.beginTransaction();
      open = true;
    }
    producer.send(new ProducerRecord<>(settings.topic, record.key(), record.value()));
    openEpoch = record.epoch();
    lastSent = record.id();
  }

  /** Commits the open transaction, if any, with the last id sent as the shard's progress. */
  void commit() {
    if (!open) {
      return;
    }
    ObjectNode metadata = JSON.createObjectNode().put("seq", lastSent).put("id", openEpoch);
    producer.sendOffsetsToTransaction(
        Map.of(progressPartition, new OffsetAndMetadata(0L, metadata.toString())),
        new ConsumerGroupMetadata(settings.sinkGroupId));
    producer.commitTransaction();
    open = false;
    committed.put(openEpoch, lastSent);
  }

  @Override
  public void close() {
    try {
      if (open) {
        producer.abortTransaction();
      }
    } catch (KafkaException e) {
      // Fenced or broken: the broker aborts the transaction when a new producer starts.
    } finally {
      open = false;
      producer.close(Duration.ofSeconds(5));
    }
  }
}

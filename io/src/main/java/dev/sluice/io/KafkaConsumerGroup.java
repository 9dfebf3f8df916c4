package dev.sluice.io;

import dev.sluice.transforms.Checks;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * The committed offsets of a Kafka consumer group, as a launcher checks them before a job starts: a
 * job that starts without restored state from offsets committed by an earlier run would recompute
 * the windows open at those offsets from part of their events.
 *
 * <pre>{@code
 * KafkaConsumerGroup group =
 *     KafkaConsumerGroup.of("localhost:9092", "sluice-metrics", KafkaJsonIO.ClientProperties.EMPTY);
 * Map<TopicPartition, Long> committed = group.committedOffsets(List.of("events"));
 * if (!committed.isEmpty() && fresh) {
 *   group.resetToEarliest(committed.keySet());
 * }
 * }</pre>
 *
 * <p>It runs where the job is launched, not on workers, and connects with the job's client
 * properties (secrets included; they are never printed).
 */
public final class KafkaConsumerGroup {
  private static final long TIMEOUT_SECONDS = 30;

  private final String bootstrapServers;
  private final String groupId;
  private final KafkaJsonIO.ClientProperties properties;

  private KafkaConsumerGroup(
      String bootstrapServers, String groupId, KafkaJsonIO.ClientProperties properties) {
    this.bootstrapServers = bootstrapServers;
    this.groupId = groupId;
    this.properties = properties;
  }

  /** The group {@code groupId} on the cluster at {@code bootstrapServers}. */
  public static KafkaConsumerGroup of(
      String bootstrapServers, String groupId, KafkaJsonIO.ClientProperties properties) {
    return new KafkaConsumerGroup(
        Checks.notBlank("bootstrapServers", bootstrapServers),
        Checks.notBlank("groupId", groupId),
        Checks.notNull("properties", properties));
  }

  public String groupId() {
    return groupId;
  }

  /** The group's committed offsets on {@code topics}, by partition (empty: none committed). */
  public Map<TopicPartition, Long> committedOffsets(List<String> topics) {
    try (Admin admin = admin()) {
      Map<TopicPartition, OffsetAndMetadata> offsets =
          admin
              .listConsumerGroupOffsets(groupId)
              .partitionsToOffsetAndMetadata()
              .get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
      Map<TopicPartition, Long> committed =
          new TreeMap<>(
              (a, b) ->
                  a.topic().equals(b.topic())
                      ? Integer.compare(a.partition(), b.partition())
                      : a.topic().compareTo(b.topic()));
      offsets.forEach(
          (partition, offset) -> {
            if (offset != null && topics.contains(partition.topic())) {
              committed.put(partition, offset.offset());
            }
          });
      return committed;
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException(
          "cannot read the committed offsets of consumer group "
              + groupId
              + " at "
              + bootstrapServers
              + ": "
              + (e.getCause() == null ? e : e.getCause()).getMessage(),
          e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  /**
   * Moves the group's committed offsets of {@code partitions} back to the earliest retained record,
   * as {@code kafka-consumer-groups --reset-offsets --to-earliest} does.
   */
  public void resetToEarliest(Iterable<TopicPartition> partitions) {
    try (Admin admin = admin()) {
      Map<TopicPartition, OffsetSpec> earliest = new HashMap<>();
      partitions.forEach(p -> earliest.put(p, OffsetSpec.earliest()));
      if (earliest.isEmpty()) {
        return;
      }
      Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> found =
          admin.listOffsets(earliest).all().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
      Map<TopicPartition, OffsetAndMetadata> reset = new HashMap<>();
      found.forEach((p, info) -> reset.put(p, new OffsetAndMetadata(info.offset())));
      admin.alterConsumerGroupOffsets(groupId, reset).all().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException(
          "cannot reset the offsets of consumer group "
              + groupId
              + " (is another job of the group still running?): "
              + (e.getCause() == null ? e : e.getCause()).getMessage(),
          e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  private Admin admin() {
    Map<String, Object> config = new HashMap<>(properties.plain());
    config.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    config.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 20_000);
    config.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
    return Admin.create(properties.withSecrets(config));
  }
}

package dev.sluice.pipelines;

import dev.sluice.io.KafkaConsumerGroup;
import dev.sluice.io.KafkaJsonIO;
import java.io.PrintStream;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.kafka.common.TopicPartition;

/**
 * Where a job that reads Kafka starts, checked when it is launched, so that no restart path
 * recomputes a window from part of its events.
 *
 * <ul>
 *   <li>State restored (a Flink checkpoint or savepoint, {@link Options#getRestoredState}): the
 *       source positions come from that state, consistent with the windows and alert episodes in
 *       it.
 *   <li>No state and no committed offsets: a first start; the source begins at {@code
 *       auto.offset.reset}.
 *   <li>No state but offsets committed by an earlier run (the Direct runner after a restart, a lost
 *       checkpoint directory, a new job): the job refuses to start and explains the choices,
 *       because the windows open at those offsets would be recomputed from part of their events.
 *   <li>{@code --fresh}: the group's offsets go back to the earliest retained records and every
 *       window is recomputed whole (the PostgreSQL store keeps a stored row unless the new one is
 *       at least as complete).
 * </ul>
 */
public final class StartingPoint {
  private StartingPoint() {}

  /** The options a launcher sets to say how the job starts. */
  public interface Options extends PipelineOptions, dev.sluice.pipelines.metrics.MetricsOptions {
    @Description(
        "Start over: move the Kafka consumer group's offsets back to the earliest retained records"
            + " and recompute every window (with --preset=flink, also drop earlier checkpoints).")
    @Default.Boolean(false)
    boolean getFresh();

    void setFresh(boolean value);

    @Description(
        "Set by the launcher when the runner restores the job's state from this checkpoint or"
            + " savepoint; the source positions then come from that state.")
    String getRestoredState();

    void setRestoredState(String value);
  }

  /**
   * Checks (and with {@code --fresh} resets) the consumer group before a job that reads {@code
   * topics} starts.
   *
   * @throws IllegalArgumentException when offsets are committed but no state is restored
   */
  public static void checkKafka(
      Options options,
      String bootstrapServers,
      String groupId,
      List<String> topics,
      KafkaJsonIO.ClientProperties properties,
      PrintStream out) {
    if (options.getRestoredState() != null && !options.getRestoredState().isEmpty()) {
      return;
    }
    KafkaConsumerGroup group = KafkaConsumerGroup.of(bootstrapServers, groupId, properties);
    Map<TopicPartition, Long> committed = group.committedOffsets(topics);
    if (committed.isEmpty()) {
      return;
    }
    if (options.getFresh()) {
      group.resetToEarliest(committed.keySet());
      out.printf(
          "--fresh: consumer group %s moved back to the earliest retained records of %d"
              + " partition(s); every window is recomputed%n",
          groupId, committed.size());
      return;
    }
    throw new IllegalArgumentException(
        "--kafkaGroupId: consumer group "
            + groupId
            + " has offsets committed by an earlier run ("
            + committed
            + "), but this run restores no state, so the windows and alert episodes open at those"
            + " offsets would be recomputed from part of their events. Choose one: run with"
            + " --preset=flink (it resumes from the newest checkpoint of the same --jobName and"
            + " --outputDir), --from-savepoint=PATH, --fresh (recompute everything from the"
            + " earliest retained records), or another --kafkaGroupId");
  }
}

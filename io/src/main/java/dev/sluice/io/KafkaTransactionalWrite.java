package dev.sluice.io;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.coders.CustomCoder;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.NullableCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.coders.VarIntCoder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.state.BagState;
import org.apache.beam.sdk.state.StateSpec;
import org.apache.beam.sdk.state.StateSpecs;
import org.apache.beam.sdk.state.ValueState;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.windowing.AfterPane;
import org.apache.beam.sdk.transforms.windowing.GlobalWindows;
import org.apache.beam.sdk.transforms.windowing.Repeatedly;
import org.apache.beam.sdk.transforms.windowing.Window;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PDone;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * Exactly-once writes of (key, value) records to one Kafka topic with Kafka transactions: what
 * {@link KafkaJsonIO.Write#withExactlyOnce} expands to. A {@code read_committed} consumer sees each
 * record once, across runner retries, crashes and restores from a checkpoint.
 *
 * <pre>{@code
 * records.apply("WriteKafka",
 *     new KafkaTransactionalWrite("localhost:9092", "alerts", "sluice-main-alerts",
 *         KafkaJsonIO.ClientProperties.EMPTY));
 * }</pre>
 *
 * <p>The design is Beam's {@code KafkaExactlyOnceSink} (one shard): a stateful step {@code
 * AssignSequenceIds} numbers the records; {@code WriteTransactions} ({@code @RequiresStableInput},
 * so it sees only records the runner will replay identically) writes those it has not written yet
 * in one transaction per bundle, and commits with the transaction the last id written as the
 * metadata of the sink group's offset for partition 0 ({@code {"seq": N, "id": "<epoch>"}}).
 *
 * <p>One thing differs, and it is why this class exists. Beam's writer keeps a random writer id in
 * its own state, assigned when it writes its first transaction. On Flink, a step with stable input
 * writes a checkpoint's records only after that checkpoint completed, so the writer's state in the
 * checkpoint never has the id of the transaction it is about to write; a crash after the job's
 * first transaction and before the next checkpoint leaves Kafka with metadata and the restored
 * state without a writer id, and Beam's writer then fails on every restart ("Kafka metadata exists
 * for shard 0, but there is no stored state for it"): the alerts stop. Here the id (the
 * <em>epoch</em>) is assigned by the numbering step and travels with every record, so the writer
 * always knows it: metadata of the same epoch says how far it got (records up to {@code seq} are
 * skipped as written), metadata of another epoch is an earlier lineage of the job (a run with
 * {@code --fresh}): numbering starts over and the metadata is replaced.
 */
final class KafkaTransactionalWrite extends PTransform<PCollection<KV<String, String>>, PDone> {
  /** The one shard; its records' progress is kept as the sink group's offset of partition 0. */
  static final int SHARD = 0;

  private final String bootstrapServers;
  private final String topic;
  private final String sinkGroupId;
  private final KafkaJsonIO.ClientProperties properties;

  KafkaTransactionalWrite(
      String bootstrapServers,
      String topic,
      String sinkGroupId,
      KafkaJsonIO.ClientProperties properties) {
    this.bootstrapServers = bootstrapServers;
    this.topic = topic;
    this.sinkGroupId = sinkGroupId;
    this.properties = properties;
  }

  @Override
  public PDone expand(PCollection<KV<String, String>> input) {
    ShardSettings settings = new ShardSettings(bootstrapServers, topic, sinkGroupId, properties);
    input
        .apply(
            "IntoGlobalWindow",
            Window.<KV<String, String>>into(new GlobalWindows())
                .triggering(Repeatedly.forever(AfterPane.elementCountAtLeast(1)))
                .discardingFiredPanes())
        .apply(
            "ToShard",
            MapElements.into(
                    TypeDescriptors.kvs(
                        TypeDescriptors.integers(),
                        TypeDescriptors.kvs(TypeDescriptors.strings(), TypeDescriptors.strings())))
                .via(record -> KV.of(SHARD, record)))
        .setCoder(
            KvCoder.of(
                VarIntCoder.of(),
                KvCoder.of(NullableCoder.of(StringUtf8Coder.of()), StringUtf8Coder.of())))
        .apply("AssignSequenceIds", ParDo.of(new AssignSequenceIdsFn()))
        .setCoder(KvCoder.of(VarIntCoder.of(), SequencedRecord.CODER))
        .apply("WriteTransactions", ParDo.of(new WriteTransactionsFn(settings)));
    return PDone.in(input.getPipeline());
  }

  /** A record with its lineage ({@code epoch}) and its number within it. */
  record SequencedRecord(String epoch, long id, @Nullable String key, String value)
      implements Serializable {
    static final Coder<SequencedRecord> CODER = new SequencedRecordCoder();
  }

  /** Deterministic: epoch, id, key (nullable), value. */
  private static final class SequencedRecordCoder extends CustomCoder<SequencedRecord> {
    private static final Coder<String> STRING = StringUtf8Coder.of();
    private static final Coder<String> NULLABLE = NullableCoder.of(StringUtf8Coder.of());

    @Override
    public void encode(SequencedRecord value, OutputStream out) throws IOException {
      STRING.encode(value.epoch(), out);
      VarLongCoder.of().encode(value.id(), out);
      NULLABLE.encode(value.key(), out);
      STRING.encode(value.value(), out);
    }

    @Override
    public SequencedRecord decode(InputStream in) throws IOException {
      return new SequencedRecord(
          STRING.decode(in), VarLongCoder.of().decode(in), NULLABLE.decode(in), STRING.decode(in));
    }

    @Override
    public void verifyDeterministic() {}
  }

  /** Numbers the records of the shard; the first record of a lineage draws its epoch. */
  static final class AssignSequenceIdsFn
      extends DoFn<KV<Integer, KV<String, String>>, KV<Integer, SequencedRecord>> {
    @StateId("epoch")
    private final StateSpec<ValueState<String>> epochSpec = StateSpecs.value(StringUtf8Coder.of());

    @StateId("nextId")
    private final StateSpec<ValueState<Long>> nextIdSpec = StateSpecs.value(VarLongCoder.of());

    @ProcessElement
    public void process(
        @Element KV<Integer, KV<String, String>> element,
        @StateId("epoch") ValueState<String> epochState,
        @StateId("nextId") ValueState<Long> nextIdState,
        OutputReceiver<KV<Integer, SequencedRecord>> out) {
      String epoch = epochState.read();
      if (epoch == null) {
        epoch = UUID.randomUUID().toString();
        epochState.write(epoch);
      }
      Long stored = nextIdState.read();
      long id = stored == null ? 0 : stored;
      KV<String, String> record = element.getValue();
      out.output(
          KV.of(
              element.getKey(),
              new SequencedRecord(epoch, id, record.getKey(), record.getValue())));
      nextIdState.write(id + 1);
    }
  }

  /**
   * Writes the records it has not written yet, in id order, one transaction per bundle; holds
   * records that arrive ahead of a gap until the gap is filled (a runner may reorder them).
   */
  static final class WriteTransactionsFn extends DoFn<KV<Integer, SequencedRecord>, Void> {
    private final ShardSettings settings;

    @StateId("epoch")
    private final StateSpec<ValueState<String>> epochSpec = StateSpecs.value(StringUtf8Coder.of());

    @StateId("nextId")
    private final StateSpec<ValueState<Long>> nextIdSpec = StateSpecs.value(VarLongCoder.of());

    @StateId("ahead")
    private final StateSpec<BagState<SequencedRecord>> aheadSpec =
        StateSpecs.bag(SequencedRecord.CODER);

    private transient @Nullable KafkaTransactionalShard shard;
    private transient Counter skipped;

    WriteTransactionsFn(ShardSettings settings) {
      this.settings = settings;
    }

    @Setup
    public void setup() {
      skipped = Metrics.counter(KafkaJsonIO.METRICS_NAMESPACE, RECORDS_ALREADY_COMMITTED);
      KafkaTransactionalShard.join(settings);
    }

    @StartBundle
    public void startBundle() {
      // A producer still held here is from a bundle that failed: its transaction is aborted.
      discardShard();
    }

    @RequiresStableInput
    @ProcessElement
    public void process(
        @Element KV<Integer, SequencedRecord> element,
        @StateId("epoch") ValueState<String> epochState,
        @StateId("nextId") ValueState<Long> nextIdState,
        @StateId("ahead") BagState<SequencedRecord> ahead) {
      SequencedRecord record = element.getValue();
      Long stored = nextIdState.read();
      long next = stored == null ? 0 : stored;
      if (!record.epoch().equals(epochState.read())) {
        // The first record, or the first of a new lineage (a fresh start): numbering restarts.
        epochState.write(record.epoch());
        next = 0;
        ahead.clear();
      }
      KafkaTransactionalShard writer = shard();
      // Kafka may be ahead of the restored state: a transaction written after the checkpoint
      // this state comes from. Its records are the ones replayed now (stable input): skip them.
      next = Math.max(next, writer.committed(record.epoch()) + 1);
      if (record.id() < next) {
        skipped.inc();
      } else if (record.id() > next) {
        ahead.add(record);
      } else {
        writer.send(record);
        next++;
        if (!ahead.isEmpty().read()) {
          next = drain(writer, ahead, record.epoch(), next);
        }
      }
      nextIdState.write(next);
    }

    /** Writes the held records that follow without a gap; keeps the others. */
    private long drain(
        KafkaTransactionalShard writer, BagState<SequencedRecord> ahead, String epoch, long next) {
      List<SequencedRecord> held = new ArrayList<>();
      for (SequencedRecord r : ahead.read()) {
        if (r.epoch().equals(epoch) && r.id() >= next) {
          held.add(r);
        }
      }
      held.sort(java.util.Comparator.comparingLong(SequencedRecord::id));
      ahead.clear();
      for (SequencedRecord r : held) {
        if (r.id() == next) {
          writer.send(r);
          next++;
        } else if (r.id() > next) {
          ahead.add(r);
        }
      }
      return next;
    }

    @FinishBundle
    public void finishBundle() {
      if (shard == null) {
        return;
      }
      try {
        shard.commit();
      } catch (RuntimeException e) {
        discardShard();
        throw e;
      }
      KafkaTransactionalShard.giveBack(shard);
      shard = null;
    }

    private KafkaTransactionalShard shard() {
      if (shard == null) {
        shard = KafkaTransactionalShard.borrow(settings);
      }
      return shard;
    }

    private void discardShard() {
      if (shard != null) {
        KafkaTransactionalShard.discard(shard);
        shard = null;
      }
    }

    @Teardown
    public void teardown() {
      discardShard();
      KafkaTransactionalShard.leave(settings);
    }
  }

  /** Counter of records skipped because Kafka already has them (a replay after a restore). */
  static final String RECORDS_ALREADY_COMMITTED = "records_already_committed";

  /** Where the shard writes and keeps its progress; serializable, secrets added on the worker. */
  static final class ShardSettings implements Serializable {
    final String bootstrapServers;
    final String topic;
    final String sinkGroupId;
    final KafkaJsonIO.ClientProperties properties;

    ShardSettings(
        String bootstrapServers,
        String topic,
        String sinkGroupId,
        KafkaJsonIO.ClientProperties properties) {
      this.bootstrapServers = bootstrapServers;
      this.topic = topic;
      this.sinkGroupId = sinkGroupId;
      this.properties = properties;
    }

    /** Beam's name for shard 0, so a writer of Beam's sink with the same group is fenced off. */
    String transactionalId() {
      return "producer_" + SHARD + "_for_" + sinkGroupId;
    }
  }
}

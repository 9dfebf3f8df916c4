package dev.sluice.benchmarks.compare;

import java.io.IOException;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.NoSuchElementException;
import org.apache.beam.sdk.coders.ByteArrayCoder;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.coders.SerializableCoder;
import org.apache.beam.sdk.io.UnboundedSource;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.transforms.windowing.BoundedWindow;
import org.checkerframework.checker.nullness.qual.Nullable;
import org.joda.time.Instant;

/**
 * The workload as an unbounded Beam source, the way a Kafka topic reaches Sluice: split {@code s}
 * of {@code n} emits events {@code s, s + n, s + 2n, ...}, each timestamped with its event time,
 * with a watermark at the event time of its latest event (a split's events are in order). When a
 * split is done its watermark is the end of time, and a runner finishes the read once all splits
 * are: an unbounded read that ends, so the streaming code paths run and the job still completes.
 */
final class WorkloadSource extends UnboundedSource<byte[], WorkloadSource.Position> {
  private static final long serialVersionUID = 1L;

  private final Workload workload;
  private final int split;
  private final int numSplits;

  WorkloadSource(Workload workload) {
    this(workload, 0, 1);
  }

  private WorkloadSource(Workload workload, int split, int numSplits) {
    this.workload = workload;
    this.split = split;
    this.numSplits = numSplits;
  }

  @Override
  public List<WorkloadSource> split(int desiredNumSplits, PipelineOptions options) {
    int n = Math.max(1, desiredNumSplits);
    List<WorkloadSource> splits = new ArrayList<>(n);
    for (int s = 0; s < n; s++) {
      splits.add(new WorkloadSource(workload, s, n));
    }
    return splits;
  }

  @Override
  public UnboundedReader<byte[]> createReader(
      PipelineOptions options, @Nullable Position checkpointMark) {
    return new Reader(this, checkpointMark == null ? split : checkpointMark.next);
  }

  @Override
  public Coder<Position> getCheckpointMarkCoder() {
    return SerializableCoder.of(Position.class);
  }

  @Override
  public Coder<byte[]> getOutputCoder() {
    return ByteArrayCoder.of();
  }

  /** The next index a split emits. */
  static final class Position implements UnboundedSource.CheckpointMark, Serializable {
    private static final long serialVersionUID = 1L;
    final long next;

    Position(long next) {
      this.next = next;
    }

    @Override
    public void finalizeCheckpoint() {}
  }

  private static final class Reader extends UnboundedReader<byte[]> {
    private final WorkloadSource source;
    private long next;
    private long current = -1;
    private byte[] payload;

    Reader(WorkloadSource source, long next) {
      this.source = source;
      this.next = next;
    }

    @Override
    public boolean start() {
      return advance();
    }

    @Override
    public boolean advance() {
      if (next >= source.workload.numEvents) {
        payload = null;
        return false;
      }
      current = next;
      next += source.numSplits;
      payload = source.workload.payload(current);
      return true;
    }

    @Override
    public byte[] getCurrent() {
      if (payload == null) {
        throw new NoSuchElementException();
      }
      return payload;
    }

    @Override
    public Instant getCurrentTimestamp() {
      if (payload == null) {
        throw new NoSuchElementException();
      }
      return new Instant(source.workload.eventTimeMillis(current));
    }

    @Override
    public Instant getWatermark() {
      if (next >= source.workload.numEvents && payload == null) {
        return BoundedWindow.TIMESTAMP_MAX_VALUE;
      }
      return current < 0
          ? BoundedWindow.TIMESTAMP_MIN_VALUE
          : new Instant(source.workload.eventTimeMillis(current));
    }

    @Override
    public Position getCheckpointMark() {
      return new Position(next);
    }

    @Override
    public WorkloadSource getCurrentSource() {
      return source;
    }

    @Override
    public void close() throws IOException {}
  }
}

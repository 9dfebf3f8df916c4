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
 * of {@code n} emits the stream's positions {@code s, s + n, s + 2n, ...} (events, and redeliveries
 * when the workload has them: {@link Workload#eventAt}), each timestamped with its event time, with
 * a watermark at the newest event time it emitted (a split's events are in order; a redelivery is
 * older than the watermark, as a real one is). When a split is done its watermark is the end of
 * time, and a runner finishes the read once all splits are: an unbounded read that ends, so the
 * streaming code paths run and the job still completes.
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
    private long newestMillis = Long.MIN_VALUE;
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
      if (next >= source.workload.streamLength()) {
        payload = null;
        return false;
      }
      current = source.workload.eventAt(next);
      next += source.numSplits;
      payload = source.workload.payload(current);
      newestMillis = Math.max(newestMillis, source.workload.eventTimeMillis(current));
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
      if (next >= source.workload.streamLength() && payload == null) {
        return BoundedWindow.TIMESTAMP_MAX_VALUE;
      }
      // The newest event time, not the current one: a redelivery is older than the watermark.
      return current < 0 ? BoundedWindow.TIMESTAMP_MIN_VALUE : new Instant(newestMillis);
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

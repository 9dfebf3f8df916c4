package dev.sluice.transforms;

import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;

/**
 * A Beam {@link Counter} that a DoFn counts into locally and adds to once per bundle: an update of
 * a Beam counter is a lookup in the current metrics container, too much to pay per element.
 *
 * <pre>{@code
 * private transient BundleCounter written;
 * @Setup public void setup() { written = BundleCounter.of(NAMESPACE, "records_written"); }
 * @StartBundle public void start() { written.reset(); }
 * @ProcessElement public void process(...) { ...; written.inc(); }
 * @FinishBundle public void finish() { written.flush(); }
 * }</pre>
 *
 * <p>The totals are those of per-element counting, reported at the end of each bundle. Not
 * serializable: create it in {@code @Setup}. Not thread-safe, as a DoFn instance is not.
 */
public final class BundleCounter {
  private final Counter counter;
  private final long flushAt;
  private long pending;

  private BundleCounter(Counter counter, long flushAt) {
    this.counter = counter;
    this.flushAt = flushAt;
  }

  public static BundleCounter of(String namespace, String name) {
    return new BundleCounter(Metrics.counter(namespace, name), Long.MAX_VALUE);
  }

  /**
   * Also adds to the Beam counter whenever {@code count} elements are pending, for a DoFn that
   * works long on one element (e.g. reads a whole file): runners that report metrics during a
   * bundle then still show progress.
   */
  public BundleCounter flushingEvery(long count) {
    Checks.positive("count", count);
    return new BundleCounter(counter, count);
  }

  public void inc() {
    if (++pending >= flushAt) {
      flush();
    }
  }

  public void inc(long n) {
    pending += n;
    if (pending >= flushAt) {
      flush();
    }
  }

  /** Adds what was counted since the last flush to the Beam counter. */
  public void flush() {
    if (pending != 0) {
      counter.inc(pending);
      pending = 0;
    }
  }

  /** Forgets what was counted since the last flush (at the start of a bundle: a retried one). */
  public void reset() {
    pending = 0;
  }
}

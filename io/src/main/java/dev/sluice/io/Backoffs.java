package dev.sluice.io;

import org.apache.beam.sdk.util.BackOff;
import org.apache.beam.sdk.util.FluentBackoff;
import org.joda.time.Duration;

/**
 * The retry delays of the io writers: Beam's {@link FluentBackoff}, doubling from {@code initial}
 * with its ±50 % jitter, and every delay capped at {@code max} (FluentBackoff's jitter alone may
 * exceed its maximum by half).
 */
final class Backoffs {
  private Backoffs() {}

  /**
   * A fresh backoff for one operation: at most {@code maxRetries} delays, then {@link
   * BackOff#STOP}.
   */
  static BackOff doubling(Duration initial, Duration max, int maxRetries) {
    BackOff backoff =
        FluentBackoff.DEFAULT
            .withExponent(2.0)
            .withInitialBackoff(initial)
            .withMaxBackoff(max)
            .withMaxRetries(maxRetries)
            .backoff();
    long capMillis = max.getMillis();
    return new BackOff() {
      @Override
      public void reset() {
        backoff.reset();
      }

      @Override
      public long nextBackOffMillis() {
        long next = backoff.nextBackOffMillis();
        return next == BackOff.STOP ? BackOff.STOP : Math.min(next, capMillis);
      }
    };
  }
}

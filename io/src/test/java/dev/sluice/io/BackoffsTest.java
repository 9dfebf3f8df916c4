package dev.sluice.io;

import static org.assertj.core.api.Assertions.assertThat;

import org.apache.beam.sdk.util.BackOff;
import org.joda.time.Duration;
import org.junit.jupiter.api.Test;

class BackoffsTest {
  @Test
  void doublesFromTheInitialDelayWithHalfJitter() {
    for (int i = 0; i < 200; i++) {
      BackOff backoff = Backoffs.doubling(Duration.millis(100), Duration.standardSeconds(10), 5);
      long ceiling = 100;
      for (int retry = 0; retry < 5; retry++) {
        assertThat(backoff.nextBackOffMillis()).isBetween(ceiling / 2, ceiling * 3 / 2);
        ceiling *= 2;
      }
    }
  }

  @Test
  void everyDelayIsCappedAtTheMaximum() {
    for (int i = 0; i < 200; i++) {
      BackOff backoff = Backoffs.doubling(Duration.millis(800), Duration.millis(1_000), 20);
      for (int retry = 0; retry < 20; retry++) {
        assertThat(backoff.nextBackOffMillis()).isBetween(400L, 1_000L);
      }
    }
  }

  @Test
  void stopsAfterMaxRetriesAndStartsOverOnReset() {
    BackOff backoff = Backoffs.doubling(Duration.millis(10), Duration.millis(100), 2);
    assertThat(backoff.nextBackOffMillis()).isNotEqualTo(BackOff.STOP);
    assertThat(backoff.nextBackOffMillis()).isNotEqualTo(BackOff.STOP);
    assertThat(backoff.nextBackOffMillis()).isEqualTo(BackOff.STOP);
    backoff.reset();
    assertThat(backoff.nextBackOffMillis()).isBetween(5L, 15L);
  }

  @Test
  void zeroRetriesStopsAtOnce() {
    assertThat(Backoffs.doubling(Duration.millis(10), Duration.millis(100), 0).nextBackOffMillis())
        .isEqualTo(BackOff.STOP);
  }
}

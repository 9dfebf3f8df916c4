package dev.sluice.io;

import static org.assertj.core.api.Assertions.assertThat;

import org.apache.beam.sdk.util.BackOff;
import org.joda.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * The retry delays every HTTP sink shares; the sinks' own tests cover delivery, retries and
 * redaction end to end.
 */
class HttpSenderTest {
  @Test
  void backoffDoublesWithJitterCappedAtMaxAndRetryAfterWinsCapped() {
    for (int i = 0; i < 200; i++) {
      BackOff backoff = Backoffs.doubling(Duration.millis(100), Duration.millis(1_000), 10);
      assertThat(HttpSender.retryDelayMillis(backoff, -1, 1_000)).isBetween(50L, 150L);
      assertThat(HttpSender.retryDelayMillis(backoff, -1, 1_000)).isBetween(100L, 300L);
      assertThat(HttpSender.retryDelayMillis(backoff, -1, 1_000)).isBetween(200L, 600L);
      for (int retry = 3; retry < 10; retry++) {
        assertThat(HttpSender.retryDelayMillis(backoff, -1, 1_000)).isBetween(0L, 1_000L);
      }
    }
    BackOff backoff = Backoffs.doubling(Duration.millis(100), Duration.millis(1_000), 10);
    assertThat(HttpSender.retryDelayMillis(backoff, 5_000, 1_000)).isEqualTo(1_000L);
    assertThat(HttpSender.retryDelayMillis(backoff, 200, 1_000)).isEqualTo(200L);
  }
}

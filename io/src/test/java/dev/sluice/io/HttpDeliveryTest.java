package dev.sluice.io;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetAddress;
import org.apache.beam.sdk.util.BackOff;
import org.joda.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The address rules and retry delays every HTTP sink shares (moved here from WebhookIOTest with the
 * code); the sinks' own tests cover them end to end.
 */
class HttpDeliveryTest {
  // --- SSRF -------------------------------------------------------------------------------------

  @ParameterizedTest
  @ValueSource(
      strings = {
        "10.1.2.3",
        "172.16.0.1",
        "172.31.255.255",
        "192.168.1.1",
        "169.254.169.254",
        "169.254.1.1",
        "100.64.0.1",
        "100.100.100.200",
        "127.0.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fd00:ec2::254",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "64:ff9b::a9fe:a9fe",
        "2002:7f00:1::1"
      })
  void privateAndSpecialAddressesAreForbidden(String literal) throws IOException {
    assertThat(HttpDelivery.forbiddenReason(InetAddress.getByName(literal))).isNotNull();
  }

  @ParameterizedTest
  @ValueSource(strings = {"93.184.216.34", "2606:4700::1", "172.32.0.1", "100.128.0.1", "8.8.8.8"})
  void publicAddressesAreAllowed(String literal) throws IOException {
    assertThat(HttpDelivery.forbiddenReason(InetAddress.getByName(literal))).isNull();
  }

  @Test
  void forbiddenReasonsNameTheKindOfAddress() throws IOException {
    assertThat(HttpDelivery.forbiddenReason(address(10, 1, 2, 3))).contains("private");
    assertThat(HttpDelivery.forbiddenReason(address(169, 254, 169, 254))).contains("metadata");
    assertThat(HttpDelivery.forbiddenReason(address(100, 64, 0, 1))).contains("carrier-grade NAT");
    assertThat(HttpDelivery.forbiddenReason(address(224, 0, 0, 1))).contains("multicast");
    assertThat(HttpDelivery.forbiddenReason(address(0, 0, 0, 0))).contains("any-local");
    assertThat(HttpDelivery.forbiddenReason(InetAddress.getByName("::1"))).contains("loopback");
    assertThat(HttpDelivery.forbiddenReason(InetAddress.getByName("fe80::1")))
        .contains("link-local");
    assertThat(HttpDelivery.forbiddenReason(InetAddress.getByName("fd00:ec2::254")))
        .contains("metadata");
    assertThat(HttpDelivery.forbiddenReason(InetAddress.getByName("fd12::1")))
        .contains("unique-local");
  }

  // --- backoff ----------------------------------------------------------------------------------

  @Test
  void backoffDoublesWithJitterCappedAtMaxAndRetryAfterWinsCapped() {
    for (int i = 0; i < 200; i++) {
      BackOff backoff = Backoffs.doubling(Duration.millis(100), Duration.millis(1_000), 10);
      assertThat(HttpDelivery.retryDelayMillis(backoff, -1, 1_000)).isBetween(50L, 150L);
      assertThat(HttpDelivery.retryDelayMillis(backoff, -1, 1_000)).isBetween(100L, 300L);
      assertThat(HttpDelivery.retryDelayMillis(backoff, -1, 1_000)).isBetween(200L, 600L);
      for (int retry = 3; retry < 10; retry++) {
        assertThat(HttpDelivery.retryDelayMillis(backoff, -1, 1_000)).isBetween(0L, 1_000L);
      }
    }
    BackOff backoff = Backoffs.doubling(Duration.millis(100), Duration.millis(1_000), 10);
    assertThat(HttpDelivery.retryDelayMillis(backoff, 5_000, 1_000)).isEqualTo(1_000L);
    assertThat(HttpDelivery.retryDelayMillis(backoff, 200, 1_000)).isEqualTo(200L);
  }

  private static InetAddress address(int a, int b, int c, int d) throws IOException {
    return InetAddress.getByAddress(new byte[] {(byte) a, (byte) b, (byte) c, (byte) d});
  }
}

package dev.sluice.io;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetAddress;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The address rules every HTTP sink shares (moved here from WebhookIOTest with the code); the
 * sinks' own tests cover them end to end.
 */
class AddressChecksTest {
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
    assertThat(AddressChecks.forbiddenReason(InetAddress.getByName(literal))).isNotNull();
  }

  @ParameterizedTest
  @ValueSource(strings = {"93.184.216.34", "2606:4700::1", "172.32.0.1", "100.128.0.1", "8.8.8.8"})
  void publicAddressesAreAllowed(String literal) throws IOException {
    assertThat(AddressChecks.forbiddenReason(InetAddress.getByName(literal))).isNull();
  }

  @Test
  void forbiddenReasonsNameTheKindOfAddress() throws IOException {
    assertThat(AddressChecks.forbiddenReason(address(10, 1, 2, 3))).contains("private");
    assertThat(AddressChecks.forbiddenReason(address(169, 254, 169, 254))).contains("metadata");
    assertThat(AddressChecks.forbiddenReason(address(100, 64, 0, 1))).contains("carrier-grade NAT");
    assertThat(AddressChecks.forbiddenReason(address(224, 0, 0, 1))).contains("multicast");
    assertThat(AddressChecks.forbiddenReason(address(0, 0, 0, 0))).contains("any-local");
    assertThat(AddressChecks.forbiddenReason(InetAddress.getByName("::1"))).contains("loopback");
    assertThat(AddressChecks.forbiddenReason(InetAddress.getByName("fe80::1")))
        .contains("link-local");
    assertThat(AddressChecks.forbiddenReason(InetAddress.getByName("fd00:ec2::254")))
        .contains("metadata");
    assertThat(AddressChecks.forbiddenReason(InetAddress.getByName("fd12::1")))
        .contains("unique-local");
  }

  private static InetAddress address(int a, int b, int c, int d) throws IOException {
    return InetAddress.getByAddress(new byte[] {(byte) a, (byte) b, (byte) c, (byte) d});
  }
}

package dev.sluice.io;

import dev.sluice.transforms.Checks;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * The URL and address checks of the notification sinks ({@link WebhookIO}, {@link AlertmanagerIO})
 * against server-side request forgery: URL syntax (http or https, no user info, a host), the
 * allow-list, literal IP hosts refused before any request, and {@link #forbiddenReason} for the
 * addresses a host name resolves to at delivery ({@link HttpSender}). Loopback, private,
 * link-local, carrier-grade NAT, multicast, reserved and cloud metadata addresses are forbidden,
 * also when embedded in an IPv6 address. Messages never show a URL's path or query ({@link
 * #withoutQuery}): they may carry credentials.
 */
final class AddressChecks {
  private static final Pattern DOTTED_QUAD = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");

  private static final Pattern NUMERIC_HOST = Pattern.compile("[0-9.]+");

  private static final List<byte[]> METADATA_ADDRESSES =
      List.of(
          literal("169.254.169.254").getAddress(), // AWS, GCP, Azure, OpenStack
          literal("fd00:ec2::254").getAddress(), // AWS over IPv6
          literal("100.100.100.200").getAddress()); // Alibaba Cloud

  private AddressChecks() {}

  /**
   * A valid http(s) URL without user info whose host is not a literal loopback, private, link-local
   * or metadata address (unless {@code allowPrivateAddresses}); {@code sink} names the sink in the
   * message.
   *
   * @throws IllegalArgumentException naming the problem (never the URL's path or query string)
   */
  static URI checkUrl(String url, boolean allowPrivateAddresses, String sink) {
    URI uri = parseUrl(url);
    if (!allowPrivateAddresses) {
      checkLiteralHost(uri.getHost(), sink);
    }
    return uri;
  }

  static URI parseUrl(String url) {
    Checks.notBlank("url", url);
    URI uri;
    try {
      uri = new URI(url);
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException(
          "url is not a valid URI (" + e.getReason() + "), got '" + withoutQuery(url) + "'");
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    if (!scheme.equals("http") && !scheme.equals("https")) {
      throw new IllegalArgumentException(
          "url scheme must be http or https, got '"
              + (uri.getScheme() == null ? "" : uri.getScheme())
              + "' in '"
              + withoutQuery(url)
              + "'");
    }
    if (uri.getRawUserInfo() != null) {
      // Credentials in the URL would end up in logs and display data; the message hides them too.
      throw new IllegalArgumentException(
          "url must not contain user info; send credentials with withHeader(\"Authorization\","
              + " ...), got '"
              + scheme
              + "://***@"
              + uri.getHost()
              + "'");
    }
    if (uri.getHost() == null) {
      throw new IllegalArgumentException(
          "url must have a valid host name or IP address, got '" + withoutQuery(url) + "'");
    }
    return uri;
  }

  static void checkAllowed(URI uri, Set<String> allowedHosts) {
    String host = uri.getHost().toLowerCase(Locale.ROOT);
    if (!allowedHosts.isEmpty() && !allowedHosts.contains(host)) {
      throw new IllegalArgumentException(
          "url host '" + host + "' is not in allowedHosts " + new TreeSet<>(allowedHosts));
    }
  }

  /**
   * Refuses a forbidden literal IP host without any DNS lookup; names are checked at delivery, when
   * they are resolved.
   */
  static void checkLiteralHost(String host, String sink) {
    boolean ipv6 = host.startsWith("[");
    if (!ipv6 && !NUMERIC_HOST.matcher(host).matches()) {
      return;
    }
    if (!ipv6 && !DOTTED_QUAD.matcher(host).matches()) {
      // Forms like 2130706433 resolve to an address on some stacks: a classic filter bypass.
      throw new IllegalArgumentException(
          "url host '" + host + "' is a numeric address in a non-standard form; use a dotted quad");
    }
    InetAddress address;
    try {
      // A literal: parsed, never looked up.
      address = InetAddress.getByName(host);
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException("url host '" + host + "' is not a valid IP address");
    }
    String reason = forbiddenReason(address);
    if (reason != null) {
      throw new IllegalArgumentException(
          "url host "
              + host
              + " is "
              + reason
              + "; "
              + (sink.equals("webhook") ? "webhooks" : sink + " requests")
              + " to it are refused unless withAllowPrivateAddresses(true)");
    }
  }

  /**
   * The URL's scheme, host and port only: query, fragment and path may all carry tokens (a Slack
   * incoming-webhook URL has its credential in the path).
   */
  static String withoutQuery(String url) {
    int hostStart = url.indexOf("://");
    int end = url.length();
    for (char c : new char[] {'/', '?', '#'}) {
      int at = url.indexOf(c, hostStart < 0 ? 0 : hostStart + 3);
      if (at >= 0 && at < end) {
        end = at;
      }
    }
    return end < url.length() ? url.substring(0, end) + "/..." : url;
  }

  private static InetAddress literal(String address) {
    try {
      return InetAddress.getByName(address);
    } catch (UnknownHostException e) {
      throw new IllegalStateException("not an IP literal: " + address, e);
    }
  }

  /**
   * Why a notification must not be sent to {@code address} ("a loopback address", ...), or {@code
   * null} when it is a public address. IPv6 addresses that embed an IPv4 address (IPv4-compatible,
   * IPv4-mapped, NAT64 {@code 64:ff9b::/96}, 6to4 {@code 2002::/16}) are judged by the embedded
   * address, since they can route to it.
   */
  static @Nullable String forbiddenReason(InetAddress address) {
    byte[] b = address.getAddress();
    for (byte[] metadata : METADATA_ADDRESSES) {
      if (Arrays.equals(metadata, b)) {
        return "a cloud metadata address";
      }
    }
    if (address.isAnyLocalAddress()) {
      return "an any-local (unspecified) address";
    }
    if (address.isLoopbackAddress()) {
      return "a loopback address";
    }
    if (address.isLinkLocalAddress()) {
      return "a link-local address";
    }
    if (address.isSiteLocalAddress()) {
      return "a private (site-local) address";
    }
    if (address.isMulticastAddress()) {
      return "a multicast address";
    }
    if (address instanceof Inet6Address) {
      if ((b[0] & 0xfe) == 0xfc) {
        return "a unique-local IPv6 address (fc00::/7)";
      }
      byte[] embedded = embeddedIpv4(b);
      if (embedded != null) {
        try {
          String reason = forbiddenReason(InetAddress.getByAddress(embedded));
          return reason == null ? null : reason + " embedded in an IPv6 address";
        } catch (UnknownHostException e) {
          throw new IllegalStateException("4 bytes are always an IPv4 address", e);
        }
      }
      return null;
    }
    int b0 = b[0] & 0xff;
    int b1 = b[1] & 0xff;
    if (b0 == 0) {
      return "an unspecified ('this network', 0.0.0.0/8) address";
    }
    if (b0 == 127) {
      return "a loopback address";
    }
    if (b0 == 100 && (b1 & 0xc0) == 64) {
      return "a carrier-grade NAT address (100.64.0.0/10)";
    }
    if (b0 >= 240) {
      return "a reserved or broadcast address (240.0.0.0/4)";
    }
    return null;
  }

  private static byte @Nullable [] embeddedIpv4(byte[] b) {
    boolean zeroPrefix = true;
    for (int i = 0; i < 10; i++) {
      zeroPrefix &= b[i] == 0;
    }
    boolean compatible = zeroPrefix && b[10] == 0 && b[11] == 0; // ::a.b.c.d
    boolean mapped = zeroPrefix && b[10] == (byte) 0xff && b[11] == (byte) 0xff; // ::ffff:a.b.c.d
    boolean nat64 = b[0] == 0 && b[1] == 0x64 && b[2] == (byte) 0xff && b[3] == (byte) 0x9b;
    for (int i = 4; nat64 && i < 12; i++) {
      nat64 = b[i] == 0;
    }
    if (compatible || mapped || nat64) {
      return Arrays.copyOfRange(b, 12, 16);
    }
    if (b[0] == 0x20 && b[1] == 0x02) { // 6to4: 2002:aabb:ccdd::/48
      return Arrays.copyOfRange(b, 2, 6);
    }
    return null;
  }
}

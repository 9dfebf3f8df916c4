package dev.sluice.runners.faults;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;

/**
 * A webhook receiver for a fault scenario: it runs in the test's JVM, so it outlives the job's
 * kills, and records the {@code Idempotency-Key} and the {@code silenced} flag of every request.
 */
final class WebhookReceiver implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();

  private record Received(String key, boolean silenced) {}

  private final HttpServer server;
  private final List<Received> received = new CopyOnWriteArrayList<>();

  private WebhookReceiver(HttpServer server) {
    this.server = server;
  }

  static WebhookReceiver start() throws IOException {
    HttpServer server =
        HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    WebhookReceiver receiver = new WebhookReceiver(server);
    server.createContext(
        "/hook",
        exchange -> {
          try (InputStream body = exchange.getRequestBody()) {
            boolean silenced = JSON.readTree(body).path("silenced").asBoolean(false);
            String key = exchange.getRequestHeaders().getFirst("Idempotency-Key");
            receiver.received.add(new Received(key == null ? "(none)" : key, silenced));
          }
          exchange.sendResponseHeaders(200, -1);
          exchange.close();
        });
    server.setExecutor(Executors.newFixedThreadPool(2));
    server.start();
    return receiver;
  }

  String url() {
    return "http://127.0.0.1:" + server.getAddress().getPort() + "/hook";
  }

  /** The distinct idempotency keys received so far. */
  Set<String> keys() {
    Set<String> keys = new HashSet<>();
    received.forEach(r -> keys.add(r.key()));
    return keys;
  }

  /**
   * The scenario's note on what arrived: every notification the store has as not silenced, no other
   * key, none silenced. "NOT as stored" marks a failure.
   */
  String check(StoredResults stored) {
    Map<String, Integer> times = new HashMap<>();
    int silencedBodies = 0;
    for (Received r : received) {
      times.merge(r.key(), 1, Integer::sum);
      silencedBodies += r.silenced() ? 1 : 0;
    }
    Set<String> missing = new TreeSet<>(stored.notifications());
    missing.removeAll(times.keySet());
    Set<String> unexpected = new TreeSet<>(times.keySet());
    unexpected.removeAll(stored.notifications());
    Set<String> silencedSent = new TreeSet<>(times.keySet());
    silencedSent.retainAll(stored.silencedNotifications());
    long repeated = times.values().stream().filter(n -> n > 1).count();
    boolean ok =
        missing.isEmpty()
            && unexpected.isEmpty()
            && silencedSent.isEmpty()
            && silencedBodies == 0
            && !stored.silencedNotifications().isEmpty();
    return String.format(
        "webhook: %d requests for %d notifications (%d re-sent with the same key), %d stored"
            + " silenced and never sent%s%s",
        received.size(),
        stored.notifications().size(),
        repeated,
        stored.silencedNotifications().size() - silencedSent.size(),
        ok ? "" : " (NOT as stored: missing " + missing + ", unexpected " + unexpected,
        ok ? "" : ", silenced sent " + silencedSent + ", silenced bodies " + silencedBodies + ")");
  }

  @Override
  public void close() {
    server.stop(0);
  }
}

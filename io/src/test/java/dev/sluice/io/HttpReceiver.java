package dev.sluice.io;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real HTTP server on a loopback ephemeral port that records every request: the receiving end of
 * the HTTP sinks' tests (a webhook, a stand-in Alertmanager).
 */
final class HttpReceiver implements AutoCloseable {
  /** What the receiver saw of one request. */
  record Received(
      String method,
      String path,
      String contentType,
      String idempotencyKey,
      String authorization,
      String body) {}

  /** Chooses the status of the {@code attempt}-th request (1-based); may add response headers. */
  @FunctionalInterface
  interface Responder {
    int status(int attempt, HttpExchange exchange) throws IOException;
  }

  final List<Received> requests = new CopyOnWriteArrayList<>();
  private final AtomicInteger attempts = new AtomicInteger();
  private final HttpServer server;
  private final ExecutorService executor = Executors.newCachedThreadPool();

  HttpReceiver(Responder responder) throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext(
        "/",
        exchange -> {
          try (exchange) {
            String body;
            try (InputStream in = exchange.getRequestBody()) {
              body = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
            requests.add(
                new Received(
                    exchange.getRequestMethod(),
                    exchange.getRequestURI().getPath(),
                    exchange.getRequestHeaders().getFirst("Content-Type"),
                    exchange.getRequestHeaders().getFirst("Idempotency-Key"),
                    exchange.getRequestHeaders().getFirst("Authorization"),
                    body));
            int status = responder.status(attempts.incrementAndGet(), exchange);
            exchange.sendResponseHeaders(status, -1);
          } catch (IOException e) {
            // The client gave up on this exchange (a read-timeout test); nothing to answer.
          }
        });
    // Several threads, so a deliberately slow answer does not hold up the retry.
    server.setExecutor(executor);
    server.start();
  }

  int port() {
    return server.getAddress().getPort();
  }

  String url(String pathAndQuery) {
    return "http://127.0.0.1:" + port() + pathAndQuery;
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }
}

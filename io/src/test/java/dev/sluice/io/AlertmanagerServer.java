package dev.sluice.io;

import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.sluice.local.ChildJvm;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A real Prometheus Alertmanager (the Debian package's {@value #BINARY}, 0.25) for the io
 * integration tests, started before a test class and killed after it, with a webhook receiver of
 * its own so a test sees the grouped notifications Alertmanager sends:
 *
 * <pre>{@code
 * @RegisterExtension static final AlertmanagerServer alertmanager = new AlertmanagerServer();
 * AlertmanagerIO.write().to(alertmanager.url()).withAllowPrivateAddresses(true);
 * JsonNode active = alertmanager.get("/api/v2/alerts");
 * List<JsonNode> sent = alertmanager.notifications();
 * }</pre>
 *
 * <p>Its route groups by {@code alertname} with {@code group_wait} and {@code group_interval} of 1
 * s and {@code repeat_interval} 1 h, into the one receiver (a {@code webhook_config} with {@code
 * send_resolved}); it listens on a free port of 127.0.0.1, without cluster gossip ({@code
 * --cluster.listen-address=}), and keeps its data and log ({@code alertmanager.log}) in a temporary
 * directory removed afterwards.
 */
final class AlertmanagerServer implements BeforeAllCallback, AfterAllCallback {
  static final String BINARY = "/usr/bin/prometheus-alertmanager";

  private static final ObjectMapper MAPPER = new ObjectMapper();

  private final List<JsonNode> notifications = new CopyOnWriteArrayList<>();
  private final HttpClient client =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
  private Path dir;
  private HttpServer receiver;
  private Process process;
  private int port;

  @Override
  public void beforeAll(ExtensionContext context) throws IOException {
    if (!Files.isExecutable(Path.of(BINARY))) {
      throw new IllegalStateException(
          BINARY
              + " is missing: the Alertmanager integration tests need the Debian package"
              + " prometheus-alertmanager, which .ci/run installs (apt-get install"
              + " prometheus-alertmanager)");
    }
    dir = Files.createTempDirectory("sluice-io-alertmanager");
    receiver = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    receiver.createContext(
        "/",
        exchange -> {
          try (exchange;
              InputStream in = exchange.getRequestBody()) {
            notifications.add(MAPPER.readTree(in.readAllBytes()));
            exchange.sendResponseHeaders(200, -1);
          }
        });
    receiver.start();
    port = ChildJvm.freePorts(1)[0];
    Path config = dir.resolve("alertmanager.yml");
    Files.writeString(
        config,
        String.join(
            "\n",
            "route:",
            "  receiver: sluice-test",
            "  group_by: [alertname]",
            "  group_wait: 1s",
            "  group_interval: 1s",
            "  repeat_interval: 1h",
            "receivers:",
            "  - name: sluice-test",
            "    webhook_configs:",
            "      - url: http://127.0.0.1:" + receiver.getAddress().getPort() + "/notify",
            "        send_resolved: true",
            ""),
        StandardCharsets.UTF_8);
    Path log = dir.resolve("alertmanager.log");
    process =
        new ProcessBuilder(
                BINARY,
                "--config.file=" + config,
                "--storage.path=" + dir.resolve("data"),
                "--web.listen-address=127.0.0.1:" + port,
                "--cluster.listen-address=")
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .start();
    await("Alertmanager on port " + port + " ready (log: " + log + ")")
        .atMost(Duration.ofSeconds(30))
        .pollInterval(Duration.ofMillis(100))
        .until(
            () -> {
              if (!process.isAlive()) {
                throw new IllegalStateException(
                    "Alertmanager exited with " + process.exitValue() + ":\n" + tail(log));
              }
              return status("/-/ready") == 200;
            });
  }

  @Override
  public void afterAll(ExtensionContext context) throws IOException {
    try {
      if (process != null) {
        process.destroy();
        if (!waitFor(process)) {
          process.destroyForcibly();
          waitFor(process);
        }
      }
      if (receiver != null) {
        receiver.stop(0);
      }
    } finally {
      if (dir != null) {
        try (Stream<Path> paths = Files.walk(dir)) {
          paths.sorted(Comparator.reverseOrder()).forEach(AlertmanagerServer::delete);
        }
      }
    }
  }

  /** The base URL, for {@link AlertmanagerIO.Write#to}. */
  String url() {
    return "http://127.0.0.1:" + port;
  }

  /** The JSON answer to a {@code GET} of Alertmanager's API, e.g. {@code /api/v2/alerts}. */
  JsonNode get(String pathAndQuery) {
    try {
      HttpResponse<String> response =
          client.send(
              HttpRequest.newBuilder(URI.create(url() + pathAndQuery))
                  .timeout(Duration.ofSeconds(5))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() != 200) {
        throw new IllegalStateException(
            "GET " + pathAndQuery + ": HTTP " + response.statusCode() + " " + response.body());
      }
      return MAPPER.readTree(response.body());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** The webhook messages Alertmanager has sent to its receiver so far, in arrival order. */
  List<JsonNode> notifications() {
    return List.copyOf(notifications);
  }

  private int status(String path) {
    try {
      return client
          .send(
              HttpRequest.newBuilder(URI.create(url() + path))
                  .timeout(Duration.ofSeconds(2))
                  .build(),
              HttpResponse.BodyHandlers.discarding())
          .statusCode();
    } catch (IOException e) {
      return -1; // not listening yet
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  private static boolean waitFor(Process process) {
    try {
      return process.waitFor(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  private static String tail(Path log) throws IOException {
    List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
    return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
  }

  private static void delete(Path path) {
    try {
      Files.deleteIfExists(path);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}

package dev.sluice.testing;

import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sluice.local.ChildJvm;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real Prometheus server (the Debian package's {@value #BINARY}, 2.42) for integration tests:
 * scrapes the given targets every second on 127.0.0.1 and answers PromQL queries over its HTTP API.
 *
 * <pre>{@code
 * try (PrometheusServer prometheus = PrometheusServer.start(List.of("127.0.0.1:9464"))) {
 *   double read = prometheus.value("sum(sluice_events_read_total)");
 * }
 * }</pre>
 *
 * <p>Its data and log ({@code prometheus.log}) live in a temporary directory removed on close.
 */
public final class PrometheusServer implements AutoCloseable {
  public static final String BINARY = "/usr/bin/prometheus";

  private static final ObjectMapper MAPPER = new ObjectMapper();

  private final Path dir;
  private final Process process;
  private final int port;
  private final HttpClient client =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  private PrometheusServer(Path dir, Process process, int port) {
    this.dir = dir;
    this.process = process;
    this.port = port;
  }

  /** Starts Prometheus scraping {@code targets} ({@code host:port}) and waits until it is ready. */
  public static PrometheusServer start(List<String> targets) throws IOException {
    if (!Files.isExecutable(Path.of(BINARY))) {
      throw new IllegalStateException(
          BINARY
              + " is missing: the metrics integration tests need the Debian package prometheus,"
              + " which .ci/run installs (apt-get install prometheus)");
    }
    Path dir = Files.createTempDirectory("sluice-prometheus");
    int port = ChildJvm.freePorts(1)[0];
    List<String> quoted = new ArrayList<>();
    targets.forEach(t -> quoted.add("'" + t + "'"));
    Path config = dir.resolve("prometheus.yml");
    Files.writeString(
        config,
        String.join(
            "\n",
            "global:",
            "  scrape_interval: 1s",
            "  scrape_timeout: 1s",
            "scrape_configs:",
            "  - job_name: sluice",
            "    static_configs:",
            "      - targets: [" + String.join(", ", quoted) + "]",
            ""),
        StandardCharsets.UTF_8);
    Path log = dir.resolve("prometheus.log");
    Process process =
        new ProcessBuilder(
                BINARY,
                "--config.file=" + config,
                "--storage.tsdb.path=" + dir.resolve("data"),
                "--web.listen-address=127.0.0.1:" + port)
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .start();
    PrometheusServer server = new PrometheusServer(dir, process, port);
    try {
      await("Prometheus on port " + port + " ready (log: " + log + ")")
          .atMost(Duration.ofSeconds(60))
          .pollInterval(Duration.ofMillis(200))
          .until(
              () -> {
                if (!process.isAlive()) {
                  throw new IllegalStateException(
                      "Prometheus exited with " + process.exitValue() + ":\n" + server.log());
                }
                return server.status("/-/ready") == 200;
              });
    } catch (RuntimeException e) {
      server.close();
      throw e;
    }
    return server;
  }

  /** The result vector of the instant query {@code promql} (the {@code data.result} array). */
  public JsonNode query(String promql) {
    String uri =
        "http://127.0.0.1:"
            + port
            + "/api/v1/query?query="
            + URLEncoder.encode(promql, StandardCharsets.UTF_8);
    try {
      HttpResponse<String> response =
          client.send(
              HttpRequest.newBuilder(URI.create(uri)).timeout(Duration.ofSeconds(5)).build(),
              HttpResponse.BodyHandlers.ofString());
      JsonNode body = MAPPER.readTree(response.body());
      if (!"success".equals(body.path("status").asText())) {
        throw new IllegalStateException("Prometheus refused " + promql + ": " + response.body());
      }
      return body.path("data").path("result");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** The single value of {@code promql}, or NaN when the result is empty. */
  public double value(String promql) {
    JsonNode result = query(promql);
    if (result.isEmpty()) {
      return Double.NaN;
    }
    if (result.size() > 1) {
      throw new IllegalStateException(promql + " has " + result.size() + " series: " + result);
    }
    return Double.parseDouble(result.get(0).path("value").get(1).asText());
  }

  /** Prometheus' own log so far. */
  public String log() {
    try {
      return Files.readString(dir.resolve("prometheus.log"));
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }

  private int status(String path) {
    try {
      return client
          .send(
              HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                  .timeout(Duration.ofSeconds(2))
                  .build(),
              HttpResponse.BodyHandlers.discarding())
          .statusCode();
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  @Override
  public void close() {
    process.destroy();
    try {
      if (!process.waitFor(20, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      paths
          .sorted(Comparator.reverseOrder())
          .forEach(
              p -> {
                try {
                  Files.deleteIfExists(p);
                } catch (IOException e) {
                  // Best effort: a temporary directory.
                }
              });
    } catch (IOException e) {
      // Best effort.
    }
  }
}

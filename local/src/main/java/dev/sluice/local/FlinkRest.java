package dev.sluice.local;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/**
 * The few calls of Flink's REST API on localhost that the session cluster, its command line and
 * {@link FlinkSavepoints} make: {@code GET} a JSON document, {@code POST} a JSON body.
 */
final class FlinkRest {
  private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);

  private final HttpClient http;
  private final int port;

  FlinkRest(int port) {
    this.port = port;
    this.http = HttpClient.newBuilder().connectTimeout(CONNECT_TIMEOUT).build();
  }

  int port() {
    return port;
  }

  URI uri(String path) {
    return URI.create("http://localhost:" + port + path);
  }

  /** {@code GET path} with a 5 s timeout; any status. */
  HttpResponse<String> send(String path) throws IOException, InterruptedException {
    return send(HttpRequest.newBuilder(uri(path)).GET(), CONNECT_TIMEOUT);
  }

  HttpResponse<String> send(HttpRequest.Builder request, Duration timeout)
      throws IOException, InterruptedException {
    return http.send(request.timeout(timeout).build(), HttpResponse.BodyHandlers.ofString(UTF_8));
  }

  /**
   * The body of {@code GET path}.
   *
   * @throws IllegalStateException unless it answers HTTP 200
   * @throws UncheckedIOException if nothing answers (the message asks whether the cluster runs)
   */
  String get(String path) {
    try {
      HttpResponse<String> response = send(path);
      if (response.statusCode() != 200) {
        throw new IllegalStateException(
            "GET "
                + uri(path)
                + " answered HTTP "
                + response.statusCode()
                + ": "
                + response.body());
      }
      return response.body();
    } catch (IOException e) {
      throw new UncheckedIOException(
          "GET " + uri(path) + " failed (is the cluster running?): " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("Interrupted during GET " + uri(path), e);
    }
  }
}

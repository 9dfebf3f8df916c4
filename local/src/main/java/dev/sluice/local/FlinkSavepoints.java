package dev.sluice.local;

import static java.nio.charset.StandardCharsets.UTF_8;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.locks.LockSupport;

/**
 * Savepoints of a job on a Flink cluster, through its REST API: {@code POST /jobs/:id/savepoints}
 * (the job goes on) or {@code POST /jobs/:id/stop} (stop with savepoint), then polling the
 * operation until it completes.
 *
 * <pre>{@code
 * Path savepoint = FlinkSavepoints.write(8081, jobId, Path.of("/tmp/savepoints"), true);
 * // ./sluice ... --preset=flink-cluster --from-savepoint=<savepoint>
 * }</pre>
 */
public final class FlinkSavepoints {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration TIMEOUT = Duration.ofMinutes(5);

  private FlinkSavepoints() {}

  /**
   * Writes a savepoint of {@code jobId} under {@code targetDir}; with {@code stop} the job stops
   * once it is written (stop-with-savepoint).
   *
   * @return the savepoint's directory
   * @throws IllegalStateException with Flink's reason when the savepoint fails or times out
   */
  public static Path write(int restPort, String jobId, Path targetDir, boolean stop) {
    if (!jobId.matches("[0-9a-f]{32}")) {
      throw new IllegalArgumentException("JOB_ID must be 32 hex digits, got '" + jobId + "'");
    }
    FlinkRest rest = new FlinkRest(restPort);
    String target = targetDir.toAbsolutePath().toUri().toString();
    String body =
        stop
            ? JSON.createObjectNode().put("targetDirectory", target).put("drain", false).toString()
            : JSON.createObjectNode()
                .put("target-directory", target)
                .put("cancel-job", false)
                .toString();
    JsonNode started =
        call(
            rest,
            HttpRequest.newBuilder(rest.uri("/jobs/" + jobId + (stop ? "/stop" : "/savepoints")))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body, UTF_8)));
    String trigger = started.path("request-id").asText();
    long deadline = System.nanoTime() + TIMEOUT.toNanos();
    while (System.nanoTime() < deadline) {
      JsonNode status =
          call(
              rest,
              HttpRequest.newBuilder(rest.uri("/jobs/" + jobId + "/savepoints/" + trigger)).GET());
      if (status.path("status").path("id").asText().equals("COMPLETED")) {
        JsonNode operation = status.path("operation");
        if (operation.has("failure-cause")) {
          throw new IllegalStateException(
              "the savepoint of job "
                  + jobId
                  + " failed: "
                  + operation
                      .path("failure-cause")
                      .path("stack-trace")
                      .asText()
                      .lines()
                      .findFirst()
                      .orElse("(no reason given)"));
        }
        return Path.of(
            URI.create(
                operation
                    .path("location")
                    .asText()
                    .replace("file:/", "file:///")
                    .replace("file:////", "file:///")));
      }
      LockSupport.parkNanos(Duration.ofMillis(500).toNanos());
    }
    throw new IllegalStateException(
        "the savepoint of job "
            + jobId
            + " did not complete within "
            + TIMEOUT.toMinutes()
            + " min");
  }

  private static JsonNode call(FlinkRest rest, HttpRequest.Builder request) {
    try {
      HttpResponse<String> response = rest.send(request, Duration.ofSeconds(30));
      if (response.statusCode() / 100 != 2) {
        throw new IllegalStateException(
            "Flink REST answered HTTP " + response.statusCode() + ": " + response.body());
      }
      return JSON.readTree(response.body());
    } catch (IOException e) {
      throw new IllegalStateException("Flink REST API not reachable: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }
}

package dev.sluice.pipelines.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.sluice.transforms.ParseEvents;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * A job that ends between two scrapes still gets its final values into Prometheus: closing a
 * scraped endpoint waits for the next scrape; closing one nobody scrapes does not wait.
 */
class MetricsEndpointTest {
  private final HttpClient http = HttpClient.newHttpClient();
  private final AtomicLong read = new AtomicLong();

  /** An endpoint whose final-scrape wait is at least {@code minWait}. */
  private MetricsEndpoint start(Duration minWait) {
    return MetricsEndpoint.start(
        "127.0.0.1",
        0,
        () ->
            List.of(
                SluiceMetrics.Reading.counter(
                    ParseEvents.METRICS_NAMESPACE, ParseEvents.PAYLOADS_READ, read.get())),
        minWait);
  }

  private String scrape(MetricsEndpoint endpoint) throws Exception {
    return http.send(
            HttpRequest.newBuilder(URI.create(endpoint.url()))
                .timeout(Duration.ofSeconds(5))
                .build(),
            HttpResponse.BodyHandlers.ofString())
        .body();
  }

  @Test
  void closingAScrapedEndpointServesOneMoreScrapeWithTheFinalValues() throws Exception {
    // A wait of at least 20 s: the scrape, not the deadline, must be what ends it.
    MetricsEndpoint endpoint = start(Duration.ofSeconds(20));
    read.set(10);
    assertThat(scrape(endpoint)).contains("sluice_events_read_total 10.0");
    assertThat(scrape(endpoint)).contains("sluice_events_read_total 10.0");

    // The job ends: its last events were read after the last scrape.
    read.set(25);
    Thread closing = new Thread(endpoint::close, "closing");
    closing.start();
    await()
        .atMost(Duration.ofSeconds(5))
        .until(() -> closing.getState() == Thread.State.TIMED_WAITING || !closing.isAlive());
    assertThat(closing.isAlive()).as("close() waits for the final scrape").isTrue();

    // The scraper's next scrape, after the job ended, still reaches the endpoint; then it stops,
    // long before the 20 s.
    assertThat(scrape(endpoint)).contains("sluice_events_read_total 25.0");
    await().atMost(Duration.ofSeconds(8)).until(() -> !closing.isAlive());
  }

  @Test
  void anEndpointNobodyScrapedClosesWithoutWaiting() {
    MetricsEndpoint endpoint = start(MetricsEndpoint.MIN_FINAL_SCRAPE_WAIT);
    // Far less than the longest wait for a final scrape (30 s).
    assertTimeoutPreemptively(Duration.ofSeconds(5), endpoint::close);
  }
}

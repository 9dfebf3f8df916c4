package dev.sluice.pipelines.metrics;

import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.metrics.DistributionResult;
import org.apache.beam.sdk.metrics.GaugeResult;
import org.apache.beam.sdk.metrics.MetricQueryResults;
import org.apache.beam.sdk.metrics.MetricResult;
import org.apache.beam.sdk.metrics.MetricsFilter;

/**
 * A Prometheus {@code /metrics} endpoint (Prometheus' Java client, text and protobuf formats) for
 * Sluice's metrics ({@link SluiceMetrics}), read at each scrape from a source of readings: a
 * running job's Beam metrics ({@link #forResult}) or, on Flink, the TaskManager's metrics.
 *
 * <pre>{@code
 * PipelineResult result = pipeline.run();
 * try (MetricsEndpoint metrics = MetricsEndpoint.forResult(result, "127.0.0.1", 9464)) {
 *   System.out.println("metrics at " + metrics.url());
 *   result.waitUntilFinish();
 * }
 * }</pre>
 *
 * <p>Binds {@code host} (localhost by default, see {@link MetricsOptions}); when the port is taken
 * it binds a free one ({@link #requestedPortTaken()} says so) rather than failing the job.
 *
 * <p>{@link #close()} lets a scraper store the final values: an endpoint that has been scraped
 * waits for one more scrape that begins after the call, until twice the interval seen between the
 * last two scrapes has passed since the last one (at least {@link #MIN_FINAL_SCRAPE_WAIT}, at most
 * {@link #MAX_FINAL_SCRAPE_WAIT}); one nobody scraped, or whose scraper is overdue, stops at once.
 * Without it, a job that ends between two scrapes would leave Prometheus with the values of the
 * scrape before its last events.
 */
public final class MetricsEndpoint implements AutoCloseable {
  /** The shortest wait for the final scrape (scrapes seen in quick succession). */
  public static final Duration MIN_FINAL_SCRAPE_WAIT = Duration.ofSeconds(1);

  /** The longest wait for the final scrape, whatever the interval between scrapes. */
  public static final Duration MAX_FINAL_SCRAPE_WAIT = Duration.ofSeconds(30);

  private final HTTPServer server;
  private final String host;
  private final boolean requestedPortTaken;
  private final Scrapes scrapes;

  private MetricsEndpoint(
      HTTPServer server, String host, boolean requestedPortTaken, Scrapes scrapes) {
    this.server = server;
    this.host = host;
    this.requestedPortTaken = requestedPortTaken;
    this.scrapes = scrapes;
  }

  /**
   * Serves the readings {@code readings} supplies at each scrape on {@code host:port} ({@code port}
   * 0 = any free port).
   */
  public static MetricsEndpoint start(
      String host, int port, Supplier<List<SluiceMetrics.Reading>> readings) {
    return start(host, port, readings, MIN_FINAL_SCRAPE_WAIT);
  }

  /** As {@link #start(String, int, Supplier)}, with another shortest wait for the final scrape. */
  static MetricsEndpoint start(
      String host,
      int port,
      Supplier<List<SluiceMetrics.Reading>> readings,
      Duration minFinalScrapeWait) {
    checkPort(port);
    PrometheusRegistry registry = new PrometheusRegistry();
    ThreadPoolExecutor handlers = handlers();
    Scrapes scrapes = new Scrapes(handlers, minFinalScrapeWait);
    registry.register(
        () -> {
          long ticket = scrapes.starting();
          MetricSnapshots snapshots =
              SluiceMetrics.snapshots(readings.get(), System.currentTimeMillis());
          scrapes.served(ticket);
          return snapshots;
        });
    InetAddress address;
    try {
      address = InetAddress.getByName(host);
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException("--metricsHost: unknown host '" + host + "'", e);
    }
    try {
      return new MetricsEndpoint(bind(address, port, registry, handlers), host, false, scrapes);
    } catch (BindException e) {
      if (port == 0) {
        throw new UncheckedIOException("cannot serve metrics on " + host, e);
      }
      try {
        return new MetricsEndpoint(bind(address, 0, registry, handlers), host, true, scrapes);
      } catch (IOException again) {
        throw new UncheckedIOException("cannot serve metrics on " + host, again);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot serve metrics on " + host + ":" + port, e);
    }
  }

  private static HTTPServer bind(
      InetAddress address, int port, PrometheusRegistry registry, ThreadPoolExecutor handlers)
      throws IOException {
    return HTTPServer.builder()
        .inetAddress(address)
        .port(port)
        .registry(registry)
        .executorService(handlers)
        .buildAndStart();
  }

  /** The threads that answer scrapes: daemons, so that a forgotten endpoint never holds a JVM. */
  private static ThreadPoolExecutor handlers() {
    AtomicInteger count = new AtomicInteger();
    return new ThreadPoolExecutor(
        2,
        2,
        60,
        TimeUnit.SECONDS,
        new LinkedBlockingQueue<>(),
        task -> {
          Thread thread = new Thread(task, "sluice-metrics-" + count.incrementAndGet());
          thread.setDaemon(true);
          return thread;
        });
  }

  /**
   * Serves {@code result}'s live Beam metrics, or returns null when its runner cannot report
   * metrics while the job runs (then the runner's own reporter serves them, as on Flink).
   */
  public static MetricsEndpoint forResult(PipelineResult result, String host, int port) {
    checkPort(port);
    try {
      result.metrics().queryMetrics(MetricsFilter.builder().build());
    } catch (RuntimeException e) {
      return null;
    }
    return start(host, port, () -> readings(result));
  }

  /** The port is -1 (off), 0 (any free port) or a port number. */
  public static void checkPort(int port) {
    if (port < -1 || port > 65535) {
      throw new IllegalArgumentException(
          "--metricsPort: must be -1 (off), 0 (any free port) or a port up to 65535, got " + port);
    }
  }

  /** Sluice's metrics in {@code result}: committed values where the runner has them. */
  static List<SluiceMetrics.Reading> readings(PipelineResult result) {
    MetricQueryResults metrics;
    try {
      metrics = result.metrics().queryMetrics(MetricsFilter.builder().build());
    } catch (RuntimeException e) {
      return List.of();
    }
    List<SluiceMetrics.Reading> readings = new ArrayList<>();
    for (MetricResult<Long> counter : metrics.getCounters()) {
      String namespace = counter.getName().getNamespace();
      if (SluiceMetrics.isSluiceNamespace(namespace)) {
        readings.add(
            SluiceMetrics.Reading.counter(
                namespace, counter.getName().getName(), committedOrAttempted(counter)));
      }
    }
    for (MetricResult<GaugeResult> gauge : metrics.getGauges()) {
      String namespace = gauge.getName().getNamespace();
      GaugeResult value = gauge.getAttempted();
      if (SluiceMetrics.isSluiceNamespace(namespace)
          && value != null
          && value.getTimestamp().getMillis() > 0) {
        readings.add(
            SluiceMetrics.Reading.gauge(namespace, gauge.getName().getName(), value.getValue()));
      }
    }
    // Distributions are read as their max: the largest value any instance recorded.
    for (MetricResult<DistributionResult> distribution : metrics.getDistributions()) {
      String namespace = distribution.getName().getNamespace();
      DistributionResult value = committedElseAttempted(distribution);
      if (SluiceMetrics.isSluiceNamespace(namespace) && value != null && value.getCount() > 0) {
        readings.add(
            SluiceMetrics.Reading.gauge(
                namespace, distribution.getName().getName(), value.getMax()));
      }
    }
    return readings;
  }

  /** A counter's committed value where the runner keeps one, its attempted value otherwise. */
  public static long committedOrAttempted(MetricResult<Long> counter) {
    Long value = committedElseAttempted(counter);
    return value == null ? 0 : value;
  }

  private static <T> T committedElseAttempted(MetricResult<T> metric) {
    try {
      T committed = metric.getCommitted();
      if (committed != null) {
        return committed;
      }
    } catch (UnsupportedOperationException e) {
      // The runner keeps attempted values only.
    }
    return metric.getAttempted();
  }

  public int port() {
    return server.getPort();
  }

  /** The scrape URL, e.g. {@code http://127.0.0.1:9464/metrics}. */
  public String url() {
    String shown = host.contains(":") ? "[" + host + "]" : host;
    return "http://" + shown + ":" + port() + "/metrics";
  }

  /** True when the requested port was taken and a free one is used instead. */
  public boolean requestedPortTaken() {
    return requestedPortTaken;
  }

  /**
   * Waits for the final scrape (see the class comment), then stops serving. Interrupted, it stops
   * at once and keeps the interrupt.
   */
  @Override
  public void close() {
    try {
      scrapes.awaitOneMore();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      server.close();
    }
  }

  /** When the endpoint served its scrapes; lets {@link #close()} wait for the next one. */
  private static final class Scrapes {
    private final ThreadPoolExecutor handlers;
    private final long minWaitNanos;
    private long started; // scrapes begun so far: each scrape's ticket
    private long newestServed; // the highest ticket served
    private long lastNanos; // when the last scrape was served
    private long intervalNanos = -1; // between the last two scrapes; -1: fewer than two so far

    Scrapes(ThreadPoolExecutor handlers, Duration minWait) {
      this.handlers = handlers;
      this.minWaitNanos = minWait.toNanos();
    }

    /** A scrape begins, before it reads the values: its ticket. */
    synchronized long starting() {
      return ++started;
    }

    synchronized void served(long ticket) {
      long now = System.nanoTime();
      if (newestServed > 0) {
        intervalNanos = now - lastNanos;
      }
      lastNanos = now;
      newestServed = Math.max(newestServed, ticket);
      notifyAll();
    }

    /**
     * Waits for a scrape that begins after this call (one that began before may have read the
     * values before the job's last ones), until the next scrape is due at the latest: twice the
     * interval seen after the last scrape, at least the minimum, at most {@link
     * #MAX_FINAL_SCRAPE_WAIT}. Returns at once when nobody scrapes or the scraper is overdue.
     */
    synchronized void awaitOneMore() throws InterruptedException {
      if (newestServed == 0) {
        return; // nobody scrapes this endpoint
      }
      long max = MAX_FINAL_SCRAPE_WAIT.toNanos();
      long wait =
          intervalNanos < 0 ? max : Math.min(max, Math.max(minWaitNanos, 2 * intervalNanos));
      long deadline = lastNanos + wait;
      long target = started + 1;
      for (long left = deadline - System.nanoTime();
          newestServed < target && left > 0;
          left = deadline - System.nanoTime()) {
        TimeUnit.NANOSECONDS.timedWait(this, left);
      }
      // The values are read; let the response reach the scraper before the server stops (a
      // stopped server drops the exchanges still being written).
      long written = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
      while (handlers.getActiveCount() > 0 && System.nanoTime() < written) {
        TimeUnit.MILLISECONDS.timedWait(this, 10);
      }
    }
  }
}

package dev.sluice.runners;

import dev.sluice.pipelines.metrics.MetricsEndpoint;
import dev.sluice.pipelines.metrics.MetricsOptions;
import dev.sluice.pipelines.metrics.SluiceMetrics;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.Metric;
import org.apache.flink.metrics.MetricConfig;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.reporter.MetricReporter;
import org.apache.flink.metrics.reporter.MetricReporterFactory;

/**
 * A Flink metric reporter that serves Sluice's metrics in the Prometheus format from the process it
 * runs in: a TaskManager of a session cluster, or the embedded Flink cluster of a local run. Beam's
 * Flink runner turns each Beam metric into a Flink metric named {@code <namespace>.<name>} in the
 * operator's group; this reporter keeps those of Sluice's namespaces and, at each scrape, sums the
 * counters over operators and subtasks and takes the largest gauge value ({@link SluiceMetrics}),
 * so a scrape shows the same metric names and labels as the Direct runner's endpoint.
 *
 * <p>Flink's own {@code flink-metrics-prometheus} is not served by the Maven registry Sluice builds
 * from; this reporter uses the Prometheus Java client instead. Its configuration (Flink's {@code
 * config.yaml}, or {@code -D} properties of the TaskManager):
 *
 * <pre>{@code
 * metrics.reporter.sluice.factory.class: dev.sluice.runners.FlinkMetricsReporter$Factory
 * metrics.reporter.sluice.port: 9249      # 0 = any free port; a taken port falls back to a free one
 * metrics.reporter.sluice.host: 127.0.0.1
 * }</pre>
 *
 * <p>The metrics of a task disappear when the task ends, as with Flink's own reporters.
 */
public final class FlinkMetricsReporter implements MetricReporter {
  /** The reporter's name in Flink's configuration keys. */
  static final String NAME = "sluice";

  static final String FACTORY_KEY = "metrics.reporter." + NAME + ".factory.class";
  static final String PORT_KEY = "metrics.reporter." + NAME + ".port";
  static final String HOST_KEY = "metrics.reporter." + NAME + ".host";

  private final Map<Metric, String> metrics = new ConcurrentHashMap<>();
  private MetricsEndpoint endpoint;

  /** Creates the reporter from Flink's configuration ({@code metrics.reporter.sluice.*}). */
  public static final class Factory implements MetricReporterFactory {
    @Override
    public MetricReporter createMetricReporter(Properties properties) {
      return new FlinkMetricsReporter();
    }
  }

  @Override
  public void open(MetricConfig config) {
    int port = config.getInteger("port", MetricsOptions.DEFAULT_PORT);
    String host = config.getString("host", "127.0.0.1");
    endpoint = MetricsEndpoint.start(host, port, this::readings);
    // On stdout: for an embedded run it is the job's console, for a TaskManager its log.
    System.out.println(
        "  Prometheus metrics at "
            + endpoint.url()
            + " (Flink reporter in this process"
            + (endpoint.requestedPortTaken() ? "; port " + port + " was taken)" : ")"));
  }

  @Override
  public void close() {
    if (endpoint != null) {
      endpoint.close();
    }
  }

  @Override
  public void notifyOfAddedMetric(Metric metric, String metricName, MetricGroup group) {
    if (metricName.startsWith("sluice.")
        && (metric instanceof Counter || metric instanceof Gauge)) {
      metrics.put(metric, metricName);
    }
  }

  @Override
  public void notifyOfRemovedMetric(Metric metric, String metricName, MetricGroup group) {
    metrics.remove(metric);
  }

  /** The current values, split back into Beam namespace ({@code sluice.x}) and name. */
  List<SluiceMetrics.Reading> readings() {
    List<SluiceMetrics.Reading> readings = new ArrayList<>();
    metrics.forEach(
        (metric, fullName) -> {
          int dot = fullName.indexOf('.', "sluice.".length());
          if (dot < 0) {
            return;
          }
          String namespace = fullName.substring(0, dot);
          String name = fullName.substring(dot + 1);
          if (metric instanceof Counter counter) {
            readings.add(SluiceMetrics.Reading.counter(namespace, name, counter.getCount()));
          } else if (((Gauge<?>) metric).getValue() instanceof Number value) {
            readings.add(SluiceMetrics.Reading.gauge(namespace, name, value.doubleValue()));
          }
        });
    return readings;
  }

  /**
   * The Flink configuration lines that install this reporter in an embedded Flink cluster on the
   * port and host of {@code --metricsPort} and {@code --metricsHost} in {@code args} (defaults:
   * {@link MetricsOptions}); none when {@code --metricsPort=-1}.
   */
  static List<String> embeddedConfig(List<String> args) {
    String portText = Launcher.optionValue(args, "--metricsPort");
    int port;
    try {
      port = portText == null ? MetricsOptions.DEFAULT_PORT : Integer.parseInt(portText.trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          "--metricsPort: must be -1 (off), 0 (any free port) or a port, got '" + portText + "'");
    }
    MetricsEndpoint.checkPort(port);
    if (port < 0) {
      return List.of();
    }
    String host = Launcher.optionValue(args, "--metricsHost");
    List<String> lines = new ArrayList<>();
    lines.add(FACTORY_KEY + ": " + Factory.class.getName());
    lines.add(PORT_KEY + ": " + port);
    lines.add(HOST_KEY + ": '" + (host == null ? "127.0.0.1" : host) + "'");
    return lines;
  }
}

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
 * <p>When a task ends (a bounded source is done, a task fails and restarts), its last values are
 * kept: counters stay monotonic and are the totals of the attempts this process ran since it
 * started, like the process's own counters, and a scrape after the source finished still shows what
 * it read.
 */
public final class FlinkMetricsReporter implements MetricReporter {
  /** The reporter's name in Flink's configuration keys. */
  static final String NAME = "sluice";

  static final String FACTORY_KEY = "metrics.reporter." + NAME + ".factory.class";
  static final String PORT_KEY = "metrics.reporter." + NAME + ".port";
  static final String HOST_KEY = "metrics.reporter." + NAME + ".host";

  private final Map<Metric, String> metrics = new ConcurrentHashMap<>();
  private final Map<String, Long> endedCounters = new ConcurrentHashMap<>();
  private final Map<String, Double> endedGauges = new ConcurrentHashMap<>();
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
    String name = metrics.remove(metric);
    if (name == null) {
      return;
    }
    if (metric instanceof Counter counter) {
      endedCounters.merge(name, counter.getCount(), Long::sum);
    } else {
      Double value = gaugeValue((Gauge<?>) metric);
      if (value != null) {
        endedGauges.merge(name, value, Math::max);
      }
    }
  }

  /**
   * A gauge's number: Beam gauges report a number, Beam distributions (a gauge of a {@code
   * DistributionResult} here) their max; null when there is none yet. The result is read by name
   * and reflection: on a session cluster the job's Beam classes come from its own jar (Flink loads
   * job classes child first), so they are not this reporter's {@code DistributionResult}.
   */
  static Double gaugeValue(Gauge<?> gauge) {
    Object value = gauge.getValue();
    if (value instanceof Number number) {
      return number.doubleValue();
    }
    Class<?> type = value == null ? null : value.getClass();
    while (type != null && !type.getName().equals(DISTRIBUTION_RESULT)) {
      type = type.getSuperclass();
    }
    if (type == null) {
      return null;
    }
    try {
      long count = (Long) type.getMethod("getCount").invoke(value);
      return count > 0 ? ((Long) type.getMethod("getMax").invoke(value)).doubleValue() : null;
    } catch (ReflectiveOperationException | ClassCastException e) {
      return null;
    }
  }

  private static final String DISTRIBUTION_RESULT =
      "org.apache.beam.sdk.metrics.DistributionResult";

  /** The current values, split back into Beam namespace ({@code sluice.x}) and name. */
  List<SluiceMetrics.Reading> readings() {
    List<SluiceMetrics.Reading> readings = new ArrayList<>();
    metrics.forEach(
        (metric, fullName) -> {
          if (metric instanceof Counter counter) {
            add(readings, fullName, SluiceMetrics.Kind.COUNTER, counter.getCount());
          } else {
            Double value = gaugeValue((Gauge<?>) metric);
            if (value != null) {
              add(readings, fullName, SluiceMetrics.Kind.GAUGE, value);
            }
          }
        });
    endedCounters.forEach((name, count) -> add(readings, name, SluiceMetrics.Kind.COUNTER, count));
    endedGauges.forEach((name, value) -> add(readings, name, SluiceMetrics.Kind.GAUGE, value));
    return readings;
  }

  private static void add(
      List<SluiceMetrics.Reading> readings,
      String fullName,
      SluiceMetrics.Kind kind,
      double value) {
    int dot = fullName.indexOf('.', "sluice.".length());
    if (dot > 0) {
      readings.add(
          new SluiceMetrics.Reading(
              fullName.substring(0, dot), fullName.substring(dot + 1), kind, value));
    }
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

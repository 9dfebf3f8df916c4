package dev.sluice.pipelines.metrics;

import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;

/**
 * Where a running job serves its Prometheus metrics ({@link MetricsEndpoint}).
 *
 * <pre>{@code
 * ./sluice run examples/iot.yaml --metricsPort=9464    # the default
 * curl -s localhost:9464/metrics | grep sluice_events_read_total
 * }</pre>
 */
public interface MetricsOptions extends PipelineOptions {
  /** The default port: the one the Prometheus wiki registers for Java exporters' examples. */
  int DEFAULT_PORT = 9464;

  @Description(
      "Port of the running job's Prometheus endpoint (/metrics) on --metricsHost: 0 = any free"
          + " port, -1 = off. When the port is taken, a free one is used and printed. On embedded"
          + " Flink the endpoint is served by Sluice's Flink metric reporter on the same port.")
  @Default.Integer(DEFAULT_PORT)
  int getMetricsPort();

  void setMetricsPort(int port);

  @Description(
      "Address the Prometheus endpoint listens on; the default is localhost only. Use 0.0.0.0"
          + " to let a Prometheus server on another machine scrape it.")
  @Default.String("127.0.0.1")
  String getMetricsHost();

  void setMetricsHost(String host);
}

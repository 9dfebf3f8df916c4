package dev.sluice.pipelines;

import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;

/**
 * Whether and where a job serves the dashboard of its store while it runs ({@link JobDashboard}).
 *
 * <pre>{@code
 * ./sluice run examples/iot.yaml --ui=false
 * ./sluice --uiPort=9000
 * }</pre>
 */
public interface DashboardOptions extends PipelineOptions {
  @Description(
      "Serve a read-only dashboard of the job's store (embedded or PostgreSQL) on localhost while"
          + " the job runs; its URL is printed. ./sluice ui serves it after the job.")
  @Default.Boolean(true)
  boolean getUi();

  void setUi(boolean value);

  @Description(
      "Port of the job's dashboard; when it is taken, a free port (0: always a free port).")
  @Default.Integer(8642)
  int getUiPort();

  void setUiPort(int value);

  @Description("Address the job's dashboard listens on (default: localhost only).")
  @Default.String("127.0.0.1")
  String getUiHost();

  void setUiHost(String value);
}

package dev.sluice.io;

import dev.sluice.model.Alert;
import dev.sluice.model.JsonSupport;
import java.util.Locale;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PDone;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The log as a notification sink: one line per alert on the SLF4J logger {@value #LOGGER}, at
 * {@code WARN} for a {@code FIRING} alert of severity {@code WARNING} or {@code CRITICAL}, else at
 * {@code INFO}. Where the lines go (console, file, a log shipper) is the logging backend's choice.
 *
 * <pre>{@code
 * alerts.apply("LogAlerts", LogIO.write());
 * // WARN dev.sluice.alerts - FIRING CRITICAL hot key=sensor-7 metric=temperature value=81.5
 * //   threshold=80 window=[2026-01-01T00:01:00.000Z, 2026-01-01T00:02:00.000Z)
 * //   id=3e535ab6... : mean temperature of sensor-7 is 81.5
 * }</pre>
 *
 * <p>Element-wise and stateless; bounded or unbounded input. A retried bundle logs its alerts again
 * (the alert id tells repeats apart). Counter {@value #LOGGED} in namespace {@value
 * #METRICS_NAMESPACE}.
 */
public final class LogIO {
  public static final String LOGGER = "dev.sluice.alerts";
  public static final String METRICS_NAMESPACE = "sluice.log";
  public static final String LOGGED = "alerts_logged";

  private LogIO() {}

  public static Write write() {
    return new Write();
  }

  /** The line logged for {@code alert}. */
  public static String format(Alert alert) {
    return String.format(
        Locale.ROOT,
        "%s %s %s key=%s metric=%s value=%s threshold=%s window=[%s, %s) id=%s%s : %s",
        alert.status(),
        alert.severity(),
        alert.ruleId(),
        alert.key(),
        alert.metric(),
        alert.value(),
        alert.threshold(),
        JsonSupport.formatInstant(alert.windowStart()),
        JsonSupport.formatInstant(alert.windowEnd()),
        alert.alertId(),
        alert.silenced() ? " (silenced)" : "",
        alert.message());
  }

  /** Logs each alert; see {@link LogIO}. */
  public static final class Write extends PTransform<PCollection<Alert>, PDone> {
    @Override
    public PDone expand(PCollection<Alert> alerts) {
      alerts.apply("LogAlerts", ParDo.of(new LogFn()));
      return PDone.in(alerts.getPipeline());
    }
  }

  private static final class LogFn extends DoFn<Alert, Void> {
    private static final Logger LOG = LoggerFactory.getLogger(LOGGER);
    private final Counter logged = Metrics.counter(METRICS_NAMESPACE, LOGGED);

    @ProcessElement
    public void process(@Element Alert alert) {
      boolean urgent =
          alert.status() == Alert.Status.FIRING
              && alert.severity() != Alert.Severity.INFO
              && !alert.silenced();
      if (urgent) {
        LOG.warn(format(alert));
      } else {
        LOG.info(format(alert));
      }
      logged.inc();
    }
  }
}

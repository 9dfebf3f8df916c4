package dev.sluice.pipelines;

import dev.sluice.pipelines.spec.PipelineSpec;
import java.io.PrintStream;
import java.util.List;
import java.util.Optional;
import org.apache.beam.sdk.options.PipelineOptions;

/**
 * The dashboard a job serves while it runs: on the store of its first database sink (the embedded
 * store or PostgreSQL; stats sinks first), read-only, on localhost port {@code --uiPort} (8642, or
 * a free port when that is taken), its URL printed with the other "where results go" lines.
 * Switched off with {@code --ui=false}; skipped without a database sink and where the local tooling
 * is not on the class path (the Flink and Dataflow job jars). It never fails the job: a dashboard
 * that cannot start is a printed line.
 *
 * <pre>{@code
 * try (JobDashboard ui = JobDashboard.start(spec, servers, options, out)) {
 *   pipeline.run().waitUntilFinish();
 * }
 * }</pre>
 */
public final class JobDashboard implements AutoCloseable {
  private static final JobDashboard NONE = new JobDashboard(null);

  private final AutoCloseable running;

  private JobDashboard(AutoCloseable running) {
    this.running = running;
  }

  /** Starts the dashboard of {@code spec}'s store if the options ask for one; prints its URL. */
  public static JobDashboard start(
      PipelineSpec spec, SinkServers servers, PipelineOptions options, PrintStream out) {
    DashboardOptions ui = options.as(DashboardOptions.class);
    if (!ui.getUi()) {
      return NONE;
    }
    Optional<PipelineSpec.Sink> sink = firstDatabaseSink(spec);
    if (sink.isEmpty() || !localTooling()) {
      return NONE;
    }
    try {
      return new JobDashboard(
          StoreDashboard.forJob(sink.get(), servers, ui.getUiHost(), ui.getUiPort(), out));
    } catch (RuntimeException e) {
      out.println("  dashboard not started: " + e.getMessage());
      return NONE;
    }
  }

  /** The first embedded or PostgreSQL sink: of the stats, else the alerts, else dead letters. */
  static Optional<PipelineSpec.Sink> firstDatabaseSink(PipelineSpec spec) {
    for (List<PipelineSpec.Sink> kind :
        List.of(spec.statsSinks(), spec.alertSinks(), spec.deadLetterSinks())) {
      for (PipelineSpec.Sink sink : kind) {
        if (sink.type().equals("embedded") || sink.type().equals("postgres")) {
          return Optional.of(sink);
        }
      }
    }
    return Optional.empty();
  }

  /** The dashboard is local tooling (sluice-local), which the per-runner job jars leave out. */
  private static boolean localTooling() {
    try {
      Class.forName(
          "dev.sluice.local.dashboard.Dashboard", false, JobDashboard.class.getClassLoader());
      return true;
    } catch (ClassNotFoundException e) {
      return false;
    }
  }

  /** Stops serving (the store stays up until the job's servers close). */
  @Override
  public void close() {
    if (running != null) {
      try {
        running.close();
      } catch (Exception e) {
        // Stopping a local HTTP server; nothing the job's result depends on.
      }
    }
  }
}

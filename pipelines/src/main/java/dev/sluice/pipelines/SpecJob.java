package dev.sluice.pipelines;

import dev.sluice.pipelines.metrics.MetricsEndpoint;
import dev.sluice.pipelines.metrics.MetricsOptions;
import dev.sluice.pipelines.spec.PipelineSpec;
import dev.sluice.pipelines.spec.SpecPipeline;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.ApplicationNameOptions;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.runners.TransformHierarchy;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.joda.time.Duration;

/**
 * Runs and explains pipelines described by a {@link PipelineSpec}: progress lines while it runs and
 * a summary at the end, as for the main job.
 *
 * <pre>{@code
 * PipelineSpec spec = SpecReader.read(Path.of("examples/iot.yaml"));
 * PipelineResult.State state = SpecJob.run(spec, options, System.out);
 * }</pre>
 */
public final class SpecJob {
  private SpecJob() {}

  /**
   * Starts the spec's embedded servers, builds, runs until done, prints progress and the summary.
   */
  public static PipelineResult.State run(
      PipelineSpec spec, PipelineOptions options, PrintStream out) {
    return run(spec, options, out, Duration.standardSeconds(2));
  }

  /** As {@link #run(PipelineSpec, PipelineOptions, PrintStream)}, a progress line every period. */
  public static PipelineResult.State run(
      PipelineSpec spec, PipelineOptions options, PrintStream out, Duration progressEvery) {
    long started = System.nanoTime();
    options.as(ApplicationNameOptions.class).setAppName(spec.name());
    if (spec.source() instanceof PipelineSpec.Kafka k) {
      StartingPoint.checkKafka(
          options.as(StartingPoint.Options.class),
          k.bootstrapServers(),
          k.groupId(),
          k.topics(),
          k.propertiesFile() == null
              ? dev.sluice.io.KafkaJsonIO.ClientProperties.of(java.util.Map.of())
              : dev.sluice.io.KafkaJsonIO.ClientProperties.fromFile(
                  "source.properties_file", java.nio.file.Path.of(k.propertiesFile())),
          out);
    }
    Pipeline pipeline = Pipeline.create(options);
    try (SinkServers servers = SinkServers.start(spec)) {
      SpecPipeline.build(pipeline, spec, servers);
      return runBuilt(spec, pipeline, servers, out, progressEvery, started);
    }
  }

  /**
   * Runs a pipeline {@link SpecPipeline#build built} for {@code spec} with {@code servers} until
   * done: where the results go, a progress line every {@code progressEvery}, the summary.
   */
  public static PipelineResult.State runBuilt(
      PipelineSpec spec,
      Pipeline pipeline,
      SinkServers servers,
      PrintStream out,
      Duration progressEvery) {
    return runBuilt(spec, pipeline, servers, out, progressEvery, System.nanoTime());
  }

  private static PipelineResult.State runBuilt(
      PipelineSpec spec,
      Pipeline pipeline,
      SinkServers servers,
      PrintStream out,
      Duration progressEvery,
      long started) {
    out.printf(
        "Sluice pipeline %s (%s), %s, runner %s%n",
        spec.name(),
        spec.file(),
        describeSource(spec.source()),
        pipeline.getOptions().getRunner().getSimpleName());
    servers.notes().forEach(note -> out.println("  " + note));
    MetricsOptions metricsOptions = pipeline.getOptions().as(MetricsOptions.class);
    MetricsEndpoint.checkPort(metricsOptions.getMetricsPort());
    try (JobDashboard ui = JobDashboard.start(spec, servers, pipeline.getOptions(), out)) {
      PipelineResult result = pipeline.run();
      ProgressReporter reporter = new ProgressReporter(result, started, out);
      PipelineResult.State state;
      try (MetricsEndpoint metrics = serveMetrics(result, metricsOptions, out)) {
        state = reporter.awaitCompletion(progressEvery);
      }
      reporter.printTable(state);
      for (String sink : sinks(spec)) {
        out.println(sink);
      }
      return state;
    }
  }

  /**
   * The job's Prometheus endpoint, or null when it is off or the runner serves its metrics itself
   * (Sluice's Flink reporter).
   */
  private static MetricsEndpoint serveMetrics(
      PipelineResult result, MetricsOptions options, PrintStream out) {
    if (options.getMetricsPort() < 0 || result.getState().isTerminal()) {
      // Off, or a runner whose run() returned only when the job was over (embedded Flink
      // attached: its reporter served the metrics while the job ran).
      return null;
    }
    MetricsEndpoint metrics =
        MetricsEndpoint.forResult(result, options.getMetricsHost(), options.getMetricsPort());
    if (metrics != null) {
      out.println(
          "  Prometheus metrics at "
              + metrics.url()
              + (metrics.requestedPortTaken()
                  ? " (port " + options.getMetricsPort() + " was taken)"
                  : ""));
    }
    return metrics;
  }

  private static String describeSource(PipelineSpec.Source source) {
    if (source instanceof PipelineSpec.Synthetic s) {
      return s.unbounded()
          ? "unbounded synthetic source, " + s.eventsPerSecond() + " events/s"
          : s.events() + " synthetic events";
    }
    if (source instanceof PipelineSpec.Files f) {
      return "files " + f.path();
    }
    PipelineSpec.Kafka k = (PipelineSpec.Kafka) source;
    return "Kafka topics "
        + String.join(",", k.topics())
        + " at "
        + k.bootstrapServers()
        + (k.maxRecords() > 0 ? " (" + k.maxRecords() + " records)" : "");
  }

  /**
   * Builds the pipeline without starting any server and runs it with options that produce a job
   * graph instead of a job (e.g. Dataflow's {@code --templateLocation}); returns the result without
   * waiting for it.
   */
  public static PipelineResult writeGraph(PipelineSpec spec, PipelineOptions options) {
    options.as(ApplicationNameOptions.class).setAppName(spec.name());
    Pipeline pipeline = Pipeline.create(options);
    SpecPipeline.build(pipeline, spec);
    return pipeline.run();
  }

  private static List<String> sinks(PipelineSpec spec) {
    List<String> lines = new ArrayList<>();
    add(lines, "stats", spec.statsSinks());
    add(lines, "alerts", spec.alertSinks());
    add(lines, "dead letters", spec.deadLetterSinks());
    return lines;
  }

  private static void add(List<String> lines, String kind, List<PipelineSpec.Sink> sinks) {
    for (PipelineSpec.Sink sink : sinks) {
      String where =
          switch (sink.type()) {
            case "jsonl" -> sink.path() + "*.jsonl: " + ProgressReporter.describeFiles(sink.path());
            case "embedded" ->
                "embedded PostgreSQL in " + sink.dataDir() + ", schema " + sink.schema();
            case "postgres" -> "PostgreSQL, schema " + sink.schema();
            case "kafka" -> "Kafka topic " + sink.topic();
            case "webhook" -> "webhook";
            case "alertmanager" -> "Alertmanager";
            default -> "the log";
          };
      lines.add(String.format("%-13s -> %s", kind, where));
    }
  }

  /**
   * The transform graph of the spec's pipeline (built without starting servers), with each
   * transform's settings, followed by the options in force.
   */
  public static String explain(PipelineSpec spec, PipelineOptions options) {
    options.as(ApplicationNameOptions.class).setAppName(spec.name());
    Pipeline pipeline = Pipeline.create(options);
    SpecPipeline.build(pipeline, spec);
    StringBuilder text = new StringBuilder();
    text.append("Pipeline ").append(spec.name()).append(" (").append(spec.file()).append(")\n");
    text.append("Transforms:\n");
    pipeline.traverseTopologically(
        new Pipeline.PipelineVisitor.Defaults() {
          private int depth = 0;

          @Override
          public CompositeBehavior enterCompositeTransform(TransformHierarchy.Node node) {
            if (node.isRootNode()) {
              return CompositeBehavior.ENTER_TRANSFORM;
            }
            describe(node);
            depth++;
            return depth < 2
                ? CompositeBehavior.ENTER_TRANSFORM
                : CompositeBehavior.DO_NOT_ENTER_TRANSFORM;
          }

          @Override
          public void leaveCompositeTransform(TransformHierarchy.Node node) {
            if (!node.isRootNode()) {
              depth--;
            }
          }

          @Override
          public void visitPrimitiveTransform(TransformHierarchy.Node node) {
            describe(node);
          }

          private void describe(TransformHierarchy.Node node) {
            String name = node.getFullName();
            String shortName = name.substring(name.lastIndexOf('/') + 1);
            text.append("  ".repeat(depth + 1)).append(shortName);
            List<String> settings = new ArrayList<>();
            if (depth <= 1 && node.getTransform() != null) {
              for (DisplayData.Item item : DisplayData.from(node.getTransform()).items()) {
                if (item.getNamespace().getName().startsWith("dev.sluice")) {
                  settings.add(item.getKey() + "=" + item.getValue());
                }
              }
            }
            if (!settings.isEmpty()) {
              text.append("  [").append(String.join(", ", settings)).append("]");
            }
            text.append('\n');
          }
        });
    text.append("Options:\n");
    java.util.TreeSet<String> lines = new java.util.TreeSet<>();
    for (DisplayData.Item item : DisplayData.from(options).items()) {
      lines.add("  --" + item.getKey() + "=" + item.getValue() + "\n");
    }
    lines.forEach(text::append);
    return text.toString();
  }
}

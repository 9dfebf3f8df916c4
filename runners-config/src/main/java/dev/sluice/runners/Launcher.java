package dev.sluice.runners;

import dev.sluice.pipelines.MetricsAlertsPipeline;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Runs Sluice's main job with a runner preset: {@code Launcher [--preset=direct] [pipeline
 * options]}, or queries its PostgreSQL store: {@code Launcher query [--outputDir=DIR] "SQL"}. The
 * {@code ./sluice} script in the repository root builds the project and calls this.
 *
 * <p>On embedded Flink ({@code --preset=flink}) the job checkpoints every 10 s into {@code
 * <outputDir>/checkpoints/<jobName>} and running the same command again resumes from the newest
 * complete checkpoint. {@code --fresh} starts over on purpose; {@code --from-savepoint=PATH}
 * restores a savepoint (also on a session cluster).
 */
public final class Launcher {
  /**
   * The main job's options its saved state depends on: a resume with another value of one of them
   * is refused, naming it.
   */
  static final List<String> MAIN_JOB_STATE_OPTIONS =
      List.of(
          "--source",
          "--kafkaTopics",
          "--kafkaGroupId",
          "--windowSeconds",
          "--allowedLatenessSeconds",
          "--maxOutOfOrderSeconds",
          "--temperatureThreshold",
          "--rulesFile",
          "--alertsExactlyOnce");

  /**
   * The version of the step names and state ids of Sluice's graphs, kept with the checkpoints: a
   * checkpoint of another version is not resumed (version 2: every graph is built by {@code
   * SpecPipeline} around {@code ComputeMetricsAndAlerts}; version 3: tumbling and sliding windows
   * of an unbounded input are aggregated by one keyed stateful step, {@code AggregateWindows},
   * whose state is {@code openWindows}, instead of the late-data shards and a windowed {@code
   * GroupByKey}; see the README).
   */
  static final String GRAPH_VERSION = "3";

  /** The job name of the main job unless {@code --jobName} says otherwise. */
  static final String DEFAULT_JOB_NAME = "sluice-main";

  private Launcher() {}

  public static void main(String[] args) {
    if (args.length > 0 && !args[0].equals("main") && SluiceCli.isCommand(args[0])) {
      SluiceCli.main(args);
      return;
    }
    if (args.length > 0 && args[0].equals("main")) {
      args = java.util.Arrays.copyOfRange(args, 1, args.length);
      if (List.of(args).contains("--help") || List.of(args).contains("-h")) {
        printMainJobHelp(System.out);
        return;
      }
    }
    List<String> pipelineArgs;
    try {
      pipelineArgs = pipelineArgs(List.of(args));
    } catch (IllegalArgumentException e) {
      System.err.println("Invalid configuration: " + e.getMessage());
      System.exit(2);
      return;
    }
    MetricsAlertsPipeline.main(pipelineArgs.toArray(new String[0]));
  }

  /** The main job's options: the launcher's own, then every option of the bundled spec's job. */
  static void printMainJobHelp(java.io.PrintStream out) {
    out.println(
        "Usage: ./sluice [main] [--runner=direct|flink|flink-cluster|dataflow] [--fresh]"
            + " [--fromSavepoint=PATH] [--checkpointDir=DIR] [--acceptStateChanges] [OPTION=VALUE"
            + " ...]");
    out.println(
        "Runs the main job, the bundled spec main-job.yaml (--preset=NAME is --runner=NAME;"
            + " Beam's runner names DirectRunner, FlinkRunner, DataflowRunner work too). Its"
            + " options, each of which sets a setting of the spec:");
    org.apache.beam.sdk.options.PipelineOptionsFactory.printHelp(
        out, MetricsAlertsPipeline.Options.class);
  }

  /**
   * The main job's pipeline options for the launcher's arguments: the preset's options, the
   * checkpoint and resume options of the Flink presets, then the user's options.
   */
  static List<String> pipelineArgs(List<String> args) {
    RunnerPreset preset = null;
    ResumeOptions resume = new ResumeOptions();
    List<String> userArgs = new ArrayList<>();
    for (String arg : args) {
      if (arg.startsWith("--preset=")) {
        preset = RunnerPreset.named(arg.substring("--preset=".length()));
      } else if (arg.startsWith("--runner=") && isPreset(arg.substring("--runner=".length()))) {
        // One style with ./sluice run: --runner names the preset (Beam's names included).
        preset = RunnerPreset.named(arg.substring("--runner=".length()));
      } else if (!resume.accept(arg)) {
        userArgs.add(arg);
      }
    }
    if (preset == null) {
      preset = defaultPreset(userArgs);
      if (preset != RunnerPreset.DIRECT) {
        System.out.println(
            "Reading Kafka: running on embedded Flink, the default for a Kafka source (the Direct"
                + " runner is a test runner and reads Kafka at a few hundred events/s);"
                + " --runner=direct to use it anyway.");
      }
    }
    if (optionValue(userArgs, "--jobName") == null) {
      userArgs.add("--jobName=" + DEFAULT_JOB_NAME);
    }
    for (String name : MAIN_JOB_STATE_OPTIONS) {
      String value = optionValue(userArgs, name);
      if (name.equals("--alertsExactlyOnce") && "true".equals(value)) {
        // The sink's own state layout: a checkpoint of Beam's exactly-once sink is not resumed.
        value = value + " (" + dev.sluice.io.KafkaJsonIO.EXACTLY_ONCE_LAYOUT + ")";
      }
      resume.stateSettings.put(name, value == null ? "(default)" : value);
    }
    String outputDir = optionValue(userArgs, "--outputDir");
    List<String> resumeArgs =
        resume.optionsFor(
            preset,
            Path.of(outputDir == null ? "output" : outputDir),
            optionValue(userArgs, "--jobName"),
            System.out,
            userArgs);
    return preset.mergeWith(RunnerPreset.withDefaults(resumeArgs, userArgs));
  }

  /**
   * The runner when none is named: embedded Flink for a Kafka source, which a job has to keep up
   * with (the Direct runner evaluates an unbounded read a handful of records per bundle), else the
   * Direct runner.
   */
  static RunnerPreset defaultPreset(List<String> userArgs) {
    return "kafka".equals(optionValue(userArgs, "--source"))
        ? RunnerPreset.FLINK
        : RunnerPreset.DIRECT;
  }

  private static boolean isPreset(String name) {
    try {
      RunnerPreset.named(name);
      return true;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  /** The value of {@code --name=value} in {@code args}, the last one if repeated, else null. */
  static String optionValue(List<String> args, String name) {
    String value = null;
    for (String arg : args) {
      if (arg.startsWith(name + "=")) {
        value = arg.substring(name.length() + 1);
      }
    }
    return value;
  }

  /**
   * The launcher's own resume options, shared by the main job and {@code ./sluice run}: {@code
   * --fresh}, {@code --from-savepoint=PATH}, {@code --checkpointDir=DIR} and {@code
   * --accept-state-changes}.
   */
  static final class ResumeOptions {
    boolean fresh;
    String fromSavepoint;
    String checkpointDir;
    boolean acceptStateChanges;

    /**
     * What the job's saved state depends on (windows, lateness, rules, source, step set), by name;
     * kept beside the checkpoints and compared when the job resumes.
     */
    java.util.SortedMap<String, String> stateSettings =
        new java.util.TreeMap<>(java.util.Map.of("graph", GRAPH_VERSION));

    /** Takes {@code arg} if it is one of these options. */
    boolean accept(String arg) {
      if (arg.equals("--fresh") || arg.equals("--fresh=true")) {
        fresh = true;
      } else if (arg.equals("--fresh=false")) {
        fresh = false;
      } else if (arg.startsWith("--fromSavepoint=") || arg.startsWith("--from-savepoint=")) {
        fromSavepoint = arg.substring(arg.indexOf('=') + 1);
      } else if (arg.startsWith("--checkpointDir=") || arg.startsWith("--checkpoint-dir=")) {
        checkpointDir = arg.substring(arg.indexOf('=') + 1);
      } else if (arg.equals("--acceptStateChanges") || arg.equals("--accept-state-changes")) {
        acceptStateChanges = true;
      } else {
        return false;
      }
      return true;
    }

    /**
     * The pipeline options that make the job checkpoint and resume on {@code preset}; prints which
     * checkpoint the job resumes from.
     */
    List<String> optionsFor(
        RunnerPreset preset, Path outputDir, String jobName, java.io.PrintStream out) {
      return optionsFor(preset, outputDir, jobName, out, List.of());
    }

    /**
     * As {@link #optionsFor(RunnerPreset, Path, String, java.io.PrintStream)}; {@code userArgs}
     * (the job's pipeline options) say where embedded Flink serves its Prometheus metrics.
     */
    List<String> optionsFor(
        RunnerPreset preset,
        Path outputDir,
        String jobName,
        java.io.PrintStream out,
        List<String> userArgs) {
      if (fresh && fromSavepoint != null) {
        throw new IllegalArgumentException(
            "--fresh starts over and --from-savepoint restores state: choose one");
      }
      List<String> options = new ArrayList<>();
      if (fresh) {
        options.add("--fresh=true");
      }
      switch (preset) {
        case FLINK -> {
          FlinkCheckpoints checkpoints =
              FlinkCheckpoints.under(
                  checkpointDir != null
                      ? Path.of(checkpointDir)
                      : outputDir.resolve("checkpoints").resolve(jobName));
          Path restoreFrom = null;
          if (fresh) {
            int removed = checkpoints.deleteAll();
            out.printf(
                "Starting job %s fresh (--fresh): %d earlier checkpoint(s) under %s removed%n",
                jobName, removed, checkpoints.root());
          } else if (fromSavepoint != null) {
            restoreFrom = savepoint(fromSavepoint);
            out.printf("Restoring job %s from savepoint %s%n", jobName, restoreFrom);
          } else {
            Optional<FlinkCheckpoints.Checkpoint> newest = checkpoints.newest();
            if (newest.isPresent()) {
              checkStateSettings(checkpoints.root(), newest.get(), jobName);
              restoreFrom = newest.get().path();
              out.printf(
                  "Resuming job %s from %s (%s); --fresh starts over%n",
                  jobName, restoreFrom, newest.get().describe(Instant.now()));
            } else {
              out.printf(
                  "Starting job %s: no checkpoint under %s yet%n", jobName, checkpoints.root());
            }
          }
          writeStateSettings(checkpoints.root());
          options.addAll(
              checkpoints.embeddedOptions(
                  restoreFrom, acceptStateChanges, FlinkMetricsReporter.embeddedConfig(userArgs)));
          if (restoreFrom != null) {
            options.add("--restoredState=" + restoreFrom);
          }
        }
        case FLINK_CLUSTER -> {
          options.addAll(FlinkCheckpoints.CHECKPOINT_OPTIONS);
          if (fromSavepoint != null) {
            Path savepoint = savepoint(fromSavepoint);
            out.printf("Restoring job %s from savepoint %s%n", jobName, savepoint);
            options.add("--savepointPath=" + savepoint);
            options.add("--allowNonRestoredState=" + acceptStateChanges);
            options.add("--restoredState=" + savepoint);
          }
        }
        default -> {
          if (fromSavepoint != null) {
            throw new IllegalArgumentException(
                "--from-savepoint restores a Flink savepoint; it needs --preset=flink or"
                    + " flink-cluster, got --preset="
                    + preset.cliName());
          }
        }
      }
      return options;
    }

    private static final String SETTINGS_FILE = "state-settings.properties";

    /**
     * Refuses to resume when a setting the state depends on changed since the checkpoints were
     * written, naming each change (unless {@code --accept-state-changes}).
     */
    private void checkStateSettings(
        Path root, FlinkCheckpoints.Checkpoint checkpoint, String jobName) {
      Path file = root.resolve(SETTINGS_FILE);
      if (acceptStateChanges || stateSettings.isEmpty() || !java.nio.file.Files.exists(file)) {
        return;
      }
      java.util.Properties saved = new java.util.Properties();
      try (var in = java.nio.file.Files.newBufferedReader(file)) {
        saved.load(in);
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException("cannot read " + file, e);
      }
      List<String> changes = new ArrayList<>();
      java.util.Set<String> names = new java.util.TreeSet<>(stateSettings.keySet());
      names.addAll(saved.stringPropertyNames());
      for (String name : names) {
        String before = saved.getProperty(name, "(unset)");
        String now = stateSettings.getOrDefault(name, "(unset)");
        if (!before.equals(now)) {
          changes.add(name + " was " + before + ", is now " + now);
        }
      }
      if (!changes.isEmpty()) {
        throw new IllegalArgumentException(
            "cannot resume job "
                + jobName
                + " from "
                + checkpoint.path()
                + ": its state was written with other settings ("
                + String.join("; ", changes)
                + "). Run with --fresh to start over (every window is recomputed), use another"
                + " --jobName or --outputDir, or --accept-state-changes to restore the state"
                + " anyway (state of steps that no longer exist is dropped)");
      }
    }

    private void writeStateSettings(Path root) {
      if (stateSettings.isEmpty()) {
        return;
      }
      java.util.Properties properties = new java.util.Properties();
      properties.putAll(stateSettings);
      try {
        java.nio.file.Files.createDirectories(root);
        try (var out = java.nio.file.Files.newBufferedWriter(root.resolve(SETTINGS_FILE))) {
          properties.store(out, "What the saved state of this job depends on");
        }
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException("cannot write " + root.resolve(SETTINGS_FILE), e);
      }
    }

    private static Path savepoint(String path) {
      Path dir = Path.of(path).toAbsolutePath().normalize();
      if (!java.nio.file.Files.isRegularFile(dir.resolve("_metadata"))) {
        throw new IllegalArgumentException(
            "--from-savepoint: "
                + path
                + " is not a savepoint or checkpoint directory (it has no _metadata file)");
      }
      return dir;
    }
  }
}

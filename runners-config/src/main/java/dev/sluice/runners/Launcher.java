package dev.sluice.runners;

import dev.sluice.pipelines.MetricsAlertsPipeline;
import dev.sluice.pipelines.StoreQuery;
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
  /** The job name of the main job unless {@code --jobName} says otherwise. */
  static final String DEFAULT_JOB_NAME = "sluice-main";

  private Launcher() {}

  public static void main(String[] args) {
    if (args.length > 0
        && java.util.List.of(
                "run", "validate", "explain", "flex-template", "--help", "-h", "--version")
            .contains(args[0])) {
      SluiceCli.main(args);
      return;
    }
    if (args.length > 0 && args[0].equals("flink-cluster")) {
      FlinkSessionCluster.main(java.util.Arrays.copyOfRange(args, 1, args.length));
      return;
    }
    if (args.length > 0 && args[0].equals("query")) {
      StoreQuery.main(java.util.Arrays.copyOfRange(args, 1, args.length));
      return;
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

  /**
   * The main job's pipeline options for the launcher's arguments: the preset's options, the
   * checkpoint and resume options of the Flink presets, then the user's options.
   */
  static List<String> pipelineArgs(List<String> args) {
    RunnerPreset preset = RunnerPreset.DIRECT;
    ResumeOptions resume = new ResumeOptions();
    List<String> userArgs = new ArrayList<>();
    for (String arg : args) {
      if (arg.startsWith("--preset=")) {
        preset = RunnerPreset.named(arg.substring("--preset=".length()));
      } else if (!resume.accept(arg)) {
        userArgs.add(arg);
      }
    }
    if (optionValue(userArgs, "--jobName") == null) {
      userArgs.add("--jobName=" + DEFAULT_JOB_NAME);
    }
    String outputDir = optionValue(userArgs, "--outputDir");
    List<String> resumeArgs =
        resume.optionsFor(
            preset,
            Path.of(outputDir == null ? "output" : outputDir),
            optionValue(userArgs, "--jobName"),
            System.out);
    return preset.mergeWith(RunnerPreset.withDefaults(resumeArgs, userArgs));
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

    /** Takes {@code arg} if it is one of these options. */
    boolean accept(String arg) {
      if (arg.equals("--fresh") || arg.equals("--fresh=true")) {
        fresh = true;
      } else if (arg.equals("--fresh=false")) {
        fresh = false;
      } else if (arg.startsWith("--from-savepoint=")) {
        fromSavepoint = arg.substring("--from-savepoint=".length());
      } else if (arg.startsWith("--checkpointDir=")) {
        checkpointDir = arg.substring("--checkpointDir=".length());
      } else if (arg.equals("--accept-state-changes")) {
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
              restoreFrom = newest.get().path();
              out.printf(
                  "Resuming job %s from %s (%s); --fresh starts over%n",
                  jobName, restoreFrom, newest.get().describe(Instant.now()));
            } else {
              out.printf(
                  "Starting job %s: no checkpoint under %s yet%n", jobName, checkpoints.root());
            }
          }
          options.addAll(checkpoints.embeddedOptions(restoreFrom, acceptStateChanges));
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

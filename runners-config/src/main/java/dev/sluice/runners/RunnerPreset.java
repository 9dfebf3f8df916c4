package dev.sluice.runners;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Runner option presets: the only place in Sluice that names a runner. A preset's options are
 * defaults; an option the user passes wins over the preset's option of the same name.
 */
public enum RunnerPreset {
  /**
   * The Direct runner, for local runs. {@code blockOnRun=false} lets the main job print progress
   * while it runs. The Direct runner's immutability and encodability checks re-encode every element
   * and belong in tests (TestPipeline keeps them on), not in the local run of a million events.
   */
  DIRECT(
      List.of(
          "--runner=DirectRunner",
          "--blockOnRun=false",
          "--enforceImmutability=false",
          "--enforceEncodability=false")),
  /**
   * Flink embedded in this JVM (a mini-cluster), parallelism 2: the same runner code as a real
   * cluster, nothing to start; checkpoints and resume come from {@link FlinkCheckpoints}. Object
   * reuse skips copies between chained operators; it is safe because Beam forbids mutating an input
   * or an emitted output, which Sluice's tests check with the Direct runner's immutability
   * enforcement on. Faster copy stays off: the heap state backend relies on a real copy of a value
   * the task changes while a checkpoint is being written ({@link FlinkCheckpoints#STATE_BACKEND}).
   * Bundles of up to 1,000 elements or 1 s, Beam's streaming defaults, set explicitly: Beam's Flink
   * operators hold the watermark while a bundle is open, and a bundle that ends on its time limit
   * lets the watermark out only if no element opens the next bundle first. A bundle that ends on
   * its size lets it out at once. So the size must be reached well within the time limit: with
   * 5,000 elements or 100 ms (tried for throughput), a steady Kafka stream below 50,000 events/s
   * per subtask held the watermark until the stream paused, and no window closed while events
   * flowed (README, "Latency through Kafka and PostgreSQL"). With 1,000 or 1 s, any stream faster
   * than 1,000 events/s per subtask ends its bundles on size; a slower one leaves gaps between
   * elements.
   */
  FLINK(
      List.of(
          "--runner=FlinkRunner",
          "--flinkMaster=[local]",
          "--parallelism=2",
          "--objectReuse=true",
          "--fasterCopy=false",
          "--maxBundleSize=1000",
          "--maxBundleTimeMills=1000")),
  /**
   * A Flink session cluster at {@code --flinkMaster=host:port} (its REST port); the job's classes
   * are staged from {@code --filesToStage} (the shaded jar). Object reuse, faster copy and bundles
   * as for {@link #FLINK}; the cluster's {@code config.yaml} sets the same heap state backend.
   */
  FLINK_CLUSTER(
      List.of(
          "--runner=FlinkRunner",
          "--parallelism=2",
          "--objectReuse=true",
          "--fasterCopy=false",
          "--maxBundleSize=1000",
          "--maxBundleTimeMills=1000")),
  /**
   * Google Cloud Dataflow; needs {@code --project}, {@code --region} and {@code --tempLocation}.
   */
  DATAFLOW(List.of("--runner=DataflowRunner"));

  private final List<String> options;

  RunnerPreset(List<String> options) {
    this.options = options;
  }

  public List<String> options() {
    return options;
  }

  /** The preset's name as users type it: {@code direct}, {@code flink-cluster}. */
  public String cliName() {
    return name().toLowerCase(Locale.ROOT).replace('_', '-');
  }

  /**
   * Looks a preset up by its name, e.g. {@code direct}, {@code flink-cluster}, or by the Beam
   * runner's name as Beam's quickstart writes it: {@code DirectRunner}, {@code FlinkRunner}
   * (embedded; {@link #FLINK_CLUSTER} is chosen by the caller when a Flink master is given), {@code
   * DataflowRunner}.
   */
  public static RunnerPreset named(String name) {
    for (RunnerPreset preset : values()) {
      if (preset.cliName().equals(name)) {
        return preset;
      }
    }
    switch (name) {
      case "DirectRunner":
        return DIRECT;
      case "FlinkRunner":
        return FLINK;
      case "DataflowRunner":
        return DATAFLOW;
      default:
        break;
    }
    List<String> names = new ArrayList<>();
    for (RunnerPreset preset : values()) {
      names.add(preset.cliName());
    }
    throw new IllegalArgumentException(
        "--preset: '" + name + "' is not a runner preset; use one of " + names);
  }

  /** The preset's options that the user did not set, followed by the user's arguments. */
  public List<String> mergeWith(List<String> userArgs) {
    return withDefaults(options, userArgs);
  }

  /** The {@code defaults} whose option the user did not set, followed by the user's arguments. */
  static List<String> withDefaults(List<String> defaults, List<String> userArgs) {
    Set<String> userOptionNames = new HashSet<>();
    for (String arg : userArgs) {
      userOptionNames.add(optionName(arg));
    }
    List<String> merged = new ArrayList<>();
    for (String option : defaults) {
      if (!userOptionNames.contains(optionName(option))) {
        merged.add(option);
      }
    }
    merged.addAll(userArgs);
    return merged;
  }

  private static String optionName(String arg) {
    int eq = arg.indexOf('=');
    return eq < 0 ? arg : arg.substring(0, eq);
  }
}

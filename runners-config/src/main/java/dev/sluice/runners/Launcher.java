package dev.sluice.runners;

import dev.sluice.pipelines.MetricsAlertsPipeline;
import dev.sluice.pipelines.StoreQuery;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs Sluice's main job with a runner preset: {@code Launcher [--preset=direct] [pipeline
 * options]}, or queries its PostgreSQL store: {@code Launcher query [--outputDir=DIR] "SQL"}. The
 * {@code ./sluice} script in the repository root builds the project and calls this.
 */
public final class Launcher {
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
    RunnerPreset preset = RunnerPreset.DIRECT;
    List<String> pipelineArgs = new ArrayList<>();
    for (String arg : args) {
      if (arg.startsWith("--preset=")) {
        try {
          preset = RunnerPreset.named(arg.substring("--preset=".length()));
        } catch (IllegalArgumentException e) {
          System.err.println("Invalid configuration: " + e.getMessage());
          System.exit(2);
          return;
        }
      } else {
        pipelineArgs.add(arg);
      }
    }
    MetricsAlertsPipeline.main(preset.mergeWith(pipelineArgs).toArray(new String[0]));
  }
}

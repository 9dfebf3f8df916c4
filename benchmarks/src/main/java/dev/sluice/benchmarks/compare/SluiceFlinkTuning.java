package dev.sluice.benchmarks.compare;

import java.util.List;

/**
 * The FlinkRunner options Sluice-on-Flink is measured with, and the knob study that justifies them
 * ({@code benchmarks/run compare --knobs}): each option alone on top of the runner's defaults, and
 * all of them together. Beam's model already forbids mutating an input element or an output after
 * emitting it (the Direct runner's immutability enforcement checks exactly that, and Sluice's tests
 * run with it on), which is what makes Flink's object reuse and Beam's faster copy safe for Sluice.
 */
final class SluiceFlinkTuning {
  private SluiceFlinkTuning() {}

  /**
   * What Sluice-on-Flink is compared with: the FLINK preset (which sets object reuse and faster
   * copy, see {@code RunnerPreset}), spelled out, and bundles of 5000. The knob study found object
   * reuse and faster copy worth +30% each (they remove the same copy, so together no more), and the
   * bundle size within noise.
   */
  static final List<String> BEST =
      List.of("--fasterCopy=true", "--objectReuse=true", "--maxBundleSize=5000");

  private static final List<String> OFF = List.of("--fasterCopy=false", "--objectReuse=false");

  static List<Compare.Variant> variants() {
    return List.of(
        new Compare.Variant("flink-defaults", "sluice-flink", OFF, "FlinkRunner defaults"),
        knob("--fasterCopy=true", "no deep copy of elements between chained operators"),
        knob("--objectReuse=true", "Flink object reuse"),
        knob("--maxBundleSize=5000", "bundles of up to 5000 elements instead of 1000"),
        new Compare.Variant("tuned", "sluice-flink", BEST, "all of the above"));
  }

  /**
   * The state-backend study behind the Flink presets' choice ({@code --state-backends}): no
   * checkpoints (the ceiling), checkpoints every 10 s with RocksDB and faster copy (the preset),
   * and with the heap backend, which needs faster copy off (a snapshot serializes state while the
   * task updates it in place; with faster copy Flink gets the live object instead of a copy).
   */
  static List<Compare.Variant> stateBackends() {
    String dir =
        java.nio.file.Path.of(System.getProperty("java.io.tmpdir"), "sluice-bench-checkpoints")
            .toUri()
            .toString();
    List<String> checkpoints =
        List.of(
            "--checkpointingInterval=10000",
            "--checkpointingMode=EXACTLY_ONCE",
            "--shutdownSourcesAfterIdleMs=15000",
            "--stateBackendStoragePath=" + dir);
    List<String> rocksdb = new java.util.ArrayList<>(BEST);
    rocksdb.addAll(checkpoints);
    rocksdb.add("--stateBackend=rocksdb");
    List<String> heap =
        new java.util.ArrayList<>(
            List.of("--fasterCopy=false", "--objectReuse=true", "--maxBundleSize=5000"));
    heap.addAll(checkpoints);
    heap.add("--stateBackend=filesystem");
    return List.of(
        new Compare.Variant("no-checkpoints", "sluice-flink", BEST, "no checkpoints (ceiling)"),
        new Compare.Variant("rocksdb", "sluice-flink", rocksdb, "RocksDB, faster copy (preset)"),
        new Compare.Variant("heap", "sluice-flink", heap, "heap backend, faster copy off"));
  }

  /** One option changed from the runner's defaults (the preset's copy options switched off). */
  private static Compare.Variant knob(String option, String description) {
    List<String> args = new java.util.ArrayList<>(OFF);
    args.removeIf(o -> o.startsWith(option.substring(0, option.indexOf('=') + 1)));
    args.add(option);
    return new Compare.Variant(option.substring(2), "sluice-flink", args, description);
  }
}

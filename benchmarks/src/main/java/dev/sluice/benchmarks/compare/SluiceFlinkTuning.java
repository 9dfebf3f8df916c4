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

  static final List<String> BEST =
      List.of("--fasterCopy=true", "--objectReuse=true", "--maxBundleSize=5000");

  static List<Compare.Variant> variants() {
    return List.of(
        new Compare.Variant("flink-defaults", "sluice-flink", List.of(), "FlinkRunner defaults"),
        knob("--fasterCopy=true", "no deep copy of elements between chained operators"),
        knob("--objectReuse=true", "Flink object reuse"),
        knob("--maxBundleSize=5000", "bundles of up to 5000 elements instead of 1000"),
        new Compare.Variant("tuned", "sluice-flink", BEST, "all of the above"));
  }

  private static Compare.Variant knob(String option, String description) {
    return new Compare.Variant(option.substring(2), "sluice-flink", List.of(option), description);
  }
}

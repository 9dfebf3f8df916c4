package dev.sluice.runners;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class RunnerPresetTest {
  @Test
  void userOptionsOverrideThePresetsOptionsOfTheSameName() {
    List<String> merged =
        RunnerPreset.DIRECT.mergeWith(List.of("--enforceImmutability=true", "--numEvents=10"));
    assertThat(merged)
        .containsExactly(
            "--runner=DirectRunner",
            "--blockOnRun=false",
            "--enforceEncodability=false",
            "--enforceImmutability=true",
            "--numEvents=10");
  }

  @Test
  void unknownPresetNamesTheValueAndTheChoices() {
    assertThat(RunnerPreset.named("direct")).isEqualTo(RunnerPreset.DIRECT);
    assertThat(RunnerPreset.named("flink-cluster")).isEqualTo(RunnerPreset.FLINK_CLUSTER);
    assertThatThrownBy(() -> RunnerPreset.named("spark"))
        .hasMessage(
            "--preset: 'spark' is not a runner preset; use one of [direct, flink, flink-cluster,"
                + " dataflow]");
  }

  @Test
  void beamRunnerNamesSelectTheMatchingPreset() {
    assertThat(RunnerPreset.named("DirectRunner")).isEqualTo(RunnerPreset.DIRECT);
    assertThat(RunnerPreset.named("FlinkRunner")).isEqualTo(RunnerPreset.FLINK);
    assertThat(RunnerPreset.named("DataflowRunner")).isEqualTo(RunnerPreset.DATAFLOW);
  }

  @Test
  void flinkRunnerWithAMasterIsTheSessionClusterPreset() {
    SluiceCli.RunnerOptions options = new SluiceCli.RunnerOptions();
    options.runner = "FlinkRunner";
    assertThat(options.preset()).isEqualTo(RunnerPreset.FLINK);
    options.flinkMaster = "[local]";
    assertThat(options.preset()).isEqualTo(RunnerPreset.FLINK);
    options.flinkMaster = "localhost:8081";
    assertThat(options.preset()).isEqualTo(RunnerPreset.FLINK_CLUSTER);
    options.flinkMaster = "[auto]";
    assertThat(options.preset()).isEqualTo(RunnerPreset.FLINK_CLUSTER);
  }
}

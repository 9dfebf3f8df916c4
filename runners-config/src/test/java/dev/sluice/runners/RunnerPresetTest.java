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

  @Test
  void theMainJobReadsKafkaOnEmbeddedFlinkUnlessARunnerIsNamed(
      @org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
    assertThat(Launcher.pipelineArgs(List.of("--source=kafka", "--outputDir=" + dir)))
        .contains("--runner=FlinkRunner", "--flinkMaster=[local]");
    assertThat(
            Launcher.pipelineArgs(
                List.of("--source=kafka", "--runner=direct", "--outputDir=" + dir)))
        .contains("--runner=DirectRunner");
    assertThat(Launcher.pipelineArgs(List.of("--source=files", "--outputDir=" + dir)))
        .contains("--runner=DirectRunner");
    assertThat(Launcher.pipelineArgs(List.of("--outputDir=" + dir)))
        .contains("--runner=DirectRunner");
  }

  @Test
  void theMainJobAndTheSpecCommandsTakeTheRunnerAndResumeOptionsInOneStyle(
      @org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
    // --runner names the preset for the main job as for ./sluice run (--preset is its old name).
    assertThat(Launcher.pipelineArgs(List.of("--runner=flink", "--outputDir=" + dir)))
        .contains("--runner=FlinkRunner")
        .anyMatch(arg -> arg.startsWith("--flinkConfDir="));
    assertThat(Launcher.pipelineArgs(List.of("--preset=flink", "--outputDir=" + dir)))
        .contains("--runner=FlinkRunner");
    // Beam-style camelCase resume options, the kebab-case spellings still accepted.
    Launcher.ResumeOptions resume = new Launcher.ResumeOptions();
    assertThat(resume.accept("--fromSavepoint=/s")).isTrue();
    assertThat(resume.fromSavepoint).isEqualTo("/s");
    assertThat(resume.accept("--from-savepoint=/t")).isTrue();
    assertThat(resume.fromSavepoint).isEqualTo("/t");
    assertThat(resume.accept("--acceptStateChanges")).isTrue();
    assertThat(resume.acceptStateChanges).isTrue();
    assertThat(resume.accept("--numEvents=5")).isFalse();
    // The spec commands take the same spellings (an unknown option would be exit status 2).
    for (String[] spelling :
        List.of(
            new String[] {"--flinkMaster=localhost:1", "--checkpointDir=" + dir},
            new String[] {"--flink-master=localhost:1", "--checkpoint-dir=" + dir})) {
      assertThat(
              SluiceCli.execute(
                  "explain",
                  ExampleSpecs.withDataPaths("iot").toString(),
                  "--runner=flink",
                  spelling[0],
                  spelling[1]))
          .isEqualTo(SluiceCli.OK);
    }
  }
}

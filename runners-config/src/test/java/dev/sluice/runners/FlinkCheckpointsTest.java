package dev.sluice.runners;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FlinkCheckpointsTest {
  private static Path checkpoint(Path root, String job, int id, Instant written, boolean complete)
      throws Exception {
    Path dir = Files.createDirectories(root.resolve(job).resolve("chk-" + id));
    if (complete) {
      Path metadata = Files.write(dir.resolve("_metadata"), new byte[] {1, 2, 3});
      Files.setLastModifiedTime(metadata, FileTime.from(written));
    }
    return dir;
  }

  @Test
  void theNewestCompleteCheckpointOfAnyEarlierRunIsChosen(@TempDir Path root) throws Exception {
    Instant t = Instant.parse("2026-12-01T10:00:00Z");
    checkpoint(root, "job-a", 7, t, true);
    Path newest = checkpoint(root, "job-b", 2, t.plusSeconds(30), true);
    // Written last but without _metadata: a kill -9 while it was being written.
    checkpoint(root, "job-b", 3, t.plusSeconds(40), false);

    FlinkCheckpoints.Checkpoint found = FlinkCheckpoints.under(root).newest().orElseThrow();

    assertThat(found.path()).isEqualTo(newest);
    assertThat(found.id()).isEqualTo(2);
    assertThat(found.jobId()).isEqualTo("job-b");
    assertThat(found.describe(t.plusSeconds(72)))
        .isEqualTo("checkpoint 2 of Flink job job-b, written 42 s ago");
  }

  @Test
  void noCheckpointDirectoryMeansAFirstStartAndFreshRemovesEveryCheckpoint(@TempDir Path root)
      throws Exception {
    assertThat(FlinkCheckpoints.under(root.resolve("missing")).newest()).isEmpty();
    checkpoint(root, "job-a", 1, Instant.now(), true);
    checkpoint(root, "job-a", 2, Instant.now(), true);

    assertThat(FlinkCheckpoints.under(root).deleteAll()).isEqualTo(2);
    assertThat(FlinkCheckpoints.under(root).newest()).isEmpty();
  }

  @Test
  void theEmbeddedOptionsRestoreTheCheckpointAndConfigureRestartsAndTheBackend(@TempDir Path root)
      throws Exception {
    Path chk = checkpoint(root, "job-a", 4, Instant.now(), true);

    List<String> options = FlinkCheckpoints.under(root).embeddedOptions(chk, false);

    assertThat(options)
        .contains(
            "--checkpointingMode=EXACTLY_ONCE",
            "--retainExternalizedCheckpointsOnCancellation=true",
            "--stateBackend=filesystem",
            "--savepointPath=" + chk,
            "--allowNonRestoredState=false");
    String config = Files.readString(root.resolve("flink-conf").resolve("config.yaml"));
    assertThat(config)
        .contains("restart-strategy.type: exponential-delay")
        .contains("execution.savepoint.path: '" + chk + "'");
  }

  @Test
  void resumeOptionsAreCheckedAgainstEachOtherAndThePreset(@TempDir Path dir) {
    PrintStream out = new PrintStream(new ByteArrayOutputStream());
    Launcher.ResumeOptions both = new Launcher.ResumeOptions();
    both.accept("--fresh");
    both.accept("--from-savepoint=" + dir);
    assertThatThrownBy(() -> both.optionsFor(RunnerPreset.FLINK, dir, "j", out))
        .hasMessage("--fresh starts over and --from-savepoint restores state: choose one");

    Launcher.ResumeOptions direct = new Launcher.ResumeOptions();
    direct.accept("--from-savepoint=" + dir);
    assertThatThrownBy(() -> direct.optionsFor(RunnerPreset.DIRECT, dir, "j", out))
        .hasMessageContaining("needs --preset=flink or flink-cluster, got --preset=direct");

    Launcher.ResumeOptions notASavepoint = new Launcher.ResumeOptions();
    notASavepoint.accept("--from-savepoint=" + dir);
    assertThatThrownBy(() -> notASavepoint.optionsFor(RunnerPreset.FLINK, dir, "j", out))
        .hasMessageContaining("is not a savepoint or checkpoint directory (it has no _metadata");
  }

  @Test
  void aResumeWhoseStateSettingsChangedIsRefusedNamingTheChange(@TempDir Path dir)
      throws Exception {
    PrintStream out = new PrintStream(new ByteArrayOutputStream());
    Path root = dir.resolve("checkpoints").resolve("j");
    Launcher.ResumeOptions first = new Launcher.ResumeOptions();
    first.stateSettings.put("--windowSeconds", "60");
    assertThat(first.optionsFor(RunnerPreset.FLINK, dir, "j", out))
        .noneMatch(o -> o.startsWith("--savepointPath="));
    Path chk = checkpoint(root, "job-a", 1, Instant.now(), true);

    Launcher.ResumeOptions changed = new Launcher.ResumeOptions();
    changed.stateSettings.put("--windowSeconds", "30");
    assertThatThrownBy(() -> changed.optionsFor(RunnerPreset.FLINK, dir, "j", out))
        .hasMessageContaining(
            "its state was written with other settings (--windowSeconds was 60," + " is now 30)")
        .hasMessageContaining("--fresh");

    Launcher.ResumeOptions same = new Launcher.ResumeOptions();
    same.stateSettings.put("--windowSeconds", "60");
    assertThat(same.optionsFor(RunnerPreset.FLINK, dir, "j", out))
        .contains("--savepointPath=" + chk, "--restoredState=" + chk);

    Launcher.ResumeOptions accepted = new Launcher.ResumeOptions();
    accepted.accept("--accept-state-changes");
    accepted.stateSettings.put("--windowSeconds", "30");
    assertThat(accepted.optionsFor(RunnerPreset.FLINK, dir, "j", out))
        .contains("--savepointPath=" + chk, "--allowNonRestoredState=true");
  }

  @Test
  void aCheckpointOfAnEarlierGraphVersionIsNotResumed(@TempDir Path dir) throws Exception {
    PrintStream out = new PrintStream(new ByteArrayOutputStream());
    Path root = dir.resolve("checkpoints").resolve("j");
    checkpoint(root, "job-a", 1, Instant.now(), true);
    // What a launcher before graph version 2 kept next to its checkpoints: no graph setting.
    java.nio.file.Files.writeString(
        root.resolve("state-settings.properties"), "--windowSeconds=60\n");
    Launcher.ResumeOptions resume = new Launcher.ResumeOptions();
    resume.stateSettings.put("--windowSeconds", "60");
    assertThatThrownBy(() -> resume.optionsFor(RunnerPreset.FLINK, dir, "j", out))
        .hasMessageContaining("graph was (unset), is now " + Launcher.GRAPH_VERSION)
        .hasMessageContaining("--fresh");
  }

  @Test
  void theMainJobGetsAStableJobNameAndTheUsersOptionsWin() {
    List<String> args =
        Launcher.pipelineArgs(
            List.of("--preset=direct", "--numEvents=10", "--outputDir=/tmp/x", "--fresh"));
    assertThat(args).contains("--jobName=sluice-main", "--fresh=true", "--numEvents=10");
    assertThat(Launcher.pipelineArgs(List.of("--jobName=mine"))).contains("--jobName=mine");
    assertThat(Launcher.pipelineArgs(List.of("--jobName=mine")))
        .doesNotContain("--jobName=sluice-main");
  }
}

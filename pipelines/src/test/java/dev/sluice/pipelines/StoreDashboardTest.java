package dev.sluice.pipelines;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which store {@code ./sluice ui} opens, and its argument checks. */
class StoreDashboardTest {
  private static Path store(Path dir, long lastUsedMillis) throws Exception {
    Files.createDirectories(dir.resolve("global"));
    Files.writeString(dir.resolve("PG_VERSION"), "16\n");
    Path control = Files.writeString(dir.resolve("global").resolve("pg_control"), "x");
    Files.setLastModifiedTime(control, FileTime.fromMillis(lastUsedMillis));
    return dir;
  }

  @Test
  void theMostRecentlyUsedStoreTheMainJobsOrASpecs(@TempDir Path out) throws Exception {
    Path older = store(out.resolve("payments").resolve("postgres"), 1_000_000L);
    Path newer = store(out.resolve("iot-sensors").resolve("postgres"), 2_000_000L);
    ByteArrayOutputStream printed = new ByteArrayOutputStream();
    PrintStream stream = new PrintStream(printed, true, StandardCharsets.UTF_8);
    assertThat(StoreDashboard.findStore(out, stream)).isEqualTo(newer);
    assertThat(printed.toString(StandardCharsets.UTF_8))
        .contains(older.toString(), "showing the most recently used", "--dataDir");

    // The main job's store, used before the spec's: the spec's is the one run last.
    Path main = store(out.resolve("postgres"), 0L);
    assertThat(StoreDashboard.findStore(out, stream)).isEqualTo(newer);
    // Run the main job again: its store is the newest.
    store(main, 3_000_000L);
    assertThat(StoreDashboard.findStore(out, stream)).isEqualTo(main);
  }

  @Test
  void noStoreOrABadArgumentIsAnError(@TempDir Path out) {
    PrintStream sink = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
    assertThatThrownBy(() -> StoreDashboard.findStore(out, sink))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("run a job first");
    assertThatThrownBy(() -> StoreDashboard.start(new String[] {"--port=70000"}, sink))
        .hasMessage("--port must be a whole number from 0 to 65535, got 70000");
    assertThatThrownBy(() -> StoreDashboard.start(new String[] {"--prot=1"}, sink))
        .hasMessage("unknown option --prot");
    assertThatThrownBy(
            () -> StoreDashboard.start(new String[] {"--jdbcUrl=jdbc:mysql://x/y"}, sink))
        .hasMessageContaining("must start with jdbc:postgresql:");
    assertThatThrownBy(
            () -> StoreDashboard.start(new String[] {"--outputDir=" + out, "--schema=Bad"}, sink))
        .hasMessageContaining("run a job first");
  }
}

package dev.sluice.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChildJvmTest {
  /** The child: prints its arguments, one a line, then exits ({@code exit CODE}) or waits. */
  public static void main(String[] args) throws Exception {
    for (String arg : args) {
      System.out.println(arg);
    }
    System.out.flush();
    if (args.length > 0 && args[0].equals("exit")) {
      System.exit(Integer.parseInt(args[1]));
    }
    Thread.currentThread().join(); // until stopped
  }

  @TempDir Path dir;

  private ChildJvm start(List<String> args, boolean append, String secret) throws Exception {
    Path argFile = ChildJvm.writeClassPathArgFile(dir.resolve("child.args"), ChildJvm.classPath());
    return ChildJvm.start(
        dir,
        argFile,
        List.of("-Xmx32m"),
        ChildJvmTest.class.getName(),
        args,
        dir.resolve("child.log"),
        append,
        secret);
  }

  @Test
  void waitsForALineOfItsOwnOutputAndStops() throws Exception {
    ChildJvm first = start(List.of("ready 1"), false, null);
    try {
      first.awaitLogLine(Pattern.compile("^ready 1$"), Duration.ofSeconds(60));
      assertThat(first.stop(Duration.ofSeconds(10))).isTrue();
      assertThat(first.isAlive()).isFalse();
    } finally {
      first.killNow();
    }

    // Appended to the same log: the first process's line does not count for the second.
    ChildJvm second = start(List.of("ready 2"), true, null);
    try {
      second.awaitLogLine(Pattern.compile("^ready 2$"), Duration.ofSeconds(60));
      assertThatThrownBy(
              () -> second.awaitLogLine(Pattern.compile("^ready 1$"), Duration.ofMillis(300)))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("No line matching '^ready 1$'")
          .hasMessageContaining("ready 2");
      assertThat(second.kill()).isTrue();
    } finally {
      second.killNow();
    }
    assertThat(Files.readAllLines(dir.resolve("child.log"))).contains("ready 1", "ready 2");
  }

  @Test
  void anEarlyExitFailsTheWaitWithTheExitCodeAndTheLogWithoutTheSecret() throws Exception {
    ChildJvm child = start(List.of("exit", "3", "password=s3cret"), false, "s3cret");

    assertThatThrownBy(() -> child.awaitLogLine(Pattern.compile("never"), Duration.ofSeconds(60)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("exited with code 3")
        .hasMessageContaining("password=[hidden]")
        .hasMessageNotContaining("s3cret");
  }

  @Test
  void freePortsAreDistinctAndFree() throws Exception {
    int[] ports = ChildJvm.freePorts(3);
    assertThat(ports).doesNotHaveDuplicates();
    for (int port : ports) {
      assertThat(ChildJvm.inUse(port)).isFalse();
    }
  }
}

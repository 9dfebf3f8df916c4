package dev.sluice.runners.faults;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * The main job as a user runs it, in a child JVM: exactly the command {@code ./sluice} executes
 * ({@code java -cp runners-config/target/classes:<launch classpath> dev.sluice.runners.Launcher
 * ARGS}), with its console output appended to a log file and its progress lines ("events read N")
 * followed. {@link #kill()} is a real SIGKILL.
 */
final class JobProcess implements AutoCloseable {
  private static final Pattern LOG_LINE = Pattern.compile("\\d\\d:\\d\\d:\\d\\d\\.\\d+ \\[");
  private static final Path MODULE = Path.of("").toAbsolutePath();

  private final Process process;
  private final List<String> lines = java.util.Collections.synchronizedList(new ArrayList<>());
  private final Thread reader;

  private JobProcess(Process process, Path log) {
    this.process = process;
    this.reader =
        new Thread(
            () -> {
              try (BufferedReader in =
                      new BufferedReader(new InputStreamReader(process.getInputStream(), UTF_8));
                  var out =
                      Files.newBufferedWriter(
                          log, UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND)) {
                for (String line; (line = in.readLine()) != null; ) {
                  out.write(line);
                  out.newLine();
                  out.flush();
                  if (!LOG_LINE.matcher(line).lookingAt() || line.contains("ERROR")) {
                    lines.add(line);
                  }
                }
              } catch (IOException e) {
                // The process died; its output ends here.
              }
            },
            "job-output");
    reader.setDaemon(true);
    reader.start();
  }

  /** Starts the main job with {@code args} (a {@code ./sluice} command line without the script). */
  static JobProcess start(Path log, List<String> args) {
    Path classes = MODULE.resolve("target/classes");
    Path classpathFile = MODULE.resolve("target/launch.classpath");
    try {
      String classpath = classes + ":" + Files.readString(classpathFile).strip();
      List<String> command = new ArrayList<>();
      command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
      command.add("-Xmx2g");
      // The same JVM options as ./sluice.
      for (String option : Files.readAllLines(MODULE.resolve("jvm.options"))) {
        if (!option.isBlank() && !option.startsWith("#")) {
          command.add(option.strip());
        }
      }
      command.add("-cp");
      command.add(classpath);
      command.add("dev.sluice.runners.Launcher");
      command.addAll(args);
      Files.writeString(
          log,
          "\n$ ./sluice " + String.join(" ", args) + "\n",
          UTF_8,
          StandardOpenOption.CREATE,
          StandardOpenOption.APPEND);
      Process process =
          new ProcessBuilder(command)
              .directory(MODULE.getParent().toFile())
              .redirectErrorStream(true)
              .start();
      return new JobProcess(process, log);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  boolean isAlive() {
    return process.isAlive();
  }

  /** The job's console lines without log lines (its own messages, progress, summary, errors). */
  List<String> output() {
    synchronized (lines) {
      return List.copyOf(lines);
    }
  }

  long pid() {
    return process.pid();
  }

  /** SIGKILL: no shutdown hook runs, the embedded PostgreSQL is left running. */
  void kill() {
    process.destroyForcibly();
    await(Duration.ofSeconds(30));
  }

  /** SIGTERM and wait: the job's shutdown hooks stop its servers. */
  void stop() {
    process.destroy();
    if (!await(Duration.ofSeconds(60))) {
      kill();
    }
  }

  boolean await(Duration timeout) {
    try {
      boolean exited = process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
      if (exited) {
        reader.join(5_000);
      }
      return exited;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  int exitValue() {
    return process.exitValue();
  }

  @Override
  public void close() {
    if (process.isAlive()) {
      stop();
    }
  }
}

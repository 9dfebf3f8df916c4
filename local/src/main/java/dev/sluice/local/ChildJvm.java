package dev.sluice.local;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Pattern;

/**
 * A Java child process of this JVM, as the local servers run them (Flink's JobManager and
 * TaskManagers, the test Kafka broker): started with this JVM's {@code java} on a class path given
 * through an argument file, standard output and error into one log file, standard input closed.
 *
 * <pre>{@code
 * Path argFile = ChildJvm.writeClassPathArgFile(dir.resolve("jvm.args"), ChildJvm.classPath());
 * ChildJvm broker =
 *     ChildJvm.start(
 *         dir, argFile, List.of("-Xmx512m"), "kafka.Kafka", List.of("server.properties"),
 *         dir.resolve("kafka.log"), false);
 * broker.awaitLogLine(Pattern.compile("Kafka Server started"), Duration.ofSeconds(90));
 * broker.stop(Duration.ofSeconds(20)); // SIGTERM, SIGKILL after 20 s
 * }</pre>
 *
 * <p>Error messages quote the end of the log ({@link #tail}), with a secret (e.g. a password in the
 * child's configuration) masked. The class does not register shutdown hooks: its callers decide
 * whether a child outlives this JVM.
 */
public final class ChildJvm {
  /** Lines of the log quoted in error messages. */
  public static final int LOG_TAIL_LINES = 40;

  private static final Duration FORCED_STOP = Duration.ofSeconds(10);
  private static final Duration POLL_INTERVAL = Duration.ofMillis(100);

  private final Process process;
  private final Path logFile;
  private final long logStart;
  private final String secret;

  private ChildJvm(Process process, Path logFile, long logStart, String secret) {
    this.process = process;
    this.logFile = logFile;
    this.logStart = logStart;
    this.secret = secret;
  }

  /**
   * Starts {@code mainClass} with {@code args} in {@code workDir}: {@code java
   * <jvmOptions> @<argFile> <mainClass> <args>}.
   *
   * @param argFile a JVM argument file, e.g. from {@link #writeClassPathArgFile}: one command-line
   *     argument has a length limit that a long class path exceeds
   * @param logFile receives standard output and error; with {@code append} a restart keeps the
   *     earlier output, and {@link #awaitLogLine} looks only at what this process writes
   * @param secret a string to mask in {@link #tail} (null: none)
   */
  public static ChildJvm start(
      Path workDir,
      Path argFile,
      List<String> jvmOptions,
      String mainClass,
      List<String> args,
      Path logFile,
      boolean append,
      String secret)
      throws IOException {
    List<String> command = new ArrayList<>();
    command.add(javaExecutable());
    command.addAll(jvmOptions);
    command.add("@" + argFile);
    command.add(mainClass);
    command.addAll(args);
    long logStart = append && Files.exists(logFile) ? Files.size(logFile) : 0;
    Process process =
        new ProcessBuilder(command)
            .directory(workDir.toFile())
            .redirectErrorStream(true)
            .redirectOutput(
                append
                    ? ProcessBuilder.Redirect.appendTo(logFile.toFile())
                    : ProcessBuilder.Redirect.to(logFile.toFile()))
            .start();
    // The children never read standard input; closed, it cannot tie them to this JVM.
    process.getOutputStream().close();
    return new ChildJvm(process, logFile, logStart, secret);
  }

  /** {@link #start(Path, Path, List, String, List, Path, boolean, String)} without a secret. */
  public static ChildJvm start(
      Path workDir,
      Path argFile,
      List<String> jvmOptions,
      String mainClass,
      List<String> args,
      Path logFile,
      boolean append)
      throws IOException {
    return start(workDir, argFile, jvmOptions, mainClass, args, logFile, append, null);
  }

  /** The process, e.g. to kill it in a fault test. */
  public ProcessHandle handle() {
    return process.toHandle();
  }

  public long pid() {
    return process.pid();
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  /** The file with the child's standard output and error. */
  public Path logFile() {
    return logFile;
  }

  /** The last {@value #LOG_TAIL_LINES} lines of the log, the secret masked. */
  public String tail() {
    return tail(logFile, secret);
  }

  /**
   * Fails if the child has exited: the message names {@code what}, the exit code and the end of the
   * log.
   *
   * @throws IllegalStateException if the process is no longer running
   */
  public void checkAlive(String what) {
    if (!process.isAlive()) {
      throw new IllegalStateException(
          what
              + " (pid "
              + process.pid()
              + ") exited with code "
              + process.exitValue()
              + " before it was ready; last lines of "
              + logFile
              + ":\n"
              + tail());
    }
  }

  /**
   * Waits until a line of this child's output (not what an earlier process appended to the same
   * log) matches {@code line}.
   *
   * @throws IllegalStateException if the child exits first or the deadline passes; the message has
   *     the end of the log
   */
  public void awaitLogLine(Pattern line, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      if (logMatches(line)) {
        return;
      }
      checkAlive("The process " + this);
      if (System.nanoTime() >= deadline) {
        throw new IllegalStateException(
            "No line matching '"
                + line.pattern()
                + "' in "
                + logFile
                + " within "
                + timeout.toSeconds()
                + " s; last lines:\n"
                + tail());
      }
      LockSupport.parkNanos(POLL_INTERVAL.toNanos());
    }
  }

  private boolean logMatches(Pattern line) {
    try {
      byte[] all = Files.readAllBytes(logFile);
      int from = (int) Math.min(logStart, all.length);
      return new String(all, from, all.length - from, UTF_8)
          .lines()
          .anyMatch(l -> line.matcher(l).find());
    } catch (IOException e) {
      return false; // not written yet
    }
  }

  /**
   * Waits at most {@code timeout} for the child to exit by itself.
   *
   * @return whether it exited
   */
  public boolean waitFor(Duration timeout) throws InterruptedException {
    return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** The exit code; only once {@link #isAlive()} is false. */
  public int exitValue() {
    return process.exitValue();
  }

  /**
   * SIGTERM, then SIGKILL once {@code grace} has passed (at once for a zero grace), then waits for
   * the exit. Returns whether it exited.
   */
  public boolean stop(Duration grace) {
    return stop(process.toHandle(), grace);
  }

  /** SIGKILL, as a crash: nothing is flushed or handed over. Waits (at most 10 s) for the exit. */
  public boolean kill() {
    return stop(process.toHandle(), Duration.ZERO);
  }

  /** SIGKILL without waiting; for shutdown hooks, which must not wait long. */
  public void killNow() {
    process.destroyForcibly();
  }

  @Override
  public String toString() {
    return "ChildJvm[pid " + process.pid() + ", " + logFile + "]";
  }

  /**
   * Stops any process, e.g. one recorded by an earlier JVM: SIGTERM, then SIGKILL once {@code
   * grace} has passed, then waits (at most 10 s) for the exit. Returns whether it exited.
   */
  public static boolean stop(ProcessHandle process, Duration grace) {
    try {
      if (!grace.isZero() && process.destroy()) {
        try {
          process.onExit().get(grace.toMillis(), TimeUnit.MILLISECONDS);
          return true;
        } catch (TimeoutException e) {
          // Killed below.
        }
      }
      process.destroyForcibly();
      process.onExit().get(FORCED_STOP.toMillis(), TimeUnit.MILLISECONDS);
      return true;
    } catch (TimeoutException e) {
      return !process.isAlive();
    } catch (ExecutionException e) {
      throw new IllegalStateException("Could not wait for pid " + process.pid(), e);
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
      return !process.isAlive();
    }
  }

  /** The {@code java} command of this JVM. */
  public static String javaExecutable() {
    return ProcessHandle.current()
        .info()
        .command()
        .orElse(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
  }

  /**
   * The class path for children: the first system property of {@code properties} that is set, else
   * the test class path (Surefire and Failsafe may run tests from a manifest-only jar), else {@code
   * java.class.path}.
   */
  public static String classPath(String... properties) {
    List<String> candidates = new ArrayList<>(List.of(properties));
    candidates.add("surefire.test.class.path");
    candidates.add("java.class.path");
    for (String property : candidates) {
      String value = System.getProperty(property);
      if (value != null && !value.isBlank()) {
        return absolute(value);
      }
    }
    throw new IllegalStateException(
        "No class path for the child JVMs"
            + (properties.length == 0 ? "" : ": set " + String.join(" or ", properties)));
  }

  /**
   * {@code classPath} with relative entries made absolute: the child JVMs run in their own work
   * directories (e.g. {@code ./sluice} puts {@code runners-config/target/classes} first).
   */
  static String absolute(String classPath) {
    List<String> entries = new ArrayList<>();
    for (String entry : classPath.split(java.io.File.pathSeparator)) {
      if (!entry.isEmpty()) {
        entries.add(Path.of(entry).toAbsolutePath().normalize().toString());
      }
    }
    return String.join(java.io.File.pathSeparator, entries);
  }

  /** Writes a JVM argument file {@code -cp "<classPath>"} and returns it. */
  public static Path writeClassPathArgFile(Path argFile, String classPath) {
    Objects.requireNonNull(classPath, "classPath must not be null");
    String quoted = "\"" + classPath.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    try {
      Files.writeString(argFile, "-cp " + quoted + "\n", UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("Could not write " + argFile, e);
    }
    return argFile;
  }

  /** Distinct free TCP ports on the loopback address; all sockets are closed before returning. */
  public static int[] freePorts(int count) throws IOException {
    List<ServerSocket> sockets = new ArrayList<>();
    try {
      for (int i = 0; i < count; i++) {
        sockets.add(new ServerSocket(0, 50, InetAddress.getLoopbackAddress()));
      }
      return sockets.stream().mapToInt(ServerSocket::getLocalPort).toArray();
    } finally {
      for (ServerSocket socket : sockets) {
        socket.close();
      }
    }
  }

  /** Whether something accepts connections on the port on the loopback address. */
  public static boolean accepts(int port) {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1000);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /** Whether something accepts connections on, or has bound, the port on localhost. */
  public static boolean inUse(int port) {
    if (accepts(port)) {
      return true;
    }
    // Nothing listening; it may still be bound without listening.
    try (ServerSocket socket = new ServerSocket()) {
      socket.setReuseAddress(false);
      socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
      return false;
    } catch (IOException e) {
      return true;
    }
  }

  /** The last {@value #LOG_TAIL_LINES} lines of a file, {@code secret} (if not null) masked. */
  public static String tail(Path file, String secret) {
    String text;
    try {
      text = new String(Files.readAllBytes(file), UTF_8);
    } catch (IOException e) {
      return "(cannot read " + file + ": " + e + ")";
    }
    List<String> lines = text.lines().toList();
    String tail =
        String.join("\n", lines.subList(Math.max(0, lines.size() - LOG_TAIL_LINES), lines.size()));
    return secret == null || secret.isEmpty() ? tail : tail.replace(secret, "[hidden]");
  }
}

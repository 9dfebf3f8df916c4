package dev.sluice.local;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;

/**
 * The command line of {@link FlinkSessionCluster} ({@code ./sluice flink-cluster ...}): {@code
 * start} leaves a cluster running after this JVM exits and records its process ids in the work
 * directory's {@code pids} file, which {@code status} and {@code stop} read; {@code savepoint}
 * calls {@link FlinkSavepoints}.
 */
final class FlinkClusterCli {
  private static final Path DEFAULT_WORK_DIR =
      Paths.get(System.getProperty("java.io.tmpdir"), "sluice-flink");

  private FlinkClusterCli() {}

  /** Runs one command; returns the exit code (0 success, 1 failure, 2 bad arguments). */
  static int run(String[] args) {
    if (args.length == 1 && List.of("--help", "-h", "help").contains(args[0])) {
      System.out.println(usage());
      return 0;
    }
    if (args.length > 0 && args[0].equals("savepoint")) {
      return savepointCommand(Arrays.copyOfRange(args, 1, args.length));
    }
    if (args.length == 0 || !List.of("start", "stop", "status").contains(args[0])) {
      System.err.println(
          (args.length == 0 ? "Missing command" : "Unknown command: " + args[0]) + "\n" + usage());
      return 2;
    }
    String command = args[0];
    Path workDir = DEFAULT_WORK_DIR;
    Integer restPort = null;
    for (int i = 1; i < args.length; i++) {
      String arg = args[i];
      if (arg.startsWith("--workDir=") && arg.length() > "--workDir=".length()) {
        workDir = Paths.get(arg.substring("--workDir=".length()));
      } else if (arg.startsWith("--restPort=") && !command.equals("stop")) {
        try {
          restPort = Integer.parseInt(arg.substring("--restPort=".length()));
        } catch (NumberFormatException e) {
          restPort = -1;
        }
        if (restPort < 0 || restPort > 65535) {
          System.err.println("--restPort must be a port number (0 for any free port): " + arg);
          return 2;
        }
      } else {
        System.err.println("Unknown argument for " + command + ": " + arg + "\n" + usage());
        return 2;
      }
    }
    workDir = workDir.toAbsolutePath();
    try {
      switch (command) {
        case "start":
          return startDetached(workDir, restPort == null ? 8081 : restPort);
        case "stop":
          return stopRecorded(workDir);
        default:
          return status(workDir, restPort);
      }
    } catch (RuntimeException e) {
      System.err.println("Flink session cluster " + command + " failed: " + e.getMessage());
      return 1;
    }
  }

  /** {@code savepoint JOB_ID [--stop] [--workDir=DIR] [--restPort=PORT] [--target=DIR]}. */
  private static int savepointCommand(String[] args) {
    String jobId = null;
    boolean stop = false;
    Path workDir = DEFAULT_WORK_DIR;
    Integer restPort = null;
    Path target = null;
    for (String arg : args) {
      if (arg.equals("--stop")) {
        stop = true;
      } else if (arg.startsWith("--workDir=")) {
        workDir = Paths.get(arg.substring("--workDir=".length()));
      } else if (arg.startsWith("--restPort=")) {
        restPort = Integer.parseInt(arg.substring("--restPort=".length()));
      } else if (arg.startsWith("--target=")) {
        target = Paths.get(arg.substring("--target=".length()));
      } else if (!arg.startsWith("--") && jobId == null) {
        jobId = arg;
      } else {
        System.err.println("Unknown argument for savepoint: " + arg + "\n" + usage());
        return 2;
      }
    }
    if (jobId == null) {
      System.err.println("savepoint needs the JOB_ID (see ./sluice flink-cluster status)");
      return 2;
    }
    workDir = workDir.toAbsolutePath();
    if (restPort == null) {
      restPort = FlinkClusterConfig.restPort(configFile(workDir));
    }
    try {
      Path savepoint =
          FlinkSavepoints.write(
              restPort, jobId, target == null ? workDir.resolve("savepoints") : target, stop);
      System.out.println(
          (stop ? "Job " + jobId + " stopped with savepoint " : "Savepoint of job " + jobId + ": ")
              + savepoint
              + "\nrestore with: ./sluice ... --preset=flink-cluster --from-savepoint="
              + savepoint);
      return 0;
    } catch (RuntimeException e) {
      System.err.println("Savepoint failed: " + e.getMessage());
      return 1;
    }
  }

  private static String usage() {
    return "Usage: FlinkSessionCluster start [--workDir=DIR] [--restPort=8081]\n"
        + "       FlinkSessionCluster savepoint JOB_ID [--stop] [--workDir=DIR] [--target=DIR]\n"
        + "       FlinkSessionCluster status [--workDir=DIR] [--restPort=PORT]\n"
        + "       FlinkSessionCluster stop [--workDir=DIR]\n"
        + "DIR defaults to "
        + DEFAULT_WORK_DIR
        + "; --restPort=0 picks a free port.";
  }

  /** Starts a cluster that outlives this JVM and records its process ids. */
  private static int startDetached(Path workDir, int restPort) {
    FlinkSessionCluster cluster = FlinkSessionCluster.launch(workDir, restPort);
    // Only while waiting: Ctrl-C then does not leave half a cluster behind. Removed once it is up.
    Thread hook = new Thread(cluster::killNow, "flink-session-cluster-start");
    Runtime.getRuntime().addShutdownHook(hook);
    try {
      cluster.awaitReadyOrClose();
    } finally {
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException e) {
        // The JVM is shutting down.
      }
    }
    Properties pids = new Properties();
    pids.setProperty("jobmanager", String.valueOf(cluster.jobManagerPid()));
    pids.setProperty("taskmanager", String.valueOf(cluster.taskManagerPid()));
    try (var out = Files.newBufferedWriter(pidsFile(workDir), UTF_8)) {
      pids.store(out, "Flink session cluster http://" + cluster.flinkMaster());
    } catch (IOException e) {
      cluster.close();
      throw new UncheckedIOException("Could not write " + pidsFile(workDir), e);
    }
    System.out.println(
        "Flink session cluster up: http://"
            + cluster.flinkMaster()
            + " (JobManager pid "
            + cluster.jobManagerPid()
            + ", TaskManager pid "
            + cluster.taskManagerPid()
            + "); logs in "
            + workDir
            + "\nsubmit with: ./sluice run SPEC --runner flink-cluster --flink-master "
            + cluster.flinkMaster()
            + "\nstop with: ./sluice flink-cluster stop --workDir="
            + workDir);
    return 0;
  }

  /** Stops the processes recorded by {@link #startDetached}, TaskManager first. */
  private static int stopRecorded(Path workDir) {
    Map<String, ProcessHandle> recorded = recordedProcesses(workDir);
    if (recorded == null) {
      System.err.println(
          "No Flink session cluster recorded in " + workDir + " (no " + pidsFile(workDir) + ")");
      return 1;
    }
    boolean ok = true;
    for (String role : List.of("taskmanager", "jobmanager")) {
      ProcessHandle process = recorded.get(role);
      if (process == null) {
        System.out.println(role + ": not running");
      } else if (ChildJvm.stop(process, FlinkSessionCluster.GRACEFUL_STOP)) {
        System.out.println(role + " (pid " + process.pid() + "): stopped");
      } else {
        System.err.println(role + " (pid " + process.pid() + "): did not exit");
        ok = false;
      }
    }
    if (ok) {
      try {
        Files.deleteIfExists(pidsFile(workDir));
      } catch (IOException e) {
        throw new UncheckedIOException("Could not delete " + pidsFile(workDir), e);
      }
    }
    return ok ? 0 : 1;
  }

  private static int status(Path workDir, Integer restPortArg) {
    int restPort;
    if (restPortArg != null) {
      restPort = restPortArg;
    } else {
      Path config = configFile(workDir);
      if (!Files.exists(config)) {
        System.err.println("No Flink configuration in " + config + ": pass --restPort=PORT");
        return 1;
      }
      restPort = FlinkClusterConfig.restPort(config);
    }
    Map<String, ProcessHandle> recorded = recordedProcesses(workDir);
    if (recorded != null) {
      for (String role : List.of("jobmanager", "taskmanager")) {
        ProcessHandle process = recorded.get(role);
        System.err.println(
            role + ": " + (process == null ? "not running" : "running, pid " + process.pid()));
      }
    }
    System.out.println(new FlinkRest(restPort).get("/overview"));
    return 0;
  }

  private static Path configFile(Path workDir) {
    return workDir.resolve("conf").resolve("config.yaml");
  }

  /**
   * The live processes listed in the work directory's pids file, by role; a role is missing when
   * its process has exited or the pid now belongs to a different program. Null without a file.
   */
  static Map<String, ProcessHandle> recordedProcesses(Path workDir) {
    Path file = pidsFile(workDir);
    if (!Files.exists(file)) {
      return null;
    }
    Properties pids = new Properties();
    try (var in = Files.newBufferedReader(file, UTF_8)) {
      pids.load(in);
    } catch (IOException e) {
      throw new UncheckedIOException("Could not read " + file, e);
    }
    Map<String, ProcessHandle> processes = new LinkedHashMap<>();
    for (Map.Entry<String, String> role :
        Map.of(
                "jobmanager",
                FlinkSessionCluster.JOB_MANAGER_CLASS,
                "taskmanager",
                FlinkSessionCluster.TASK_MANAGER_CLASS)
            .entrySet()) {
      String pid = pids.getProperty(role.getKey());
      if (pid == null) {
        continue;
      }
      Optional<ProcessHandle> process;
      try {
        process = ProcessHandle.of(Long.parseLong(pid.trim()));
      } catch (NumberFormatException e) {
        throw new IllegalStateException("Bad pid in " + file + ": " + role.getKey() + "=" + pid);
      }
      // A recycled pid must not be stopped: it is only ours if it still runs the Flink class.
      process
          .filter(ProcessHandle::isAlive)
          .filter(p -> p.info().commandLine().map(c -> c.contains(role.getValue())).orElse(true))
          .ifPresent(p -> processes.put(role.getKey(), p));
    }
    return processes;
  }

  static Path pidsFile(Path workDir) {
    return workDir.resolve("pids");
  }
}

package dev.sluice.runners;

import static java.nio.charset.StandardCharsets.UTF_8;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A real Apache Flink 1.19 session cluster on this machine: one JobManager and one TaskManager,
 * each a child JVM started from Maven artifacts (the classpath of {@code beam-runners-flink-1.19}
 * plus an SLF4J binding; no Flink distribution) and configured from the classpath resource {@code
 * flink/config.yaml}. Pipelines reach it like any remote Flink cluster, with {@code
 * --runner=FlinkRunner --flinkMaster=localhost:PORT --filesToStage=APP.jar}.
 *
 * <p>In an integration test:
 *
 * <pre>{@code
 * try (FlinkSessionCluster flink = FlinkSessionCluster.start(tempDir, 0)) { // 0: any free port
 *   Pipeline pipeline =
 *       Pipeline.create(
 *           PipelineOptionsFactory.fromArgs(
 *                   "--runner=FlinkRunner",
 *                   "--flinkMaster=" + flink.flinkMaster(),
 *                   "--parallelism=2",
 *                   "--filesToStage=" + applicationJar)
 *               .create());
 *   // ... build the pipeline ...
 *   pipeline.run().waitUntilFinish();
 *   String jobs = flink.jobsOverview(); // JSON of GET /jobs/overview
 * }
 * }</pre>
 *
 * <p>From a shell, {@code java -cp CP dev.sluice.runners.FlinkSessionCluster start [--workDir=DIR]
 * [--restPort=8081]} starts a cluster and returns while it keeps running; {@code status
 * [--workDir=DIR]} prints {@code GET /overview}; {@code stop [--workDir=DIR]} stops it. Exit codes:
 * 0 success, 1 failure, 2 bad arguments.
 *
 * <p>The work directory receives the effective configuration ({@code conf/config.yaml}: the
 * resource with the REST and RPC ports replaced and temporary directories under {@code tmp/}), the
 * JVM argument file, the console output of both processes ({@code jobmanager.log}, {@code
 * taskmanager.log}) and, from the command line, their process ids ({@code pids}).
 *
 * <p>The child JVMs use the classpath in the system property {@value #CLASSPATH_PROPERTY} if set,
 * else this JVM's test classpath under Surefire or Failsafe, else {@code java.class.path}. Their
 * heap, direct memory and metaspace limits are computed from the memory sizes in the configuration,
 * as Flink's start scripts would, and {@code env.java.opts.all} (plus {@code
 * env.java.opts.jobmanager} or {@code env.java.opts.taskmanager}) is passed on, split at white
 * space. Started through {@link #start}, the children are killed by a JVM shutdown hook if {@link
 * #close()} is never called.
 */
public final class FlinkSessionCluster implements AutoCloseable {
  /** System property naming the classpath of the JobManager and TaskManager JVMs. */
  public static final String CLASSPATH_PROPERTY = "sluice.flink.classpath";

  static final String CONFIG_RESOURCE = "flink/config.yaml";
  static final String JOB_MANAGER_CLASS =
      "org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint";
  static final String TASK_MANAGER_CLASS =
      "org.apache.flink.runtime.taskexecutor.TaskManagerRunner";

  private static final Duration READY_TIMEOUT = Duration.ofSeconds(120);
  private static final Duration POLL_INTERVAL = Duration.ofMillis(250);
  private static final Duration HTTP_TIMEOUT = Duration.ofSeconds(5);
  private static final Duration GRACEFUL_STOP = Duration.ofSeconds(30);
  private static final Duration FORCED_STOP = Duration.ofSeconds(10);
  private static final int LOG_TAIL_LINES = 40;
  private static final long MIB = 1024L * 1024;
  private static final Pattern KEY_VALUE = Pattern.compile("([A-Za-z0-9_.\\-]+):(?:\\s+(.*))?");
  private static final Pattern MEMORY_SIZE = Pattern.compile("(\\d+)\\s*([a-z]*)");
  private static final Path DEFAULT_WORK_DIR =
      Paths.get(System.getProperty("java.io.tmpdir"), "sluice-flink");
  private static final List<String> TASK_MANAGER_REQUIRED_KEYS =
      List.of(
          "taskmanager.cpu.cores",
          "taskmanager.numberOfTaskSlots",
          "taskmanager.memory.framework.heap.size",
          "taskmanager.memory.task.heap.size",
          "taskmanager.memory.managed.size",
          "taskmanager.memory.framework.off-heap.size",
          "taskmanager.memory.task.off-heap.size",
          "taskmanager.memory.network.min",
          "taskmanager.memory.network.max",
          "taskmanager.memory.jvm-metaspace.size",
          "taskmanager.memory.jvm-overhead.min",
          "taskmanager.memory.jvm-overhead.max");

  private static final ObjectMapper JSON = new ObjectMapper();

  private final Path workDir;
  private final int restPort;
  private final int slots;
  private final Process jobManager;
  private final Process taskManager;
  private final List<Process> moreTaskManagers = new ArrayList<>();
  private final HttpClient http;
  private Thread shutdownHook;
  private boolean closed;

  private FlinkSessionCluster(
      Path workDir, int restPort, int slots, Process jobManager, Process taskManager) {
    this.workDir = workDir;
    this.restPort = restPort;
    this.slots = slots;
    this.jobManager = jobManager;
    this.taskManager = taskManager;
    this.http = httpClient();
  }

  /**
   * Starts a JobManager and a TaskManager and waits (at most 120 s) until the REST API reports one
   * TaskManager with all its slots.
   *
   * @param workDir directory for the configuration, logs and temporary files (created if missing);
   *     must not hold a cluster that is still running
   * @param restPort the REST port on localhost, or 0 for any free port; the JobManager's RPC port
   *     is always a free one
   * @throws IllegalStateException if the port is taken, a process exits early or the cluster is not
   *     ready in time; the message has the exit code and the end of the process's log
   */
  public static FlinkSessionCluster start(Path workDir, int restPort) {
    FlinkSessionCluster cluster = launch(workDir, restPort);
    cluster.shutdownHook = new Thread(cluster::killNow, "flink-session-cluster-kill-" + restPort);
    Runtime.getRuntime().addShutdownHook(cluster.shutdownHook);
    cluster.awaitReadyOrClose();
    return cluster;
  }

  /** {@code localhost:<restPort>}, the value of the FlinkRunner's {@code --flinkMaster}. */
  public String flinkMaster() {
    return "localhost:" + restPort;
  }

  /** The REST port of the JobManager on localhost. */
  public int restPort() {
    return restPort;
  }

  /** The JSON body of {@code GET /overview}: TaskManagers, slots and job counts. */
  public String overview() {
    return get(http, restPort, "/overview");
  }

  /** The JSON body of {@code GET /jobs/overview}: every job with its name, id and state. */
  public String jobsOverview() {
    return get(http, restPort, "/jobs/overview");
  }

  /** The work directory given to {@link #start}, as an absolute path. */
  public Path workDir() {
    return workDir;
  }

  /** The console output (standard output and error) of the JobManager. */
  public Path jobManagerLog() {
    return workDir.resolve("jobmanager.log");
  }

  /**
   * Starts one more TaskManager (same configuration, log {@code taskmanager-N.log}) and waits until
   * the JobManager counts it and its slots.
   *
   * @return the new TaskManager's process, e.g. to kill it in a fault test
   */
  public synchronized ProcessHandle addTaskManager() {
    Path confDir = workDir.resolve("conf");
    Map<String, String> config = readConfig(confDir.resolve("config.yaml"));
    int n = moreTaskManagers.size() + 2;
    try {
      Process process =
          startChild(
              workDir,
              confDir.resolve("classpath.args"),
              taskManagerJvmOptions(config),
              TASK_MANAGER_CLASS,
              confDir,
              "taskmanager-" + n + ".log");
      moreTaskManagers.add(process);
    } catch (IOException e) {
      throw new UncheckedIOException("Could not start TaskManager " + n, e);
    }
    long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
    while (true) {
      try {
        JsonNode overview = JSON.readTree(overview());
        if (overview.path("taskmanagers").asInt() >= n
            && overview.path("slots-total").asInt() >= n * slots) {
          return moreTaskManagers.get(n - 2).toHandle();
        }
      } catch (IOException | RuntimeException e) {
        // Not answering yet.
      }
      if (System.nanoTime() >= deadline) {
        throw new IllegalStateException(
            "TaskManager " + n + " did not register within " + READY_TIMEOUT.toSeconds() + " s");
      }
      LockSupport.parkNanos(POLL_INTERVAL.toNanos());
    }
  }

  /** The first TaskManager's process. */
  public ProcessHandle taskManager() {
    return taskManager.toHandle();
  }

  /** The console output (standard output and error) of the TaskManager. */
  public Path taskManagerLog() {
    return workDir.resolve("taskmanager.log");
  }

  /**
   * Stops the TaskManager, then the JobManager: each is asked to shut down (SIGTERM) and killed if
   * it has not exited after 30 s. Calling it again has no effect.
   *
   * @throws IllegalStateException if a process does not exit even after being killed
   */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    if (shutdownHook != null) {
      try {
        Runtime.getRuntime().removeShutdownHook(shutdownHook);
      } catch (IllegalStateException e) {
        // The JVM is shutting down; the hook kills the children anyway.
      }
    }
    boolean taskManagerStopped = false;
    boolean jobManagerStopped;
    for (Process more : moreTaskManagers) {
      stop(more.toHandle(), GRACEFUL_STOP);
    }
    try {
      taskManagerStopped = stop(taskManager.toHandle(), GRACEFUL_STOP);
    } finally {
      // The JobManager is stopped even when stopping the TaskManager failed.
      jobManagerStopped = stop(jobManager.toHandle(), GRACEFUL_STOP);
    }
    if (!taskManagerStopped || !jobManagerStopped) {
      throw new IllegalStateException(
          "Flink session cluster "
              + flinkMaster()
              + " did not stop: TaskManager pid "
              + taskManager.pid()
              + (taskManagerStopped ? " exited" : " still running")
              + ", JobManager pid "
              + jobManager.pid()
              + (jobManagerStopped ? " exited" : " still running"));
    }
  }

  @Override
  public String toString() {
    return "FlinkSessionCluster[http://" + flinkMaster() + ", " + workDir + "]";
  }

  /**
   * Command line: {@code start [--workDir=DIR] [--restPort=8081]}, {@code stop [--workDir=DIR]},
   * {@code status [--workDir=DIR] [--restPort=PORT]}. The default work directory is {@code
   * sluice-flink} in {@code java.io.tmpdir}.
   */
  public static void main(String[] args) {
    System.exit(run(args));
  }

  static int run(String[] args) {
    if (args.length == 1 && List.of("--help", "-h", "help").contains(args[0])) {
      System.out.println(usage());
      return 0;
    }
    if (args.length > 0 && args[0].equals("savepoint")) {
      return savepointCommand(java.util.Arrays.copyOfRange(args, 1, args.length));
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
      Path config = workDir.resolve("conf").resolve("config.yaml");
      restPort = Integer.parseInt(readConfig(config).getOrDefault("rest.port", "8081"));
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
    FlinkSessionCluster cluster = launch(workDir, restPort);
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
    pids.setProperty("jobmanager", String.valueOf(cluster.jobManager.pid()));
    pids.setProperty("taskmanager", String.valueOf(cluster.taskManager.pid()));
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
            + cluster.jobManager.pid()
            + ", TaskManager pid "
            + cluster.taskManager.pid()
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
      } else if (stop(process, GRACEFUL_STOP)) {
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
      Path config = workDir.resolve("conf").resolve("config.yaml");
      if (!Files.exists(config)) {
        System.err.println("No Flink configuration in " + config + ": pass --restPort=PORT");
        return 1;
      }
      restPort = Integer.parseInt(readConfig(config).getOrDefault("rest.port", "8081"));
    }
    Map<String, ProcessHandle> recorded = recordedProcesses(workDir);
    if (recorded != null) {
      for (String role : List.of("jobmanager", "taskmanager")) {
        ProcessHandle process = recorded.get(role);
        System.err.println(
            role + ": " + (process == null ? "not running" : "running, pid " + process.pid()));
      }
    }
    System.out.println(get(httpClient(), restPort, "/overview"));
    return 0;
  }

  /**
   * The live processes listed in the work directory's pids file, by role; a role is missing when
   * its process has exited or the pid now belongs to a different program. Null without a file.
   */
  private static Map<String, ProcessHandle> recordedProcesses(Path workDir) {
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
        Map.of("jobmanager", JOB_MANAGER_CLASS, "taskmanager", TASK_MANAGER_CLASS).entrySet()) {
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

  private static Path pidsFile(Path workDir) {
    return workDir.resolve("pids");
  }

  /** Writes the configuration and starts both processes; does not wait for them. */
  private static FlinkSessionCluster launch(Path workDir, int restPort) {
    if (restPort < 0 || restPort > 65535) {
      throw new IllegalArgumentException(
          "restPort must be 0 (any free port) or a port: " + restPort);
    }
    Path dir = workDir.toAbsolutePath();
    Path confDir = dir.resolve("conf");
    Path tmpDir = dir.resolve("tmp");
    try {
      Map<String, ProcessHandle> running = recordedProcesses(dir);
      if (running != null && !running.isEmpty()) {
        throw new IllegalStateException(
            "A Flink session cluster from "
                + dir
                + " is still running ("
                + running
                + "): stop it first");
      }
      Files.createDirectories(confDir);
      Files.createDirectories(tmpDir);
      Files.deleteIfExists(pidsFile(dir));
      int[] ports = freePorts(restPort == 0 ? 2 : 1);
      int rest = restPort == 0 ? ports[1] : restPort;
      if (inUse(rest)) {
        throw new IllegalStateException(
            "Port "
                + rest
                + " on localhost is in use (another Flink cluster?): choose another --restPort");
      }
      Map<String, String> overrides = new LinkedHashMap<>();
      overrides.put("rest.port", String.valueOf(rest));
      overrides.put("jobmanager.rpc.port", String.valueOf(ports[0]));
      overrides.put("io.tmp.dirs", yamlQuote(tmpDir.toString()));
      overrides.put("web.tmpdir", yamlQuote(tmpDir.toString()));
      overrides.put(
          "state.checkpoints.dir", yamlQuote(dir.resolve("checkpoints").toUri().toString()));
      overrides.put(
          "state.savepoints.dir", yamlQuote(dir.resolve("savepoints").toUri().toString()));
      Path configFile = confDir.resolve("config.yaml");
      Files.writeString(configFile, withOverrides(readResource(), overrides), UTF_8);
      Map<String, String> config = readConfig(configFile);
      List<String> jobManagerJvm = jobManagerJvmOptions(config);
      List<String> taskManagerJvm = taskManagerJvmOptions(config);
      int slots = Integer.parseInt(config.get("taskmanager.numberOfTaskSlots"));

      // The classpath goes through an argument file: one command-line argument has a length limit.
      Path argFile = confDir.resolve("classpath.args");
      Files.writeString(argFile, "-cp " + argFileQuote(childClassPath()) + "\n", UTF_8);

      Process jobManager =
          startChild(dir, argFile, jobManagerJvm, JOB_MANAGER_CLASS, confDir, "jobmanager.log");
      Process taskManager;
      try {
        taskManager =
            startChild(
                dir, argFile, taskManagerJvm, TASK_MANAGER_CLASS, confDir, "taskmanager.log");
      } catch (IOException | RuntimeException e) {
        stop(jobManager.toHandle(), Duration.ZERO);
        throw e;
      }
      return new FlinkSessionCluster(dir, rest, slots, jobManager, taskManager);
    } catch (IOException e) {
      throw new UncheckedIOException("Could not start a Flink session cluster in " + dir, e);
    }
  }

  private static Process startChild(
      Path dir, Path argFile, List<String> jvmOptions, String mainClass, Path confDir, String log)
      throws IOException {
    Path logFile = dir.resolve(log);
    List<String> command = new ArrayList<>();
    command.add(
        ProcessHandle.current()
            .info()
            .command()
            .orElse(Paths.get(System.getProperty("java.home"), "bin", "java").toString()));
    // Flink's REST API serves the file named by log.file; SLF4J simple logs to standard error.
    command.add("-Dlog.file=" + logFile);
    command.add("-Dorg.slf4j.simpleLogger.defaultLogLevel=info");
    command.add("-Dorg.slf4j.simpleLogger.showDateTime=true");
    command.add("-Dorg.slf4j.simpleLogger.dateTimeFormat=yyyy-MM-dd HH:mm:ss.SSS");
    command.addAll(jvmOptions);
    command.add("@" + argFile);
    command.add(mainClass);
    command.add("--configDir");
    command.add(confDir.toString());
    Process process =
        new ProcessBuilder(command)
            .directory(dir.toFile())
            .redirectErrorStream(true)
            .redirectOutput(logFile.toFile())
            .start();
    // Neither process reads standard input; closed, it cannot tie them to this JVM.
    process.getOutputStream().close();
    return process;
  }

  /** Heap and metaspace limits as Flink's scripts compute them for a JobManager. */
  static List<String> jobManagerJvmOptions(Map<String, String> config) {
    long heap = memory(config, "jobmanager.memory.heap.size");
    List<String> options = new ArrayList<>();
    options.add("-Xmx" + jvmSize(heap));
    options.add("-Xms" + jvmSize(heap));
    if (config.containsKey("jobmanager.memory.jvm-metaspace.size")) {
      options.add(
          "-XX:MaxMetaspaceSize="
              + jvmSize(memory(config, "jobmanager.memory.jvm-metaspace.size")));
    }
    options.addAll(splitOptions(config.get("env.java.opts.all")));
    options.addAll(splitOptions(config.get("env.java.opts.jobmanager")));
    return options;
  }

  /**
   * Heap, direct memory and metaspace limits as Flink's scripts compute them for a TaskManager:
   * heap = framework heap + task heap; direct = framework off-heap + task off-heap + network.
   */
  static List<String> taskManagerJvmOptions(Map<String, String> config) {
    for (String key : TASK_MANAGER_REQUIRED_KEYS) {
      if (!config.containsKey(key)) {
        throw new IllegalStateException(
            CONFIG_RESOURCE + " must set " + key + ": TaskManagerRunner does not derive it");
      }
    }
    long networkMin = memory(config, "taskmanager.memory.network.min");
    if (networkMin != memory(config, "taskmanager.memory.network.max")) {
      throw new IllegalStateException(
          CONFIG_RESOURCE
              + " must set taskmanager.memory.network.min equal to"
              + " taskmanager.memory.network.max: TaskManagerRunner needs a fixed network size");
    }
    long heap =
        memory(config, "taskmanager.memory.framework.heap.size")
            + memory(config, "taskmanager.memory.task.heap.size");
    long direct =
        memory(config, "taskmanager.memory.framework.off-heap.size")
            + memory(config, "taskmanager.memory.task.off-heap.size")
            + networkMin;
    List<String> options = new ArrayList<>();
    options.add("-Xmx" + jvmSize(heap));
    options.add("-Xms" + jvmSize(heap));
    options.add("-XX:MaxDirectMemorySize=" + jvmSize(direct));
    options.add(
        "-XX:MaxMetaspaceSize=" + jvmSize(memory(config, "taskmanager.memory.jvm-metaspace.size")));
    options.addAll(splitOptions(config.get("env.java.opts.all")));
    options.addAll(splitOptions(config.get("env.java.opts.taskmanager")));
    return options;
  }

  private void awaitReadyOrClose() {
    try {
      awaitReady();
    } catch (RuntimeException | Error e) {
      try {
        close();
      } catch (RuntimeException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
  }

  /** Polls {@code GET /overview} until it shows one TaskManager with all slots registered. */
  private void awaitReady() {
    long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
    String last = "no answer";
    while (true) {
      checkAlive(jobManager, "JobManager", jobManagerLog());
      checkAlive(taskManager, "TaskManager", taskManagerLog());
      try {
        HttpResponse<String> response = send(http, restPort, "/overview");
        last = "HTTP " + response.statusCode() + ": " + response.body();
        if (response.statusCode() == 200) {
          JsonNode overview = JSON.readTree(response.body());
          if (overview.path("taskmanagers").asInt() == 1
              && overview.path("slots-total").asInt() == slots) {
            return;
          }
        }
      } catch (IOException e) {
        last = e.toString(); // not listening yet
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("Interrupted while starting Flink at " + flinkMaster(), e);
      }
      if (System.nanoTime() >= deadline) {
        throw new IllegalStateException(
            "Flink session cluster "
                + flinkMaster()
                + " did not report 1 TaskManager with "
                + slots
                + " slots within "
                + READY_TIMEOUT.toSeconds()
                + " s (last /overview: "
                + last
                + "); last lines of "
                + taskManagerLog()
                + ":\n"
                + tail(taskManagerLog())
                + "\nlast lines of "
                + jobManagerLog()
                + ":\n"
                + tail(jobManagerLog()));
      }
      LockSupport.parkNanos(POLL_INTERVAL.toNanos());
    }
  }

  private void checkAlive(Process process, String role, Path log) {
    if (!process.isAlive()) {
      throw new IllegalStateException(
          "Flink "
              + role
              + " (pid "
              + process.pid()
              + ") exited with code "
              + process.exitValue()
              + " before the cluster was ready; last lines of "
              + log
              + ":\n"
              + tail(log));
    }
  }

  /** Kills both children at once; for shutdown hooks, which must not wait long. */
  private void killNow() {
    moreTaskManagers.forEach(Process::destroyForcibly);
    taskManager.destroyForcibly();
    jobManager.destroyForcibly();
  }

  /**
   * Stops a process: SIGTERM, then SIGKILL once {@code grace} has passed, then waits for the exit.
   * Returns whether it exited.
   */
  private static boolean stop(ProcessHandle process, Duration grace) {
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

  private static HttpClient httpClient() {
    return HttpClient.newBuilder().connectTimeout(HTTP_TIMEOUT).build();
  }

  private static HttpResponse<String> send(HttpClient http, int port, String path)
      throws IOException, InterruptedException {
    HttpRequest request =
        HttpRequest.newBuilder(URI.create("http://localhost:" + port + path))
            .timeout(HTTP_TIMEOUT)
            .GET()
            .build();
    return http.send(request, HttpResponse.BodyHandlers.ofString(UTF_8));
  }

  private static String get(HttpClient http, int port, String path) {
    try {
      HttpResponse<String> response = send(http, port, path);
      if (response.statusCode() != 200) {
        throw new IllegalStateException(
            "GET http://localhost:"
                + port
                + path
                + " answered HTTP "
                + response.statusCode()
                + ": "
                + response.body());
      }
      return response.body();
    } catch (IOException e) {
      throw new UncheckedIOException(
          "GET http://localhost:" + port + path + " failed (is the cluster running?): " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("Interrupted during GET http://localhost:" + port + path, e);
    }
  }

  private static String readResource() throws IOException {
    try (InputStream in =
        FlinkSessionCluster.class.getClassLoader().getResourceAsStream(CONFIG_RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException("Classpath resource " + CONFIG_RESOURCE + " not found");
      }
      return new String(in.readAllBytes(), UTF_8);
    }
  }

  /**
   * Replaces the values of top-level keys in flat YAML text, keeping every other line and comment;
   * keys that are not there yet are appended.
   */
  static String withOverrides(String yaml, Map<String, String> overrides) {
    Map<String, String> pending = new LinkedHashMap<>(overrides);
    StringBuilder out = new StringBuilder();
    boolean skippingContinuation = false;
    for (String line : yaml.lines().toList()) {
      if (skippingContinuation && isContinuation(line)) {
        continue;
      }
      skippingContinuation = false;
      Matcher keyValue = KEY_VALUE.matcher(line);
      if (keyValue.matches() && pending.containsKey(keyValue.group(1))) {
        String key = keyValue.group(1);
        out.append(key).append(": ").append(pending.remove(key)).append('\n');
        skippingContinuation = true;
      } else {
        out.append(line).append('\n');
      }
    }
    if (!pending.isEmpty()) {
      out.append("\n# Set by ").append(FlinkSessionCluster.class.getSimpleName()).append('\n');
      pending.forEach((key, value) -> out.append(key).append(": ").append(value).append('\n'));
    }
    return out.toString();
  }

  /**
   * Reads flat YAML as Flink's configuration files use it: {@code key: value} per line, a plain
   * value may continue on indented lines (joined with a space), {@code #} starts a comment.
   */
  static Map<String, String> readConfig(Path file) {
    String text;
    try {
      text = Files.readString(file, UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("Could not read " + file, e);
    }
    Map<String, String> config = new LinkedHashMap<>();
    String key = null;
    for (String line : text.lines().toList()) {
      String content = stripComment(line);
      if (content.isBlank()) {
        continue;
      }
      if (key != null && isContinuation(line)) {
        String continuation = content.strip();
        if (config.get(key).isEmpty()
            && (continuation.startsWith("- ") || KEY_VALUE.matcher(continuation).matches())) {
          // A nested mapping or a list: Flink would read it, this reader would not.
          throw new IllegalStateException(
              file + ": only flat 'key: value' lines are supported, not nested ones under " + key);
        }
        config.merge(key, continuation, (a, b) -> a.isEmpty() ? b : a + " " + b);
        continue;
      }
      Matcher keyValue = KEY_VALUE.matcher(content.stripTrailing());
      if (!keyValue.matches()) {
        throw new IllegalStateException(
            file + ": only flat 'key: value' lines are supported, not: " + line);
      }
      key = keyValue.group(1);
      config.put(key, unquote(keyValue.group(2) == null ? "" : keyValue.group(2).strip()));
    }
    return config;
  }

  private static boolean isContinuation(String line) {
    return !line.isEmpty() && Character.isWhitespace(line.charAt(0)) && !line.isBlank();
  }

  private static String stripComment(String line) {
    if (line.stripLeading().startsWith("#")) {
      return "";
    }
    int comment = line.indexOf(" #");
    return comment < 0 || line.indexOf('\'') >= 0 || line.indexOf('"') >= 0
        ? line
        : line.substring(0, comment);
  }

  private static String unquote(String value) {
    if (value.length() >= 2 && value.startsWith("'") && value.endsWith("'")) {
      return value.substring(1, value.length() - 1).replace("''", "'");
    }
    if (value.length() >= 2 && value.startsWith("\"") && value.endsWith("\"")) {
      return value.substring(1, value.length() - 1).replace("\\\"", "\"").replace("\\\\", "\\");
    }
    return value;
  }

  private static String yamlQuote(String value) {
    return "'" + value.replace("'", "''") + "'";
  }

  /** A memory size in Flink's notation ({@code 512m}, {@code 1 gb}, {@code 64mb}) in bytes. */
  static long memory(Map<String, String> config, String key) {
    String value = config.get(key);
    if (value == null) {
      throw new IllegalStateException(CONFIG_RESOURCE + " must set " + key);
    }
    Matcher size = MEMORY_SIZE.matcher(value.strip().toLowerCase(Locale.ROOT));
    if (!size.matches()) {
      throw new IllegalStateException(key + " is not a memory size: " + value);
    }
    long number = Long.parseLong(size.group(1));
    switch (size.group(2)) {
      case "":
      case "b":
      case "bytes":
        return number;
      case "k":
      case "kb":
      case "kibibytes":
        return number * 1024;
      case "m":
      case "mb":
      case "mebibytes":
        return number * MIB;
      case "g":
      case "gb":
      case "gibibytes":
        return number * MIB * 1024;
      default:
        throw new IllegalStateException(key + " has an unknown memory unit: " + value);
    }
  }

  private static String jvmSize(long bytes) {
    return bytes % MIB == 0 ? bytes / MIB + "m" : String.valueOf(bytes);
  }

  private static List<String> splitOptions(String options) {
    return options == null || options.isBlank()
        ? List.of()
        : List.of(options.strip().split("\\s+"));
  }

  /** Distinct free TCP ports on the loopback address; all sockets are closed before returning. */
  private static int[] freePorts(int count) throws IOException {
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

  /** Whether something accepts connections on, or has bound, the port on localhost. */
  private static boolean inUse(int port) {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1000);
      return true;
    } catch (IOException e) {
      // Nothing listening; it may still be bound without listening.
    }
    try (ServerSocket socket = new ServerSocket()) {
      socket.setReuseAddress(false);
      socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
      return false;
    } catch (IOException e) {
      return true;
    }
  }

  /** The classpath of the children: explicit, else the test classpath, else this JVM's. */
  private static String childClassPath() {
    for (String property :
        List.of(CLASSPATH_PROPERTY, "surefire.test.class.path", "java.class.path")) {
      String value = System.getProperty(property);
      if (value != null && !value.isBlank()) {
        return value;
      }
    }
    throw new IllegalStateException(
        "No classpath for the Flink processes: set " + CLASSPATH_PROPERTY);
  }

  private static String argFileQuote(String value) {
    return "\"" + value.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }

  private static String tail(Path file) {
    List<String> lines;
    try {
      lines = new String(Files.readAllBytes(file), UTF_8).lines().toList();
    } catch (IOException e) {
      return "(cannot read " + file + ": " + e + ")";
    }
    return String.join(
        "\n", lines.subList(Math.max(0, lines.size() - LOG_TAIL_LINES), lines.size()));
  }
}

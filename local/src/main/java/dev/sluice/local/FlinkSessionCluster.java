package dev.sluice.local;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;

/**
 * A real Apache Flink 1.19 session cluster on this machine: one JobManager and one TaskManager,
 * each a child JVM ({@link ChildJvm}) started from Maven artifacts (the classpath of {@code
 * beam-runners-flink-1.19} plus an SLF4J binding; no Flink distribution) and configured from the
 * classpath resource {@code flink/config.yaml}. Pipelines reach it like any remote Flink cluster,
 * with {@code --runner=FlinkRunner --flinkMaster=localhost:PORT --filesToStage=APP.jar}.
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
 * <p>From a shell, {@code java -cp CP dev.sluice.local.FlinkSessionCluster start [--workDir=DIR]
 * [--restPort=8081]} starts a cluster and returns while it keeps running; {@code status
 * [--workDir=DIR]} prints {@code GET /overview}; {@code stop [--workDir=DIR]} stops it; {@code
 * savepoint JOB_ID [--stop]} writes a savepoint ({@link FlinkSavepoints}). Exit codes: 0 success, 1
 * failure, 2 bad arguments.
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

  static final String CONFIG_RESOURCE = FlinkClusterConfig.CONFIG_RESOURCE;
  static final String JOB_MANAGER_CLASS =
      "org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint";
  static final String TASK_MANAGER_CLASS =
      "org.apache.flink.runtime.taskexecutor.TaskManagerRunner";

  private static final Duration READY_TIMEOUT = Duration.ofSeconds(120);
  private static final Duration POLL_INTERVAL = Duration.ofMillis(250);
  static final Duration GRACEFUL_STOP = Duration.ofSeconds(30);

  private static final ObjectMapper JSON = new ObjectMapper();

  private final Path workDir;
  private final int restPort;
  private final int slots;
  private final ChildJvm jobManager;
  private final ChildJvm taskManager;
  private final List<ChildJvm> moreTaskManagers = new ArrayList<>();
  private final FlinkRest rest;
  private Thread shutdownHook;
  private boolean closed;

  private FlinkSessionCluster(
      Path workDir, int restPort, int slots, ChildJvm jobManager, ChildJvm taskManager) {
    this.workDir = workDir;
    this.restPort = restPort;
    this.slots = slots;
    this.jobManager = jobManager;
    this.taskManager = taskManager;
    this.rest = new FlinkRest(restPort);
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
    return rest.get("/overview");
  }

  /** The JSON body of {@code GET /jobs/overview}: every job with its name, id and state. */
  public String jobsOverview() {
    return rest.get("/jobs/overview");
  }

  /** The work directory given to {@link #start}, as an absolute path. */
  public Path workDir() {
    return workDir;
  }

  /** The console output (standard output and error) of the JobManager. */
  public Path jobManagerLog() {
    return jobManager.logFile();
  }

  /**
   * Starts one more TaskManager (same configuration, log {@code taskmanager-N.log}) and waits until
   * the JobManager counts it and its slots.
   *
   * @return the new TaskManager's process, e.g. to kill it in a fault test
   */
  public synchronized ProcessHandle addTaskManager() {
    Path confDir = workDir.resolve("conf");
    Map<String, String> config = FlinkClusterConfig.read(confDir.resolve("config.yaml"));
    int n = moreTaskManagers.size() + 2;
    ChildJvm process;
    try {
      process =
          startChild(
              workDir,
              confDir.resolve("classpath.args"),
              FlinkClusterConfig.taskManagerJvmOptions(config),
              TASK_MANAGER_CLASS,
              confDir,
              "taskmanager-" + n + ".log",
              FlinkClusterConfig.taskManagerProgramArgs(config, n - 1));
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
          return process.handle();
        }
      } catch (IOException | RuntimeException e) {
        // Not answering yet.
      }
      process.checkAlive("Flink TaskManager " + n);
      if (System.nanoTime() >= deadline) {
        throw new IllegalStateException(
            "TaskManager " + n + " did not register within " + READY_TIMEOUT.toSeconds() + " s");
      }
      LockSupport.parkNanos(POLL_INTERVAL.toNanos());
    }
  }

  /** The first TaskManager's process. */
  public ProcessHandle taskManager() {
    return taskManager.handle();
  }

  /** The console output (standard output and error) of the TaskManager. */
  public Path taskManagerLog() {
    return taskManager.logFile();
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
    for (ChildJvm more : moreTaskManagers) {
      more.stop(GRACEFUL_STOP);
    }
    try {
      taskManagerStopped = taskManager.stop(GRACEFUL_STOP);
    } finally {
      // The JobManager is stopped even when stopping the TaskManager failed.
      jobManagerStopped = jobManager.stop(GRACEFUL_STOP);
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
   * {@code status [--workDir=DIR] [--restPort=PORT]}, {@code savepoint JOB_ID [--stop]
   * [--workDir=DIR] [--restPort=PORT] [--target=DIR]}. The default work directory is {@code
   * sluice-flink} in {@code java.io.tmpdir}.
   */
  public static void main(String[] args) {
    System.exit(run(args));
  }

  static int run(String[] args) {
    return FlinkClusterCli.run(args);
  }

  long jobManagerPid() {
    return jobManager.pid();
  }

  long taskManagerPid() {
    return taskManager.pid();
  }

  /** Writes the configuration and starts both processes; does not wait for them. */
  static FlinkSessionCluster launch(Path workDir, int restPort) {
    if (restPort < 0 || restPort > 65535) {
      throw new IllegalArgumentException(
          "restPort must be 0 (any free port) or a port: " + restPort);
    }
    Path dir = workDir.toAbsolutePath();
    Path confDir = dir.resolve("conf");
    Path tmpDir = dir.resolve("tmp");
    try {
      Map<String, ProcessHandle> running = FlinkClusterCli.recordedProcesses(dir);
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
      Files.deleteIfExists(FlinkClusterCli.pidsFile(dir));
      int[] ports = ChildJvm.freePorts(restPort == 0 ? 2 : 1);
      int rest = restPort == 0 ? ports[1] : restPort;
      if (ChildJvm.inUse(rest)) {
        throw new IllegalStateException(
            "Port "
                + rest
                + " on localhost is in use (another Flink cluster?): choose another --restPort");
      }
      Map<String, Object> overrides = new LinkedHashMap<>();
      overrides.put("rest.port", rest);
      overrides.put("jobmanager.rpc.port", ports[0]);
      overrides.put("io.tmp.dirs", tmpDir.toString());
      overrides.put("web.tmpdir", tmpDir.toString());
      overrides.put("state.checkpoints.dir", dir.resolve("checkpoints").toUri().toString());
      overrides.put("state.savepoints.dir", dir.resolve("savepoints").toUri().toString());
      Map<String, String> config =
          FlinkClusterConfig.write(confDir.resolve("config.yaml"), overrides);
      List<String> jobManagerJvm = FlinkClusterConfig.jobManagerJvmOptions(config);
      List<String> taskManagerJvm = FlinkClusterConfig.taskManagerJvmOptions(config);
      int slots = Integer.parseInt(config.get("taskmanager.numberOfTaskSlots"));

      Path argFile =
          ChildJvm.writeClassPathArgFile(
              confDir.resolve("classpath.args"), ChildJvm.classPath(CLASSPATH_PROPERTY));

      ChildJvm jobManager =
          startChild(dir, argFile, jobManagerJvm, JOB_MANAGER_CLASS, confDir, "jobmanager.log");
      ChildJvm taskManager;
      try {
        taskManager =
            startChild(
                dir,
                argFile,
                taskManagerJvm,
                TASK_MANAGER_CLASS,
                confDir,
                "taskmanager.log",
                FlinkClusterConfig.taskManagerProgramArgs(config, 0));
      } catch (IOException | RuntimeException e) {
        jobManager.kill();
        throw e;
      }
      return new FlinkSessionCluster(dir, rest, slots, jobManager, taskManager);
    } catch (IOException e) {
      throw new UncheckedIOException("Could not start a Flink session cluster in " + dir, e);
    }
  }

  private static ChildJvm startChild(
      Path dir, Path argFile, List<String> jvmOptions, String mainClass, Path confDir, String log)
      throws IOException {
    return startChild(dir, argFile, jvmOptions, mainClass, confDir, log, List.of());
  }

  private static ChildJvm startChild(
      Path dir,
      Path argFile,
      List<String> jvmOptions,
      String mainClass,
      Path confDir,
      String log,
      List<String> moreArgs)
      throws IOException {
    Path logFile = dir.resolve(log);
    List<String> options = new ArrayList<>();
    // Flink's REST API serves the file named by log.file; SLF4J simple logs to standard error.
    options.add("-Dlog.file=" + logFile);
    options.add("-Dorg.slf4j.simpleLogger.defaultLogLevel=info");
    options.add("-Dorg.slf4j.simpleLogger.showDateTime=true");
    options.add("-Dorg.slf4j.simpleLogger.dateTimeFormat=yyyy-MM-dd HH:mm:ss.SSS");
    options.addAll(jvmOptions);
    return ChildJvm.start(
        dir,
        argFile,
        options,
        mainClass,
        concat(List.of("--configDir", confDir.toString()), moreArgs),
        logFile,
        false);
  }

  private static List<String> concat(List<String> a, List<String> b) {
    List<String> all = new ArrayList<>(a);
    all.addAll(b);
    return all;
  }

  void awaitReadyOrClose() {
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
      jobManager.checkAlive("Flink JobManager");
      taskManager.checkAlive("Flink TaskManager");
      try {
        HttpResponse<String> response = rest.send("/overview");
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
                + taskManager.tail()
                + "\nlast lines of "
                + jobManagerLog()
                + ":\n"
                + jobManager.tail());
      }
      LockSupport.parkNanos(POLL_INTERVAL.toNanos());
    }
  }

  /** Kills every child at once; for shutdown hooks, which must not wait long. */
  void killNow() {
    moreTaskManagers.forEach(ChildJvm::killNow);
    taskManager.killNow();
    jobManager.killNow();
  }
}

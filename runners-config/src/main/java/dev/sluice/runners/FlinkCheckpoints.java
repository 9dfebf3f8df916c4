package dev.sluice.runners;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The durable checkpoints of one job on embedded Flink: where they are kept, which one is the
 * newest complete one, and the options that make the job write them and resume from one.
 *
 * <pre>{@code
 * FlinkCheckpoints checkpoints = FlinkCheckpoints.under(Path.of("output/checkpoints/sluice-main"));
 * Optional<FlinkCheckpoints.Checkpoint> newest = checkpoints.newest();
 * List<String> options = checkpoints.embeddedOptions(newest.map(c -> c.path()).orElse(null), false);
 * }</pre>
 *
 * <p>Flink writes a checkpoint to {@code <root>/<job id>/chk-<n>/} and its {@code _metadata} file
 * last, so a checkpoint directory without {@code _metadata} (a {@code kill -9} while it was being
 * written) is incomplete and never chosen. Checkpoints are retained when the job is cancelled or
 * fails, so the newest one survives any way the process ends.
 */
public final class FlinkCheckpoints {
  /** Default checkpoint interval. */
  public static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(10);

  /** Options of every Flink preset: exactly-once checkpoints, retained on cancel and failure. */
  public static final List<String> CHECKPOINT_OPTIONS =
      List.of(
          "--checkpointingInterval=" + DEFAULT_INTERVAL.toMillis(),
          "--checkpointingMode=EXACTLY_ONCE",
          "--externalizedCheckpointsEnabled=true",
          "--retainExternalizedCheckpointsOnCancellation=true",
          "--minPauseBetweenCheckpoints=1000",
          "--checkpointTimeoutMillis=600000",
          // With checkpoints on, Beam keeps a source that has read everything (a bounded Kafka
          // replay, a synthetic run of fixed duration) alive forever, so the job never ends;
          // Flink 1.19 checkpoints past finished tasks, so it may finish once a last checkpoint
          // has had the time to commit the final offsets. The wait also keeps the metrics
          // endpoint of an embedded run up while Prometheus scrapes the final counters: with
          // 1 s, FlinkMetricsReporterIT saw Prometheus miss the last 10% of "events read".
          "--shutdownSourcesAfterIdleMs=" + (DEFAULT_INTERVAL.toMillis() + 5_000));

  /**
   * The restart strategy of embedded and session-cluster jobs: a failure (a lost connection, a
   * database outage longer than a sink's retry budget) restarts the job from its last checkpoint
   * after 1 s, 2 s, 4 s ... at most 1 min; ten quiet minutes reset the delay.
   */
  static final List<String> RESTART_STRATEGY =
      List.of(
          "restart-strategy.type: exponential-delay",
          "restart-strategy.exponential-delay.initial-backoff: 1 s",
          "restart-strategy.exponential-delay.max-backoff: 1 min",
          "restart-strategy.exponential-delay.backoff-multiplier: 2.0",
          "restart-strategy.exponential-delay.reset-backoff-threshold: 10 min",
          "restart-strategy.exponential-delay.jitter-factor: 0.1");

  /**
   * The state backend of the Flink presets: the heap backend with checkpoints in files (Beam's
   * {@code filesystem}), chosen by measurement (README, "Crash safety": 43,928 events/s against
   * 33,413 with RocksDB). It snapshots asynchronously while the task goes on, copying a value the
   * task touches before handing it over; so the presets turn faster copy off, which would hand over
   * the live object instead ({@code --fasterCopy=true} with this backend serialized a KLL sketch
   * mid-update). {@code --stateBackend=rocksdb} is on the classpath for state larger than the heap.
   */
  public static final String STATE_BACKEND = "filesystem";

  private static final Pattern CHECKPOINT_DIR = Pattern.compile("chk-(\\d+)");

  /** A complete checkpoint on disk. */
  record Checkpoint(Path path, String jobId, long id, Instant written) {
    /** E.g. {@code checkpoint 17 of Flink job 3f2a..., written 42 s ago}. */
    String describe(Instant now) {
      long seconds = Math.max(0, Duration.between(written, now).toSeconds());
      return "checkpoint "
          + id
          + " of Flink job "
          + jobId
          + ", written "
          + (seconds < 120 ? seconds + " s" : seconds / 60 + " min")
          + " ago";
    }
  }

  private final Path root;

  private FlinkCheckpoints(Path root) {
    this.root = root.toAbsolutePath().normalize();
  }

  /** The checkpoints kept under {@code root} (one job name). */
  public static FlinkCheckpoints under(Path root) {
    return new FlinkCheckpoints(root);
  }

  Path root() {
    return root;
  }

  /** The newest complete checkpoint of any earlier run, if any. */
  Optional<Checkpoint> newest() {
    if (!Files.isDirectory(root)) {
      return Optional.empty();
    }
    List<Checkpoint> found = new ArrayList<>();
    try (Stream<Path> jobs = Files.list(root)) {
      for (Path job : jobs.filter(Files::isDirectory).toList()) {
        try (Stream<Path> checkpoints = Files.list(job)) {
          for (Path dir : checkpoints.toList()) {
            Matcher m = CHECKPOINT_DIR.matcher(dir.getFileName().toString());
            Path metadata = dir.resolve("_metadata");
            if (m.matches() && Files.isRegularFile(metadata) && Files.size(metadata) > 0) {
              found.add(
                  new Checkpoint(
                      dir,
                      job.getFileName().toString(),
                      Long.parseLong(m.group(1)),
                      Files.getLastModifiedTime(metadata).toInstant()));
            }
          }
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list the checkpoints under " + root, e);
    }
    return found.stream()
        .max(Comparator.comparing(Checkpoint::written).thenComparing(Checkpoint::id));
  }

  /**
   * Removes every checkpoint (for {@code --fresh}); the directory itself stays.
   *
   * @return how many checkpoint directories were removed
   */
  int deleteAll() {
    if (!Files.isDirectory(root)) {
      return 0;
    }
    int[] removed = {0};
    try (Stream<Path> jobs = Files.list(root)) {
      for (Path job : jobs.filter(Files::isDirectory).toList()) {
        if (job.getFileName().toString().equals("flink-conf")) {
          continue;
        }
        try (Stream<Path> checkpoints = Files.list(job)) {
          removed[0] +=
              (int)
                  checkpoints
                      .filter(p -> CHECKPOINT_DIR.matcher(p.getFileName().toString()).matches())
                      .count();
        }
        deleteRecursively(job);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot remove the checkpoints under " + root, e);
    }
    return removed[0];
  }

  /**
   * Options for embedded Flink: checkpoints every {@link #DEFAULT_INTERVAL} into {@link #root()},
   * the state backend, and the Flink configuration (restart strategy; the checkpoint or savepoint
   * to restore, if any) in a directory under the root.
   *
   * @param restoreFrom a checkpoint or savepoint directory to resume from, or null
   * @param allowNonRestoredState resume even when some saved state belongs to no step any more
   */
  public List<String> embeddedOptions(Path restoreFrom, boolean allowNonRestoredState) {
    return embeddedOptions(restoreFrom, allowNonRestoredState, List.of());
  }

  /**
   * As {@link #embeddedOptions(Path, boolean)}, with {@code moreConfig} lines added to the Flink
   * configuration (e.g. {@link FlinkMetricsReporter#embeddedConfig}).
   */
  List<String> embeddedOptions(
      Path restoreFrom, boolean allowNonRestoredState, List<String> moreConfig) {
    List<String> lines = new ArrayList<>();
    lines.add("# Written by Sluice's launcher for this run of the job; rewritten on every run.");
    lines.addAll(RESTART_STRATEGY);
    lines.add("state.checkpoints.num-retained: 2");
    if (restoreFrom != null) {
      lines.add("execution.savepoint.path: '" + restoreFrom.toAbsolutePath() + "'");
      lines.add("execution.savepoint.ignore-unclaimed-state: " + allowNonRestoredState);
    }
    lines.addAll(moreConfig);
    Path confDir = root.resolve("flink-conf");
    try {
      Files.createDirectories(confDir);
      Files.write(confDir.resolve("config.yaml"), lines, UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the Flink configuration in " + confDir, e);
    }
    List<String> options = new ArrayList<>(CHECKPOINT_OPTIONS);
    options.add("--stateBackend=" + STATE_BACKEND);
    options.add("--stateBackendStoragePath=" + root.toUri());
    options.add("--flinkConfDir=" + confDir);
    if (restoreFrom != null) {
      options.add("--savepointPath=" + restoreFrom.toAbsolutePath());
      options.add("--allowNonRestoredState=" + allowNonRestoredState);
    }
    return options;
  }

  private static void deleteRecursively(Path dir) throws IOException {
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}

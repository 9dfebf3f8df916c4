package dev.sluice.benchmarks.compare;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Counts the checkpoints a Flink job completes into a checkpoint directory, {@code <root>/<job
 * id>/chk-<n>/_metadata}, by looking every 100 ms while the job runs: Flink deletes a checkpoint
 * once a newer one completes (and all of them when the job finishes), and checkpoints are seconds
 * apart, so each one is seen. Proves that a checkpointing run really checkpointed.
 */
final class CheckpointWatch implements AutoCloseable {
  private static final Pattern CHECKPOINT_DIR = Pattern.compile("chk-(\\d+)");

  private final Path root;
  private final Set<String> seen = ConcurrentHashMap.newKeySet();
  private final Thread thread;
  private volatile boolean running = true;

  private CheckpointWatch(Path root) {
    this.root = root;
    this.thread = new Thread(this::watch, "checkpoint-watch");
    thread.setDaemon(true);
    thread.start();
  }

  static CheckpointWatch of(Path root) {
    return new CheckpointWatch(root);
  }

  private void watch() {
    while (running) {
      look();
      try {
        Thread.sleep(100); // polling a directory the job writes; not in a test
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  private void look() {
    if (!Files.isDirectory(root)) {
      return;
    }
    try (Stream<Path> jobs = Files.list(root)) {
      for (Path job : jobs.filter(Files::isDirectory).toList()) {
        try (Stream<Path> dirs = Files.list(job)) {
          for (Path dir : dirs.toList()) {
            Matcher m = CHECKPOINT_DIR.matcher(dir.getFileName().toString());
            if (m.matches() && Files.isRegularFile(dir.resolve("_metadata"))) {
              seen.add(job.getFileName() + "/" + m.group(1));
            }
          }
        } catch (IOException | UncheckedIOException e) {
          // The job deleted it meanwhile.
        }
      }
    } catch (IOException | UncheckedIOException e) {
      // As above.
    }
  }

  /** Completed checkpoints seen so far. */
  int completed() {
    look();
    return seen.size();
  }

  @Override
  public void close() {
    running = false;
    thread.interrupt();
  }
}

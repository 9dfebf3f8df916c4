package dev.sluice.benchmarks.compare;

import dev.sluice.model.Alert;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * The one output format of every implementation, so that their results can be compared: one line
 * per window aggregate and per alert, written to files under a directory, and a checksum over the
 * sorted lines.
 *
 * <ul>
 *   <li>{@code S|key|metric|window_start_millis|count|sum|min|max|mean}
 *   <li>{@code A|alert_id|rule_id|key|metric|status|window_start_millis|value}, where {@code
 *       alert_id} is Sluice's fingerprint of rule, key, metric and episode start
 * </ul>
 */
public final class Outputs {
  private Outputs() {}

  public static String statsLine(
      String key,
      String metric,
      long windowStart,
      long count,
      double sum,
      double min,
      double max,
      double mean) {
    return "S|"
        + key
        + '|'
        + metric
        + '|'
        + windowStart
        + '|'
        + count
        + '|'
        + sum
        + '|'
        + min
        + '|'
        + max
        + '|'
        + mean;
  }

  /** An alert line; the baselines compute Sluice's deterministic alert id from the episode. */
  public static String alertLine(
      String ruleId,
      String key,
      String metric,
      String status,
      long windowStart,
      double value,
      long episodeStart) {
    return alertLine(
        Alert.fingerprint(ruleId, key, metric, new org.joda.time.Instant(episodeStart)),
        ruleId,
        key,
        metric,
        status,
        windowStart,
        value);
  }

  public static String alertLine(
      String alertId,
      String ruleId,
      String key,
      String metric,
      String status,
      long windowStart,
      double value) {
    return "A|"
        + alertId
        + '|'
        + ruleId
        + '|'
        + key
        + '|'
        + metric
        + '|'
        + status
        + '|'
        + windowStart
        + '|'
        + value;
  }

  /** Appends lines to a file of its own in a directory; one per writer thread. */
  public static final class LineFile implements AutoCloseable {
    /**
     * {@link System#nanoTime} of the newest line written by any file in this JVM (the embedded
     * Flink jobs run in it): when the run's last result was out, whatever the job does after that.
     */
    static final java.util.concurrent.atomic.AtomicLong LAST_WRITE_NANOS =
        new java.util.concurrent.atomic.AtomicLong();

    private final BufferedWriter writer;

    public LineFile(Path dir, String prefix) {
      try {
        Files.createDirectories(dir);
        writer =
            Files.newBufferedWriter(
                dir.resolve(prefix + "-" + UUID.randomUUID() + ".txt"), StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot create an output file in " + dir, e);
      }
    }

    public void write(String line) {
      try {
        writer.write(line);
        writer.write('\n');
        LAST_WRITE_NANOS.lazySet(System.nanoTime());
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    public void flush() {
      try {
        writer.flush();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    @Override
    public void close() {
      try {
        writer.close();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }

  /** Line counts and the SHA-256 of all lines of all files in a directory, sorted. */
  public record Summary(long statsLines, long alertLines, long otherLines, String sha256) {}

  public static Summary summarize(Path dir) {
    List<String> lines = new ArrayList<>();
    try (Stream<Path> files = Files.list(dir)) {
      for (Path file : files.filter(f -> f.toString().endsWith(".txt")).toList()) {
        lines.addAll(Files.readAllLines(file, StandardCharsets.UTF_8));
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the outputs in " + dir, e);
    }
    lines.sort(null);
    MessageDigest sha256;
    try {
      sha256 = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    long stats = 0;
    long alerts = 0;
    long other = 0;
    for (String line : lines) {
      if (line.startsWith("S|")) {
        stats++;
      } else if (line.startsWith("A|")) {
        alerts++;
      } else {
        other++;
      }
      sha256.update(line.getBytes(StandardCharsets.UTF_8));
      sha256.update((byte) '\n');
    }
    return new Summary(stats, alerts, other, HexFormat.of().formatHex(sha256.digest()));
  }
}

package dev.sluice.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/** Reads what a pipeline wrote to files, for assertions on sink output. */
public final class OutputFiles {
  private OutputFiles() {}

  /** Files in {@code dir} named {@code <prefix>-*<suffix>}, sorted by name. */
  public static List<Path> matching(Path dir, String prefix, String suffix) {
    try (Stream<Path> files = Files.list(dir)) {
      return files
          .filter(p -> p.getFileName().toString().startsWith(prefix + "-"))
          .filter(p -> p.getFileName().toString().endsWith(suffix))
          .sorted()
          .toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** All lines of all {@code <prefix>-*.jsonl} files in {@code dir}. */
  public static List<String> jsonLines(Path dir, String prefix) {
    List<String> lines = new ArrayList<>();
    for (Path file : matching(dir, prefix, ".jsonl")) {
      try {
        lines.addAll(Files.readAllLines(file));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return lines;
  }

  private static final com.fasterxml.jackson.databind.ObjectMapper MAPPER =
      new com.fasterxml.jackson.databind.ObjectMapper();

  /**
   * The JSON lines of {@code <prefix>-*.jsonl}, sorted, without the fields that legitimately differ
   * between runs: {@code volatileFields} (processing times such as {@code emitted_at}), where
   * quantile fields ({@code p..}) are dropped only from windows of more than 200 values, where the
   * KLL sketch compacts at random. For comparing runs on different runners.
   */
  public static List<String> normalisedJsonLines(
      Path dir, String prefix, String... volatileFields) {
    List<String> lines = new ArrayList<>();
    for (String line : jsonLines(dir, prefix)) {
      com.fasterxml.jackson.databind.node.ObjectNode node;
      try {
        node = (com.fasterxml.jackson.databind.node.ObjectNode) MAPPER.readTree(line);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      boolean sketched = node.has("count") && node.get("count").asLong() > 200;
      for (String field : volatileFields) {
        if (!field.startsWith("p") || sketched) {
          node.remove(field);
        }
      }
      lines.add(node.toString());
    }
    lines.sort(null);
    return lines;
  }
}

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
}

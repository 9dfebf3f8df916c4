package dev.sluice.runners;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The example specs of {@code examples/} as the tests run them: their paths are relative to the
 * repository's root (the working directory of {@code ./sluice}), and a module's tests run in the
 * module's directory, so a copy with the data paths made absolute is written to a temporary file.
 */
final class ExampleSpecs {
  static final Path EXAMPLES = Path.of("..", "examples").toAbsolutePath().normalize();

  private ExampleSpecs() {}

  /** {@code examples/<name>.yaml} with its data at the repository's {@code examples/data}. */
  static Path withDataPaths(String name) {
    try {
      Path dir = Files.createTempDirectory("sluice-example-");
      dir.toFile().deleteOnExit();
      Path copy = dir.resolve(name + ".yaml");
      Files.writeString(
          copy,
          Files.readString(EXAMPLES.resolve(name + ".yaml"))
              .replace("examples/data/", EXAMPLES.resolve("data") + "/"));
      copy.toFile().deleteOnExit();
      return copy;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}

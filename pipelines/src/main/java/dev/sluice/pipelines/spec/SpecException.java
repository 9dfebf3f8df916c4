package dev.sluice.pipelines.spec;

/**
 * An invalid pipeline spec: {@code file:line: path: what is wrong and what is allowed}, e.g. {@code
 * iot.yaml:14: windows[0].size: "1 minutes" is not a duration; use 500ms, 30s, 5m, 2h, 1d}.
 */
public final class SpecException extends IllegalArgumentException {
  private final String file;
  private final int line;
  private final String path;

  public SpecException(String file, int line, String path, String problem) {
    super(file + ":" + line + ": " + (path.isEmpty() ? "" : path + ": ") + problem);
    this.file = file;
    this.line = line;
    this.path = path;
  }

  public String file() {
    return file;
  }

  public int line() {
    return line;
  }

  public String path() {
    return path;
  }
}

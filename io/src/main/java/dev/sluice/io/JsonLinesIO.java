package dev.sluice.io;

import com.google.auto.value.AutoValue;
import dev.sluice.transforms.Checks;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.io.FileBasedSink;
import org.apache.beam.sdk.io.FileSystems;
import org.apache.beam.sdk.io.TextIO;
import org.apache.beam.sdk.io.fs.ResolveOptions.StandardResolveOptions;
import org.apache.beam.sdk.io.fs.ResourceId;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.SerializableFunction;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.transforms.windowing.AfterProcessingTime;
import org.apache.beam.sdk.transforms.windowing.BoundedWindow;
import org.apache.beam.sdk.transforms.windowing.GlobalWindows;
import org.apache.beam.sdk.transforms.windowing.IntervalWindow;
import org.apache.beam.sdk.transforms.windowing.PaneInfo;
import org.apache.beam.sdk.transforms.windowing.Repeatedly;
import org.apache.beam.sdk.transforms.windowing.Window;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PDone;
import org.joda.time.Duration;

/**
 * JSON-lines files ({@code .jsonl}): one JSON object per line.
 *
 * <pre>{@code
 * stats.apply("WriteStats", JsonLinesIO.write(WindowStats::toJson).to("output/stats"));
 * }</pre>
 *
 * <p>Files are finalised atomically by Beam's {@code FileIO}, so a retried bundle never leaves a
 * partial or duplicate file.
 */
public final class JsonLinesIO {
  public static final String METRICS_NAMESPACE = "sluice.jsonl";

  /** Counter of lines handed to the file writer (a retried bundle may count its lines again). */
  public static final String LINES_WRITTEN = "lines_written";

  private JsonLinesIO() {}

  /** A write that formats each element with {@code toJson}; then call {@link Write#to}. */
  public static <T> Write<T> write(SerializableFunction<T, String> toJson) {
    Checks.notNull("toJson", toJson);
    return new AutoValue_JsonLinesIO_Write.Builder<T>()
        .setToJson(toJson)
        .setOutputPrefix("")
        .setFileInterval(Duration.standardMinutes(1))
        .setFilePerWindow(false)
        .build();
  }

  /**
   * Writes JSON lines under a path prefix.
   *
   * <p>Bounded input goes to a single file {@code <prefix>-00000-of-00001.jsonl}, whatever its
   * windows. Unbounded input already in event-time windows (the output of a windowed aggregation)
   * is written as one file per window and pane, {@code <prefix>-<window start>-<window
   * end>-pane-<index>-00000-of-00001.jsonl}, when the pane fires; a rerun replaces a pane's file.
   * Unbounded input in the global window (dead letters, raw events) is written as one file per
   * {@code fileInterval} of processing time, {@code
   * <prefix>-GlobalWindow-pane-<index>-00000-of-00001.jsonl}: the global window never expires, so
   * no element, however late its timestamp, is dropped on its way to a file.
   *
   * <p>With {@link #withFilePerWindow()}, bounded input in event-time windows (e.g. a replay of
   * event files through a windowed aggregation) is also written one file per window and pane, with
   * the same names as unbounded input; input in the global window is then an error.
   */
  @AutoValue
  public abstract static class Write<T> extends PTransform<PCollection<T>, PDone> {

    abstract SerializableFunction<T, String> toJson();

    abstract String outputPrefix();

    abstract Duration fileInterval();

    abstract boolean filePerWindow();

    abstract Builder<T> toBuilder();

    /** Path prefix of the files, e.g. {@code output/stats}. */
    public Write<T> to(String outputPrefix) {
      Checks.notBlank("outputPrefix", outputPrefix);
      return toBuilder().setOutputPrefix(outputPrefix).build();
    }

    /** Unbounded input in the global window: start a new file this often (processing time). */
    public Write<T> withFileInterval(Duration fileInterval) {
      Checks.positive("fileInterval", fileInterval);
      return toBuilder().setFileInterval(fileInterval).build();
    }

    /**
     * Bounded input in event-time windows is also written one file per window and pane, as
     * unbounded input always is, instead of into one file.
     *
     * @throws IllegalArgumentException when the transform is applied to input in the global window
     */
    public Write<T> withFilePerWindow() {
      return toBuilder().setFilePerWindow(true).build();
    }

    @Override
    public PDone expand(PCollection<T> input) {
      if (outputPrefix().isEmpty()) {
        throw new IllegalArgumentException("outputPrefix must be set with to(prefix)");
      }
      boolean globalWindows = input.getWindowingStrategy().getWindowFn() instanceof GlobalWindows;
      if (filePerWindow() && globalWindows) {
        throw new IllegalArgumentException(
            "withFilePerWindow needs input in event-time windows, got GlobalWindows");
      }
      PCollection<String> lines =
          input
              .apply("ToJson", new CountedMap<>(toJson(), METRICS_NAMESPACE, LINES_WRITTEN))
              .setCoder(StringUtf8Coder.of());
      TextIO.Write write = TextIO.write().to(outputPrefix()).withSuffix(".jsonl").withNumShards(1);
      if (input.isBounded() == PCollection.IsBounded.BOUNDED && !filePerWindow()) {
        lines
            .apply("IntoGlobalWindow", Window.<String>into(new GlobalWindows()))
            .apply("WriteFiles", write);
        return PDone.in(input.getPipeline());
      }
      PCollection<String> panes =
          globalWindows
              ? lines.apply(
                  "FilePerInterval",
                  Window.<String>into(new GlobalWindows())
                      .triggering(
                          Repeatedly.forever(
                              AfterProcessingTime.pastFirstElementInPane()
                                  .plusDelayOf(fileInterval())))
                      .discardingFiredPanes())
              : lines;
      ResourceId prefix = FileSystems.matchNewResource(outputPrefix(), false);
      panes.apply(
          "WriteFiles",
          TextIO.write()
              .to(new PaneFilenames(outputPrefix()))
              .withTempDirectory(
                  prefix
                      .getCurrentDirectory()
                      .resolve(
                          ".temp-" + prefix.getFilename(),
                          StandardResolveOptions.RESOLVE_DIRECTORY))
              .withNumShards(1)
              .withWindowedWrites());
      return PDone.in(input.getPipeline());
    }

    @Override
    public void populateDisplayData(DisplayData.Builder builder) {
      super.populateDisplayData(builder);
      builder
          .add(DisplayData.item("outputPrefix", outputPrefix()))
          .add(DisplayData.item("fileInterval", fileInterval()))
          .add(DisplayData.item("filePerWindow", filePerWindow()));
    }

    /**
     * {@code <prefix>-<window start>-<window end>-pane-<index>-SSSSS-of-NNNNN.jsonl}: the same name
     * for the same pane of a window in every run, so a rerun or a replay after a restart replaces a
     * window's file instead of adding a second one. (Beam's default names add {@code -last} to the
     * final pane, and whether a pane is the last one can differ between runs.)
     */
    static final class PaneFilenames extends FileBasedSink.FilenamePolicy {
      private final String prefix;

      PaneFilenames(String prefix) {
        this.prefix = prefix;
      }

      @Override
      public ResourceId windowedFilename(
          int shardNumber,
          int numShards,
          BoundedWindow window,
          PaneInfo paneInfo,
          FileBasedSink.OutputFileHints outputFileHints) {
        String windowName =
            window instanceof IntervalWindow interval
                ? interval.start() + "-" + interval.end()
                : "GlobalWindow";
        ResourceId base = FileSystems.matchNewResource(prefix, false);
        return base.getCurrentDirectory()
            .resolve(
                String.format(
                    "%s-%s-pane-%d-%05d-of-%05d.jsonl",
                    base.getFilename(), windowName, paneInfo.getIndex(), shardNumber, numShards),
                StandardResolveOptions.RESOLVE_FILE);
      }

      @Override
      public ResourceId unwindowedFilename(
          int shardNumber, int numShards, FileBasedSink.OutputFileHints outputFileHints) {
        ResourceId base = FileSystems.matchNewResource(prefix, false);
        return base.getCurrentDirectory()
            .resolve(
                String.format("%s-%05d-of-%05d.jsonl", base.getFilename(), shardNumber, numShards),
                StandardResolveOptions.RESOLVE_FILE);
      }
    }

    @AutoValue.Builder
    abstract static class Builder<T> {
      abstract Builder<T> setToJson(SerializableFunction<T, String> value);

      abstract Builder<T> setOutputPrefix(String value);

      abstract Builder<T> setFileInterval(Duration value);

      abstract Builder<T> setFilePerWindow(boolean value);

      abstract Write<T> build();
    }
  }
}

package dev.sluice.io;

import com.google.auto.value.AutoValue;
import dev.sluice.transforms.Checks;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.io.TextIO;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.SerializableFunction;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.transforms.windowing.FixedWindows;
import org.apache.beam.sdk.transforms.windowing.GlobalWindows;
import org.apache.beam.sdk.transforms.windowing.Window;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PDone;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.joda.time.Duration;

/**
 * Writes elements as JSON lines ({@code .jsonl}), one JSON object per line.
 *
 * <pre>{@code
 * stats.apply("WriteStats", JsonLinesIO.<WindowStats>write(WindowStats::toJson).to("output/stats"));
 * }</pre>
 *
 * <p>Bounded input goes to a single file {@code <prefix>-00000-of-00001.jsonl}. Unbounded input is
 * written per event-time window ({@code withWindowSize}, default 1 minute; elements already in
 * windows of a tumbling aggregation keep them), one file set per window and pane, named {@code
 * <prefix>-<window start>-<window end>-pane-<index>[-last]-00000-of-00001.jsonl}, so files appear
 * while the pipeline runs. Delivery: files are finalised atomically by Beam's {@code FileIO}, so a
 * retried bundle never leaves a partial or duplicate file.
 */
@AutoValue
public abstract class JsonLinesIO<T> extends PTransform<PCollection<T>, PDone> {

  abstract SerializableFunction<T, String> toJson();

  abstract String outputPrefix();

  abstract Duration windowSize();

  abstract Builder<T> toBuilder();

  /** Starts a write that formats each element with {@code toJson}; then call {@link #to}. */
  public static <T> JsonLinesIO<T> write(SerializableFunction<T, String> toJson) {
    Checks.notNull("toJson", toJson);
    return new AutoValue_JsonLinesIO.Builder<T>()
        .setToJson(toJson)
        .setOutputPrefix("")
        .setWindowSize(Duration.standardMinutes(1))
        .build();
  }

  /** Path prefix of the files, e.g. {@code output/stats}. */
  public JsonLinesIO<T> to(String outputPrefix) {
    Checks.notBlank("outputPrefix", outputPrefix);
    return toBuilder().setOutputPrefix(outputPrefix).build();
  }

  /** Unbounded input only: the event-time window of one file set for elements not yet windowed. */
  public JsonLinesIO<T> withWindowSize(Duration windowSize) {
    Checks.positive("windowSize", windowSize);
    return toBuilder().setWindowSize(windowSize).build();
  }

  @Override
  public PDone expand(PCollection<T> input) {
    if (outputPrefix().isEmpty()) {
      throw new IllegalArgumentException("outputPrefix must be set with to(prefix)");
    }
    PCollection<String> lines =
        input
            .apply("ToJson", MapElements.into(TypeDescriptors.strings()).via(toJson()))
            .setCoder(StringUtf8Coder.of());
    TextIO.Write write = TextIO.write().to(outputPrefix()).withSuffix(".jsonl");
    if (input.isBounded() == PCollection.IsBounded.BOUNDED) {
      lines
          .apply("IntoGlobalWindow", Window.<String>into(new GlobalWindows()))
          .apply("WriteFiles", write.withNumShards(1));
    } else {
      PCollection<String> windowed =
          input.getWindowingStrategy().getWindowFn() instanceof GlobalWindows
              ? lines.apply("IntoFileWindows", Window.into(FixedWindows.of(windowSize())))
              : lines;
      windowed.apply(
          "WriteFiles",
          write.withWindowedWrites().withShardNameTemplate("-W-P-SSSSS-of-NNNNN").withNumShards(1));
    }
    return PDone.in(input.getPipeline());
  }

  @Override
  public void populateDisplayData(DisplayData.Builder builder) {
    super.populateDisplayData(builder);
    builder
        .add(DisplayData.item("outputPrefix", outputPrefix()))
        .add(DisplayData.item("windowSize", windowSize()));
  }

  @AutoValue.Builder
  abstract static class Builder<T> {
    abstract Builder<T> setToJson(SerializableFunction<T, String> value);

    abstract Builder<T> setOutputPrefix(String value);

    abstract Builder<T> setWindowSize(Duration value);

    abstract JsonLinesIO<T> build();
  }
}

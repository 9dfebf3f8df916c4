package dev.sluice.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.model.JsonSupport;
import dev.sluice.testing.OutputFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.testing.TestPipelineExtension;
import org.apache.beam.sdk.testing.TestStream;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.windowing.FixedWindows;
import org.apache.beam.sdk.transforms.windowing.Window;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TimestampedValue;
import org.joda.time.Duration;
import org.joda.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

@ExtendWith(TestPipelineExtension.class)
class JsonLinesIOTest {

  @Test
  void boundedInputIsWrittenToOneFileOneObjectPerLine(TestPipeline pipeline, @TempDir Path dir) {
    pipeline
        .apply(Create.of("a", "b\nc", "d"))
        .apply(
            JsonLinesIO.<String>write(s -> "{\"v\":\"" + s.replace("\n", "\\n") + "\"}")
                .to(dir.resolve("values").toString()));
    org.apache.beam.sdk.PipelineResult result = pipeline.run();
    result.waitUntilFinish();
    assertThat(
            dev.sluice.testing.Counters.attempted(
                result, JsonLinesIO.METRICS_NAMESPACE, JsonLinesIO.LINES_WRITTEN))
        .isEqualTo(3);
    assertThat(OutputFiles.matching(dir, "values", ".jsonl"))
        .extracting(p -> p.getFileName().toString())
        .containsExactly("values-00000-of-00001.jsonl");
    assertThat(OutputFiles.jsonLines(dir, "values"))
        .containsExactlyInAnyOrder("{\"v\":\"a\"}", "{\"v\":\"b\\nc\"}", "{\"v\":\"d\"}");
  }

  @Test
  void windowedUnboundedInputIsWrittenAsOneFilePerWindow(TestPipeline pipeline, @TempDir Path dir) {
    Instant t0 = JsonSupport.parseInstant("2026-01-01T00:00:00Z");
    TestStream<String> stream =
        TestStream.create(StringUtf8Coder.of())
            .addElements(
                TimestampedValue.of("first", t0.plus(1_000)),
                TimestampedValue.of("second", t0.plus(61_000)))
            .advanceWatermarkToInfinity();
    pipeline
        .apply(stream)
        .apply(Window.into(FixedWindows.of(Duration.standardMinutes(1))))
        .apply(JsonLinesIO.<String>write(s -> "\"" + s + "\"").to(dir.resolve("live").toString()));
    pipeline.run().waitUntilFinish();
    assertThat(OutputFiles.matching(dir, "live", ".jsonl"))
        .extracting(p -> p.getFileName().toString())
        .containsExactlyInAnyOrder(
            "live-2026-01-01T00:00:00.000Z-2026-01-01T00:01:00.000Z-pane-0-00000-of-00001.jsonl",
            "live-2026-01-01T00:01:00.000Z-2026-01-01T00:02:00.000Z-pane-0-00000-of-00001.jsonl");
    assertThat(OutputFiles.jsonLines(dir, "live"))
        .containsExactlyInAnyOrder("\"first\"", "\"second\"");
  }

  @Test
  void unboundedGlobalWindowInputRollsFilesByProcessingTimeAndKeepsLateElements(
      TestPipeline pipeline, @TempDir Path dir) {
    Instant t0 = JsonSupport.parseInstant("2026-01-01T00:00:00Z");
    TestStream<String> stream =
        TestStream.create(StringUtf8Coder.of())
            .addElements(TimestampedValue.of("early", t0))
            .advanceProcessingTime(Duration.standardMinutes(2))
            .advanceWatermarkTo(t0.plus(Duration.standardHours(1)))
            // An hour behind the watermark: event-time windows would drop it.
            .addElements(TimestampedValue.of("late", t0.plus(1_000)))
            .advanceProcessingTime(Duration.standardMinutes(2))
            .advanceWatermarkToInfinity();
    pipeline
        .apply(stream)
        .apply(
            JsonLinesIO.<String>write(s -> "\"" + s + "\"")
                .to(dir.resolve("letters").toString())
                .withFileInterval(Duration.standardMinutes(1)));
    pipeline.run().waitUntilFinish();
    assertThat(OutputFiles.jsonLines(dir, "letters"))
        .containsExactlyInAnyOrder("\"early\"", "\"late\"");
    assertThat(OutputFiles.matching(dir, "letters", ".jsonl"))
        .extracting(p -> p.getFileName().toString())
        .allMatch(name -> name.startsWith("letters-GlobalWindow-pane-"))
        .hasSizeGreaterThanOrEqualTo(2);
  }

  @Test
  void boundedWindowedInputIsWrittenAsOneFilePerWindowWithFilePerWindow(
      TestPipeline pipeline, @TempDir Path dir) throws IOException {
    Instant t0 = JsonSupport.parseInstant("2026-01-01T00:00:00Z");
    pipeline
        .apply(
            Create.timestamped(
                TimestampedValue.of("first", t0.plus(1_000)),
                TimestampedValue.of("also-first", t0.plus(59_000)),
                TimestampedValue.of("second", t0.plus(61_000))))
        .apply(Window.into(FixedWindows.of(Duration.standardMinutes(1))))
        .apply(
            JsonLinesIO.<String>write(s -> "\"" + s + "\"")
                .to(dir.resolve("replay").toString())
                .withFilePerWindow());
    pipeline.run().waitUntilFinish();
    List<Path> files = OutputFiles.matching(dir, "replay", ".jsonl");
    assertThat(files)
        .extracting(p -> p.getFileName().toString())
        .allMatch(name -> name.endsWith("-00000-of-00001.jsonl"))
        .extracting(name -> name.substring(0, name.indexOf("-pane-")))
        .containsExactly(
            "replay-2026-01-01T00:00:00.000Z-2026-01-01T00:01:00.000Z",
            "replay-2026-01-01T00:01:00.000Z-2026-01-01T00:02:00.000Z");
    assertThat(Files.readAllLines(files.get(0)))
        .containsExactlyInAnyOrder("\"first\"", "\"also-first\"");
    assertThat(Files.readAllLines(files.get(1))).containsExactly("\"second\"");
  }

  @Test
  void filePerWindowNeedsInputInEventTimeWindows(@TempDir Path dir) {
    PCollection<String> global = Pipeline.create().apply(Create.of("a"));
    assertThatThrownBy(
            () ->
                global.apply(
                    JsonLinesIO.<String>write(s -> s)
                        .to(dir.resolve("x").toString())
                        .withFilePerWindow()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("withFilePerWindow needs input in event-time windows, got GlobalWindows");
  }

  @Test
  void outputPrefixIsRequired() {
    assertThatThrownBy(() -> JsonLinesIO.<String>write(s -> s).to(" "))
        .hasMessage("outputPrefix must not be blank, got ' '");
  }
}

package dev.sluice.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.io.EventFilesIO.Format;
import dev.sluice.model.DeadLetter;
import dev.sluice.model.DeadLetter.Reason;
import dev.sluice.model.Event;
import dev.sluice.model.JsonSupport;
import dev.sluice.model.RawPayload;
import dev.sluice.transforms.FieldMapping;
import dev.sluice.transforms.OutputWithDeadLetters;
import dev.sluice.transforms.ParseEvents;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.GZIPOutputStream;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.io.fs.EmptyMatchTreatment;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.testing.TestPipelineExtension;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.values.PCollection;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

@ExtendWith(TestPipelineExtension.class)
class EventFilesIOTest {
  private static final String HEADER = "event_id,key,metric,value,event_time,site";

  @TempDir Path dir;

  @Test
  void readsEveryNonBlankLineOfEveryMatchingJsonLinesFileWithFileAndLine(TestPipeline pipeline)
      throws IOException {
    Path a = dir.resolve("a.jsonl");
    String aName = a.toString();
    Path b = dir.resolve("b.jsonl");
    String bName = b.toString();
    Files.writeString(a, "{\"n\":1}\n\n  \n{\"n\":2}\n");
    Files.writeString(b, "{\"n\":3}\r\nnot json");
    Files.writeString(dir.resolve("c.txt"), "{\"n\":4}\n");
    OutputWithDeadLetters<RawPayload> read = pipeline.apply(EventFilesIO.read(dir + "/*.jsonl"));
    PAssert.that(read.output())
        .satisfies(
            all -> {
              assertThat(describe(all))
                  .containsExactlyInAnyOrder(
                      aName + ":1 {\"n\":1}",
                      aName + ":4 {\"n\":2}",
                      bName + ":1 {\"n\":3}",
                      bName + ":2 not json");
              return null;
            });
    PAssert.that(read.deadLetters()).empty();
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();
    assertThat(counter(result, EventFilesIO.LINES_READ)).isEqualTo(4);
  }

  @Test
  void compressedFilesAreDecompressedAndTheirFormatComesFromTheInnerExtension(TestPipeline pipeline)
      throws IOException {
    Path gz = dir.resolve("events.ndjson.gz");
    String gzName = gz.toString();
    try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(gz))) {
      out.write("{\"n\":1}\n{\"n\":2}\n".getBytes(StandardCharsets.UTF_8));
    }
    PAssert.that(pipeline.apply(EventFilesIO.read(gz.toString())).output())
        .satisfies(
            all -> {
              assertThat(describe(all))
                  .containsExactly(gzName + ":1 {\"n\":1}", gzName + ":2 {\"n\":2}");
              return null;
            });
    pipeline.run().waitUntilFinish();
  }

  @Test
  void csvRowsBecomeJsonObjectsAndBadRowsBecomeDeadLettersWithTheOriginalLine(TestPipeline pipeline)
      throws IOException {
    Path csv = dir.resolve("readings.csv");
    String csvName = csv.toString();
    Files.writeString(
        csv,
        "\uFEFF"
            + HEADER
            + "\r\n"
            + "e1,sensor-1,temperature,21.5,2026-01-01T00:00:00Z,berlin\r\n"
            + "e2,\"sensor-2\",temperature, -3 ,2026-01-01T00:00:01Z,"
            + "\"Paris, \"\"left\"\" bank\"\r\n"
            + "\r\n"
            + "e3,sensor-3,temperature,n/a,2026-01-01T00:00:02Z,\r\n"
            + "e4,sensor-4,temperature,1\r\n"
            + "e5,sensor-5,temperature,2,2026-01-01T00:00:03Z,\"unclosed\r\n"
            + "e6,sensor-6,temperature,3,2026-01-01T00:00:04Z,a,extra\r\n");
    OutputWithDeadLetters<RawPayload> read = pipeline.apply(EventFilesIO.read(csv.toString()));
    PAssert.that(read.output())
        .satisfies(
            all -> {
              assertThat(describe(all))
                  .containsExactlyInAnyOrder(
                      csvName
                          + ":2 {\"event_id\":\"e1\",\"key\":\"sensor-1\","
                          + "\"metric\":\"temperature\",\"value\":21.5,"
                          + "\"event_time\":\"2026-01-01T00:00:00Z\",\"site\":\"berlin\"}",
                      csvName
                          + ":3 {\"event_id\":\"e2\",\"key\":\"sensor-2\","
                          + "\"metric\":\"temperature\",\"value\":-3,"
                          + "\"event_time\":\"2026-01-01T00:00:01Z\","
                          + "\"site\":\"Paris, \\\"left\\\" bank\"}",
                      csvName
                          + ":5 {\"event_id\":\"e3\",\"key\":\"sensor-3\","
                          + "\"metric\":\"temperature\",\"value\":\"n/a\","
                          + "\"event_time\":\"2026-01-01T00:00:02Z\"}");
              return null;
            });
    PAssert.that(read.deadLetters())
        .satisfies(
            all -> {
              List<String> got = new ArrayList<>();
              for (DeadLetter d : all) {
                assertThat(d.stage()).isEqualTo(EventFilesIO.STAGE);
                assertThat(d.reason()).isEqualTo(Reason.MALFORMED_CSV);
                got.add(d.source() + " " + d.payload() + " | " + d.error());
              }
              assertThat(got)
                  .containsExactlyInAnyOrder(
                      csvName
                          + ":6 e4,sensor-4,temperature,1"
                          + " | row has 4 cells but the header has 6 columns",
                      csvName
                          + ":7 e5,sensor-5,temperature,2,2026-01-01T00:00:03Z,\"unclosed"
                          + " | the quote at column 48 is never closed",
                      csvName
                          + ":8 e6,sensor-6,temperature,3,2026-01-01T00:00:04Z,a,extra"
                          + " | row has 7 cells but the header has 6 columns");
              return null;
            });
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();
    assertThat(counter(result, EventFilesIO.LINES_READ)).isEqualTo(7);
    assertThat(counter(result, EventFilesIO.CSV_ROWS_REJECTED)).isEqualTo(3);
  }

  @Test
  void csvRowsParseIntoTheSameEventsAsJson(TestPipeline pipeline) throws IOException {
    Path csv = dir.resolve("readings.csv");
    String csvName = csv.toString();
    Files.writeString(
        csv,
        HEADER
            + "\n"
            + "e1,sensor-1,temperature,21.5,2026-01-01T00:00:00Z,berlin\n"
            + "e2,sensor-2,humidity,4e1,2026-01-01T00:00:01Z,\n"
            + "e3,sensor-3,temperature,NaN,2026-01-01T00:00:02Z,rome\n"
            + "e4,sensor-4,temperature,warm,2026-01-01T00:00:03Z,oslo\n");
    PCollection<RawPayload> lines = pipeline.apply(EventFilesIO.read(csv.toString())).output();
    OutputWithDeadLetters<Event> parsed =
        lines.apply(
            ParseEvents.fromRawPayloads()
                .withMapping(FieldMapping.contract().withAttributeFields(List.of("site"))));
    PAssert.that(parsed.output())
        .containsInAnyOrder(
            new Event(
                "e1",
                "sensor-1",
                "temperature",
                21.5,
                JsonSupport.parseInstant("2026-01-01T00:00:00Z"),
                new TreeMap<>(Map.of("site", "berlin"))),
            Event.of(
                "e2",
                "sensor-2",
                "humidity",
                40.0,
                JsonSupport.parseInstant("2026-01-01T00:00:01Z")));
    PAssert.that(parsed.deadLetters())
        .satisfies(
            all -> {
              List<String> got = new ArrayList<>();
              for (DeadLetter d : all) {
                got.add(d.source() + " " + d.reason());
              }
              assertThat(got)
                  .containsExactlyInAnyOrder(
                      csvName + ":4 " + Reason.NON_FINITE_VALUE, csvName + ":5 " + Reason.BAD_TYPE);
              return null;
            });
    pipeline.run().waitUntilFinish();
  }

  @Test
  void aLineOverTheLengthLimitBecomesOneTruncatedDeadLetterAndTheOthersAreRead(
      TestPipeline pipeline) throws IOException {
    Path file = dir.resolve("long.jsonl");
    String fileName = file.toString();
    // 3 MiB without a newline in the middle of two good lines.
    byte[] huge = "x".repeat(3 << 20).getBytes(java.nio.charset.StandardCharsets.UTF_8);
    Files.writeString(file, "{\"a\":1}\n" + new String(huge) + "\n{\"b\":2}\n");
    OutputWithDeadLetters<RawPayload> read = pipeline.apply(EventFilesIO.read(fileName));
    PAssert.that(read.output())
        .satisfies(
            all -> {
              assertThat(describe(all))
                  .containsExactlyInAnyOrder(fileName + ":1 {\"a\":1}", fileName + ":3 {\"b\":2}");
              return null;
            });
    PAssert.that(read.deadLetters())
        .satisfies(
            all -> {
              List<DeadLetter> letters = new java.util.ArrayList<>();
              all.forEach(letters::add);
              assertThat(letters).hasSize(1);
              DeadLetter d = letters.get(0);
              assertThat(d.reason()).isEqualTo(Reason.TOO_LARGE);
              assertThat(d.source()).isEqualTo(fileName + ":2");
              assertThat(d.payload()).isEqualTo("x".repeat(64 * 1024));
              assertThat(d.error())
                  .isEqualTo(
                      "line is 3145728 bytes, more than the limit of 1048576 [payload truncated:"
                          + " first 65536 of 3145728 bytes, SHA-256 "
                          + DeadLetter.sha256(huge)
                          + " of the original]");
              return null;
            });
    pipeline.run().waitUntilFinish();
  }

  @Test
  void aForcedFormatOverridesTheExtension(TestPipeline pipeline) throws IOException {
    Path txt = dir.resolve("export.txt");
    String txtName = txt.toString();
    Files.writeString(txt, "key,value,note\nsensor-1,7,\"a,b\"\n");
    PAssert.that(pipeline.apply(EventFilesIO.read(txt.toString()).withFormat(Format.CSV)).output())
        .satisfies(
            all -> {
              assertThat(describe(all))
                  .containsExactly(
                      txtName + ":2 {\"key\":\"sensor-1\",\"value\":7,\"note\":\"a,b\"}");
              return null;
            });
    pipeline.run().waitUntilFinish();
  }

  @Test
  void numericColumnsAreConfigurable(TestPipeline pipeline) throws IOException {
    Path csv = dir.resolve("wide.csv");
    String csvName = csv.toString();
    Files.writeString(csv, "key,temp,value\nsensor-1,21.5,7\n");
    PAssert.that(
            pipeline.apply(EventFilesIO.read(csv.toString()).withNumericColumns("temp")).output())
        .satisfies(
            all -> {
              assertThat(describe(all))
                  .containsExactly(
                      csvName + ":2 {\"key\":\"sensor-1\",\"temp\":21.5,\"value\":\"7\"}");
              return null;
            });
    pipeline.run().waitUntilFinish();
  }

  @Test
  void anEmptyFileOrAHeaderWithoutRowsYieldsNothing(TestPipeline pipeline) throws IOException {
    Files.writeString(dir.resolve("empty.csv"), "");
    Files.writeString(dir.resolve("blank.csv"), "\n \n");
    Files.writeString(dir.resolve("header.csv"), HEADER + "\n");
    OutputWithDeadLetters<RawPayload> read = pipeline.apply(EventFilesIO.read(dir + "/*.csv"));
    PAssert.that(read.output()).empty();
    PAssert.that(read.deadLetters()).empty();
    pipeline.run().waitUntilFinish();
  }

  @Test
  void aMalformedHeaderRejectsItselfAndEveryRowOfItsFile(TestPipeline pipeline) throws IOException {
    Path csv = dir.resolve("dup.csv");
    String csvName = csv.toString();
    Files.writeString(csv, "key,value,key\nsensor-1,1,x\n");
    PAssert.that(pipeline.apply(EventFilesIO.read(csv.toString())).deadLetters())
        .satisfies(
            all -> {
              List<String> got = new ArrayList<>();
              for (DeadLetter d : all) {
                got.add(d.source() + " " + d.reason() + " " + d.error());
              }
              assertThat(got)
                  .containsExactlyInAnyOrder(
                      csvName + ":1 MALFORMED_CSV header: column 'key' appears twice",
                      csvName
                          + ":2 MALFORMED_CSV the header at line 1 is malformed:"
                          + " column 'key' appears twice");
              return null;
            });
    pipeline.run().waitUntilFinish();
  }

  @Test
  void aCsvLineThatIsNotUtf8IsADeadLetterKeptAsBase64(TestPipeline pipeline) throws IOException {
    Path csv = dir.resolve("latin1.csv");
    String csvName = csv.toString();
    byte[] bad = {'k', ',', (byte) 0xE9};
    try (OutputStream out = Files.newOutputStream(csv)) {
      out.write("key,value\n".getBytes(StandardCharsets.UTF_8));
      out.write(bad);
      out.write('\n');
    }
    PAssert.that(pipeline.apply(EventFilesIO.read(csv.toString())).deadLetters())
        .satisfies(
            all -> {
              assertThat(all).hasSize(1);
              DeadLetter d = all.iterator().next();
              assertThat(d.source()).isEqualTo(csvName + ":2");
              assertThat(d.reason()).isEqualTo(Reason.MALFORMED_CSV);
              assertThat(d.error()).isEqualTo("line is not valid UTF-8");
              assertThat(d.payloadBytes()).isEqualTo(bad);
              return null;
            });
    pipeline.run().waitUntilFinish();
  }

  @Test
  void aGlobMatchingNoFileFailsThePipelineByDefault(TestPipeline pipeline) {
    String glob = dir + "/missing-*.jsonl";
    pipeline.apply(EventFilesIO.read(glob));
    assertThatThrownBy(() -> pipeline.run().waitUntilFinish())
        .hasStackTraceContaining("No files matched spec: " + glob);
  }

  @Test
  void aGlobMatchingNoFileIsAnEmptyReplayWhenAllowed(TestPipeline pipeline) {
    OutputWithDeadLetters<RawPayload> read =
        pipeline.apply(
            EventFilesIO.read(dir + "/missing-*.jsonl")
                .withEmptyMatchTreatment(EmptyMatchTreatment.ALLOW));
    PAssert.that(read.output()).empty();
    pipeline.run().waitUntilFinish();
  }

  @Test
  void outputsHaveExplicitCoders(TestPipeline pipeline) throws IOException {
    Files.writeString(dir.resolve("a.jsonl"), "{}\n");
    OutputWithDeadLetters<RawPayload> read = pipeline.apply(EventFilesIO.read(dir + "/*.jsonl"));
    assertThat(read.output().getCoder()).isEqualTo(RawPayload.RawPayloadCoder.of());
    assertThat(read.deadLetters().getCoder()).isEqualTo(DeadLetter.DeadLetterCoder.of());
    pipeline.run().waitUntilFinish();
  }

  @Test
  void globMustNotBeBlank() {
    assertThatThrownBy(() -> EventFilesIO.read(" "))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("glob must not be blank, got ' '");
    assertThatThrownBy(() -> EventFilesIO.read(null))
        .hasMessage("glob must not be blank, got null");
  }

  @Test
  void formatMustNotBeNull() {
    assertThatThrownBy(() -> EventFilesIO.read("in/*.csv").withFormat(null))
        .hasMessage("format must not be null");
  }

  @Test
  void numericColumnsMustNotBeNullOrBlank() {
    assertThatThrownBy(() -> EventFilesIO.read("in/*.csv").withNumericColumns((String[]) null))
        .hasMessage("numericColumns must not be null");
    assertThatThrownBy(() -> EventFilesIO.read("in/*.csv").withNumericColumns("value", " "))
        .hasMessage("numericColumns[1] must not be blank, got ' '");
  }

  @Test
  void emptyMatchTreatmentMustNotBeNull() {
    assertThatThrownBy(() -> EventFilesIO.read("in/*.csv").withEmptyMatchTreatment(null))
        .hasMessage("emptyMatchTreatment must not be null");
  }

  @Test
  void aGlobWhoseExtensionHasNoKnownFormatNeedsWithFormat() {
    Pipeline pipeline = Pipeline.create();
    assertThatThrownBy(() -> pipeline.apply(EventFilesIO.read("in/*.txt")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(
            "cannot tell the format of files matching 'in/*.txt' from their extension (.jsonl,"
                + " .ndjson, .json or .csv, optionally compressed); set it with"
                + " withFormat(Format.JSON_LINES) or withFormat(Format.CSV)");
  }

  @Test
  void formatsComeFromExtensions() {
    assertThat(EventFilesIO.formatOf("/d/a.jsonl")).isEqualTo(Format.JSON_LINES);
    assertThat(EventFilesIO.formatOf("/d/a.NDJSON")).isEqualTo(Format.JSON_LINES);
    assertThat(EventFilesIO.formatOf("/d/a.json.gz")).isEqualTo(Format.JSON_LINES);
    assertThat(EventFilesIO.formatOf("/d/a.csv")).isEqualTo(Format.CSV);
    assertThat(EventFilesIO.formatOf("/d/a.csv.bz2")).isEqualTo(Format.CSV);
    assertThat(EventFilesIO.formatOf("/d/a.txt")).isNull();
    assertThat(EventFilesIO.formatOf("/d/a.gz")).isNull();
  }

  @Test
  void csvLinesFollowRfc4180Quoting() throws Exception {
    assertThat(EventFilesIO.parseCsvLine("a,\"b,c\",\"d \"\"e\"\"\",,\"\""))
        .containsExactly("a", "b,c", "d \"e\"", "", "");
    assertThat(EventFilesIO.parseCsvLine("a,")).containsExactly("a", "");
    assertThatThrownBy(() -> EventFilesIO.parseCsvLine("a,\"b\"c"))
        .hasMessage("column 6: a closing quote must be followed by a comma or line end");
    assertThatThrownBy(() -> EventFilesIO.parseCsvLine("a,b\"c"))
        .hasMessage(
            "column 4: a quote inside an unquoted cell (quote the cell and double the quote)");
  }

  @Test
  void displayDataNamesEverySetting() {
    assertThat(displayData(EventFilesIO.read("in/*.csv")))
        .contains("glob=in/*.csv", "format=by extension", "numericColumns=value");
    assertThat(displayData(EventFilesIO.read("in/*").withFormat(Format.CSV)))
        .contains("glob=in/*", "format=CSV", "emptyMatchTreatment=DISALLOW");
  }

  private static List<String> displayData(EventFilesIO.Read read) {
    List<String> items = new ArrayList<>();
    for (DisplayData.Item item : DisplayData.from(read).items()) {
      items.add(item.getKey() + "=" + item.getValue());
    }
    return items;
  }

  private static List<String> describe(Iterable<RawPayload> payloads) {
    List<String> out = new ArrayList<>();
    for (RawPayload p : payloads) {
      out.add(p.source() + " " + new String(p.bytes(), StandardCharsets.UTF_8));
    }
    return out;
  }

  private static long counter(PipelineResult result, String name) {
    return dev.sluice.testing.Counters.attempted(result, EventFilesIO.METRICS_NAMESPACE, name);
  }
}

package dev.sluice.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.sluice.model.ReferenceTable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.SortedMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import org.apache.beam.runners.direct.DirectOptions;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.coders.InstantCoder;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.io.GenerateSequence;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.testing.TestPipelineExtension;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionView;
import org.joda.time.Duration;
import org.joda.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

@ExtendWith(TestPipelineExtension.class)
class ReferenceTableIOTest {
  private static final String LIMITS =
      """
      sensor,max_temperature,site,enabled
      sensor-1,50,berlin,true
      sensor-2,-3.5,"Paris, ""left"" bank",false
      """;

  @TempDir Path dir;

  private Path write(String name, String content) throws IOException {
    Path file = dir.resolve(name);
    // Atomically, so that a concurrent load sees the old or the new file, never half of one.
    Path temp = dir.resolve(name + ".tmp");
    Files.writeString(temp, content);
    Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    return file;
  }

  private ReferenceTableIO.Read csv(String content) throws IOException {
    return ReferenceTableIO.csv(write("limits.csv", content).toString()).withKeyColumn("sensor");
  }

  private String name() {
    return "file " + dir.resolve("limits.csv");
  }

  // ---- CSV typing ----

  @Test
  void csvCellsAreTypedAndEmptyCellsAreAbsentAndTheKeyIsNotAColumn() throws IOException {
    ReferenceTable table =
        csv("\uFEFFsensor,a,b,c,d,e\r\n"
                + "\r\n"
                + "s1,50,-3.5,1e3,true,false\r\n"
                + "s2,0,2.5E-2,,text,\"quoted, \"\"cell\"\"\"\r\n"
                + "   \n"
                + "s3,050,+5,.5, 50,True\n"
                + "s4,1.,NaN,0x10,null,\"\"\n")
            .load();
    assertThat(table.source()).isEqualTo(name());
    assertThat(table.rows().keySet()).containsExactly("s1", "s2", "s3", "s4");
    assertThat(table.row("s1"))
        .containsExactly(
            Map.entry("a", 50.0),
            Map.entry("b", -3.5),
            Map.entry("c", 1000.0),
            Map.entry("d", true),
            Map.entry("e", false));
    assertThat(table.row("s2"))
        .containsExactly(
            Map.entry("a", 0.0),
            Map.entry("b", 0.025),
            Map.entry("d", "text"),
            Map.entry("e", "quoted, \"cell\""));
    // Not JSON numbers or booleans: kept as the text they are.
    assertThat(table.row("s3"))
        .containsExactly(
            Map.entry("a", "050"),
            Map.entry("b", "+5"),
            Map.entry("c", ".5"),
            Map.entry("d", " 50"),
            Map.entry("e", "True"));
    assertThat(table.row("s4"))
        .containsExactly(
            Map.entry("a", "1."),
            Map.entry("b", "NaN"),
            Map.entry("c", "0x10"),
            Map.entry("d", "null"));
  }

  @Test
  void aHeaderOnlyFileIsAnEmptyTable() throws IOException {
    assertThat(csv("\n\nsensor,limit\n\n").load().size()).isZero();
  }

  // ---- CSV errors: each names the file and the line ----

  @Test
  void missingKeyColumnNamesFileAndHeaderLine() throws IOException {
    assertThatThrownBy(() -> csv("\nid,limit\nsensor-1,50\n").load())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(
            name() + ", line 2: the header has no key column 'sensor' (columns: id, limit)");
  }

  @Test
  void raggedRowNamesFileAndLine() throws IOException {
    assertThatThrownBy(() -> csv("sensor,limit\nsensor-1,50\n\nsensor-2,60,extra\n").load())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(name() + ", line 4: the row has 3 cells but the header has 2 columns");
    assertThatThrownBy(() -> csv("sensor,limit\nsensor-1\n").load())
        .hasMessage(name() + ", line 2: the row has 1 cells but the header has 2 columns");
  }

  @Test
  void duplicateKeyNamesBothLines() throws IOException {
    assertThatThrownBy(() -> csv("sensor,limit\ns1,50\ns2,60\ns1,70\n").load())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(name() + ", line 4: key 's1' appears again (first at line 2)");
  }

  @Test
  void emptyKeyNamesLine() throws IOException {
    assertThatThrownBy(() -> csv("limit,sensor\n50,s1\n60,\n").load())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(name() + ", line 3: the key column 'sensor' is empty");
    assertThatThrownBy(() -> csv("limit,sensor\n60,\"  \"\n").load())
        .hasMessage(name() + ", line 2: the key column 'sensor' is empty");
  }

  @Test
  void duplicateHeaderColumnNamesLine() throws IOException {
    assertThatThrownBy(() -> csv("sensor,limit,limit\ns1,1,2\n").load())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(name() + ", line 1: the header is malformed: column 'limit' appears twice");
  }

  @Test
  void headerColumnWithoutNameNamesLine() throws IOException {
    assertThatThrownBy(() -> csv("sensor,,limit\ns1,1,2\n").load())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(name() + ", line 1: the header's column 2 has no name");
  }

  @Test
  void badQuotingAndBadUtf8NameLine() throws IOException {
    assertThatThrownBy(() -> csv("sensor,limit\ns1,\"50\n").load())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(name() + ", line 2: the quote at column 4 is never closed");
    Path file = dir.resolve("latin1.csv");
    Files.write(file, new byte[] {'s', 'e', 'n', 's', 'o', 'r', '\n', 's', (byte) 0xE9, '\n'});
    assertThatThrownBy(() -> ReferenceTableIO.csv(file.toString()).withKeyColumn("sensor").load())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("file " + file + ", line 2: line is not valid UTF-8");
  }

  @Test
  void numberOutOfRangeNamesLineAndColumn() throws IOException {
    assertThatThrownBy(() -> csv("sensor,limit\ns1,1e999\n").load())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(name() + ", line 2: column 'limit': the number 1e999 is out of range");
  }

  @Test
  void emptyOrMissingFileNamesTheFile() throws IOException {
    assertThatThrownBy(() -> csv("\n \n").load())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(name() + " has no header row (the file is empty or blank)");
    Path missing = dir.resolve("missing.csv");
    assertThatThrownBy(() -> ReferenceTableIO.csv(missing.toString()).withKeyColumn("k").load())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("cannot read file " + missing + ": NoSuchFileException");
  }

  // ---- settings ----

  @Test
  void keyColumnIsRequiredByLoadAndExpand() throws IOException {
    ReferenceTableIO.Read read = ReferenceTableIO.csv(write("x.csv", LIMITS).toString());
    String message =
        "keyColumn must be set with withKeyColumn(column) for file " + dir.resolve("x.csv");
    assertThatThrownBy(read::load).isInstanceOf(IllegalArgumentException.class).hasMessage(message);
    assertThatThrownBy(() -> Pipeline.create().apply(read))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(message);
  }

  @Test
  void withMethodsCheckTheirArgumentsNamingArgumentAndValue() {
    ReferenceTableIO.Read read = ReferenceTableIO.csv("x.csv");
    assertThatThrownBy(() -> ReferenceTableIO.csv(" "))
        .hasMessage("path must not be blank, got ' '");
    assertThatThrownBy(() -> read.withKeyColumn(""))
        .hasMessage("keyColumn must not be blank, got ''");
    assertThatThrownBy(() -> read.withRefreshEvery(Duration.ZERO))
        .hasMessage("refreshEvery must be a positive duration, got PT0S");
    assertThat(read.withRefreshEvery(Duration.standardSeconds(5)).withRefreshEvery(null))
        .isEqualTo(read);
    PostgresIO.Database db = PostgresIO.database("jdbc:postgresql://db:5432/metrics");
    assertThatThrownBy(() -> ReferenceTableIO.postgres(null, "limits"))
        .hasMessage("database must not be null");
    for (String bad : List.of("Limits", "a.b.c", "limits; DROP TABLE x", "", ".limits", "1x")) {
      assertThatThrownBy(() -> ReferenceTableIO.postgres(db, bad))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageStartingWith("table must be a table or schema.table")
          .hasMessageEndingWith("got '" + bad + "'");
    }
    assertThat(ReferenceTableIO.postgres(db, "public.limits").describe())
        .isEqualTo("PostgreSQL table public.limits at jdbc:postgresql://db:5432/metrics");
  }

  @Test
  void displayDataShowsSourceKeyColumnAndRefreshButNeverThePassword() {
    DisplayData csv =
        DisplayData.from(
            ReferenceTableIO.csv("examples/limits.csv")
                .withKeyColumn("sensor")
                .withRefreshEvery(Duration.standardMinutes(5)));
    assertThat(items(csv))
        .containsEntry("source", "file examples/limits.csv")
        .containsEntry("keyColumn", "sensor")
        .containsEntry("refreshEvery", "PT300S");
    assertThat(items(DisplayData.from(ReferenceTableIO.csv("x.csv").withKeyColumn("k"))))
        .containsEntry("refreshEvery", "never (read once)");

    ReferenceTableIO.Read postgres =
        ReferenceTableIO.postgres(
                PostgresIO.database("jdbc:postgresql://db:5432/metrics?password=inUrl")
                    .withUser("sluice")
                    .withPassword("s3cret-value"),
                "public.limits")
            .withKeyColumn("sensor");
    Map<String, String> items = items(DisplayData.from(postgres));
    assertThat(items)
        .containsEntry(
            "source", "PostgreSQL table public.limits at jdbc:postgresql://db:5432/metrics?…")
        .containsEntry("user", "sluice");
    assertThat(items.toString()).doesNotContain("s3cret-value").doesNotContain("inUrl");
    assertThat(postgres.describe()).doesNotContain("s3cret-value").doesNotContain("inUrl");
  }

  private static Map<String, String> items(DisplayData data) {
    Map<String, String> items = new java.util.TreeMap<>();
    for (DisplayData.Item item : data.items()) {
      items.put(item.getKey(), String.valueOf(item.getValue()));
    }
    return items;
  }

  // ---- pipelines ----

  /** Looks keys up in the reference view: key -> "column=value, ..." or "none". */
  static final class LookUp extends DoFn<String, KV<String, String>> {
    private final PCollectionView<ReferenceTable> view;

    LookUp(PCollectionView<ReferenceTable> view) {
      this.view = view;
    }

    @ProcessElement
    public void process(ProcessContext c) {
      SortedMap<String, Object> row = c.sideInput(view).row(c.element());
      c.output(KV.of(c.element(), row == null ? "none" : row.toString()));
    }
  }

  @Test
  void readOnceIntoAViewUsedAsSideInput(TestPipeline pipeline) throws IOException {
    PCollectionView<ReferenceTable> view = pipeline.apply("ReadLimits", csv(LIMITS));
    PCollection<KV<String, String>> found =
        pipeline
            .apply("Keys", Create.of("sensor-1", "sensor-2", "sensor-9"))
            .apply("Enrich", ParDo.of(new LookUp(view)).withSideInputs(view))
            .setCoder(KvCoder.of(StringUtf8Coder.of(), StringUtf8Coder.of()));
    PAssert.that(found)
        .containsInAnyOrder(
            KV.of("sensor-1", "{enabled=true, max_temperature=50.0, site=berlin}"),
            KV.of("sensor-2", "{enabled=false, max_temperature=-3.5, site=Paris, \"left\" bank}"),
            KV.of("sensor-9", "none"));
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();
    assertThat(counter(result, ReferenceTableIO.LOADS)).isEqualTo(1);
  }

  @Test
  void aFailedLoadFailsTheReadOncePipelineWithTheLoadMessage(TestPipeline pipeline)
      throws IOException {
    PCollectionView<ReferenceTable> view = pipeline.apply(csv("sensor,limit\ns1,1\ns1,2\n"));
    pipeline
        .apply("Keys", Create.of("s1"))
        .apply("Enrich", ParDo.of(new LookUp(view)).withSideInputs(view))
        .setCoder(KvCoder.of(StringUtf8Coder.of(), StringUtf8Coder.of()));
    assertThatThrownBy(pipeline::run)
        .isInstanceOf(Pipeline.PipelineExecutionException.class)
        .cause()
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(name() + ", line 3: key 's1' appears again (first at line 2)");
  }

  @Test
  void aFailedRefreshEmitsNothingCountsAndDoesNotFailThePipeline(TestPipeline pipeline)
      throws IOException {
    ReferenceTableIO.Read broken =
        csv("sensor,limit\ns1,1,2\n").withRefreshEvery(Duration.standardMinutes(1));
    PCollection<ReferenceTable> tables =
        pipeline
            .apply(Create.of(Instant.now()).withCoder(InstantCoder.of()))
            .apply(ParDo.of(new ReferenceTableIO.LoadFn<Instant>(broken)))
            .setCoder(ReferenceTable.ReferenceTableCoder.of());
    PAssert.that(tables).empty();
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();
    assertThat(counter(result, ReferenceTableIO.REFRESH_FAILURES)).isEqualTo(1);
    assertThat(counter(result, ReferenceTableIO.LOADS)).isZero();
  }

  @Test
  void refreshKeepsTheLastGoodTableWhenALoadFails() throws IOException {
    ReferenceTableIO.Read read =
        csv("sensor,limit\ns1,50\n").withRefreshEvery(Duration.standardMinutes(1));
    ReferenceTableIO.LoadFn<Instant> fn = new ReferenceTableIO.LoadFn<>(read);
    fn.setup();
    List<ReferenceTable> view = new ArrayList<>();
    refreshInto(fn, view);
    assertThat(view).hasSize(1);
    assertThat(view.get(0).row("s1")).containsEntry("limit", 50.0);

    write("limits.csv", "sensor,limit\ns1,60,oops\n");
    refreshInto(fn, view);
    assertThat(view).as("a failed refresh emits nothing").hasSize(1);

    write("limits.csv", "sensor,limit\ns1,70\n");
    refreshInto(fn, view);
    assertThat(view).hasSize(2);
    assertThat(view.get(1).row("s1")).containsEntry("limit", 70.0);
  }

  private static void refreshInto(ReferenceTableIO.LoadFn<?> fn, List<ReferenceTable> out) {
    ReferenceTable table = fn.refresh();
    if (table != null) {
      out.add(table);
    }
  }

  @Test
  void aBurstOfTicksLoadsOncePerHalfInterval() throws IOException {
    ReferenceTableIO.LoadFn<Instant> fn =
        new ReferenceTableIO.LoadFn<>(csv(LIMITS).withRefreshEvery(Duration.standardSeconds(10)));
    long t0 = 1_000_000_000L;
    assertThat(fn.due(t0)).isTrue();
    assertThat(fn.due(t0 + TimeUnit.SECONDS.toNanos(1))).isFalse();
    assertThat(fn.due(t0 + TimeUnit.MILLISECONDS.toNanos(4_999))).isFalse();
    assertThat(fn.due(t0 + TimeUnit.SECONDS.toNanos(5))).isTrue();
    assertThat(fn.due(t0 + TimeUnit.SECONDS.toNanos(6))).isFalse();
    assertThat(fn.due(t0 + TimeUnit.SECONDS.toNanos(15))).isTrue();
  }

  @Test
  void theNewestTableByLoadTimeWinsWhateverTheOrder() {
    ReferenceTable older = ReferenceTable.empty("file a.csv", Instant.ofEpochMilli(1_000));
    ReferenceTable newer = ReferenceTable.empty("file a.csv", Instant.ofEpochMilli(2_000));
    ReferenceTableIO.NewestTable fn = new ReferenceTableIO.NewestTable();
    assertThat(fn.apply(older, newer)).isSameAs(newer);
    assertThat(fn.apply(newer, older)).isSameAs(newer);
    assertThat(fn.apply(List.of(newer, older, older))).isSameAs(newer);
  }

  /** Lookups of the refreshing pipeline test, by run (the DoFn runs on the runner's threads). */
  private static final Map<String, Queue<String>> LOOKUPS = new ConcurrentHashMap<>();

  private static final class Record extends DoFn<Long, Void> {
    private final PCollectionView<ReferenceTable> view;
    private final String run;

    Record(PCollectionView<ReferenceTable> view, String run) {
      this.view = view;
      this.run = run;
    }

    @ProcessElement
    public void process(ProcessContext c) {
      SortedMap<String, Object> row = c.sideInput(view).row("s1");
      LOOKUPS.get(run).add(row == null ? "none" : String.valueOf(row.get("limit")));
    }
  }

  @Test
  void refreshingViewPicksUpChangesAndKeepsTheLastGoodTableOnTheDirectRunner(TestPipeline pipeline)
      throws Exception {
    String run = UUID.randomUUID().toString();
    Queue<String> lookups = new ConcurrentLinkedQueue<>();
    LOOKUPS.put(run, lookups);
    PCollectionView<ReferenceTable> view =
        pipeline.apply(
            "ReadLimits", csv("sensor,limit\ns1,50\n").withRefreshEvery(Duration.millis(200)));
    pipeline
        .apply("Ticks", GenerateSequence.from(0).withRate(1, Duration.millis(50)))
        .apply("Enrich", ParDo.of(new Record(view, run)).withSideInputs(view));
    pipeline.getOptions().as(DirectOptions.class).setBlockOnRun(false);
    PipelineResult result = pipeline.run();
    try {
      awaitRunning(result, "the first table", () -> lookups.contains("50.0"));
      write("limits.csv", "sensor,limit\ns1,60\n");
      awaitRunning(result, "the changed table", () -> lookups.contains("60.0"));

      write("limits.csv", "sensor,limit\ns1,70,broken\n");
      awaitRunning(
          result,
          "a failed refresh",
          () -> counter(result, ReferenceTableIO.REFRESH_FAILURES) >= 2);
      int seen = lookups.size();
      awaitRunning(result, "lookups after the failures", () -> lookups.size() >= seen + 10);
      List<String> after = new ArrayList<>(lookups).subList(seen, lookups.size());
      assertThat(after).as("lookups after failed refreshes").containsOnly("60.0");
      assertThat(counter(result, ReferenceTableIO.LOADS)).isGreaterThanOrEqualTo(2);
      assertThat(new ArrayList<>(lookups)).doesNotContain("none");
    } finally {
      result.cancel();
      result.waitUntilFinish(Duration.standardSeconds(30));
      LOOKUPS.remove(run);
    }
  }

  private static void awaitRunning(
      PipelineResult result, String what, java.util.concurrent.Callable<Boolean> condition) {
    await(what)
        .atMost(java.time.Duration.ofSeconds(60))
        .pollInterval(java.time.Duration.ofMillis(50))
        .until(
            () -> {
              if (result.getState().isTerminal()) {
                result.waitUntilFinish(); // throws the pipeline's failure, if any
                throw new AssertionError("the pipeline ended: " + result.getState());
              }
              return condition.call();
            });
  }

  private static long counter(PipelineResult result, String name) {
    return dev.sluice.testing.Counters.attempted(result, ReferenceTableIO.METRICS_NAMESPACE, name);
  }
}

package dev.sluice.benchmarks.compare;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.runners.FlinkCheckpoints;
import dev.sluice.runners.RunnerPreset;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Runs the reference workload through every implementation side by side and reports throughput.
 *
 * <pre>{@code
 * benchmarks/run compare                       # 10M events, 3 repetitions, the DEFAULT variants
 * benchmarks/run compare --only=sluice-flink-tuned,sluice-flink-filter,sluice-flink-expressions
 * benchmarks/run compare --events=2000000 --reps=5
 * benchmarks/run compare --knobs               # Sluice on Flink with each runner option toggled
 * benchmarks/run compare --state-backends      # checkpoints every 10 s: RocksDB vs heap
 * }</pre>
 *
 * <p>Every run is a fresh JVM (same heap and flags) that first warms up on a smaller input and then
 * runs the measured input; runs are interleaved (each repetition runs every implementation once, in
 * a rotated order) so that a slow phase of the machine hits all of them alike. The clock covers the
 * whole job as a user waits for it, including the Flink mini-cluster's start. Every measured run's
 * output checksum must equal the plain-Java run's, or the run is reported invalid.
 */
public final class Compare {
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  /** An implementation, and the runner options a variant adds. */
  record Variant(String name, String impl, List<String> args, String description) {}

  /**
   * In a variant's options: checkpoint as Sluice's launcher makes embedded Flink checkpoint, {@code
   * FlinkCheckpoints.embeddedOptions} (exactly once every 10 s, heap state backend, checkpoints in
   * a directory of the run); for native Flink the same settings through its own API.
   */
  static final String CHECKPOINTING = "--checkpointing=launcher";

  static final List<Variant> IMPLEMENTATIONS =
      List.of(
          new Variant(
              "sluice-flink",
              "sluice-flink",
              List.of(CHECKPOINTING),
              "Sluice transforms, FlinkRunner embedded, parallelism 2, the FLINK preset as the"
                  + " launcher runs it: checkpoints every 10 s, heap state backend"),
          new Variant(
              "native-flink",
              "native-flink",
              List.of(CHECKPOINTING),
              "hand-written Flink DataStream job, parallelism 2, Flink defaults, checkpointing as"
                  + " sluice-flink"),
          new Variant(
              "sluice-flink-nocheckpoint",
              "sluice-flink",
              List.of(),
              "as sluice-flink, without checkpoints"),
          new Variant(
              "native-flink-nocheckpoint",
              "native-flink",
              List.of(),
              "as native-flink, without checkpoints"),
          new Variant(
              "plain-java",
              "plain-java",
              List.of(),
              "one thread, Jackson data binding and hash maps"),
          new Variant(
              "sluice-direct",
              "sluice-direct",
              List.of(),
              "Sluice transforms, Direct runner, enforcement off, bounded read"),
          new Variant(
              "sluice-flink-tuned",
              "sluice-flink",
              SluiceFlinkTuning.BEST,
              "as sluice-flink-nocheckpoint, with faster copy and bundles of 5000"),
          new Variant(
              "sluice-flink-filter",
              "sluice-flink-filter",
              SluiceFlinkTuning.BEST,
              "as sluice-flink-tuned, plus a CEL filter on every payload"),
          new Variant(
              "sluice-flink-expressions",
              "sluice-flink-expressions",
              SluiceFlinkTuning.BEST,
              "as sluice-flink-tuned, plus a CEL filter and a derived metric on every payload"));

  /** What {@code benchmarks/run compare} runs without {@code --only}; the others on request. */
  static final List<String> DEFAULT =
      List.of(
          "sluice-flink",
          "native-flink",
          "sluice-flink-nocheckpoint",
          "native-flink-nocheckpoint",
          "plain-java",
          "sluice-direct");

  private Compare() {}

  public static void main(String[] args) throws Exception {
    if (args.length > 0 && args[0].equals("child")) {
      child(Arrays.copyOfRange(args, 1, args.length));
      return;
    }
    Settings settings = Settings.parse(args);
    List<Variant> variants =
        settings.stateBackends
            ? SluiceFlinkTuning.stateBackends()
            : settings.knobs ? SluiceFlinkTuning.variants() : settings.selected();
    Path work = Files.createTempDirectory("sluice-compare");
    Workload workload = Workload.reference(settings.events);
    System.out.printf(
        "Workload: %s%nVariants: %s%nRepetitions: %d, each JVM warmed up on a tenth of its input"
            + " (at most %d events)%n",
        workload,
        variants.stream().map(Variant::name).toList(),
        settings.reps,
        settings.warmupEvents);

    Map<String, List<JsonNode>> runs = new LinkedHashMap<>();
    for (Variant v : variants) {
      runs.put(v.name(), new ArrayList<>());
    }
    Map<Long, String> references = new LinkedHashMap<>();
    for (int rep = 0; rep < settings.reps; rep++) {
      for (int k = 0; k < variants.size(); k++) {
        Variant v = variants.get((k + rep) % variants.size());
        long n = settings.eventsFor(v);
        JsonNode result =
            runChild(
                v,
                settings,
                n,
                Math.min(settings.warmupEvents, Math.max(1, n / 10)),
                work.resolve(v.name() + "-" + rep));
        runs.get(v.name()).add(result);
        System.out.printf(
            "rep %d %-28s %8.1f s %,12.0f events/s (last result at %.1f s: %,.0f events/s)"
                + "  stats %d alerts %d other %d  %s%n",
            rep + 1,
            v.name(),
            result.get("seconds").asDouble(),
            result.get("events_per_second").asDouble(),
            result.get("seconds_to_last_result").asDouble(),
            result.get("events_per_second_to_last_result").asDouble(),
            result.get("stats_lines").asLong(),
            result.get("alert_lines").asLong(),
            result.get("other_lines").asLong(),
            result.get("sha256").asText().substring(0, 12));
        if (v.impl().equals("plain-java")) {
          references.putIfAbsent(result.get("events").asLong(), result.get("sha256").asText());
        }
      }
    }
    // Every input size needs the plain-Java output to check against; run it where none was.
    for (Variant v : variants) {
      long n = settings.eventsFor(v);
      if (!references.containsKey(n)) {
        Variant plain = new Variant("plain-java", "plain-java", List.of(), "reference output");
        JsonNode result = runChild(plain, settings, n, 0, work.resolve("reference-" + n));
        references.put(n, result.get("sha256").asText());
        System.out.printf(
            "reference output for %d events (plain Java, not timed): %s%n",
            n, result.get("sha256").asText().substring(0, 12));
      }
    }
    ObjectNode report = report(settings, workload, variants, runs, references);
    String date = LocalDate.now(ZoneOffset.UTC).toString();
    Path dir = Paths.get(settings.resultsDir);
    Files.createDirectories(dir);
    String base =
        date + (settings.knobs ? "-knobs" : "") + (settings.stateBackends ? "-state-backends" : "");
    Files.writeString(dir.resolve(base + ".json"), JSON.writeValueAsString(report));
    String markdown = Report.markdown(report);
    Files.writeString(dir.resolve(base + ".md"), markdown);
    System.out.println();
    System.out.println(markdown);
    System.out.println(
        "Written: "
            + dir.resolve(base + ".json")
            + " and "
            + base
            + ".md"
            + chart(report, dir.resolve(base + ".png")));
    deleteRecursively(work);
  }

  /**
   * Draws the chart; a failure to draw must not lose a run that took minutes, whose JSON is already
   * written ({@code benchmarks/run chart} redraws it), so it is reported, not thrown.
   */
  static String chart(JsonNode report, Path png) {
    try {
      Charts.write(report, png);
      return " and " + png.getFileName();
    } catch (RuntimeException | IOException | LinkageError | java.awt.AWTError e) {
      return "; the chart " + png.getFileName() + " was not drawn: " + e;
    }
  }

  private static ObjectNode report(
      Settings settings,
      Workload workload,
      List<Variant> variants,
      Map<String, List<JsonNode>> runs,
      Map<Long, String> references) {
    ObjectNode report = JSON.createObjectNode();
    report.put("date", LocalDate.now(ZoneOffset.UTC).toString());
    report.put(
        "command",
        "benchmarks/run compare"
            + (settings.knobs ? " --knobs" : "")
            + (settings.stateBackends ? " --state-backends" : "")
            + " --events="
            + settings.events
            + " --reps="
            + settings.reps
            + " --direct-events="
            + settings.directEvents);
    report.put("workload", workload.toString());
    report.put("events", settings.events);
    report.put("warmup_events", settings.warmupEvents);
    report.put("repetitions", settings.reps);
    report.set("machine", machine(settings));
    ObjectNode refs = report.putObject("reference_sha256");
    references.forEach((n, sha) -> refs.put(Long.toString(n), sha));
    ArrayNode results = report.putArray("results");
    for (Variant v : variants) {
      List<JsonNode> list = runs.get(v.name());
      double[] rates =
          list.stream().mapToDouble(r -> r.get("events_per_second").asDouble()).toArray();
      double[] seconds = list.stream().mapToDouble(r -> r.get("seconds").asDouble()).toArray();
      boolean valid =
          list.stream()
              .allMatch(
                  r -> r.get("sha256").asText().equals(references.get(r.get("events").asLong())));
      ObjectNode row = results.addObject();
      row.put("name", v.name());
      row.put("description", v.description());
      row.put("options", String.join(" ", v.args()));
      row.put("events", settings.eventsFor(v));
      row.put("valid", valid);
      row.put("median_events_per_second", median(rates));
      row.put("min_events_per_second", Arrays.stream(rates).min().orElse(0));
      row.put("max_events_per_second", Arrays.stream(rates).max().orElse(0));
      row.put("median_seconds", median(seconds));
      row.put(
          "median_events_per_second_to_last_result",
          median(
              list.stream()
                  .mapToDouble(r -> r.path("events_per_second_to_last_result").asDouble())
                  .toArray()));
      row.put(
          "median_seconds_to_last_result",
          median(
              list.stream()
                  .mapToDouble(r -> r.path("seconds_to_last_result").asDouble())
                  .toArray()));
      row.put("stats_lines", list.get(0).get("stats_lines").asLong());
      row.put("alert_lines", list.get(0).get("alert_lines").asLong());
      row.put("other_lines", list.get(0).get("other_lines").asLong());
      if (list.get(0).has("checkpoints")) {
        ArrayNode checkpoints = row.putArray("checkpoints");
        list.forEach(r -> checkpoints.add(r.get("checkpoints").asInt()));
      }
      row.set("runs", JSON.valueToTree(list));
    }
    ObjectNode ratios = report.putObject("ratios");
    double nativeFlink = medianOf(results, "native-flink");
    double nativeFlinkToLast =
        medianOf(results, "native-flink", "median_events_per_second_to_last_result");
    double plain = medianOf(results, "plain-java");
    for (JsonNode row : results) {
      double m = row.get("median_events_per_second").asDouble();
      ObjectNode r = ratios.putObject(row.get("name").asText());
      if (nativeFlink > 0) {
        r.put("to_native_flink", m / nativeFlink);
      }
      if (nativeFlinkToLast > 0) {
        r.put(
            "to_native_flink_to_last_result",
            row.get("median_events_per_second_to_last_result").asDouble() / nativeFlinkToLast);
      }
      if (plain > 0) {
        r.put("to_plain_java", m / plain);
      }
    }
    return report;
  }

  static double medianOf(JsonNode results, String name) {
    return medianOf(results, name, "median_events_per_second");
  }

  static double medianOf(JsonNode results, String name, String field) {
    for (JsonNode row : results) {
      if (row.get("name").asText().equals(name)) {
        return row.path(field).asDouble();
      }
    }
    return 0;
  }

  static double median(double[] values) {
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    int n = sorted.length;
    return n == 0 ? 0 : n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  }

  private static ObjectNode machine(Settings settings) {
    ObjectNode m = JSON.createObjectNode();
    m.put("cores", Runtime.getRuntime().availableProcessors());
    com.sun.management.OperatingSystemMXBean os =
        (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    m.put("memory_gib", Math.round(os.getTotalMemorySize() / (1024.0 * 1024 * 1024) * 10) / 10.0);
    m.put("cpu", cpuModel());
    m.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version"));
    m.put(
        "jvm",
        System.getProperty("java.vm.name")
            + " "
            + System.getProperty("java.runtime.version")
            + " ("
            + System.getProperty("java.vendor")
            + ")");
    m.put("jvm_flags", String.join(" ", settings.jvmFlags()));
    return m;
  }

  static String cpuModel() {
    try (Stream<String> lines = Files.lines(Paths.get("/proc/cpuinfo"))) {
      return lines
          .filter(l -> l.startsWith("model name"))
          .map(l -> l.substring(l.indexOf(':') + 1).trim())
          .findFirst()
          .orElse("unknown");
    } catch (IOException | RuntimeException e) {
      return "unknown";
    }
  }

  private static JsonNode runChild(
      Variant v, Settings settings, long events, long warmupEvents, Path dir) throws Exception {
    Files.createDirectories(dir);
    List<String> command = new ArrayList<>();
    command.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(settings.jvmFlags());
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(Compare.class.getName());
    command.add("child");
    command.add(v.impl());
    command.add(Long.toString(events));
    command.add(Long.toString(warmupEvents));
    command.add(dir.toString());
    command.addAll(v.args());
    Path log = dir.resolve("run.log");
    Process process =
        new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    int exit = process.waitFor();
    List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
    for (String line : lines) {
      if (line.startsWith("RESULT ")) {
        ObjectNode result = (ObjectNode) JSON.readTree(line.substring("RESULT ".length()));
        result.put("variant", v.name());
        return result;
      }
    }
    int from = Math.max(0, lines.size() - 40);
    throw new IllegalStateException(
        v.name()
            + " exited "
            + exit
            + " without a result; the end of its log "
            + log
            + ":\n"
            + String.join("\n", lines.subList(from, lines.size())));
  }

  /** One measured run in this JVM: warm-up, then the timed run, then its output summary. */
  private static void child(String[] args) throws Exception {
    String impl = args[0];
    long events = Long.parseLong(args[1]);
    long warmupEvents = Long.parseLong(args[2]);
    Path dir = Paths.get(args[3]);
    List<String> extra = new ArrayList<>(List.of(args).subList(4, args.length));
    boolean checkpointing = extra.remove(CHECKPOINTING);
    Workload workload = Workload.reference(events);
    if (warmupEvents > 0) {
      runOnce(
          impl,
          workload.withEvents(warmupEvents),
          dir.resolve("warmup"),
          extra,
          checkpointing ? dir.resolve("warmup-checkpoints") : null);
    }
    Path checkpoints = checkpointing ? dir.resolve("checkpoints") : null;
    int completedCheckpoints;
    long start = System.nanoTime();
    Outputs.LineFile.LAST_WRITE_NANOS.set(start);
    try (CheckpointWatch watch = CheckpointWatch.of(dir.resolve("checkpoints"))) {
      runOnce(impl, workload, dir.resolve("out"), extra, checkpoints);
      completedCheckpoints = watch.completed();
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    // A Beam job on Flink with checkpoints ends only when its sources have been idle for
    // --shutdownSourcesAfterIdleMs (15 s in the launcher's preset): that tail is in seconds, not here.
    double toLastResult = (Outputs.LineFile.LAST_WRITE_NANOS.get() - start) / 1e9;
    if (checkpointing && completedCheckpoints == 0) {
      throw new IllegalStateException(
          impl + " was to checkpoint but completed no checkpoint in " + checkpoints);
    }
    Outputs.Summary summary = Outputs.summarize(dir.resolve("out"));
    ObjectNode result = new ObjectMapper().createObjectNode();
    result.put("impl", impl);
    result.put("events", events);
    result.put("warmup_events", warmupEvents);
    result.put("seconds", seconds);
    result.put("events_per_second", events / seconds);
    result.put("seconds_to_last_result", toLastResult);
    result.put("events_per_second_to_last_result", events / toLastResult);
    result.put("stats_lines", summary.statsLines());
    result.put("alert_lines", summary.alertLines());
    result.put("other_lines", summary.otherLines());
    result.put("sha256", summary.sha256());
    if (checkpointing) {
      result.put("checkpoints", completedCheckpoints);
    }
    System.out.println("RESULT " + new ObjectMapper().writeValueAsString(result));
    System.out.flush();
    // Flink's and Beam's non-daemon threads must not keep the JVM alive.
    System.exit(0);
  }

  /** One run; {@code checkpoints} is the checkpoint directory, or null for no checkpointing. */
  private static void runOnce(
      String impl, Workload workload, Path dir, List<String> extra, Path checkpoints)
      throws Exception {
    Files.createDirectories(dir);
    if (checkpoints != null && !impl.startsWith("sluice-flink") && !impl.equals("native-flink")) {
      throw new IllegalArgumentException(impl + " cannot checkpoint");
    }
    List<String> options = new ArrayList<>(extra);
    if (checkpoints != null && impl.startsWith("sluice-flink")) {
      // Exactly the options the launcher gives an embedded Flink job (it writes a Flink
      // configuration with the restart strategy under the directory).
      options.addAll(FlinkCheckpoints.under(checkpoints).embeddedOptions(null, false));
    }
    switch (impl) {
      case "plain-java" -> PlainJavaJob.run(workload, dir);
      case "native-flink" -> NativeFlinkJob.run(workload, dir, 2, checkpoints);
      case "sluice-flink" -> SluiceBeamJob.run(workload, dir, RunnerPreset.FLINK, true, options);
      case "sluice-flink-filter" ->
          SluiceBeamJob.run(workload, dir, RunnerPreset.FLINK, true, SluiceBeamJob.FILTER, options);
      case "sluice-flink-expressions" ->
          SluiceBeamJob.run(
              workload, dir, RunnerPreset.FLINK, true, SluiceBeamJob.EXPRESSIONS, options);
      case "sluice-flink-bounded" ->
          SluiceBeamJob.run(workload, dir, RunnerPreset.FLINK, false, options);
      case "sluice-direct" -> SluiceBeamJob.run(workload, dir, RunnerPreset.DIRECT, false, options);
      default -> throw new IllegalArgumentException("unknown implementation '" + impl + "'");
    }
  }

  private static void deleteRecursively(Path dir) throws IOException {
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : paths.sorted((a, b) -> b.compareTo(a)).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  /** The command line. */
  static final class Settings {
    long events = 10_000_000L;
    long warmupEvents = -1;
    long directEvents = -1;
    int reps = 3;
    boolean knobs;
    boolean stateBackends;
    String heap = "6g";
    String resultsDir = "benchmarks/results";
    List<String> only = List.of();

    static Settings parse(String[] args) {
      Settings s = new Settings();
      for (String arg : args) {
        String name = arg.contains("=") ? arg.substring(0, arg.indexOf('=')) : arg;
        String value = arg.contains("=") ? arg.substring(arg.indexOf('=') + 1) : "";
        switch (name) {
          case "--events" -> s.events = positive(name, value);
          case "--warmup-events" -> s.warmupEvents = Long.parseLong(value);
          case "--direct-events" -> s.directEvents = positive(name, value);
          case "--reps" -> s.reps = (int) positive(name, value);
          case "--knobs" -> s.knobs = true;
          case "--state-backends" -> s.stateBackends = true;
          case "--heap" -> s.heap = value;
          case "--results-dir" -> s.resultsDir = value;
          case "--only" -> s.only = List.of(value.split(","));
          default ->
              throw new IllegalArgumentException(
                  "unknown option '"
                      + arg
                      + "'; use --events=N --direct-events=N --reps=N --warmup-events=N --only=a,b --knobs --state-backends"
                      + " --heap=6g --results-dir=DIR");
        }
      }
      if (s.directEvents < 0) {
        s.directEvents = Math.min(s.events, 500_000L);
      }
      if (s.warmupEvents < 0) {
        s.warmupEvents = Math.min(s.events, Math.max(100_000L, s.events / 10));
      }
      for (String name : s.only) {
        if (IMPLEMENTATIONS.stream().noneMatch(v -> v.name().equals(name))) {
          throw new IllegalArgumentException(
              "--only: '"
                  + name
                  + "' is not an implementation; use "
                  + IMPLEMENTATIONS.stream().map(Variant::name).toList());
        }
      }
      return s;
    }

    /**
     * The Direct runner is a test runner, two orders of magnitude slower than the others: it gets
     * its own, smaller input (checked against plain Java on that input), or it would take hours.
     */
    long eventsFor(Variant v) {
      return v.impl().equals("sluice-direct") ? directEvents : events;
    }

    List<Variant> selected() {
      List<String> names = only.isEmpty() ? DEFAULT : only;
      return IMPLEMENTATIONS.stream().filter(v -> names.contains(v.name())).toList();
    }

    List<String> jvmFlags() {
      return List.of("-Xms" + heap, "-Xmx" + heap, "-XX:+UseG1GC");
    }

    private static long positive(String name, String value) {
      long v;
      try {
        v = Long.parseLong(value.replace("_", ""));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(name + " must be a number, got '" + value + "'");
      }
      if (v < 1) {
        throw new IllegalArgumentException(name + " must be at least 1, got " + v);
      }
      return v;
    }
  }
}

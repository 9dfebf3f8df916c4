package dev.sluice.benchmarks.compare;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.runners.RunnerPreset;
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
import java.util.Locale;
import java.util.Map;
import org.joda.time.Duration;

/**
 * What deduplication costs: the reference workload, with 100 keys instead of 10,000 and with
 * redeliveries (one every 100 events, by default), through Sluice without {@code Deduplicate} and
 * with it (horizons 10 minutes and 2 hours), on the Direct runner and on embedded Flink; events per
 * second and the on/off ratio of the run times per runner.
 *
 * <pre>{@code
 * benchmarks/run dedup                                   # 1M events on Flink, 200k on Direct
 * benchmarks/run dedup --flink-events=2000000 --reps=3 --only=flink
 * }</pre>
 *
 * <p>Every run is a fresh JVM that warms up on a tenth of its input; runs are interleaved. A run
 * with deduplication counts only if its output (stats, alerts, dead letters, sorted) has the
 * SHA-256 of the plain-Java output of the same events without redeliveries, and its {@code
 * duplicates_dropped} counter equals the number of redeliveries. A run without deduplication counts
 * the redeliveries in its windows, so its output differs from that reference (it is checked to).
 */
public final class DedupBenchmark {
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private DedupBenchmark() {}

  /** A deduplication setting: off, or a horizon. */
  record Dedup(String name, Duration horizon) {}

  static final List<Dedup> DEDUPS =
      List.of(
          new Dedup("off", null),
          new Dedup("10m", Duration.standardMinutes(10)),
          new Dedup("2h", Duration.standardHours(2)));

  public static void main(String[] args) throws Exception {
    if (args.length > 0 && args[0].equals("child")) {
      child(Arrays.copyOfRange(args, 1, args.length));
      return;
    }
    Settings settings = Settings.parse(args);
    Path work = Files.createTempDirectory("sluice-dedup");
    System.out.printf(
        "Workload: %s%nRunners: %s, deduplication: %s, %d repetition(s)%n",
        workload(settings, settings.flinkEvents),
        settings.runners,
        DEDUPS.stream().map(Dedup::name).toList(),
        settings.reps);

    Map<Long, String> references = new LinkedHashMap<>();
    for (String runner : settings.runners) {
      long n = settings.eventsFor(runner);
      if (!references.containsKey(n)) {
        Path dir = work.resolve("reference-" + n);
        Files.createDirectories(dir);
        // The plain-Java job reads the distinct events only: the output without redeliveries.
        PlainJavaJob.run(workload(settings, n), dir);
        references.put(n, Outputs.summarize(dir).sha256());
        System.out.printf(
            "reference output for %,d events without redeliveries (plain Java): %s%n",
            n, references.get(n).substring(0, 12));
      }
    }

    Map<String, List<JsonNode>> runs = new LinkedHashMap<>();
    for (int rep = 0; rep < settings.reps; rep++) {
      for (String runner : settings.runners) {
        for (int k = 0; k < DEDUPS.size(); k++) {
          Dedup dedup = DEDUPS.get((k + rep) % DEDUPS.size());
          long n = settings.eventsFor(runner);
          JsonNode result =
              runChild(
                  settings,
                  runner,
                  dedup,
                  n,
                  work.resolve(runner + "-" + dedup.name() + "-" + rep));
          runs.computeIfAbsent(runner + "/" + dedup.name(), x -> new ArrayList<>()).add(result);
          System.out.printf(
              "rep %d %-7s dedup %-4s %8.1f s %,10.0f events/s  dropped %,d  %s%n",
              rep + 1,
              runner,
              dedup.name(),
              result.get("seconds").asDouble(),
              result.get("events_per_second").asDouble(),
              result.get("duplicates_dropped").asLong(),
              result.get("sha256").asText().substring(0, 12));
        }
      }
    }
    ObjectNode report = report(settings, runs, references);
    String date = LocalDate.now(ZoneOffset.UTC).toString();
    Path dir = Paths.get(settings.resultsDir);
    Files.createDirectories(dir);
    String base = date + "-dedup";
    Files.writeString(dir.resolve(base + ".json"), JSON.writeValueAsString(report));
    String markdown = markdown(report);
    Files.writeString(dir.resolve(base + ".md"), markdown);
    System.out.println();
    System.out.println(markdown);
    System.out.println("Written: " + dir.resolve(base + ".json") + " and " + base + ".md");
    boolean allValid = true;
    for (JsonNode row : report.get("results")) {
      allValid &= row.get("valid").asBoolean();
    }
    if (!allValid) {
      System.err.println("Some runs' outputs are wrong; see the table.");
      System.exit(1);
    }
  }

  static Workload workload(Settings settings, long events) {
    return workload(events, settings.keys, settings.redeliverEvery);
  }

  /**
   * The reference workload with fewer keys (100 by default, against 10,000: the Direct runner's
   * cost is mostly per key and would hide the step measured), and redeliveries.
   */
  static Workload workload(long events, int keys, int redeliverEvery) {
    Workload reference = Workload.reference(events);
    return new Workload(events, keys, reference.eventsPerSecond, reference.threshold)
        .withRedeliveries(redeliverEvery);
  }

  private static ObjectNode report(
      Settings settings, Map<String, List<JsonNode>> runs, Map<Long, String> references) {
    ObjectNode report = JSON.createObjectNode();
    report.put("date", LocalDate.now(ZoneOffset.UTC).toString());
    report.put(
        "command",
        "benchmarks/run dedup --flink-events="
            + settings.flinkEvents
            + " --direct-events="
            + settings.directEvents
            + " --reps="
            + settings.reps
            + " --redeliver-every="
            + settings.redeliverEvery
            + " --keys="
            + settings.keys
            + " --only="
            + String.join(",", settings.runners));
    report.put("workload", workload(settings, settings.flinkEvents).toString());
    report.put("repetitions", settings.reps);
    report.set("machine", machine(settings));
    ObjectNode refs = report.putObject("reference_sha256");
    references.forEach((n, sha) -> refs.put(Long.toString(n), sha));
    ArrayNode results = report.putArray("results");
    for (String runner : settings.runners) {
      long n = settings.eventsFor(runner);
      Workload workload = workload(settings, n);
      long redeliveries = workload.streamLength() - workload.numEvents;
      double offSeconds = 0;
      for (Dedup dedup : DEDUPS) {
        List<JsonNode> list = runs.get(runner + "/" + dedup.name());
        double[] rates =
            list.stream().mapToDouble(r -> r.get("events_per_second").asDouble()).toArray();
        double[] seconds = list.stream().mapToDouble(r -> r.get("seconds").asDouble()).toArray();
        boolean on = dedup.horizon() != null;
        String reference = references.get(n);
        boolean valid =
            list.stream()
                .allMatch(
                    r ->
                        on
                            ? r.get("sha256").asText().equals(reference)
                                && r.get("duplicates_dropped").asLong() == redeliveries
                            : !r.get("sha256").asText().equals(reference)
                                && r.get("duplicates_dropped").asLong() == 0);
        double medianSeconds = Compare.median(seconds);
        if (!on) {
          offSeconds = medianSeconds;
        }
        ObjectNode row = results.addObject();
        row.put("runner", runner);
        row.put("dedup", dedup.name());
        row.put("events", workload.streamLength());
        row.put("distinct_events", workload.numEvents);
        row.put("redeliveries", redeliveries);
        row.put("valid", valid);
        row.put("median_events_per_second", Compare.median(rates));
        row.put("min_events_per_second", Arrays.stream(rates).min().orElse(0));
        row.put("max_events_per_second", Arrays.stream(rates).max().orElse(0));
        row.put("median_seconds", medianSeconds);
        row.put("time_to_off", offSeconds > 0 ? medianSeconds / offSeconds : 0);
        row.put("duplicates_dropped", list.get(0).get("duplicates_dropped").asLong());
        row.set("runs", JSON.valueToTree(list));
      }
    }
    return report;
  }

  static String markdown(JsonNode report) {
    JsonNode m = report.get("machine");
    StringBuilder md = new StringBuilder();
    md.append("Workload: ").append(report.get("workload").asText()).append(".\n");
    md.append(
        String.format(
            Locale.ROOT,
            "Machine: %d cores (%s), %s; each run a fresh JVM with %s.%n",
            m.get("cores").asInt(),
            m.get("cpu").asText(),
            m.get("jvm").asText(),
            m.get("jvm_flags").asText()));
    md.append(
        String.format(
            Locale.ROOT,
            "Command: `%s` (%s); %d measured repetition(s), interleaved, each in a fresh JVM after"
                + " a warm-up run on a tenth of its input.%n%n",
            report.get("command").asText(),
            report.get("date").asText(),
            report.get("repetitions").asInt()));
    md.append(
        "| runner | dedup horizon | events | median events/s | min – max events/s | median s"
            + " | time × off | duplicates dropped | output |\n");
    md.append("|---|---|---:|---:|---:|---:|---:|---:|---|\n");
    for (JsonNode row : report.get("results")) {
      boolean on = !row.get("dedup").asText().equals("off");
      md.append(
          String.format(
              Locale.ROOT,
              "| %s | %s | %,d | %,.0f | %,.0f – %,.0f | %.1f | %.2f | %,d | %s |%n",
              row.get("runner").asText(),
              row.get("dedup").asText(),
              row.get("events").asLong(),
              row.get("median_events_per_second").asDouble(),
              row.get("min_events_per_second").asDouble(),
              row.get("max_events_per_second").asDouble(),
              row.get("median_seconds").asDouble(),
              row.get("time_to_off").asDouble(),
              row.get("duplicates_dropped").asLong(),
              !row.get("valid").asBoolean()
                  ? "**WRONG: invalid**"
                  : on ? "= without redeliveries" : "counts redeliveries"));
    }
    md.append(
        "\nOutput check: a run with deduplication is valid if its sorted output lines have the"
            + " SHA-256 of the plain-Java output of the events without redeliveries, and it"
            + " dropped exactly the redeliveries; a run without deduplication if its output"
            + " differs from that (the redeliveries are counted):");
    report
        .get("reference_sha256")
        .fields()
        .forEachRemaining(
            e ->
                md.append(
                    String.format(
                        Locale.ROOT,
                        " %,d events → %s…",
                        Long.parseLong(e.getKey()),
                        e.getValue().asText().substring(0, 16))));
    md.append(".\n");
    return md.toString();
  }

  private static ObjectNode machine(Settings settings) {
    ObjectNode m = JSON.createObjectNode();
    m.put("cores", Runtime.getRuntime().availableProcessors());
    m.put("cpu", Compare.cpuModel());
    m.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version"));
    m.put(
        "jvm",
        System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"));
    m.put("jvm_flags", String.join(" ", settings.jvmFlags()));
    return m;
  }

  private static JsonNode runChild(
      Settings settings, String runner, Dedup dedup, long events, Path dir) throws Exception {
    Files.createDirectories(dir);
    List<String> command = new ArrayList<>();
    command.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(settings.jvmFlags());
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(DedupBenchmark.class.getName());
    command.add("child");
    command.add(runner);
    command.add(dedup.name());
    command.add(Long.toString(events));
    command.add(Long.toString(Math.max(1, events / 10)));
    command.add(Integer.toString(settings.redeliverEvery));
    command.add(Integer.toString(settings.keys));
    command.add(dir.toString());
    Path log = dir.resolve("run.log");
    Process process =
        new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    int exit = process.waitFor();
    List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
    for (String line : lines) {
      if (line.startsWith("RESULT ")) {
        return JSON.readTree(line.substring("RESULT ".length()));
      }
    }
    int from = Math.max(0, lines.size() - 40);
    throw new IllegalStateException(
        runner
            + " dedup "
            + dedup.name()
            + " exited "
            + exit
            + " without a result; the end of its log "
            + log
            + ":\n"
            + String.join("\n", lines.subList(from, lines.size())));
  }

  /** One measured run in this JVM: warm-up, then the timed run, then its output summary. */
  private static void child(String[] args) throws Exception {
    String runner = args[0];
    Dedup dedup =
        DEDUPS.stream()
            .filter(d -> d.name().equals(args[1]))
            .findFirst()
            .orElseThrow(() -> new IllegalArgumentException("unknown dedup " + args[1]));
    long events = Long.parseLong(args[2]);
    long warmupEvents = Long.parseLong(args[3]);
    int redeliverEvery = Integer.parseInt(args[4]);
    int keys = Integer.parseInt(args[5]);
    Path dir = Paths.get(args[6]);
    Workload workload = workload(events, keys, redeliverEvery);
    runOnce(runner, dedup, workload.withEvents(warmupEvents), dir.resolve("warmup"));
    long start = System.nanoTime();
    long dropped = runOnce(runner, dedup, workload, dir.resolve("out"));
    double seconds = (System.nanoTime() - start) / 1e9;
    Outputs.Summary summary = Outputs.summarize(dir.resolve("out"));
    ObjectNode result = new ObjectMapper().createObjectNode();
    result.put("runner", runner);
    result.put("dedup", dedup.name());
    result.put("events", workload.streamLength());
    result.put("warmup_events", warmupEvents);
    result.put("seconds", seconds);
    result.put("events_per_second", workload.streamLength() / seconds);
    result.put("duplicates_dropped", dropped);
    result.put("stats_lines", summary.statsLines());
    result.put("alert_lines", summary.alertLines());
    result.put("other_lines", summary.otherLines());
    result.put("sha256", summary.sha256());
    System.out.println("RESULT " + new ObjectMapper().writeValueAsString(result));
    System.out.flush();
    // Flink's and Beam's non-daemon threads must not keep the JVM alive.
    System.exit(0);
  }

  private static long runOnce(String runner, Dedup dedup, Workload workload, Path dir)
      throws Exception {
    Files.createDirectories(dir);
    return switch (runner) {
        // Streaming on Flink (an unbounded source, as Kafka is), with the tuned options.
      case "flink" ->
          SluiceBeamJob.run(
              workload,
              dir,
              RunnerPreset.FLINK,
              true,
              null,
              dedup.horizon(),
              SluiceFlinkTuning.BEST);
        // A bounded read on Direct, as Compare runs it (its unbounded reads are far slower).
      case "direct" ->
          SluiceBeamJob.run(
              workload, dir, RunnerPreset.DIRECT, false, null, dedup.horizon(), List.of());
      default -> throw new IllegalArgumentException("unknown runner '" + runner + "'");
    };
  }

  /** The command line. */
  static final class Settings {
    long flinkEvents = 1_000_000L;
    long directEvents = 200_000L;
    int keys = 100;
    int reps = 1;
    int redeliverEvery = 100;
    String heap = "4g";
    String resultsDir = "benchmarks/results";
    List<String> runners = List.of("direct", "flink");

    static Settings parse(String[] args) {
      Settings s = new Settings();
      for (String arg : args) {
        String name = arg.contains("=") ? arg.substring(0, arg.indexOf('=')) : arg;
        String value = arg.contains("=") ? arg.substring(arg.indexOf('=') + 1) : "";
        switch (name) {
          case "--flink-events" -> s.flinkEvents = positive(name, value);
          case "--direct-events" -> s.directEvents = positive(name, value);
          case "--reps" -> s.reps = (int) positive(name, value);
          case "--redeliver-every" -> s.redeliverEvery = (int) positive(name, value);
          case "--keys" -> s.keys = (int) positive(name, value);
          case "--heap" -> s.heap = value;
          case "--results-dir" -> s.resultsDir = value;
          case "--only" -> {
            s.runners = List.of(value.split(","));
            for (String r : s.runners) {
              if (!r.equals("direct") && !r.equals("flink")) {
                throw new IllegalArgumentException(
                    "--only: '" + r + "' is not a runner; use direct, flink");
              }
            }
          }
          default ->
              throw new IllegalArgumentException(
                  "unknown option '"
                      + arg
                      + "'; use --flink-events=N --direct-events=N --reps=N --redeliver-every=N"
                      + " --keys=N --only=direct,flink --heap=4g --results-dir=DIR");
        }
      }
      return s;
    }

    long eventsFor(String runner) {
      return runner.equals("direct") ? directEvents : flinkEvents;
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

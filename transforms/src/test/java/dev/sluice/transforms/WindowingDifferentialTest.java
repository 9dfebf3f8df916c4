package dev.sluice.transforms;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.transforms.DifferentialScenario.Config;
import dev.sluice.transforms.DifferentialScenario.Input;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import java.util.stream.LongStream;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.transforms.windowing.IntervalWindow;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The differential test: randomized scripts ({@link DifferentialScenario}) through {@link
 * WindowedAggregate} and through Beam's own windowing with the same trigger and allowed lateness,
 * on the Direct runner; every pane, every final flag, the set of events in {@code late()} and their
 * lateness must agree, for every family ({@link Config}).
 *
 * <p>{@code -Dsluice.differential.scenarios=N} sets how many seeds run (default 16, in {@code mvn
 * verify}); {@code -Dsluice.differential.firstSeed=S} where they start. A failure names the seed
 * and prints its script.
 */
class WindowingDifferentialTest {

  static List<Config> configs() {
    String only = System.getProperty("sluice.differential.configs");
    if (only == null) {
      return Arrays.asList(Config.values());
    }
    return Arrays.stream(only.split(",")).map(Config::valueOf).toList();
  }

  static LongStream seeds() {
    long first = Long.getLong("sluice.differential.firstSeed", 1);
    long count = Long.getLong("sluice.differential.scenarios", 16);
    return LongStream.range(first, first + count);
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void agreesWithBeamWindowingOnTheDirectRunner(long seed) {
    DifferentialScenario scenario = DifferentialScenario.generate(seed);
    Map<Config, Outputs> outputs = runOnDirect(scenario, configs(), LateDataGate.TimerClock.RUNNER);
    for (Config config : configs()) {
      Outputs out = outputs.get(config);
      String context = config + ", " + scenario.describe();
      assertThat(out.stats).as("panes of %s", context).isEqualTo(out.reference);
      assertThat(out.lateLines())
          .as("late() of %s (each pair once)", context)
          .containsExactlyElementsOf(droppedByReference(scenario, config, out));
      assertExactLateness(scenario, out, context);
      assertConservation(scenario, config, out, context);
    }
  }

  /**
   * The late-data decision with the clock Beam's portable harness (Dataflow Runner v2) shows: the
   * element's timestamp, or the timer's firing time. For every family nothing is lost or counted
   * twice, and {@code late()} holds only events Beam drops; an event Beam drops that the evidence
   * could not yet prove late is counted instead (see {@link LateDataGate}).
   */
  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void portableHarnessClockLosesNothingAndCountsNothingTwice(long seed) {
    DifferentialScenario scenario = DifferentialScenario.generate(seed);
    Map<Config, Outputs> outputs =
        runOnDirect(scenario, configs(), LateDataGate.TimerClock.PORTABLE_HARNESS);
    for (Config config : configs()) {
      Outputs out = outputs.get(config);
      String context = config + " with the portable harness clock, " + scenario.describe();
      assertConservation(scenario, config, out, context);
      Set<String> dropped = droppedByReference(scenario, config, out);
      assertThat(dropped)
          .as("late() of %s holds only events Beam drops", context)
          .containsAll(out.lateLines());
      assertThat(out.lateLines())
          .as("late() of %s has each pair once", context)
          .doesNotHaveDuplicates();
      if (!config.sessions() && !scenario.longGaps) {
        // The chain keeps up with these scripts: an event whose window closed a whole evidence
        // step before it arrived is proven late, unless it came with the script's first events
        // (nothing can be known about the watermark before then).
        assertThat(out.lateLines())
            .as("late() of %s holds what closed a step before", context)
            .containsAll(closedAStepBefore(scenario, config, dropped));
      }
    }
  }

  /** What one run collected for one config. */
  record Outputs(
      List<String> stats, List<String> late, List<String> reference, List<String> members) {
    /** The late lines without their lateness, sorted, duplicates kept. */
    List<String> lateLines() {
      List<String> pairs = new java.util.ArrayList<>();
      for (String line : late) {
        pairs.add(line.substring(0, line.lastIndexOf(" lateness=")));
      }
      java.util.Collections.sort(pairs);
      return pairs;
    }
  }

  /**
   * Runs the script on the Direct runner. A run that Beam's Direct runner aborts with its own
   * watermark race (see {@link #isDirectRunnerHoldRace}) is run again, at most twice: the race is
   * in Beam, not in what this test checks, and a rerun plays the same script.
   */
  static Map<Config, Outputs> runOnDirect(
      DifferentialScenario scenario, List<Config> configs, LateDataGate.TimerClock clock) {
    for (int attempt = 1; ; attempt++) {
      Pipeline pipeline =
          Pipeline.create(
              PipelineOptionsFactory.fromArgs(
                      "--runner=DirectRunner",
                      "--enforceImmutability=false",
                      "--enforceEncodability=false")
                  .create());
      try {
        return run(scenario, configs, clock, pipeline, script -> script);
      } catch (RuntimeException e) {
        if (attempt == 3 || !isDirectRunnerHoldRace(e)) {
          throw e;
        }
      }
    }
  }

  /**
   * Beam's {@code ReduceFnRunner} reads the input watermark several times while it handles one
   * timer or pane and assumes it does not change in between; the Direct runner's timer internals
   * return the live watermark, which its watermark thread can advance meanwhile. When it passes a
   * window's expiry between two reads, {@code onTrigger} fails with "new hold ... is before input
   * watermark" (runners-core-java 2.70.0: {@code ReduceFnRunner} lines 653-670 and 1008-1014,
   * {@code DirectTimerInternals.currentInputWatermarkTime()}). Seen about once in 240 runs of this
   * test, with either clock.
   */
  static boolean isDirectRunnerHoldRace(Throwable e) {
    for (Throwable cause = e; cause != null; cause = cause.getCause()) {
      if (cause instanceof IllegalStateException
          && cause.getMessage() != null
          && cause.getMessage().matches("(?s)new hold .* is before input watermark .*")) {
        return true;
      }
    }
    return false;
  }

  static Map<Config, Outputs> run(
      DifferentialScenario scenario,
      List<Config> configs,
      LateDataGate.TimerClock clock,
      Pipeline pipeline,
      WindowingScenarios.Source source) {
    String run = UUID.randomUUID().toString();
    scenario.build(pipeline, source, configs, clock, run);
    pipeline.run().waitUntilFinish();
    Map<Config, Outputs> outputs = new HashMap<>();
    for (Config config : configs) {
      outputs.put(
          config,
          new Outputs(
              DifferentialScenario.collected(DifferentialScenario.bucket(run, config, "stats")),
              DifferentialScenario.collected(DifferentialScenario.bucket(run, config, "late")),
              DifferentialScenario.collected(DifferentialScenario.bucket(run, config, "reference")),
              DifferentialScenario.collected(DifferentialScenario.bucket(run, config, "members"))));
    }
    DifferentialScenario.forget(run);
    return outputs;
  }

  /** The (event, window) pairs Beam's windowing did not count in any pane. */
  static Set<String> droppedByReference(DifferentialScenario scenario, Config config, Outputs out) {
    Set<String> members = new HashSet<>(out.members);
    Set<String> countedIds = new HashSet<>();
    for (String member : out.members) {
      countedIds.add(member.split(" ")[1]);
    }
    Set<String> dropped = new TreeSet<>();
    for (Input input : scenario.inputs) {
      for (IntervalWindow window : scenario.windowsOf(config, input)) {
        String line =
            DifferentialScenario.lateLine(input.key(), input.id(), window.start(), window.end());
        // A session's proto-window is merged into a larger window: any pane counts it.
        boolean counted =
            config.sessions() ? countedIds.contains(input.id()) : members.contains(line);
        if (!counted) {
          dropped.add(line);
        }
      }
    }
    return dropped;
  }

  /**
   * The dropped pairs whose window closed more than one window period before the event came, but
   * for the script's first batch of events.
   */
  static Set<String> closedAStepBefore(
      DifferentialScenario scenario, Config config, Set<String> dropped) {
    WindowedAggregate aggregate = config.aggregate;
    long period = (aggregate.period() == null ? aggregate.size() : aggregate.period()).getMillis();
    Set<String> pairs = new TreeSet<>();
    for (Input input : scenario.inputs) {
      for (IntervalWindow window : scenario.windowsOf(config, input)) {
        long closing = window.maxTimestamp().getMillis() + aggregate.allowedLateness().getMillis();
        String line =
            DifferentialScenario.lateLine(input.key(), input.id(), window.start(), window.end());
        if (input.batch() > 0
            && closing + period < input.watermarkAtArrival()
            && dropped.contains(line)) {
          pairs.add(line);
        }
      }
    }
    return pairs;
  }

  /** With the runner's own clock, lateness is exactly how far the watermark was past the event. */
  private static void assertExactLateness(
      DifferentialScenario scenario, Outputs out, String context) {
    Map<String, Input> byId = new HashMap<>();
    for (Input input : scenario.inputs) {
      byId.put(input.id(), input);
    }
    for (String line : out.late) {
      Input input = byId.get(line.split(" ")[1]);
      long lateness = Long.parseLong(line.substring(line.lastIndexOf('=') + 1));
      assertThat(lateness)
          .as("lateness of %s in %s", line, context)
          .isEqualTo(input.watermarkAtArrival() - input.time());
    }
  }

  /**
   * Nothing lost, nothing counted twice: per (key, window) — per key for sessions, whose windows
   * merge — the final panes' counts and the events set aside add up to the script's events, and no
   * window has two final panes.
   */
  static void assertConservation(
      DifferentialScenario scenario, Config config, Outputs out, String context) {
    Map<String, Integer> finalCounts = new TreeMap<>();
    Map<String, Integer> finals = new TreeMap<>();
    for (String line : out.stats) {
      if (!line.contains(" final ")) {
        continue;
      }
      String window = line.substring(0, line.indexOf(')') + 1);
      int count = Integer.parseInt(line.replaceAll(".* count=(\\d+) .*", "$1"));
      String group = config.sessions() ? window.split(" ")[0] : window;
      finalCounts.merge(group, count, Integer::sum);
      finals.merge(window, 1, Integer::sum);
    }
    assertThat(finals.values()).as("final panes per window of %s", context).allMatch(n -> n == 1);
    Map<String, Integer> late = new TreeMap<>();
    for (String line : out.lateLines()) {
      String[] parts = line.split(" ");
      String group = config.sessions() ? parts[0] : parts[0] + " " + parts[2];
      late.merge(group, 1, Integer::sum);
    }
    Map<String, Integer> expected = new TreeMap<>();
    if (config.sessions()) {
      for (Input input : scenario.inputs) {
        expected.merge(input.key(), 1, Integer::sum);
      }
    } else {
      expected.putAll(scenario.pairsPerWindow(config));
    }
    Map<String, Integer> accounted = new TreeMap<>(finalCounts);
    late.forEach((group, n) -> accounted.merge(group, n, Integer::sum));
    assertThat(accounted)
        .as(
            "events in final panes plus late(), per %s, of %s",
            config.sessions() ? "key" : "window", context)
        .isEqualTo(expected);
  }
}

package dev.sluice.benchmarks;

import dev.sluice.model.Event;
import dev.sluice.model.JsonSupport;
import dev.sluice.transforms.StatsFn;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Throughput of the aggregate {@code CombineFn}: events added per second into one window's
 * accumulator, with and without the KLL quantile and HLL distinct sketches.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class StatsCombineBenchmark {
  private static final int EVENTS = 1_000;

  /** plain: count/sum/min/max/mean/stddev; sketches: also KLL quantiles and HLL distinct. */
  @Param({"plain", "sketches"})
  public String aggregates;

  private StatsFn fn;
  private Event[] events;

  @Setup
  public void setup() {
    fn =
        aggregates.equals("plain")
            ? new StatsFn()
            : new StatsFn(true, StatsFn.DEFAULT_KLL_K, "user");
    Random random = new Random(1);
    events = new Event[EVENTS];
    for (int i = 0; i < EVENTS; i++) {
      events[i] =
          Event.of(
                  "e" + i,
                  "k",
                  "latency",
                  Math.exp(random.nextGaussian()),
                  JsonSupport.parseInstant("2026-01-01T00:00:00Z"))
              .withAttributes(Map.of("user", "u" + random.nextInt(300)));
    }
  }

  /** Adds 1,000 events to a fresh accumulator and extracts the stats. */
  @Benchmark
  @OperationsPerInvocation(EVENTS)
  public StatsFn.Stats addAndExtract() {
    StatsFn.Accumulator accumulator = fn.createAccumulator();
    for (Event event : events) {
      fn.addInput(accumulator, event);
    }
    return fn.extractOutput(accumulator);
  }
}

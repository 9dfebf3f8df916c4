package dev.sluice.transforms;

import dev.sluice.model.Event;
import dev.sluice.model.LateEvent;
import dev.sluice.model.ModelFixtures;
import dev.sluice.model.PaneTiming;
import dev.sluice.model.WindowStats;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.testing.TestStream;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.GroupByKey;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.windowing.BoundedWindow;
import org.apache.beam.sdk.transforms.windowing.IntervalWindow;
import org.apache.beam.sdk.transforms.windowing.PaneInfo;
import org.apache.beam.sdk.transforms.windowing.Window;
import org.apache.beam.sdk.transforms.windowing.WindowFn;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TimestampedValue;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.joda.time.Duration;
import org.joda.time.Instant;

/**
 * A randomized event-time script for the differential test of {@link WindowedAggregate} against
 * Beam's own windowing: keys, events in and out of order (some later than their window's close),
 * watermark advances (with {@code longGaps}, jumps of minutes), processing-time advances. The same
 * script feeds, per {@link Config}, {@code WindowedAggregate} and the reference — {@code
 * Window.into(...)} with the same trigger, accumulation and allowed lateness, then a plain {@code
 * GroupByKey} — and both outputs are collected as canonical lines, in this JVM, for comparison.
 */
final class DifferentialScenario {
  static final Instant T0 = ModelFixtures.T0;
  private static final String METRIC = "m";

  /** Lines collected by runs, by bucket; runs are in-process (Direct, embedded Flink). */
  private static final Map<String, ConcurrentLinkedQueue<String>> COLLECTED =
      new ConcurrentHashMap<>();

  /** The aggregations compared, one of each family. */
  enum Config {
    TUMBLING(WindowedAggregate.tumbling(seconds(10)), false),
    TUMBLING_LATENESS(
        WindowedAggregate.tumbling(seconds(10)).withAllowedLateness(seconds(15)), false),
    SLIDING(WindowedAggregate.sliding(seconds(20), seconds(10)), false),
    SLIDING_LATENESS(
        WindowedAggregate.sliding(seconds(20), seconds(10)).withAllowedLateness(seconds(5)), false),
    SESSIONS(WindowedAggregate.sessions(seconds(10)), false),
    SESSIONS_LATENESS(
        WindowedAggregate.sessions(seconds(10)).withAllowedLateness(seconds(15)), false),
    EARLY_FIRINGS(
        WindowedAggregate.tumbling(seconds(10))
            .withEarlyFiringsEvery(seconds(2))
            .withAllowedLateness(seconds(10)),
        true),
    LATE_FIRINGS(
        WindowedAggregate.tumbling(seconds(10))
            .withAllowedLateness(seconds(20))
            .withLateFiringsEvery(seconds(3)),
        true);

    final WindowedAggregate aggregate;

    /** Whether panes depend on processing time (so only a test clock makes them repeatable). */
    final boolean processingTime;

    Config(WindowedAggregate aggregate, boolean processingTime) {
      this.aggregate = aggregate.withQuantiles(false);
      this.processingTime = processingTime;
    }

    boolean sessions() {
      return aggregate.kind() == WindowedAggregate.Kind.SESSIONS;
    }
  }

  /** One input event, and the watermark when it was added. */
  record Input(
      String id, String key, long time, double value, long watermarkAtArrival, int batch) {}

  final long seed;
  final boolean longGaps;
  final TestStream<Event> stream;
  final List<Input> inputs;

  private DifferentialScenario(
      long seed, boolean longGaps, TestStream<Event> stream, List<Input> inputs) {
    this.seed = seed;
    this.longGaps = longGaps;
    this.stream = stream;
    this.inputs = inputs;
  }

  static Duration seconds(long seconds) {
    return Duration.standardSeconds(seconds);
  }

  /** The script of {@code seed}; every third seed has long watermark gaps. */
  static DifferentialScenario generate(long seed) {
    Random random = new Random(seed);
    boolean longGaps = seed % 3 == 0;
    List<String> keys = new ArrayList<>(List.of("a", "b", "c").subList(0, 1 + random.nextInt(3)));
    TestStream.Builder<Event> builder = TestStream.create(Event.EventCoder.of());
    long watermark = T0.getMillis();
    builder = builder.advanceWatermarkTo(new Instant(watermark));
    List<Input> inputs = new ArrayList<>();
    int steps = 12 + random.nextInt(14);
    int batches = 0;
    for (int step = 0; step < steps; step++) {
      double choice = random.nextDouble();
      if (choice < 0.5) {
        // One event per key at most, so that every runner gives each event its own bundle.
        java.util.Collections.shuffle(keys, random);
        List<TimestampedValue<Event>> batch = new ArrayList<>();
        for (String key : keys.subList(0, 1 + random.nextInt(keys.size()))) {
          long time = watermark + 1000L * (random.nextInt(56) - 35) + 250L * random.nextInt(4);
          double value = 1 + random.nextInt(9);
          String id = key + "#" + inputs.size();
          inputs.add(new Input(id, key, time, value, watermark, batches));
          batch.add(
              TimestampedValue.of(
                  Event.of(id, key, METRIC, value, new Instant(time)), new Instant(time)));
        }
        builder = builder.addElements(batch.get(0), batch.subList(1, batch.size()).toArray(cast()));
      } else if (choice < 0.82) {
        long advance =
            longGaps && random.nextInt(4) == 0 ? 60 + random.nextInt(540) : 1 + random.nextInt(25);
        watermark += 1000L * advance;
        builder = builder.advanceWatermarkTo(new Instant(watermark));
      } else {
        builder = builder.advanceProcessingTime(seconds(1 + random.nextInt(4)));
      }
    }
    return new DifferentialScenario(seed, longGaps, builder.advanceWatermarkToInfinity(), inputs);
  }

  @SuppressWarnings("unchecked")
  private static TimestampedValue<Event>[] cast() {
    return new TimestampedValue[0];
  }

  /**
   * Adds {@code config}'s aggregation and its reference on {@code events}; lines go to {@code run}.
   */
  void apply(PCollection<Event> events, Config config, LateDataGate.TimerClock clock, String run) {
    String name = config.name();
    WindowedAggregate.Result result =
        events.apply("Sluice-" + name, config.aggregate.withSimulatedTimerClock(clock));
    result
        .output()
        .apply("CollectStats-" + name, ParDo.of(new CollectStats(bucket(run, config, "stats"))));
    result
        .late()
        .apply("CollectLate-" + name, ParDo.of(new CollectLate(bucket(run, config, "late"))));
    WindowedAggregate aggregate = config.aggregate;
    Window<KV<String, String>> window =
        Window.<KV<String, String>>into(aggregate.windowFn())
            .triggering(aggregate.trigger())
            .accumulatingFiredPanes();
    window =
        aggregate.allowedLateness().equals(Duration.ZERO)
            ? window.withAllowedLateness(Duration.ZERO)
            : window.withAllowedLateness(
                aggregate.allowedLateness(), Window.ClosingBehavior.FIRE_ALWAYS);
    Map<String, Double> values = new HashMap<>();
    for (Input input : inputs) {
      values.put(input.id(), input.value());
    }
    events
        .apply(
            "ReferenceKeys-" + name,
            MapElements.into(
                    TypeDescriptors.kvs(TypeDescriptors.strings(), TypeDescriptors.strings()))
                .via((Event e) -> KV.of(e.key(), e.eventId())))
        .setCoder(KvCoder.of(StringUtf8Coder.of(), StringUtf8Coder.of()))
        .apply("ReferenceWindows-" + name, window)
        .apply("ReferenceGroup-" + name, GroupByKey.create())
        .apply(
            "CollectReference-" + name,
            ParDo.of(
                new CollectReference(
                    bucket(run, config, "reference"), bucket(run, config, "members"), values)));
  }

  static String bucket(String run, Config config, String kind) {
    return run + "/" + config.name() + "/" + kind;
  }

  /** The lines collected in a bucket, sorted. */
  static List<String> collected(String bucket) {
    List<String> lines =
        new ArrayList<>(COLLECTED.getOrDefault(bucket, new ConcurrentLinkedQueue<>()));
    java.util.Collections.sort(lines);
    return lines;
  }

  static void forget(String run) {
    COLLECTED.keySet().removeIf(bucket -> bucket.startsWith(run + "/"));
  }

  private static void add(String bucket, String line) {
    COLLECTED.computeIfAbsent(bucket, b -> new ConcurrentLinkedQueue<>()).add(line);
  }

  static String paneLine(
      String key,
      Instant start,
      Instant end,
      PaneTiming timing,
      long index,
      boolean finalPane,
      long count,
      double sum,
      double min,
      double max) {
    return String.format(
        Locale.ROOT,
        "%s [%s,%s) %s#%d%s count=%d sum=%s min=%s max=%s",
        key,
        seconds(start),
        seconds(end),
        timing,
        index,
        finalPane ? " final" : "",
        count,
        sum,
        min,
        max);
  }

  static String lateLine(String key, String id, Instant start, Instant end) {
    return String.format(Locale.ROOT, "%s %s [%s,%s)", key, id, seconds(start), seconds(end));
  }

  private static String seconds(Instant instant) {
    return Double.toString((instant.getMillis() - T0.getMillis()) / 1000.0);
  }

  /** The windows an input falls in (sessions: its proto-window). */
  Collection<IntervalWindow> windowsOf(Config config, Input input) {
    @SuppressWarnings("unchecked")
    WindowFn<Object, BoundedWindow> windowFn =
        (WindowFn<Object, BoundedWindow>) (WindowFn<?, ?>) config.aggregate.windowFn();
    Instant time = new Instant(input.time());
    try {
      Collection<BoundedWindow> windows = LateDataGate.assignWindows(windowFn, input, time);
      List<IntervalWindow> intervals = new ArrayList<>();
      for (BoundedWindow window : windows) {
        intervals.add((IntervalWindow) window);
      }
      return intervals;
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** A readable listing of the script, for failure messages. */
  String describe() {
    StringBuilder text = new StringBuilder("seed " + seed + (longGaps ? " (long gaps)" : "") + ":");
    for (TestStream.Event<Event> event : stream.getEvents()) {
      if (event instanceof TestStream.ElementEvent<Event> elements) {
        text.append("\n  add");
        for (TimestampedValue<Event> element : elements.getElements()) {
          text.append(' ')
              .append(element.getValue().eventId())
              .append('@')
              .append(seconds(element.getTimestamp()))
              .append("s=")
              .append(element.getValue().value());
        }
      } else if (event instanceof TestStream.WatermarkEvent<Event> watermark) {
        text.append("\n  watermark ")
            .append(
                watermark.getWatermark().isAfter(T0.plus(Duration.standardDays(3650)))
                    ? "infinity"
                    : seconds(watermark.getWatermark()) + "s");
      } else if (event instanceof TestStream.ProcessingTimeEvent<Event> time) {
        text.append("\n  processing time +").append(time.getProcessingTimeAdvance());
      }
    }
    return text.toString();
  }

  /** Number of (event, window) pairs per (key, window), from the script. */
  Map<String, Integer> pairsPerWindow(Config config) {
    Map<String, Integer> pairs = new TreeMap<>();
    for (Input input : inputs) {
      for (IntervalWindow window : windowsOf(config, input)) {
        pairs.merge(windowKey(input.key(), window.start(), window.end()), 1, Integer::sum);
      }
    }
    return pairs;
  }

  static String windowKey(String key, Instant start, Instant end) {
    return key + " [" + seconds(start) + "," + seconds(end) + ")";
  }

  private static final class CollectStats extends DoFn<WindowStats, Void> {
    private final String bucket;

    CollectStats(String bucket) {
      this.bucket = bucket;
    }

    @ProcessElement
    public void process(@Element WindowStats s) {
      add(
          bucket,
          paneLine(
              s.key(),
              s.windowStart(),
              s.windowEnd(),
              s.pane(),
              s.paneIndex(),
              s.finalPane(),
              s.count(),
              s.sum(),
              s.min(),
              s.max()));
    }
  }

  private static final class CollectLate extends DoFn<LateEvent, Void> {
    private final String bucket;

    CollectLate(String bucket) {
      this.bucket = bucket;
    }

    @ProcessElement
    public void process(@Element LateEvent late) {
      add(
          bucket,
          lateLine(late.event().key(), late.event().eventId(), late.windowStart(), late.windowEnd())
              + " lateness="
              + late.latenessMillis());
    }
  }

  private static final class CollectReference extends DoFn<KV<String, Iterable<String>>, Void> {
    private final String panes;
    private final String members;
    private final Map<String, Double> values;

    CollectReference(String panes, String members, Map<String, Double> values) {
      this.panes = panes;
      this.members = members;
      this.values = values;
    }

    @ProcessElement
    public void process(
        @Element KV<String, Iterable<String>> element, BoundedWindow window, PaneInfo pane) {
      IntervalWindow interval = (IntervalWindow) window;
      long count = 0;
      double sum = 0;
      double min = Double.POSITIVE_INFINITY;
      double max = Double.NEGATIVE_INFINITY;
      for (String id : element.getValue()) {
        double value = values.get(id);
        count++;
        sum += value;
        min = Math.min(min, value);
        max = Math.max(max, value);
        add(
            members,
            element.getKey()
                + " "
                + id
                + " ["
                + seconds(interval.start())
                + ","
                + seconds(interval.end())
                + ")");
      }
      if (count > 0) {
        add(
            panes,
            paneLine(
                element.getKey(),
                interval.start(),
                interval.end(),
                PaneTiming.of(pane),
                pane.getIndex(),
                pane.isLast(),
                count,
                sum,
                min,
                max));
      }
    }
  }

  /** Builds the pipeline of a run: {@code configs} on the script played by {@code source}. */
  void build(
      Pipeline pipeline,
      WindowingScenarios.Source source,
      List<Config> configs,
      LateDataGate.TimerClock clock,
      String run) {
    PCollection<Event> events = pipeline.apply("Script", source.apply(stream));
    for (Config config : configs) {
      apply(events, config, clock, run);
    }
  }
}

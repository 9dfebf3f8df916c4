package dev.sluice.benchmarks.compare;

import dev.sluice.runners.FlinkCheckpoints;
import java.io.Serializable;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.AggregateFunction;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.runtime.state.hashmap.HashMapStateBackend;
import org.apache.flink.streaming.api.CheckpointingMode;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.CheckpointConfig;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.streaming.api.functions.sink.RichSinkFunction;
import org.apache.flink.streaming.api.functions.source.RichParallelSourceFunction;
import org.apache.flink.streaming.api.functions.windowing.ProcessWindowFunction;
import org.apache.flink.streaming.api.windowing.assigners.TumblingEventTimeWindows;
import org.apache.flink.streaming.api.windowing.time.Time;
import org.apache.flink.streaming.api.windowing.windows.TimeWindow;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * The baseline users would write instead of Sluice: the same work as a Flink DataStream job, the
 * way the Flink documentation teaches it. A parallel source emits the workload's payloads (strided
 * like the Sluice source), a process function parses and validates them (invalid input to a side
 * output), watermarks follow the event times, a keyed tumbling event-time window aggregates
 * incrementally ({@code AggregateFunction} plus a {@code ProcessWindowFunction} for the window),
 * late events go to a side output, and a keyed process function keeps each key's alert state.
 * Flink's defaults otherwise (no object reuse), embedded mini-cluster. With a checkpoint directory
 * it checkpoints as Sluice's launcher configures Flink ({@code FlinkCheckpoints}): exactly once,
 * every 10 s, the heap state backend with checkpoints in files; the source's position is its state.
 */
final class NativeFlinkJob {
  private NativeFlinkJob() {}

  private static final OutputTag<String> INVALID = new OutputTag<>("invalid") {};
  private static final OutputTag<HandParser.Measurement> LATE = new OutputTag<>("late") {};

  /**
   * Runs the job; {@code checkpoints} is the checkpoint directory, or null for no checkpointing.
   */
  static void run(Workload workload, Path outputDir, int parallelism, Path checkpoints)
      throws Exception {
    StreamExecutionEnvironment env =
        StreamExecutionEnvironment.createLocalEnvironment(parallelism, new Configuration());
    if (checkpoints != null) {
      // The settings of FlinkCheckpoints.CHECKPOINT_OPTIONS, as the FlinkRunner applies them.
      env.enableCheckpointing(
          FlinkCheckpoints.DEFAULT_INTERVAL.toMillis(), CheckpointingMode.EXACTLY_ONCE);
      CheckpointConfig config = env.getCheckpointConfig();
      config.setMinPauseBetweenCheckpoints(1000);
      config.setCheckpointTimeout(600_000);
      config.setExternalizedCheckpointCleanup(
          CheckpointConfig.ExternalizedCheckpointCleanup.RETAIN_ON_CANCELLATION);
      config.setCheckpointStorage(checkpoints.toUri().toString());
      // Beam's "filesystem" state backend is Flink's heap backend with file checkpoint storage.
      env.setStateBackend(new HashMapStateBackend());
    }
    String dir = outputDir.toString();

    SingleOutputStreamOperator<HandParser.Measurement> parsed =
        env.addSource(new PayloadSource(workload))
            .name("ReadWorkload")
            .process(new ParseFn())
            .name("ParseEvents");
    SingleOutputStreamOperator<Stats> stats =
        parsed
            .assignTimestampsAndWatermarks(
                WatermarkStrategy.<HandParser.Measurement>forMonotonousTimestamps()
                    .withTimestampAssigner((m, previous) -> m.eventTime))
            .name("EventTime")
            .keyBy(m -> m.key + '\u0000' + m.metric)
            .window(TumblingEventTimeWindows.of(Time.milliseconds(Workload.WINDOW_MILLIS)))
            .sideOutputLateData(LATE)
            .aggregate(new StatsAggregate(), new ToStats())
            .name("AggregateWindows");
    stats
        .map(Stats::line)
        .name("FormatStats")
        .addSink(new LineSink(dir, "stats"))
        .name("WriteStats");
    stats
        .filter(s -> s.metric.equals(Workload.RULE_METRIC))
        .name("RuleMetric")
        .keyBy(s -> s.key)
        .process(new AlertLifecycle(workload.threshold))
        .name("EvaluateRules")
        .addSink(new LineSink(dir, "alerts"))
        .name("WriteAlerts");
    DataStream<String> deadLetters =
        parsed
            .getSideOutput(INVALID)
            .union(
                stats
                    .getSideOutput(LATE)
                    .map(m -> "D|TOO_LATE|" + m.key + '|' + m.metric + '|' + m.eventTime));
    deadLetters.addSink(new LineSink(dir, "dead-letters")).name("WriteDeadLetters");
    env.execute("native-flink-benchmark");
  }

  /**
   * Subtask {@code s} of {@code n} emits events {@code s, s + n, ...}, in batches per lock; its
   * position is checkpointed, as a replayable source's offsets are.
   */
  static final class PayloadSource extends RichParallelSourceFunction<byte[]>
      implements CheckpointedFunction {
    private static final long serialVersionUID = 1L;
    private final Workload workload;
    private volatile boolean running = true;
    private long next = -1;
    private transient ListState<Long> position;

    PayloadSource(Workload workload) {
      this.workload = workload;
    }

    @Override
    public void initializeState(FunctionInitializationContext context) throws Exception {
      position =
          context
              .getOperatorStateStore()
              .getListState(new ListStateDescriptor<>("position", Long.class));
      for (Long restored : position.get()) {
        next = restored;
      }
    }

    @Override
    public void snapshotState(FunctionSnapshotContext context) throws Exception {
      position.update(List.of(next));
    }

    @Override
    public void run(SourceContext<byte[]> ctx) {
      int n = getRuntimeContext().getNumberOfParallelSubtasks();
      if (next < 0) {
        next = getRuntimeContext().getIndexOfThisSubtask();
      }
      List<byte[]> batch = new ArrayList<>(256);
      while (running && next < workload.numEvents) {
        batch.clear();
        long i = next;
        for (int b = 0; b < 256 && i < workload.numEvents; b++, i += n) {
          batch.add(workload.payload(i));
        }
        synchronized (ctx.getCheckpointLock()) {
          for (byte[] payload : batch) {
            ctx.collect(payload);
          }
          next = i;
        }
      }
    }

    @Override
    public void cancel() {
      running = false;
    }
  }

  static final class ParseFn extends ProcessFunction<byte[], HandParser.Measurement> {
    private static final long serialVersionUID = 1L;

    @Override
    public void processElement(byte[] payload, Context ctx, Collector<HandParser.Measurement> out) {
      try {
        out.collect(HandParser.parse(payload));
      } catch (HandParser.Invalid invalid) {
        ctx.output(INVALID, HandParser.deadLetterLine(invalid.getMessage(), payload));
      }
    }
  }

  /** The accumulator; a Flink POJO. */
  public static final class Acc implements Serializable {
    private static final long serialVersionUID = 1L;
    public long count;
    public double sum;
    public double min = Double.POSITIVE_INFINITY;
    public double max = Double.NEGATIVE_INFINITY;

    public Acc() {}
  }

  /** One (key, metric, window) result; a Flink POJO. */
  public static final class Stats implements Serializable {
    private static final long serialVersionUID = 1L;
    public String key;
    public String metric;
    public long windowStart;
    public long count;
    public double sum;
    public double min;
    public double max;
    public double mean;

    public Stats() {}

    String line() {
      return Outputs.statsLine(key, metric, windowStart, count, sum, min, max, mean);
    }
  }

  static final class StatsAggregate implements AggregateFunction<HandParser.Measurement, Acc, Acc> {
    private static final long serialVersionUID = 1L;

    @Override
    public Acc createAccumulator() {
      return new Acc();
    }

    @Override
    public Acc add(HandParser.Measurement m, Acc acc) {
      acc.count++;
      acc.sum += m.value;
      acc.min = Math.min(acc.min, m.value);
      acc.max = Math.max(acc.max, m.value);
      return acc;
    }

    @Override
    public Acc getResult(Acc acc) {
      return acc;
    }

    @Override
    public Acc merge(Acc a, Acc b) {
      a.count += b.count;
      a.sum += b.sum;
      a.min = Math.min(a.min, b.min);
      a.max = Math.max(a.max, b.max);
      return a;
    }
  }

  static final class ToStats extends ProcessWindowFunction<Acc, Stats, String, TimeWindow> {
    private static final long serialVersionUID = 1L;

    @Override
    public void process(
        String seriesKey, Context ctx, Iterable<Acc> results, Collector<Stats> out) {
      Acc acc = results.iterator().next();
      int separator = seriesKey.indexOf('\u0000');
      Stats s = new Stats();
      s.key = seriesKey.substring(0, separator);
      s.metric = seriesKey.substring(separator + 1);
      s.windowStart = ctx.window().getStart();
      s.count = acc.count;
      s.sum = acc.sum;
      s.min = acc.min;
      s.max = acc.max;
      s.mean = acc.sum / acc.count;
      out.collect(s);
    }
  }

  /** Windows of a key arrive in event-time order: the window operator fires them in that order. */
  static final class AlertLifecycle extends KeyedProcessFunction<String, Stats, String> {
    private static final long serialVersionUID = 1L;
    private final double threshold;
    private transient ValueState<Long> episode;

    AlertLifecycle(double threshold) {
      this.threshold = threshold;
    }

    @Override
    public void open(Configuration parameters) {
      episode = getRuntimeContext().getState(new ValueStateDescriptor<>("episode", Long.class));
    }

    @Override
    public void processElement(Stats s, Context ctx, Collector<String> out) throws Exception {
      Long current = episode.value();
      String alert = AlertRule.alertLine(s.key, current, s.windowStart, s.mean, threshold);
      if (alert != null) {
        out.collect(alert);
      }
      Long next = AlertRule.nextEpisode(current, s.windowStart, s.mean, threshold);
      if (next == null) {
        episode.clear();
      } else if (!next.equals(current)) {
        episode.update(next);
      }
    }
  }

  /** Appends lines to a file per subtask. */
  static final class LineSink extends RichSinkFunction<String> {
    private static final long serialVersionUID = 1L;
    private final String dir;
    private final String prefix;
    private transient Outputs.LineFile file;

    LineSink(String dir, String prefix) {
      this.dir = dir;
      this.prefix = prefix;
    }

    @Override
    public void open(Configuration parameters) {
      file = new Outputs.LineFile(Paths.get(dir), prefix);
    }

    @Override
    public void invoke(String line, Context context) {
      file.write(line);
    }

    @Override
    public void close() {
      if (file != null) {
        file.close();
      }
    }
  }
}

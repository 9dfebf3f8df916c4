package dev.sluice.transforms;

import com.google.auto.value.AutoValue;
import dev.sluice.model.Event;
import dev.sluice.model.PaneTiming;
import dev.sluice.model.WindowStats;
import org.apache.beam.sdk.coders.DoubleCoder;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.Combine;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.transforms.windowing.FixedWindows;
import org.apache.beam.sdk.transforms.windowing.IntervalWindow;
import org.apache.beam.sdk.transforms.windowing.PaneInfo;
import org.apache.beam.sdk.transforms.windowing.Window;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.joda.time.Duration;

/**
 * Aggregates events per (key, metric) over event-time tumbling windows into {@link WindowStats}:
 * count, sum, min, max, mean and population standard deviation.
 *
 * <pre>{@code
 * PCollection<WindowStats> stats =
 *     events.apply("AggregateWindows", WindowedAggregate.tumbling(Duration.standardMinutes(1)));
 * }</pre>
 *
 * <p>Input elements must carry their event time as timestamp (as {@link ParseEvents} outputs them).
 * Each window emits one pane when the watermark passes its end ({@code pane=ON_TIME}, {@code
 * final=true}). Bounded and unbounded input; the aggregation is one {@link StatsFn} per (key,
 * metric), lifted before the shuffle.
 *
 * <p>Late data: this version has no allowed lateness and no late output yet. An element behind the
 * watermark when it reaches the window is dropped by the runner and counted only in the runner's
 * own {@code droppedDueToLateness} counter; use it with sources whose watermark bounds their
 * disorder (as {@code SyntheticIO} without late events, and bounded sources, do).
 */
@AutoValue
public abstract class WindowedAggregate
    extends PTransform<PCollection<Event>, PCollection<WindowStats>> {

  public static final String METRICS_NAMESPACE = "sluice.aggregate";

  /** Counter of {@link WindowStats} emitted, one per (key, metric, window, pane). */
  public static final String WINDOWS_EMITTED = "windows_emitted";

  abstract Duration windowSize();

  /** Tumbling (fixed) windows of the given size, aligned to the epoch. */
  public static WindowedAggregate tumbling(Duration windowSize) {
    Checks.positive("windowSize", windowSize);
    return new AutoValue_WindowedAggregate(windowSize);
  }

  @Override
  public PCollection<WindowStats> expand(PCollection<Event> events) {
    return events
        .apply(
            "KeyByKeyAndMetric",
            MapElements.into(
                    TypeDescriptors.kvs(
                        TypeDescriptors.kvs(TypeDescriptors.strings(), TypeDescriptors.strings()),
                        TypeDescriptors.doubles()))
                .via((Event e) -> KV.of(KV.of(e.key(), e.metric()), e.value())))
        .setCoder(
            KvCoder.of(KvCoder.of(StringUtf8Coder.of(), StringUtf8Coder.of()), DoubleCoder.of()))
        .apply("WindowIntoTumbling", Window.into(FixedWindows.of(windowSize())))
        .apply("CombineStats", Combine.perKey(new StatsFn()))
        .apply("ToWindowStats", ParDo.of(new ToWindowStatsFn()))
        .setCoder(WindowStats.WindowStatsCoder.of());
  }

  @Override
  public void populateDisplayData(DisplayData.Builder builder) {
    super.populateDisplayData(builder);
    builder.add(DisplayData.item("windowSize", windowSize()));
  }

  private static final class ToWindowStatsFn
      extends DoFn<KV<KV<String, String>, StatsFn.Accumulator>, WindowStats> {
    private final Counter emitted = Metrics.counter(METRICS_NAMESPACE, WINDOWS_EMITTED);

    @ProcessElement
    public void process(
        @Element KV<KV<String, String>, StatsFn.Accumulator> element,
        IntervalWindow window,
        PaneInfo pane,
        OutputReceiver<WindowStats> out) {
      StatsFn.Accumulator stats = element.getValue();
      emitted.inc();
      out.output(
          new WindowStats(
              element.getKey().getKey(),
              element.getKey().getValue(),
              window.start(),
              window.end(),
              stats.count(),
              stats.sum(),
              stats.min(),
              stats.max(),
              stats.mean(),
              stats.stddev(),
              null,
              null,
              null,
              null,
              PaneTiming.of(pane),
              pane.getIndex(),
              pane.isLast()));
    }
  }
}

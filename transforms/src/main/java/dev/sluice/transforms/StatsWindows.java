package dev.sluice.transforms;

import dev.sluice.model.WindowStats;
import java.util.Collection;
import java.util.List;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.transforms.windowing.IntervalWindow;
import org.apache.beam.sdk.transforms.windowing.NonMergingWindowFn;
import org.apache.beam.sdk.transforms.windowing.WindowFn;
import org.apache.beam.sdk.transforms.windowing.WindowMappingFn;

/**
 * Puts each {@link WindowStats} into the window it describes ({@code [window_start, window_end)}),
 * so that the output of {@link AggregateWindowsFn}, which runs in the global window, is windowed as
 * a windowed aggregation's output is: a downstream windowed step (a combine per window, a windowed
 * write) sees each pane in its own window.
 */
final class StatsWindows extends NonMergingWindowFn<WindowStats, IntervalWindow> {
  @Override
  public Collection<IntervalWindow> assignWindows(AssignContext c) {
    WindowStats stats = c.element();
    return List.of(new IntervalWindow(stats.windowStart(), stats.windowEnd()));
  }

  @Override
  public boolean isCompatible(WindowFn<?, ?> other) {
    return other instanceof StatsWindows;
  }

  @Override
  public Coder<IntervalWindow> windowCoder() {
    return IntervalWindow.getCoder();
  }

  @Override
  public WindowMappingFn<IntervalWindow> getDefaultWindowMappingFn() {
    throw new UnsupportedOperationException("StatsWindows cannot be used for side inputs");
  }

  @Override
  public boolean assignsToOneWindow() {
    return true;
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof StatsWindows;
  }

  @Override
  public int hashCode() {
    return StatsWindows.class.hashCode();
  }
}

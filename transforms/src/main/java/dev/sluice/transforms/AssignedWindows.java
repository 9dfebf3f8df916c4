package dev.sluice.transforms;

import java.util.Collection;
import java.util.List;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.transforms.windowing.BoundedWindow;
import org.apache.beam.sdk.transforms.windowing.IntervalWindow;
import org.apache.beam.sdk.transforms.windowing.WindowFn;
import org.apache.beam.sdk.transforms.windowing.WindowMappingFn;
import org.apache.beam.sdk.values.KV;

/**
 * A window function that puts each element into the one window {@link WindowedAggregate} chose for
 * it (named in the element, so no runner-specific way of emitting windowed values is needed), and
 * otherwise behaves like {@code delegate} (merging, coder, side-input mapping).
 */
final class AssignedWindows<T> extends WindowFn<KV<T, WindowedEvent>, BoundedWindow> {
  private final WindowFn<Object, BoundedWindow> delegate;

  @SuppressWarnings("unchecked")
  AssignedWindows(WindowFn<?, ?> delegate) {
    this.delegate = (WindowFn<Object, BoundedWindow>) delegate;
  }

  @Override
  public Collection<BoundedWindow> assignWindows(AssignContext c) {
    WindowedEvent chosen = c.element().getValue();
    return List.of(new IntervalWindow(chosen.windowStart(), chosen.windowEnd()));
  }

  @Override
  public void mergeWindows(MergeContext c) throws Exception {
    delegate.mergeWindows(
        delegate.new MergeContext() {
          @Override
          public Collection<BoundedWindow> windows() {
            return c.windows();
          }

          @Override
          public void merge(Collection<BoundedWindow> toBeMerged, BoundedWindow mergeResult)
              throws Exception {
            c.merge(toBeMerged, mergeResult);
          }
        });
  }

  @Override
  public boolean isNonMerging() {
    return delegate.isNonMerging();
  }

  @Override
  public boolean isCompatible(WindowFn<?, ?> other) {
    return other instanceof AssignedWindows<?> that && delegate.isCompatible(that.delegate);
  }

  @Override
  public Coder<BoundedWindow> windowCoder() {
    return delegate.windowCoder();
  }

  @Override
  public WindowMappingFn<BoundedWindow> getDefaultWindowMappingFn() {
    return delegate.getDefaultWindowMappingFn();
  }

  @Override
  public boolean assignsToOneWindow() {
    return true;
  }

  @Override
  public void populateDisplayData(DisplayData.Builder builder) {
    builder.include("delegate", delegate);
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof AssignedWindows<?> that && delegate.equals(that.delegate);
  }

  @Override
  public int hashCode() {
    return delegate.hashCode();
  }
}

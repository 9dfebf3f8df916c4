package dev.sluice.transforms;

import java.util.Collection;
import java.util.List;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.transforms.windowing.BoundedWindow;
import org.apache.beam.sdk.transforms.windowing.WindowFn;
import org.apache.beam.sdk.transforms.windowing.WindowMappingFn;

/**
 * A window function that keeps the window an element already carries and otherwise behaves like
 * {@code delegate} (merging, coder, side-input mapping). {@link WindowedAggregate} assigns windows
 * itself, per element and window, while it sets late ones aside; this makes that assignment the
 * windowing of the collection.
 */
final class AssignedWindows<T> extends WindowFn<T, BoundedWindow> {
  private final WindowFn<Object, BoundedWindow> delegate;

  @SuppressWarnings("unchecked")
  AssignedWindows(WindowFn<?, ?> delegate) {
    this.delegate = (WindowFn<Object, BoundedWindow>) delegate;
  }

  @Override
  public Collection<BoundedWindow> assignWindows(AssignContext c) {
    return List.of(c.window());
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

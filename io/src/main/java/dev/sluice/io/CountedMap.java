package dev.sluice.io;

import dev.sluice.transforms.BundleCounter;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.SerializableFunction;
import org.apache.beam.sdk.values.PCollection;

/**
 * {@code MapElements.via(fn)} that counts its elements in a Beam counter, once per bundle (see
 * {@link BundleCounter}). Its inner step is named {@code Map}, as {@code MapElements}'s is, so that
 * replacing one with the other keeps the step names. The caller sets the output coder.
 */
final class CountedMap<InputT, OutputT>
    extends PTransform<PCollection<InputT>, PCollection<OutputT>> {
  private final SerializableFunction<InputT, OutputT> fn;
  private final String namespace;
  private final String counterName;

  CountedMap(SerializableFunction<InputT, OutputT> fn, String namespace, String counterName) {
    this.fn = fn;
    this.namespace = namespace;
    this.counterName = counterName;
  }

  @Override
  public PCollection<OutputT> expand(PCollection<InputT> input) {
    return input.apply("Map", ParDo.of(new MapFn<>(fn, namespace, counterName)));
  }

  private static final class MapFn<InputT, OutputT> extends DoFn<InputT, OutputT> {
    private final SerializableFunction<InputT, OutputT> fn;
    private final String namespace;
    private final String counterName;
    private transient BundleCounter counter;

    MapFn(SerializableFunction<InputT, OutputT> fn, String namespace, String counterName) {
      this.fn = fn;
      this.namespace = namespace;
      this.counterName = counterName;
    }

    @Setup
    public void setup() {
      counter = BundleCounter.of(namespace, counterName);
    }

    @StartBundle
    public void startBundle() {
      counter.reset();
    }

    @ProcessElement
    public void process(@Element InputT element, OutputReceiver<OutputT> out) {
      out.output(fn.apply(element));
      counter.inc();
    }

    @FinishBundle
    public void finishBundle() {
      counter.flush();
    }
  }
}

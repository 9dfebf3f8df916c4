package dev.sluice.testing;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.coders.CoderException;
import org.apache.beam.sdk.coders.InstantCoder;
import org.apache.beam.sdk.io.range.OffsetRange;
import org.apache.beam.sdk.testing.TestStream;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.Impulse;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.splittabledofn.ManualWatermarkEstimator;
import org.apache.beam.sdk.transforms.splittabledofn.OffsetRangeTracker;
import org.apache.beam.sdk.transforms.splittabledofn.RestrictionTracker;
import org.apache.beam.sdk.transforms.splittabledofn.WatermarkEstimators;
import org.apache.beam.sdk.transforms.windowing.BoundedWindow;
import org.apache.beam.sdk.util.CoderUtils;
import org.apache.beam.sdk.values.PBegin;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TimestampedValue;
import org.joda.time.Duration;
import org.joda.time.Instant;

/**
 * Replays a {@link TestStream} script with an unbounded splittable DoFn that waits after each
 * watermark advance until the runner has had time to propagate it, and really waits for
 * processing-time advances.
 *
 * <p>Why: a runner's own TestStream support may deliver an element before a preceding watermark
 * advance has reached downstream operators (Flink's does; apache/beam issues 20843 to 20845), so a
 * scenario cannot stage "late" data with it. This replay uses only the Beam model (Impulse, a
 * splittable DoFn, a manual watermark estimator), so the same script runs on any runner; the settle
 * time is generous for an embedded cluster on one machine.
 */
public final class WatermarkPacedReplay<T> extends PTransform<PBegin, PCollection<T>> {
  private static final Duration SETTLE = Duration.millis(1_500);
  private static final Duration BETWEEN_BUNDLES = Duration.millis(300);

  private final List<Step> steps;
  private final Coder<T> coder;

  private WatermarkPacedReplay(List<Step> steps, Coder<T> coder) {
    this.steps = steps;
    this.coder = coder;
  }

  /** A replay of {@code stream}'s elements, watermark and processing-time advances, in order. */
  public static <T> WatermarkPacedReplay<T> of(TestStream<T> stream) {
    Coder<T> coder = stream.getValueCoder();
    List<Step> steps = new ArrayList<>();
    for (TestStream.Event<T> event : stream.getEvents()) {
      if (event instanceof TestStream.ElementEvent<T> elements) {
        List<byte[]> values = new ArrayList<>();
        List<Instant> timestamps = new ArrayList<>();
        for (TimestampedValue<T> element : elements.getElements()) {
          try {
            values.add(CoderUtils.encodeToByteArray(coder, element.getValue()));
          } catch (CoderException e) {
            throw new IllegalArgumentException("cannot encode " + element.getValue(), e);
          }
          timestamps.add(element.getTimestamp());
        }
        steps.add(new Step(values, timestamps, null, null));
      } else if (event instanceof TestStream.WatermarkEvent<T> watermark) {
        steps.add(new Step(null, null, watermark.getWatermark(), null));
      } else if (event instanceof TestStream.ProcessingTimeEvent<T> processingTime) {
        steps.add(new Step(null, null, null, processingTime.getProcessingTimeAdvance()));
      }
    }
    return new WatermarkPacedReplay<>(steps, coder);
  }

  /** How long the replay takes at least: the sum of its waits. */
  public Duration scriptedDuration() {
    Duration total = Duration.ZERO;
    for (Step step : steps) {
      total =
          total.plus(
              step.values() != null
                  ? BETWEEN_BUNDLES
                  : step.watermark() != null
                      ? SETTLE
                      : step.processingTime().plus(BETWEEN_BUNDLES));
    }
    return total;
  }

  @Override
  public PCollection<T> expand(PBegin input) {
    return input
        .apply("Impulse", Impulse.create())
        .apply("Replay", ParDo.of(new ReplayFn<>(steps, coder)))
        .setCoder(coder);
  }

  /** One script step: elements, a watermark advance, or a processing-time advance. */
  private record Step(
      List<byte[]> values, List<Instant> timestamps, Instant watermark, Duration processingTime)
      implements Serializable {}

  @DoFn.UnboundedPerElement
  private static final class ReplayFn<T> extends DoFn<byte[], T> {
    private final List<Step> steps;
    private final Coder<T> coder;

    ReplayFn(List<Step> steps, Coder<T> coder) {
      this.steps = steps;
      this.coder = coder;
    }

    @GetInitialRestriction
    public OffsetRange initialRestriction() {
      return new OffsetRange(0, steps.size());
    }

    @NewTracker
    public OffsetRangeTracker newTracker(@Restriction OffsetRange restriction) {
      return new OffsetRangeTracker(restriction);
    }

    @GetInitialWatermarkEstimatorState
    public Instant initialWatermark() {
      return BoundedWindow.TIMESTAMP_MIN_VALUE;
    }

    @GetWatermarkEstimatorStateCoder
    public InstantCoder watermarkStateCoder() {
      return InstantCoder.of();
    }

    @NewWatermarkEstimator
    public WatermarkEstimators.Manual newWatermarkEstimator(
        @WatermarkEstimatorState Instant state) {
      return new WatermarkEstimators.Manual(state);
    }

    @ProcessElement
    public ProcessContinuation process(
        RestrictionTracker<OffsetRange, Long> tracker,
        ManualWatermarkEstimator<Instant> watermark,
        OutputReceiver<T> out)
        throws CoderException {
      long index = tracker.currentRestriction().getFrom();
      if (!tracker.tryClaim(index)) {
        return ProcessContinuation.stop();
      }
      Step step = steps.get((int) index);
      if (step.values() != null) {
        for (int i = 0; i < step.values().size(); i++) {
          out.outputWithTimestamp(
              CoderUtils.decodeFromByteArray(coder, step.values().get(i)),
              step.timestamps().get(i));
        }
        return ProcessContinuation.resume().withResumeDelay(BETWEEN_BUNDLES);
      }
      if (step.watermark() != null) {
        watermark.setWatermark(step.watermark());
        return ProcessContinuation.resume().withResumeDelay(SETTLE);
      }
      return ProcessContinuation.resume()
          .withResumeDelay(step.processingTime().plus(BETWEEN_BUNDLES));
    }
  }
}

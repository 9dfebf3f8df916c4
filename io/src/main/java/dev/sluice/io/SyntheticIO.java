package dev.sluice.io;

import com.google.auto.value.AutoValue;
import dev.sluice.model.JsonSupport;
import dev.sluice.model.RawPayload;
import dev.sluice.transforms.Checks;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.apache.beam.sdk.coders.InstantCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.io.GenerateSequence;
import org.apache.beam.sdk.io.range.OffsetRange;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.Impulse;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.transforms.splittabledofn.ManualWatermarkEstimator;
import org.apache.beam.sdk.transforms.splittabledofn.OffsetRangeTracker;
import org.apache.beam.sdk.transforms.splittabledofn.RestrictionTracker;
import org.apache.beam.sdk.transforms.splittabledofn.WatermarkEstimators;
import org.apache.beam.sdk.transforms.windowing.BoundedWindow;
import org.apache.beam.sdk.values.PBegin;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TypeDescriptor;
import org.checkerframework.checker.nullness.qual.Nullable;
import org.joda.time.Duration;
import org.joda.time.Instant;

/**
 * A seeded, reproducible source of JSON event payloads, as a Kafka topic would deliver them, for
 * demos, tests and benchmarks.
 *
 * <pre>{@code
 * // Bounded: 1 million events, 1000 per second of event time, 0.1% malformed.
 * PCollection<String> payloads = pipeline.apply("ReadSynthetic",
 *     SyntheticIO.read().withNumEvents(1_000_000).withMalformedFraction(0.001));
 *
 * // Unbounded: 500 events per second of wall-clock time, for 10 minutes.
 * PCollection<String> live = pipeline.apply("ReadSynthetic",
 *     SyntheticIO.read().unbounded().withEventsPerSecond(500).withMaxDuration(Duration.standardMinutes(10)));
 * }</pre>
 *
 * <p>Event {@code i} is a pure function of the seed, {@code i} and the settings, so the output is
 * the same on every run and every runner. Events are spaced evenly in event time at {@code
 * eventsPerSecond}, starting at {@code startTime}; a fraction arrive out of order (up to {@code
 * maxOutOfOrderDelay} early in event time), a fraction are late by more than {@code
 * maxOutOfOrderDelay + allowedLateness + 1 minute}, a fraction are malformed (truncated JSON, a
 * missing key, a non-numeric or NaN value, an unparseable time, not JSON at all), and the values of
 * the {@code spikeKeys} rise by {@code spikeMagnitude} for {@code spikeLength} every {@code
 * spikeEvery} of event time. Each element's timestamp is its event time.
 *
 * <p>Bounded mode is built on {@link GenerateSequence} (splits across workers); unbounded mode on a
 * splittable DoFn that paces output to the wall clock, counted from pipeline construction, and
 * holds the watermark {@code maxOutOfOrderDelay} behind the newest in-order event time, so late
 * events really are late. A runner that starts the job long after construction sees a burst of the
 * events due meanwhile, then the steady rate.
 */
public final class SyntheticIO {
  private SyntheticIO() {}

  /** Events of a bounded source unless {@link Read#withNumEvents} says otherwise. */
  public static final long DEFAULT_NUM_EVENTS = 1_000L;

  /** Events per second of event time (unbounded: also of wall-clock time). */
  public static final double DEFAULT_EVENTS_PER_SECOND = 1_000.0;

  /** The seed of the generator: the same seed gives the same events. */
  public static final long DEFAULT_SEED = 42L;

  /** Distinct keys (sensors). */
  public static final int DEFAULT_NUM_KEYS = 100;

  /** How far an out-of-order event is delayed at most: the same bound Kafka's watermark uses. */
  public static final Duration DEFAULT_MAX_OUT_OF_ORDER_DELAY =
      KafkaJsonIO.DEFAULT_MAX_OUT_OF_ORDERNESS;

  /**
   * A bounded source of 1,000 events: seed 42, 100 keys, metrics {@code temperature} and {@code
   * humidity}, 1,000 events per second of event time from 2026-01-01T00:00:00Z, nothing out of
   * order, late or malformed, no spikes.
   */
  public static Read read() {
    return new AutoValue_SyntheticIO_Read.Builder()
        .setNumEvents(DEFAULT_NUM_EVENTS)
        .setUnboundedMode(false)
        .setEventsPerSecond(DEFAULT_EVENTS_PER_SECOND)
        .setSeed(DEFAULT_SEED)
        .setNumKeys(DEFAULT_NUM_KEYS)
        .setMetrics(List.of("temperature", "humidity"))
        .setOutOfOrderFraction(0.0)
        .setMaxOutOfOrderDelay(DEFAULT_MAX_OUT_OF_ORDER_DELAY)
        .setLateFraction(0.0)
        .setAllowedLateness(Duration.ZERO)
        .setMalformedFraction(0.0)
        .setSpikeKeys(List.of())
        .setSpikeMagnitude(50.0)
        .setSpikeEvery(Duration.standardMinutes(10))
        .setSpikeLength(Duration.standardMinutes(1))
        .build();
  }

  /** The synthetic source; see {@link SyntheticIO}. */
  @AutoValue
  public abstract static class Read extends PTransform<PBegin, PCollection<String>> {
    abstract @Nullable Long numEvents();

    abstract boolean unboundedMode();

    abstract @Nullable Duration maxDuration();

    abstract @Nullable Instant startTime();

    abstract double eventsPerSecond();

    abstract long seed();

    abstract int numKeys();

    abstract List<String> metrics();

    abstract double outOfOrderFraction();

    abstract Duration maxOutOfOrderDelay();

    abstract double lateFraction();

    abstract Duration allowedLateness();

    abstract double malformedFraction();

    abstract List<String> spikeKeys();

    abstract double spikeMagnitude();

    abstract Duration spikeEvery();

    abstract Duration spikeLength();

    abstract Builder toBuilder();

    /** Bounded mode with exactly this many events. */
    public Read withNumEvents(long numEvents) {
      Checks.positive("numEvents", numEvents);
      return toBuilder().setNumEvents(numEvents).setUnboundedMode(false).build();
    }

    /**
     * Unbounded mode: emits {@code eventsPerSecond} events per second of wall-clock time, forever
     * or until {@link #withMaxDuration}.
     */
    public Read unbounded() {
      return toBuilder().setUnboundedMode(true).setNumEvents(null).build();
    }

    /** Unbounded mode only: stop after this much wall-clock time. */
    public Read withMaxDuration(Duration maxDuration) {
      Checks.positive("maxDuration", maxDuration);
      return toBuilder().setMaxDuration(maxDuration).build();
    }

    /**
     * Event time of the first event. Default: 2026-01-01T00:00:00Z when bounded, the time the
     * pipeline is constructed when unbounded.
     */
    public Read withStartTime(Instant startTime) {
      Checks.notNull("startTime", startTime);
      return toBuilder().setStartTime(startTime).build();
    }

    /** Events per second of event time (and, unbounded, of wall-clock time). */
    public Read withEventsPerSecond(double eventsPerSecond) {
      Checks.positive("eventsPerSecond", eventsPerSecond);
      return toBuilder().setEventsPerSecond(eventsPerSecond).build();
    }

    public Read withSeed(long seed) {
      return toBuilder().setSeed(seed).build();
    }

    /** Keys are {@code sensor-000} up to {@code sensor-<numKeys - 1>}. */
    public Read withNumKeys(int numKeys) {
      Checks.positive("numKeys", numKeys);
      return toBuilder().setNumKeys(numKeys).build();
    }

    public Read withMetrics(List<String> metrics) {
      Checks.notNull("metrics", metrics);
      if (metrics.isEmpty()) {
        throw new IllegalArgumentException("metrics must name at least one metric, got []");
      }
      for (int i = 0; i < metrics.size(); i++) {
        Checks.notBlank("metrics[" + i + "]", metrics.get(i));
      }
      return toBuilder().setMetrics(List.copyOf(metrics)).build();
    }

    /** Fraction of events whose event time is up to {@code maxOutOfOrderDelay} earlier. */
    public Read withOutOfOrderFraction(double fraction) {
      Checks.fraction("outOfOrderFraction", fraction);
      return toBuilder().setOutOfOrderFraction(fraction).build();
    }

    public Read withMaxOutOfOrderDelay(Duration delay) {
      Checks.notNegative("maxOutOfOrderDelay", delay);
      return toBuilder().setMaxOutOfOrderDelay(delay).build();
    }

    /** Fraction of events late by more than the allowed lateness (see {@link SyntheticIO}). */
    public Read withLateFraction(double fraction) {
      Checks.fraction("lateFraction", fraction);
      return toBuilder().setLateFraction(fraction).build();
    }

    public Read withAllowedLateness(Duration allowedLateness) {
      Checks.notNegative("allowedLateness", allowedLateness);
      return toBuilder().setAllowedLateness(allowedLateness).build();
    }

    /** Fraction of payloads that are malformed. */
    public Read withMalformedFraction(double fraction) {
      Checks.fraction("malformedFraction", fraction);
      return toBuilder().setMalformedFraction(fraction).build();
    }

    /** Keys whose values spike; see {@link #withSpikeMagnitude} and {@link #withSpikeEvery}. */
    public Read withSpikeKeys(List<String> keys) {
      Checks.notNull("spikeKeys", keys);
      return toBuilder().setSpikeKeys(List.copyOf(keys)).build();
    }

    public Read withSpikeMagnitude(double magnitude) {
      Checks.finite("spikeMagnitude", magnitude);
      return toBuilder().setSpikeMagnitude(magnitude).build();
    }

    /** A spike starts every {@code every} of event time and lasts {@code length}. */
    public Read withSpikeEvery(Duration every, Duration length) {
      Checks.positive("spikeEvery", every);
      Checks.positive("spikeLength", length);
      if (length.isLongerThan(every)) {
        throw new IllegalArgumentException(
            "spikeLength " + length + " must not be longer than spikeEvery " + every);
      }
      return toBuilder().setSpikeEvery(every).setSpikeLength(length).build();
    }

    /**
     * The same events as {@link RawPayload}s, the element type of every Sluice source (a bad
     * payload's dead letter then has no source position).
     */
    public PTransform<PBegin, PCollection<RawPayload>> asRawPayloads() {
      Read read = this;
      return new PTransform<PBegin, PCollection<RawPayload>>() {
        @Override
        public PCollection<RawPayload> expand(PBegin begin) {
          return begin
              .apply("Generate", read)
              .apply(
                  "ToRawPayload",
                  MapElements.into(TypeDescriptor.of(RawPayload.class))
                      .via(text -> new RawPayload(text.getBytes(StandardCharsets.UTF_8), null)))
              .setCoder(RawPayload.RawPayloadCoder.of());
        }

        @Override
        public void populateDisplayData(DisplayData.Builder builder) {
          super.populateDisplayData(builder);
          builder.include("generator", read);
        }
      };
    }

    @Override
    public PCollection<String> expand(PBegin input) {
      if (lateFraction() + outOfOrderFraction() > 1.0) {
        throw new IllegalArgumentException(
            "lateFraction + outOfOrderFraction must not exceed 1, got "
                + lateFraction()
                + " + "
                + outOfOrderFraction());
      }
      for (String spikeKey : spikeKeys()) {
        if (!SyntheticEvents.isKey(numKeys(), spikeKey)) {
          throw new IllegalArgumentException(
              "spikeKeys: '"
                  + spikeKey
                  + "' is not a generated key; with numKeys "
                  + numKeys()
                  + " the keys are "
                  + SyntheticEvents.keyName(numKeys(), 0)
                  + " to "
                  + SyntheticEvents.keyName(numKeys(), numKeys() - 1));
        }
      }
      if (!unboundedMode() && maxDuration() != null) {
        throw new IllegalArgumentException(
            "maxDuration "
                + maxDuration()
                + " applies only to unbounded(); bounded mode uses numEvents");
      }
      PCollection<String> payloads;
      if (unboundedMode()) {
        Instant start = startTime() != null ? startTime() : Instant.now();
        SyntheticEvents events = new SyntheticEvents(this, start);
        long limit =
            maxDuration() == null
                ? Long.MAX_VALUE
                : (long) Math.ceil(maxDuration().getMillis() / 1000.0 * eventsPerSecond());
        payloads =
            input
                .apply("Impulse", Impulse.create())
                .apply(
                    "GeneratePayloads",
                    ParDo.of(new PacedGenerateFn(events, limit, eventsPerSecond(), Instant.now())));
      } else {
        Instant start =
            startTime() != null ? startTime() : JsonSupport.parseInstant("2026-01-01T00:00:00Z");
        SyntheticEvents events = new SyntheticEvents(this, start);
        payloads =
            input
                .apply("GenerateSequence", GenerateSequence.from(0).to(numEvents()))
                .apply("GeneratePayloads", ParDo.of(new GenerateFn(events)));
      }
      return payloads.setCoder(StringUtf8Coder.of());
    }

    @Override
    public void populateDisplayData(DisplayData.Builder builder) {
      super.populateDisplayData(builder);
      builder
          .add(DisplayData.item("unbounded", unboundedMode()))
          .addIfNotNull(
              DisplayData.item(
                  "startTime", startTime() == null ? null : JsonSupport.formatInstant(startTime())))
          .addIfNotNull(DisplayData.item("numEvents", numEvents()))
          .addIfNotNull(DisplayData.item("maxDuration", maxDuration()))
          .add(DisplayData.item("eventsPerSecond", eventsPerSecond()))
          .add(DisplayData.item("seed", seed()))
          .add(DisplayData.item("numKeys", numKeys()))
          .add(DisplayData.item("metrics", String.join(",", metrics())))
          .add(DisplayData.item("outOfOrderFraction", outOfOrderFraction()))
          .add(DisplayData.item("maxOutOfOrderDelay", maxOutOfOrderDelay()))
          .add(DisplayData.item("lateFraction", lateFraction()))
          .add(DisplayData.item("allowedLateness", allowedLateness()))
          .add(DisplayData.item("malformedFraction", malformedFraction()))
          .add(DisplayData.item("spikeKeys", String.join(",", spikeKeys())))
          .add(DisplayData.item("spikeMagnitude", spikeMagnitude()))
          .add(DisplayData.item("spikeEvery", spikeEvery()))
          .add(DisplayData.item("spikeLength", spikeLength()));
    }

    @AutoValue.Builder
    abstract static class Builder {
      abstract Builder setNumEvents(@Nullable Long value);

      abstract Builder setUnboundedMode(boolean value);

      abstract Builder setMaxDuration(@Nullable Duration value);

      abstract Builder setStartTime(@Nullable Instant value);

      abstract Builder setEventsPerSecond(double value);

      abstract Builder setSeed(long value);

      abstract Builder setNumKeys(int value);

      abstract Builder setMetrics(List<String> value);

      abstract Builder setOutOfOrderFraction(double value);

      abstract Builder setMaxOutOfOrderDelay(Duration value);

      abstract Builder setLateFraction(double value);

      abstract Builder setAllowedLateness(Duration value);

      abstract Builder setMalformedFraction(double value);

      abstract Builder setSpikeKeys(List<String> value);

      abstract Builder setSpikeMagnitude(double value);

      abstract Builder setSpikeEvery(Duration value);

      abstract Builder setSpikeLength(Duration value);

      abstract Read build();
    }
  }

  /** Bounded mode: index to payload, timestamped with its event time. */
  private static final class GenerateFn extends DoFn<Long, String> {
    private final SyntheticEvents events;

    GenerateFn(SyntheticEvents events) {
      this.events = events;
    }

    @ProcessElement
    public void process(@Element Long index, OutputReceiver<String> out) {
      SyntheticEvents.Generated generated = events.generate(index);
      out.outputWithTimestamp(generated.payload(), generated.timestamp());
    }
  }

  /**
   * Unbounded mode: claims indices as the wall clock makes them due and resumes itself until the
   * next one is; the watermark trails the newest in-order event time by the maximum out-of-order
   * delay.
   */
  @DoFn.UnboundedPerElement
  static final class PacedGenerateFn extends DoFn<byte[], String> {
    private static final int MAX_BATCH = 10_000;
    private final SyntheticEvents events;
    private final long limit;
    private final double eventsPerSecond;
    private final Instant wallStart;

    PacedGenerateFn(SyntheticEvents events, long limit, double eventsPerSecond, Instant wallStart) {
      this.events = events;
      this.limit = limit;
      this.eventsPerSecond = eventsPerSecond;
      this.wallStart = wallStart;
    }

    @GetInitialRestriction
    public OffsetRange initialRestriction() {
      return new OffsetRange(0, limit);
    }

    @NewTracker
    public OffsetRangeTracker newTracker(@Restriction OffsetRange restriction) {
      return new OffsetRangeTracker(restriction);
    }

    @GetInitialWatermarkEstimatorState
    public Instant initialWatermarkState() {
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
        OutputReceiver<String> out) {
      long next = tracker.currentRestriction().getFrom();
      long elapsedMillis = Math.max(0, Instant.now().getMillis() - wallStart.getMillis());
      long due = (long) Math.floor(elapsedMillis / 1000.0 * eventsPerSecond) + 1;
      long end = Math.min(due, next + MAX_BATCH);
      for (long i = next; i < end; i++) {
        if (!tracker.tryClaim(i)) {
          // The runner checkpointed mid-batch; the residual resumes from i with this watermark.
          advanceWatermark(watermark, i);
          return ProcessContinuation.stop();
        }
        SyntheticEvents.Generated generated = events.generate(i);
        out.outputWithTimestamp(generated.payload(), generated.timestamp());
      }
      if (end >= limit) {
        tracker.tryClaim(limit);
        return ProcessContinuation.stop();
      }
      advanceWatermark(watermark, end);
      long millisToNext = (long) Math.ceil((end + 1) * 1000.0 / eventsPerSecond) - elapsedMillis;
      return ProcessContinuation.resume()
          .withResumeDelay(Duration.millis(Math.max(10, Math.min(1_000, millisToNext))));
    }

    /**
     * No event from {@code nextIndex} on is earlier than its in-order time minus the out-of-order
     * delay, except late events, which are meant to be behind the watermark.
     */
    private void advanceWatermark(ManualWatermarkEstimator<Instant> watermark, long nextIndex) {
      Instant candidate = events.baseTime(nextIndex).minus(events.maxOutOfOrderDelay());
      if (candidate.isAfter(watermark.currentWatermark())) {
        watermark.setWatermark(candidate);
      }
    }
  }
}

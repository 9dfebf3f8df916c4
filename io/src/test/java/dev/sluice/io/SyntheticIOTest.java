package dev.sluice.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.sluice.model.DeadLetter.Reason;
import dev.sluice.model.Event;
import dev.sluice.model.JsonSupport;
import dev.sluice.transforms.OutputWithDeadLetters;
import dev.sluice.transforms.ParseEvents;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.testing.TestPipelineExtension;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.Reify;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TimestampedValue;
import org.joda.time.Duration;
import org.joda.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(TestPipelineExtension.class)
class SyntheticIOTest {
  private static final Instant START = JsonSupport.parseInstant("2026-01-01T00:00:00Z");

  private static SyntheticEvents generator(SyntheticIO.Read spec) {
    return new SyntheticEvents(spec, START);
  }

  @Test
  void boundedOutputIsExactlyTheSeededSequenceWithEventTimeTimestamps(TestPipeline pipeline) {
    SyntheticIO.Read spec =
        SyntheticIO.read()
            .withNumEvents(500)
            .withSeed(7)
            .withOutOfOrderFraction(0.2)
            .withMalformedFraction(0.05);
    List<TimestampedValue<String>> expected = new ArrayList<>();
    SyntheticEvents events = generator(spec);
    for (long i = 0; i < 500; i++) {
      SyntheticEvents.Generated generated = events.generate(i);
      expected.add(TimestampedValue.of(generated.payload(), generated.timestamp()));
    }
    PCollection<TimestampedValue<String>> payloads = pipeline.apply(spec).apply(Reify.timestamps());
    PAssert.that(payloads).containsInAnyOrder(expected);
    pipeline.run().waitUntilFinish();
  }

  @Test
  void sameSeedSameEventsOtherSeedOtherEvents() {
    SyntheticIO.Read spec = SyntheticIO.read().withOutOfOrderFraction(0.3);
    SyntheticEvents first = generator(spec.withSeed(1));
    SyntheticEvents again = generator(spec.withSeed(1));
    SyntheticEvents other = generator(spec.withSeed(2));
    int differing = 0;
    for (long i = 0; i < 1_000; i++) {
      assertThat(again.generate(i)).isEqualTo(first.generate(i));
      if (!other.generate(i).payload().equals(first.generate(i).payload())) {
        differing++;
      }
    }
    assertThat(differing).isGreaterThan(990);
  }

  @Test
  void disorderLatenessAndMalformationOccurAtTheConfiguredFractions() {
    SyntheticIO.Read spec =
        SyntheticIO.read()
            .withOutOfOrderFraction(0.10)
            .withMaxOutOfOrderDelay(Duration.standardSeconds(30))
            .withLateFraction(0.02)
            .withAllowedLateness(Duration.standardMinutes(2))
            .withMalformedFraction(0.05);
    SyntheticEvents events = generator(spec);
    int n = 50_000;
    int outOfOrder = 0;
    int late = 0;
    int malformed = 0;
    long lateMargin = Duration.standardSeconds(30 + 120 + 60).getMillis();
    for (long i = 0; i < n; i++) {
      SyntheticEvents.Generated generated = events.generate(i);
      long behind = events.baseTime(i).getMillis() - generated.timestamp().getMillis();
      if (behind >= lateMargin) {
        late++;
      } else if (behind > 0) {
        assertThat(behind).isLessThanOrEqualTo(30_000);
        outOfOrder++;
      }
      if (generated.malformation() != null) {
        malformed++;
      }
    }
    assertThat(outOfOrder / (double) n).isCloseTo(0.10, within(0.01));
    assertThat(late / (double) n).isCloseTo(0.02, within(0.005));
    assertThat(malformed / (double) n).isCloseTo(0.05, within(0.005));
  }

  @Test
  void everyKindOfMalformedPayloadEndsInTheDeadLetterReasonItIsMeantFor(TestPipeline pipeline) {
    SyntheticEvents events = generator(SyntheticIO.read().withMalformedFraction(1.0));
    Map<SyntheticEvents.Malformation, String> oneOfEach =
        new EnumMap<>(SyntheticEvents.Malformation.class);
    for (long i = 0; oneOfEach.size() < SyntheticEvents.Malformation.values().length; i++) {
      SyntheticEvents.Generated generated = events.generate(i);
      oneOfEach.putIfAbsent(generated.malformation(), generated.payload());
    }
    Map<String, Reason> expected = new java.util.HashMap<>();
    oneOfEach.forEach(
        (kind, payload) ->
            expected.put(
                payload,
                switch (kind) {
                  case TRUNCATED_JSON, NOT_JSON -> Reason.MALFORMED_JSON;
                  case MISSING_KEY -> Reason.MISSING_FIELD;
                  case VALUE_NOT_A_NUMBER, UNPARSEABLE_TIME -> Reason.BAD_TYPE;
                  case NON_FINITE_VALUE -> Reason.NON_FINITE_VALUE;
                }));
    OutputWithDeadLetters<Event> parsed =
        pipeline.apply(Create.of(expected.keySet())).apply(ParseEvents.fromJson());
    PAssert.that(parsed.output()).empty();
    PAssert.that(parsed.deadLetters())
        .satisfies(
            letters -> {
              Map<String, Reason> actual = new java.util.HashMap<>();
              letters.forEach(letter -> actual.put(letter.payload(), letter.reason()));
              assertThat(actual).isEqualTo(expected);
              return null;
            });
    pipeline.run().waitUntilFinish();
  }

  @Test
  void spikeKeysRiseBySpikeMagnitudeDuringSpikes() {
    SyntheticEvents events =
        generator(
            SyntheticIO.read()
                .withNumKeys(3)
                .withMetrics(List.of("temperature"))
                .withSpikeKeys(List.of("sensor-001"))
                .withSpikeMagnitude(100)
                .withSpikeEvery(Duration.standardMinutes(2), Duration.standardMinutes(1)));
    double spikeSum = 0;
    int spikeCount = 0;
    double calmSum = 0;
    int calmCount = 0;
    for (long i = 0; i < 240_000; i += 7) { // 4 minutes of event time at 1000/s
      Event event = Event.fromJson(events.generate(i).payload());
      if (!event.key().equals("sensor-001")) {
        continue;
      }
      boolean inSpike = (event.eventTime().getMillis() - START.getMillis()) % 120_000 < 60_000;
      if (inSpike) {
        spikeSum += event.value();
        spikeCount++;
      } else {
        calmSum += event.value();
        calmCount++;
      }
    }
    assertThat(spikeSum / spikeCount - calmSum / calmCount).isCloseTo(100.0, within(0.5));
  }

  @Test
  void unboundedModePacesToTheRateAndStopsAfterTheDuration(TestPipeline pipeline) {
    SyntheticIO.Read spec =
        SyntheticIO.read()
            .unbounded()
            .withStartTime(START)
            .withEventsPerSecond(200)
            .withMaxDuration(Duration.standardSeconds(2));
    List<String> expected = new ArrayList<>();
    SyntheticEvents events = generator(spec);
    for (long i = 0; i < 400; i++) {
      expected.add(events.generate(i).payload());
    }
    PCollection<String> payloads = pipeline.apply(spec);
    assertThat(payloads.isBounded()).isEqualTo(PCollection.IsBounded.UNBOUNDED);
    PAssert.that(payloads).containsInAnyOrder(expected);
    long started = System.nanoTime();
    pipeline.run().waitUntilFinish();
    // Paced by the wall clock: 400 events at 200/s cannot all be out in much less than 2 s.
    assertThat((System.nanoTime() - started) / 1e9).isGreaterThan(1.5);
  }

  @Test
  void unboundedWatermarkKeepsOutOfOrderEventsOnTimeAndLateEventsBehindIt() {
    Duration maxDelay = Duration.standardSeconds(5);
    Duration lateness = Duration.standardSeconds(30);
    SyntheticEvents events =
        generator(
            SyntheticIO.read()
                .unbounded()
                .withEventsPerSecond(1_000)
                .withOutOfOrderFraction(0.3)
                .withMaxOutOfOrderDelay(maxDelay)
                .withLateFraction(0.05)
                .withAllowedLateness(lateness));
    // Started two seconds ago: about 2,000 events are due.
    SyntheticIO.PacedGenerateFn fn =
        new SyntheticIO.PacedGenerateFn(
            events, Long.MAX_VALUE, 1_000, Instant.now().minus(Duration.standardSeconds(2)));
    org.apache.beam.sdk.transforms.splittabledofn.OffsetRangeTracker tracker =
        fn.newTracker(fn.initialRestriction());
    org.apache.beam.sdk.transforms.splittabledofn.WatermarkEstimators.Manual watermark =
        fn.newWatermarkEstimator(fn.initialWatermarkState());
    List<TimestampedValue<String>> emitted = new ArrayList<>();
    org.apache.beam.sdk.transforms.DoFn.ProcessContinuation continuation =
        fn.process(
            tracker,
            watermark,
            new org.apache.beam.sdk.transforms.DoFn.OutputReceiver<String>() {
              @Override
              public org.apache.beam.sdk.values.OutputBuilder<String> builder(String value) {
                throw new UnsupportedOperationException("the generator outputs with timestamps");
              }

              @Override
              public void outputWithTimestamp(String value, Instant timestamp) {
                emitted.add(TimestampedValue.of(value, timestamp));
              }
            });

    assertThat(continuation.shouldResume()).isTrue();
    assertThat(emitted.size()).isBetween(2_000, 2_500);
    Instant current = watermark.currentWatermark();
    assertThat(current).isEqualTo(events.baseTime(emitted.size()).minus(maxDelay));
    int late = 0;
    for (long j = emitted.size(); j < emitted.size() + 20_000; j++) {
      SyntheticEvents.Generated next = events.generate(j);
      boolean isLate =
          events.baseTime(j).getMillis() - next.timestamp().getMillis()
              >= events.lateMargin().getMillis();
      if (isLate) {
        late++;
        assertThat(next.timestamp()).isLessThan(current.minus(lateness));
      } else {
        assertThat(next.timestamp()).isGreaterThanOrEqualTo(current);
      }
    }
    assertThat(late).isBetween(800, 1_200);
  }

  @Test
  void spikeKeysMustBeGeneratedKeys() {
    TestPipeline pipeline = TestPipeline.create().enableAbandonedNodeEnforcement(false);
    assertThatThrownBy(
            () ->
                pipeline.apply(
                    SyntheticIO.read().withNumKeys(10).withSpikeKeys(List.of("sensor-042"))))
        .hasMessage(
            "spikeKeys: 'sensor-042' is not a generated key; with numKeys 10 the keys are"
                + " sensor-000 to sensor-009");
    assertThatThrownBy(
            () ->
                pipeline.apply(
                    SyntheticIO.read().withNumKeys(5_000).withSpikeKeys(List.of("sensor-007"))))
        .hasMessageContaining("the keys are sensor-0000 to sensor-4999");
  }

  @Test
  void invalidSettingsFailAtConstructionNamingTheSettingAndValue() {
    assertThatThrownBy(() -> SyntheticIO.read().withNumEvents(0))
        .hasMessage("numEvents must be positive, got 0");
    assertThatThrownBy(() -> SyntheticIO.read().withNumKeys(-3))
        .hasMessage("numKeys must be positive, got -3");
    assertThatThrownBy(() -> SyntheticIO.read().withMalformedFraction(1.5))
        .hasMessage("malformedFraction must be between 0 and 1, got 1.5");
    assertThatThrownBy(() -> SyntheticIO.read().withEventsPerSecond(Double.NaN))
        .hasMessage("eventsPerSecond must be a positive finite number, got NaN");
    assertThatThrownBy(() -> SyntheticIO.read().withMetrics(List.of()))
        .hasMessage("metrics must name at least one metric, got []");
    assertThatThrownBy(
            () ->
                SyntheticIO.read()
                    .withSpikeEvery(Duration.standardMinutes(1), Duration.standardMinutes(2)))
        .hasMessage("spikeLength PT120S must not be longer than spikeEvery PT60S");
    TestPipeline pipeline = TestPipeline.create().enableAbandonedNodeEnforcement(false);
    assertThatThrownBy(
            () ->
                pipeline.apply(
                    SyntheticIO.read().withLateFraction(0.6).withOutOfOrderFraction(0.5)))
        .hasMessage("lateFraction + outOfOrderFraction must not exceed 1, got 0.6 + 0.5");
  }
}

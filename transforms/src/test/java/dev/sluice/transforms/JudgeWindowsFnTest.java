package dev.sluice.transforms;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.model.Alert;
import dev.sluice.model.DeadLetter;
import dev.sluice.model.ModelFixtures;
import dev.sluice.model.PaneTiming;
import dev.sluice.model.WindowStats;
import dev.sluice.rules.EngineInput;
import dev.sluice.rules.EngineInput.EngineInputCoder;
import dev.sluice.rules.Rule;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.coders.VarIntCoder;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.testing.TestPipelineExtension;
import org.apache.beam.sdk.testing.TestStream;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.util.CoderUtils;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TimestampedValue;
import org.apache.beam.sdk.values.TupleTag;
import org.apache.beam.sdk.values.TupleTagList;
import org.joda.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * When the rule step judges a closed pane: on arrival when it continues its (key, metric)'s judged
 * windows, after the watermark otherwise. A rule deletion that arrives between the pane and the
 * watermark tells the two apart: a pane judged on arrival has already fired, and the deletion
 * resolves it; a pane still waiting for the watermark is judged without the rule and raises
 * nothing.
 */
@ExtendWith(TestPipelineExtension.class)
class JudgeWindowsFnTest {
  private static final Rule HOT = Rule.of("hot", "mean(temperature) > 80");
  private static final String DELETE_HOT = "{\"id\":\"hot\",\"version\":2,\"deleted\":true}";

  @Test
  void aPaneThatContinuesTheJudgedWindowsFiresWithoutWaitingForTheWatermark(TestPipeline p) {
    PCollection<Alert> alerts = judge(p, 1);
    RuleScenarios.expectAlerts(
        alerts, "FIRING hot v1 a temperature [1,2) 90", "RESOLVED hot v2 a temperature [1,2) 0");
    p.run().waitUntilFinish();
  }

  @Test
  void aPaneAfterAGapWaitsForTheWatermark(TestPipeline p) {
    PCollection<Alert> alerts = judge(p, 2);
    PAssert.that(alerts).empty();
    p.run().waitUntilFinish();
  }

  /**
   * A late pane of the window judged last waits for the watermark; the next window, arriving behind
   * it, must not overtake it: judged in order, the late pane fires and the next window resolves.
   */
  @Test
  void aPaneDoesNotOvertakeALatePaneOfItsSeriesThatWaitsForTheWatermark(TestPipeline p) {
    WindowStats first = minute(0, 50);
    WindowStats late =
        new WindowStats(
            "a",
            "temperature",
            first.windowStart(),
            first.windowEnd(),
            2,
            180.0,
            50.0,
            130.0,
            90.0,
            40.0,
            null,
            null,
            null,
            null,
            PaneTiming.LATE,
            1,
            true);
    TestStream<KV<Integer, EngineInput>> stream =
        TestStream.create(KvCoder.of(VarIntCoder.of(), EngineInputCoder.of()))
            .addElements(pane(first))
            .advanceWatermarkTo(ModelFixtures.T0.plus(60_000))
            .addElements(pane(late), pane(minute(1, 50)))
            .advanceWatermarkToInfinity();
    RuleScenarios.expectAlerts(
        judge(p, stream),
        "FIRING hot v1 a temperature [0,1) 90",
        "RESOLVED hot v1 a temperature [1,2) 50");
    p.run().waitUntilFinish();
  }

  /**
   * Sliding windows (2 minutes every minute) judged at two wakes overlap: the (key, metric) is
   * never judged on arrival again, so a window that starts where the last judged one ended still
   * waits for the watermark (a window between them may still come) and the deletion before it keeps
   * it from firing.
   */
  @Test
  void windowsThatOverlappedAcrossWakesAreNeverJudgedOnArrival(TestPipeline p) {
    TestStream<KV<Integer, EngineInput>> stream =
        TestStream.create(KvCoder.of(VarIntCoder.of(), EngineInputCoder.of()))
            .addElements(pane(twoMinutes(0, 50)))
            .advanceWatermarkTo(ModelFixtures.T0.plus(120_000))
            .addElements(pane(twoMinutes(1, 50)))
            .advanceWatermarkTo(ModelFixtures.T0.plus(180_000))
            .addElements(pane(twoMinutes(3, 90)))
            .addElements(
                TimestampedValue.of(
                    KV.of(0, EngineInput.rule(Rule.fromJson(DELETE_HOT), DELETE_HOT, "test")),
                    ModelFixtures.T0.plus(180_000)))
            .advanceWatermarkToInfinity();
    PAssert.that(judge(p, stream)).empty();
    p.run().waitUntilFinish();
  }

  /** State written before judging on arrival existed: plain stats, tag {@code STATS}. */
  @Test
  void statsInTheEncodingOfThePreviousVersionDecodeAsNotYetJudged() throws Exception {
    WindowStats stats = minute(3, 90);
    java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
    StringUtf8Coder.of().encode("STATS", bytes);
    WindowStats.WindowStatsCoder.of().encode(stats, bytes);
    EngineInput decoded =
        CoderUtils.decodeFromByteArray(EngineInputCoder.of(), bytes.toByteArray());
    assertThat(decoded.stats()).isEqualTo(stats);
    assertThat(decoded.judgedOnArrival()).isFalse();
  }

  /**
   * A pane judged on arrival waits in the step's state for the absence rules; restored from a
   * checkpoint, it must still be marked, or its threshold rules would judge it twice.
   */
  @Test
  void aPaneJudgedOnArrivalStaysMarkedThroughTheStateCoder() throws Exception {
    EngineInputCoder coder = EngineInputCoder.of();
    WindowStats stats = minute(3, 90);
    for (EngineInput input :
        List.of(EngineInput.stats(stats), EngineInput.stats(stats, Map.of("limit", 5.0)))) {
      EngineInput judged =
          CoderUtils.decodeFromByteArray(
              coder, CoderUtils.encodeToByteArray(coder, input.judged()));
      assertThat(judged.judgedOnArrival()).isTrue();
      assertThat(judged.stats()).isEqualTo(stats);
      assertThat(judged.reference()).isEqualTo(input.reference());
      assertThat(
              CoderUtils.decodeFromByteArray(coder, CoderUtils.encodeToByteArray(coder, input))
                  .judgedOnArrival())
          .isFalse();
    }
  }

  /**
   * Minute 0 (mean 50) judged when the watermark passes it, then minute {@code nextMinute} (mean
   * 90), then the deletion of the rule, then the end of the input.
   */
  private static PCollection<Alert> judge(TestPipeline p, int nextMinute) {
    TestStream<KV<Integer, EngineInput>> stream =
        TestStream.create(KvCoder.of(VarIntCoder.of(), EngineInputCoder.of()))
            .addElements(pane(minute(0, 50)))
            .advanceWatermarkTo(ModelFixtures.T0.plus(60_000))
            .addElements(pane(minute(nextMinute, 90)))
            .addElements(
                TimestampedValue.of(
                    KV.of(0, EngineInput.rule(Rule.fromJson(DELETE_HOT), DELETE_HOT, "test")),
                    ModelFixtures.T0.plus(60_000)))
            .advanceWatermarkToInfinity();
    return judge(p, stream);
  }

  private static PCollection<Alert> judge(
      TestPipeline p, TestStream<KV<Integer, EngineInput>> stream) {
    TupleTag<Alert> alertsTag = new TupleTag<Alert>() {};
    TupleTag<DeadLetter> deadLettersTag = new TupleTag<DeadLetter>() {};
    PCollectionTuple out =
        p.apply(stream)
            .apply(
                ParDo.of(new JudgeWindowsFn(List.of(HOT), List.of(), alertsTag, deadLettersTag))
                    .withOutputTags(alertsTag, TupleTagList.of(deadLettersTag)));
    out.get(deadLettersTag).setCoder(DeadLetter.DeadLetterCoder.of());
    return out.get(alertsTag).setCoder(Alert.AlertCoder.of());
  }

  private static WindowStats minute(int minute, double mean) {
    return ModelFixtures.onTimeMinute("a", "temperature", minute, 1, mean, mean, mean, 0.0);
  }

  /** A closed on-time pane of the 2-minute window starting at {@code minute}. */
  private static WindowStats twoMinutes(int minute, double mean) {
    WindowStats one = minute(minute, mean);
    return new WindowStats(
        one.key(),
        one.metric(),
        one.windowStart(),
        one.windowStart().plus(120_000),
        1,
        mean,
        mean,
        mean,
        mean,
        0.0,
        null,
        null,
        null,
        null,
        PaneTiming.ON_TIME,
        0,
        true);
  }

  private static TimestampedValue<KV<Integer, EngineInput>> pane(WindowStats stats) {
    return TimestampedValue.of(
        KV.of(0, EngineInput.stats(stats)), new Instant(stats.windowEnd().getMillis() - 1));
  }
}

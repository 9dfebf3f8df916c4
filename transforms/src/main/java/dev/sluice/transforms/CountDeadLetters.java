package dev.sluice.transforms;

import dev.sluice.model.DeadLetter;
import java.util.HashMap;
import java.util.Map;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.PCollection;

/**
 * Counts dead letters by reason and stage in Beam counters and passes them on unchanged: one
 * counter {@code dead_letters:<REASON>:<stage>} per pair in namespace {@value #METRICS_NAMESPACE},
 * so a monitoring system sees every stage's rejections in one place (the per-stage counters, such
 * as {@link ParseEvents}'s, count only their own).
 *
 * <pre>{@code
 * PCollection<DeadLetter> all = PCollectionList.of(parts).apply(Flatten.pCollections());
 * all.apply("CountDeadLetters", CountDeadLetters.of()).apply("StoreDeadLetters", sink);
 * }</pre>
 *
 * <p>Bounded or unbounded; the counters are Beam metrics (attempted values may count a retried
 * bundle twice, committed values do not).
 */
public final class CountDeadLetters
    extends PTransform<PCollection<DeadLetter>, PCollection<DeadLetter>> {

  public static final String METRICS_NAMESPACE = "sluice.deadletters";

  /** Prefix of the counter names; see {@link #counterName}. */
  public static final String PREFIX = "dead_letters:";

  private CountDeadLetters() {}

  public static CountDeadLetters of() {
    return new CountDeadLetters();
  }

  /** The counter of dead letters with {@code reason} from {@code stage} (stage last: any text). */
  public static String counterName(DeadLetter.Reason reason, String stage) {
    return PREFIX + reason.name() + ":" + stage;
  }

  @Override
  public PCollection<DeadLetter> expand(PCollection<DeadLetter> input) {
    return input.apply("Count", ParDo.of(new CountFn())).setCoder(input.getCoder());
  }

  private static final class CountFn extends DoFn<DeadLetter, DeadLetter> {
    private transient Map<String, Counter> counters;

    @Setup
    public void setup() {
      counters = new HashMap<>();
    }

    @ProcessElement
    public void process(@Element DeadLetter deadLetter, OutputReceiver<DeadLetter> out) {
      counters
          .computeIfAbsent(
              counterName(deadLetter.reason(), deadLetter.stage()),
              name -> Metrics.counter(METRICS_NAMESPACE, name))
          .inc();
      out.output(deadLetter);
    }
  }
}

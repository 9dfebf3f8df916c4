package dev.sluice.transforms;

import dev.sluice.model.DeadLetter;
import java.util.Map;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.PInput;
import org.apache.beam.sdk.values.POutput;
import org.apache.beam.sdk.values.PValue;
import org.apache.beam.sdk.values.TupleTag;

/**
 * Result of a transform that splits its input into good output and dead letters, in the manner of
 * Beam's {@code WriteResult}: callers use {@link #output()} and {@link #deadLetters()}, never raw
 * tuple tags.
 *
 * @param <T> type of the good output
 */
public final class OutputWithDeadLetters<T> implements POutput {
  private final Pipeline pipeline;
  private final TupleTag<T> outputTag;
  private final PCollection<T> output;
  private final TupleTag<DeadLetter> deadLetterTag;
  private final PCollection<DeadLetter> deadLetters;

  private OutputWithDeadLetters(
      Pipeline pipeline,
      TupleTag<T> outputTag,
      PCollection<T> output,
      TupleTag<DeadLetter> deadLetterTag,
      PCollection<DeadLetter> deadLetters) {
    this.pipeline = pipeline;
    this.outputTag = outputTag;
    this.output = output;
    this.deadLetterTag = deadLetterTag;
    this.deadLetters = deadLetters;
  }

  /** Wraps the two outputs of a multi-output ParDo. */
  public static <T> OutputWithDeadLetters<T> in(
      PCollectionTuple tuple, TupleTag<T> outputTag, TupleTag<DeadLetter> deadLetterTag) {
    return new OutputWithDeadLetters<>(
        tuple.getPipeline(),
        outputTag,
        tuple.get(outputTag),
        deadLetterTag,
        tuple.get(deadLetterTag));
  }

  /** Elements that passed. */
  public PCollection<T> output() {
    return output;
  }

  /** Elements that were rejected, each with a reason code and the original payload. */
  public PCollection<DeadLetter> deadLetters() {
    return deadLetters;
  }

  @Override
  public Pipeline getPipeline() {
    return pipeline;
  }

  @Override
  public Map<TupleTag<?>, PValue> expand() {
    return Map.of(outputTag, output, deadLetterTag, deadLetters);
  }

  @Override
  public void finishSpecifyingOutput(
      String transformName, PInput input, PTransform<?, ?> transform) {}
}

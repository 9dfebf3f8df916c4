package dev.sluice.runners.faults;

import dev.sluice.pipelines.spec.PipelineSpec;
import dev.sluice.pipelines.spec.SpecPipeline;
import dev.sluice.pipelines.spec.SpecReader;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.runners.TransformHierarchy;
import org.apache.beam.sdk.util.SerializableUtils;
import org.apache.beam.sdk.util.construction.PipelineTranslation;

/**
 * Builds a spec's pipeline as a runner would ship it and prints it: the portable pipeline proto
 * (every transform's serialized payload, which Flink's job graph and Dataflow's template carry) and
 * the Java serialization of every transform. {@link SecretsIT} runs it in a child JVM with canary
 * secrets in its environment and looks for them in what it prints.
 */
public final class SecretsProbe {
  private SecretsProbe() {}

  public static void main(String[] args) throws Exception {
    PipelineSpec spec = SpecReader.read(Path.of(args[0]));
    Pipeline pipeline = Pipeline.create(PipelineOptionsFactory.create());
    SpecPipeline.build(pipeline, spec);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(PipelineTranslation.toProto(pipeline).toByteArray());
    pipeline.traverseTopologically(
        new Pipeline.PipelineVisitor.Defaults() {
          @Override
          public void visitPrimitiveTransform(TransformHierarchy.Node node) {
            write(node);
          }

          @Override
          public CompositeBehavior enterCompositeTransform(TransformHierarchy.Node node) {
            write(node);
            return CompositeBehavior.ENTER_TRANSFORM;
          }

          private void write(TransformHierarchy.Node node) {
            if (node.getTransform() != null) {
              out.writeBytes(SerializableUtils.serializeToByteArray(node.getTransform()));
            }
          }
        });
    // ISO-8859-1 keeps every byte, so a canary anywhere in the bytes shows up in the text.
    System.out.println(new String(out.toByteArray(), StandardCharsets.ISO_8859_1));
  }
}

package dev.sluice.runners;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.pipelines.SpecJob;
import dev.sluice.pipelines.spec.PipelineSpec;
import dev.sluice.pipelines.spec.SpecReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.options.PipelineOptionsFactory;

/**
 * A Dataflow Flex Template for a spec: {@code metadata.json} with one parameter per deployment
 * setting of the spec (input paths, brokers, topics, database URLs and users, window sizes; see
 * {@link SpecReader#deploymentSettings}), a {@code Dockerfile} on Google's Java 17 launcher image,
 * and the launcher {@link #main}, which applies the parameters as overrides of the spec and submits
 * the job.
 *
 * <pre>{@code
 * ./sluice flex-template examples/iot.yaml --output-dir flex/iot
 * # then see flex/iot/README.txt: docker build + push, gcloud dataflow flex-template build / run
 * }</pre>
 */
public final class FlexTemplate {
  /** Environment variable of the launcher: the spec inside the image. */
  public static final String SPEC_ENV = "SLUICE_SPEC";

  private FlexTemplate() {}

  /** The template parameter name of a spec path: {@code windows[0].size} → windows_0_size. */
  public static String parameterName(String specPath) {
    return specPath.replace("]", "").replace('[', '_').replace('.', '_');
  }

  /** Writes metadata.json, Dockerfile and README.txt for {@code spec} into {@code dir}. */
  public static List<Path> write(Path spec, Path dir) {
    PipelineSpec parsed = SpecReader.read(spec);
    SluiceCli.checkForDataflow(parsed);
    Map<String, String> settings = SpecReader.deploymentSettings(spec);
    ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    ObjectNode metadata = mapper.createObjectNode();
    metadata.put("name", "Sluice " + parsed.name());
    metadata.put(
        "description",
        "Sluice pipeline " + parsed.name() + " from " + spec.getFileName() + " (Apache Beam)");
    ArrayNode parameters = metadata.putArray("parameters");
    settings.forEach(
        (path, value) -> {
          ObjectNode p = parameters.addObject();
          p.put("name", parameterName(path));
          p.put("label", path);
          p.put(
              "helpText",
              "Overrides " + path + " of " + spec.getFileName() + " (default " + value + ")");
          p.put("isOptional", true);
        });
    String file = spec.getFileName().toString();
    String dockerfile =
        String.join(
            "\n",
            "# Flex Template image for the Sluice pipeline " + parsed.name() + ".",
            "# Build the jar first: mvn -B -Pbundle -pl runners-config -am package -DskipTests",
            "FROM gcr.io/dataflow-templates-base/java17-template-launcher-base:latest",
            "ARG WORKDIR=/template",
            "WORKDIR ${WORKDIR}",
            "COPY sluice-bundled.jar ${WORKDIR}/sluice-bundled.jar",
            "COPY " + file + " ${WORKDIR}/" + file,
            "ENV FLEX_TEMPLATE_JAVA_MAIN_CLASS=" + FlexTemplate.class.getName(),
            "ENV FLEX_TEMPLATE_JAVA_CLASSPATH=${WORKDIR}/sluice-bundled.jar",
            "ENV " + SPEC_ENV + "=${WORKDIR}/" + file,
            "ENTRYPOINT [\"/opt/google/dataflow/java_template_launcher\"]",
            "");
    String readme =
        String.join(
            "\n",
            "Flex Template for " + parsed.name() + " (" + settings.size() + " parameters).",
            "",
            "cp ../../runners-config/target/sluice-bundled.jar ../../" + spec + " .",
            "docker build -t REGION-docker.pkg.dev/PROJECT/REPO/sluice-" + parsed.name() + " .",
            "docker push REGION-docker.pkg.dev/PROJECT/REPO/sluice-" + parsed.name(),
            "gcloud dataflow flex-template build gs://BUCKET/templates/"
                + parsed.name()
                + ".json \\",
            "  --image REGION-docker.pkg.dev/PROJECT/REPO/sluice-" + parsed.name() + " \\",
            "  --sdk-language JAVA --metadata-file metadata.json",
            "gcloud dataflow flex-template run " + parsed.name() + "-$(date +%s) \\",
            "  --template-file-gcs-location gs://BUCKET/templates/" + parsed.name() + ".json \\",
            "  --region REGION"
                + (settings.isEmpty()
                    ? ""
                    : " --parameters "
                        + parameterName(settings.keySet().iterator().next())
                        + "=VALUE"),
            "");
    try {
      Files.createDirectories(dir);
      Path m = dir.resolve("metadata.json");
      Files.writeString(m, mapper.writeValueAsString(metadata) + "\n");
      Path d = dir.resolve("Dockerfile");
      Files.writeString(d, dockerfile);
      Path r = dir.resolve("README.txt");
      Files.writeString(r, readme);
      return List.of(m, d, r);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Splits launcher arguments into spec overrides (known parameter names) and Beam options (the
   * rest, e.g. {@code --project}, {@code --region}, {@code --stagingLocation}).
   */
  static Map<String, String> overrides(Path spec, List<String> args, List<String> beamArgs) {
    Map<String, String> byName = new LinkedHashMap<>();
    for (String path : SpecReader.deploymentSettings(spec).keySet()) {
      byName.put(parameterName(path), path);
    }
    Map<String, String> overrides = new LinkedHashMap<>();
    for (String arg : args) {
      int eq = arg.indexOf('=');
      String name = arg.startsWith("--") && eq > 2 ? arg.substring(2, eq) : null;
      if (name != null && byName.containsKey(name)) {
        overrides.put(byName.get(name), arg.substring(eq + 1));
      } else {
        beamArgs.add(arg);
      }
    }
    return overrides;
  }

  /** The Flex Template launcher: spec from {@value #SPEC_ENV}, parameters as overrides. */
  public static void main(String[] args) {
    String specFile = System.getenv(SPEC_ENV);
    if (specFile == null) {
      System.err.println(SPEC_ENV + " is not set; it names the spec inside the image");
      System.exit(2);
    }
    Path spec = Path.of(specFile);
    List<String> beamArgs = new ArrayList<>();
    Map<String, String> overrides = overrides(spec, List.of(args), beamArgs);
    PipelineSpec parsed = SpecReader.read(spec, overrides);
    SpecJob.writeGraph(
        parsed,
        PipelineOptionsFactory.fromArgs(
                RunnerPreset.DATAFLOW.mergeWith(beamArgs).toArray(new String[0]))
            .withValidation()
            .create());
  }
}

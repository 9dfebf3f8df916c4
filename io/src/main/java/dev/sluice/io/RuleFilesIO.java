package dev.sluice.io;

import com.google.auto.value.AutoValue;
import dev.sluice.model.RawPayload;
import dev.sluice.rules.Rule;
import dev.sluice.transforms.Checks;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.beam.sdk.io.FileIO;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.values.PBegin;
import org.apache.beam.sdk.values.PCollection;
import org.checkerframework.checker.nullness.qual.Nullable;
import org.joda.time.Duration;

/**
 * Rule files: a JSON array of rules, or one JSON rule per line (blank lines and lines starting with
 * {@code #} are skipped). See {@link Rule} for the fields.
 *
 * <pre>{@code
 * List<Rule> rules = RuleFilesIO.load(Path.of("rules.json"));            // static, fails fast
 * PCollection<RawPayload> updates =
 *     pipeline.apply("WatchRules", RuleFilesIO.watch("/etc/sluice/rules/*.json")); // unbounded
 * stats.apply(EvaluateRules.of(rules).withRuleUpdates(updates));
 * }</pre>
 *
 * <p>{@link #watch} polls the pattern and re-reads a file whenever it appears or changes, emitting
 * each rule it holds with {@code source} = {@code file:line} (or {@code file[index]} in an array).
 * Rules whose version did not change are ignored downstream, so re-reading a whole file is
 * harmless; deleting a file deletes no rule (send a version with {@code "deleted": true}). A file
 * that is not valid JSON is one payload, which becomes an {@code INVALID_RULE} dead letter.
 */
public final class RuleFilesIO {
  private RuleFilesIO() {}

  /**
   * Reads static rules from one file, failing fast.
   *
   * @throws IllegalArgumentException naming the file, line and problem
   */
  public static List<Rule> load(Path file) {
    String content;
    try {
      content = Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read rules file " + file + ": " + e, e);
    }
    List<Rule> rules = new ArrayList<>();
    Set<String> ids = new HashSet<>();
    for (RawPayload payload : split(file.toString(), content)) {
      Rule rule;
      try {
        rule = Rule.fromJson(new String(payload.bytes(), StandardCharsets.UTF_8));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(payload.source() + ": " + e.getMessage(), e);
      }
      if (!ids.add(rule.id())) {
        throw new IllegalArgumentException(
            payload.source() + ": rule id '" + rule.id() + "' appears twice");
      }
      rules.add(rule);
    }
    return rules;
  }

  /** Splits a rule file into one payload per rule; see the class comment for the formats. */
  static List<RawPayload> split(String fileName, String content) {
    List<RawPayload> out = new ArrayList<>();
    String trimmed = content.strip();
    if (trimmed.startsWith("[")) {
      com.fasterxml.jackson.databind.JsonNode array;
      try {
        array = new com.fasterxml.jackson.databind.ObjectMapper().readTree(trimmed);
      } catch (IOException e) {
        out.add(payload(content, fileName));
        return out;
      }
      for (int i = 0; i < array.size(); i++) {
        out.add(payload(array.get(i).toString(), fileName + "[" + i + "]"));
      }
      return out;
    }
    String[] lines = content.split("\r?\n", -1);
    for (int i = 0; i < lines.length; i++) {
      String line = lines[i].strip();
      if (!line.isEmpty() && !line.startsWith("#")) {
        out.add(payload(line, fileName + ":" + (i + 1)));
      }
    }
    return out;
  }

  private static RawPayload payload(String text, String source) {
    return new RawPayload(text.getBytes(StandardCharsets.UTF_8), source);
  }

  /** Watches {@code filepattern} for new and changed rule files; unbounded. */
  public static Watch watch(String filepattern) {
    Checks.notBlank("filepattern", filepattern);
    return new AutoValue_RuleFilesIO_Watch(filepattern, Duration.standardSeconds(5), null);
  }

  /** A rule-file watch. */
  @AutoValue
  public abstract static class Watch extends PTransform<PBegin, PCollection<RawPayload>> {
    abstract String filepattern();

    abstract Duration pollInterval();

    abstract @Nullable Duration stopAfterIdle();

    /** How often the pattern is matched (default 5 s). */
    public Watch withPollInterval(Duration interval) {
      Checks.positive("pollInterval", interval);
      return new AutoValue_RuleFilesIO_Watch(filepattern(), interval, stopAfterIdle());
    }

    /**
     * Stops watching after this long without a new or changed file (default: never), which makes
     * the output finish: for tests and replays.
     */
    public Watch withStopAfterIdle(Duration idle) {
      Checks.positive("stopAfterIdle", idle);
      return new AutoValue_RuleFilesIO_Watch(filepattern(), pollInterval(), idle);
    }

    @Override
    public PCollection<RawPayload> expand(PBegin input) {
      org.apache.beam.sdk.transforms.Watch.Growth.TerminationCondition<String, ?> until =
          stopAfterIdle() == null
              ? org.apache.beam.sdk.transforms.Watch.Growth.never()
              : org.apache.beam.sdk.transforms.Watch.Growth.afterTimeSinceNewOutput(
                  stopAfterIdle());
      return input
          .apply(
              "MatchRuleFiles",
              FileIO.match().filepattern(filepattern()).continuously(pollInterval(), until, true))
          .apply("ReadRuleFiles", FileIO.readMatches())
          .apply("SplitRules", ParDo.of(new SplitFn()))
          .setCoder(RawPayload.RawPayloadCoder.of());
    }

    @Override
    public void populateDisplayData(DisplayData.Builder builder) {
      super.populateDisplayData(builder);
      builder
          .add(DisplayData.item("filepattern", filepattern()))
          .add(DisplayData.item("pollInterval", pollInterval()))
          .addIfNotNull(DisplayData.item("stopAfterIdle", stopAfterIdle()));
    }
  }

  private static final class SplitFn extends DoFn<FileIO.ReadableFile, RawPayload> {
    @ProcessElement
    public void process(@Element FileIO.ReadableFile file, OutputReceiver<RawPayload> out)
        throws IOException {
      String name = file.getMetadata().resourceId().getFilename();
      for (RawPayload payload : split(name, file.readFullyAsUTF8String())) {
        out.output(payload);
      }
    }
  }
}

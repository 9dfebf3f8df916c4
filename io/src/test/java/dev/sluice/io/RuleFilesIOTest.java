package dev.sluice.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.model.RawPayload;
import dev.sluice.rules.Rule;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.testing.TestPipelineExtension;
import org.apache.beam.sdk.values.PCollection;
import org.joda.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

@ExtendWith(TestPipelineExtension.class)
class RuleFilesIOTest {
  @TempDir Path dir;

  @Test
  void loadsAnArrayOrOneRulePerLine() throws IOException {
    Path array = dir.resolve("rules.json");
    Files.writeString(
        array,
        "[{\"id\":\"hot\",\"condition\":\"mean(temperature) > 80\"},\n"
            + " {\"id\":\"dead\",\"condition\":\"absent(*) for 5m\"}]");
    Path lines = dir.resolve("rules.jsonl");
    Files.writeString(
        lines,
        "# one rule per line\n\n{\"id\":\"slow\",\"condition\":\"p99(latency_ms) >= 500\"}\n");
    assertThat(RuleFilesIO.load(array)).extracting(Rule::id).containsExactly("hot", "dead");
    assertThat(RuleFilesIO.load(lines)).extracting(Rule::id).containsExactly("slow");
  }

  @Test
  void aBadRuleFileNamesFileLineAndField() throws IOException {
    Path file = dir.resolve("rules.jsonl");
    Files.writeString(
        file,
        "{\"id\":\"ok\",\"condition\":\"mean(t) > 1\"}\n"
            + "{\"id\":\"bad\",\"condition\":\"mean(t) > 1\",\"resolve_after\":0}\n");
    assertThatThrownBy(() -> RuleFilesIO.load(file))
        .hasMessage(file + ":2: rule 'bad': resolve_after must be from 1 to 1000 windows, got 0");
    Files.writeString(
        file,
        "{\"id\":\"a\",\"condition\":\"mean(t) > 1\"}\n{\"id\":\"a\",\"condition\":\"max(t) > 1\"}");
    assertThatThrownBy(() -> RuleFilesIO.load(file))
        .hasMessage(file + ":2: rule id 'a' appears twice");
    assertThatThrownBy(() -> RuleFilesIO.load(dir.resolve("missing.json")))
        .hasMessageContaining("cannot read rules file " + dir.resolve("missing.json"));
  }

  @Test
  void watchEmitsEveryRuleOfEveryMatchingFileWithItsSource(TestPipeline pipeline)
      throws IOException {
    Files.writeString(
        dir.resolve("a.json"),
        "[{\"id\":\"hot\",\"condition\":\"mean(t) > 80\"},{\"id\":\"cold\",\"condition\":\"mean(t) < 0\"}]");
    Files.writeString(
        dir.resolve("b.jsonl"), "{\"id\":\"x\",\"condition\":\"count(t) < 1\"}\nnot json\n");
    Files.writeString(dir.resolve("ignored.txt"), "{}");
    PCollection<RawPayload> payloads =
        pipeline.apply(
            RuleFilesIO.watch(dir + "/*.json*")
                .withPollInterval(Duration.millis(200))
                .withStopAfterIdle(Duration.standardSeconds(2)));
    PAssert.that(payloads)
        .satisfies(
            all -> {
              List<String> got = new ArrayList<>();
              for (RawPayload p : all) {
                got.add(p.source() + " " + new String(p.bytes(), StandardCharsets.UTF_8));
              }
              assertThat(got)
                  .containsExactlyInAnyOrder(
                      "a.json[0] {\"id\":\"hot\",\"condition\":\"mean(t) > 80\"}",
                      "a.json[1] {\"id\":\"cold\",\"condition\":\"mean(t) < 0\"}",
                      "b.jsonl:1 {\"id\":\"x\",\"condition\":\"count(t) < 1\"}",
                      "b.jsonl:2 not json");
              return null;
            });
    pipeline.run().waitUntilFinish();
  }
}

package dev.sluice.pipelines.spec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.rules.Silence;
import java.time.DayOfWeek;
import java.time.ZoneId;
import java.util.Set;
import org.joda.time.Duration;
import org.joda.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** A spec's {@code for:} on rules and its {@code silences:}. */
class AlertingSpecTest {
  private static final String SPEC =
      String.join(
          "\n",
          "name: iot", // 1
          "source: {type: file, path: data/*.jsonl}", // 2
          "windows: [{type: tumbling, size: 1m}]", // 3
          "rules:", // 4
          "  - id: hot", // 5
          "    condition: mean(temperature) > 50", // 6
          "    for: 3m", // 7
          "    labels: {team: iot}", // 8
          "silences:", // 9
          "  - id: backups", // 10
          "    matchers: {key: 'db-*', labels: {team: iot}}", // 11
          "    weekly: {days: [SAT, SUN], from: '01:30', to: '03:30', time_zone: Europe/Berlin}", // 12
          "  - id: migration", // 13
          "    matchers: {rule: 'hot*'}", // 14
          "    starts_at: '2026-12-05T22:00:00Z'", // 15
          "    ends_at: '2026-12-06T02:00:00Z'", // 16
          "    comment: OPS-42", // 17
          "sinks:", // 18
          "  alerts: [{type: log}]", // 19
          "");

  @Test
  void pendingDurationsAndSilencesAreRead() {
    PipelineSpec spec = SpecReader.parse("iot.yaml", SPEC);
    assertThat(spec.rules().get(0).pendingFor()).isEqualTo(Duration.standardMinutes(3));
    assertThat(spec.silences()).extracting(Silence::id).containsExactly("backups", "migration");
    Silence backups = spec.silences().get(0);
    assertThat(backups.weekly().days()).isEqualTo(Set.of(DayOfWeek.SATURDAY, DayOfWeek.SUNDAY));
    assertThat(backups.weekly().zone()).isEqualTo(ZoneId.of("Europe/Berlin"));
    assertThat(backups.labels()).containsEntry("team", "iot");
    Silence migration = spec.silences().get(1);
    assertThat(migration.endsAt()).isEqualTo(Instant.parse("2026-12-06T02:00:00Z"));
    assertThat(migration.comment()).isEqualTo("OPS-42");
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      quoteCharacter = '"',
      textBlock =
          """
          for not a duration | "    for: 3m"                       | "    for: 3 minutes"                   | "iot.yaml:7: rules[0].for: rule 'hot': for: ""3 minutes"" is not a duration"
          for with speculative | "    for: 3m"                     | "    for: 3m\\n    speculative: true"   | "iot.yaml:7: rules[0].for: rule 'hot': for and speculative do not combine"
          bad time zone      | "time_zone: Europe/Berlin"           | "time_zone: Europe/Paris-ish"         | "iot.yaml:12: silences[0].weekly.time_zone: silence 'backups': weekly.time_zone 'Europe/Paris-ish' is not a time zone"
          bad day            | "days: [SAT, SUN]"                   | "days: [SAT, SUNDAE]"                 | "iot.yaml:12: silences[0].weekly.days: silence 'backups': weekly.days: ""SUNDAE"" is not a day"
          no matchers        | "    matchers: {rule: 'hot*'}"       | "    version: 1"                       | "iot.yaml:13: silences[1]: silence 'migration': matchers is required"
          end before start   | "    ends_at: '2026-12-06T02:00:00Z'" | "    ends_at: '2026-12-05T02:00:00Z'" | "iot.yaml:16: silences[1].ends_at: silence 'migration': ends_at 2026-12-05T02:00:00.000Z must be after starts_at"
          duplicate id       | "  - id: migration"                  | "  - id: backups"                      | "iot.yaml:13: silences[1].id: duplicate silence id 'backups'"
          unknown key        | "    comment: OPS-42"                | "    reason: OPS-42"                   | "iot.yaml:13: silences[1]: silence 'migration': unknown field 'reason'"
          """)
  void brokenAlertingSettingsAreRejectedWithFileLineAndField(
      String what, String oldLine, String newLine, String message) {
    assertThat(SPEC).contains(oldLine);
    String text = SPEC.replace(oldLine, newLine.replace("\\n", "\n"));
    assertThatThrownBy(() -> SpecReader.parse("iot.yaml", text))
        .as(what)
        .isInstanceOf(SpecException.class)
        .message()
        .startsWith(message);
  }

  @Test
  void silencesNeedRules() {
    String noRules =
        SPEC.replace(
                "rules:\n  - id: hot\n    condition: mean(temperature) > 50\n    for: 3m\n", "")
            .replace("    labels: {team: iot}\n", "")
            .replace("  alerts: [{type: log}]", "  stats: [{type: jsonl, path: out/stats}]");
    assertThatThrownBy(() -> SpecReader.parse("iot.yaml", noRules))
        .hasMessageStartingWith("iot.yaml:")
        .hasMessageContaining("silences: silences without rules: add rules or rule_updates");
  }
}

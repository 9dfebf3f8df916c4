package dev.sluice.pipelines.spec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.joda.time.Duration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The spec's filter, key, derive and enrich blocks: what is read, and every rejection. */
class ProcessingSpecReaderTest {
  @TempDir static Path dir;
  private static String valid;

  @BeforeAll
  static void writeReferenceTable() throws Exception {
    Files.writeString(
        dir.resolve("limits.csv"),
        "sensor,site,max_temperature\nplant-a/s1,berlin,50\nplant-a/s2,paris,\n");
    Files.writeString(dir.resolve("broken.csv"), "sensor,max_temperature\ns1,50,extra\n");
    valid =
        String.join(
            "\n",
            "name: iot", // 1
            "source: {type: file, path: data/*.jsonl}", // 2
            "parse: {event_id: id, event_time: ts, values: {temperature: temperature}}", // 3
            "filter: 'payload.meta.site != \"lab\" && payload.temperature > -50.0'", // 4
            "key: {expression: 'payload.meta.site + \"/\" + payload.device'}", // 5
            "derive:", // 6
            "  temperature_f: 'payload.temperature * 9.0 / 5.0 + 32.0'", // 7
            "enrich:", // 8
            "  csv: " + dir.resolve("limits.csv"), // 9
            "  key_column: sensor", // 10
            "  missing: default", // 11
            "  defaults: {max_temperature: 40}", // 12
            "windows: [{type: tumbling, size: 1m}]", // 13
            "rules:", // 14
            "  - id: hot", // 15
            "    condition: mean(temperature) > ref.max_temperature", // 16
            "sinks: {stats: [{type: jsonl, path: out/stats}], alerts: [{type: log}]}", // 17
            "");
  }

  private static String replace(String oldLine, String newLine) {
    assertThat(valid).contains(oldLine);
    return valid.replace(oldLine, newLine);
  }

  @Test
  void theBlocksAreRead() {
    PipelineSpec.Processing p = SpecReader.parse("iot.yaml", valid).processing();
    assertThat(p.filter()).isEqualTo("payload.meta.site != \"lab\" && payload.temperature > -50.0");
    assertThat(p.keyExpression()).isEqualTo("payload.meta.site + \"/\" + payload.device");
    assertThat(p.derived()).containsOnlyKeys("temperature_f");
    assertThat(p.enrich().keyColumn()).isEqualTo("sensor");
    assertThat(p.enrich().refreshEvery()).isEqualTo(Duration.standardMinutes(5));
    assertThat(p.enrich().defaults()).isEqualTo(Map.of("max_temperature", 40.0));
    assertThat(p.enrich().columns()).containsEntry("max_temperature", true);
    // A key field instead of an expression goes into the mapping.
    PipelineSpec byField =
        SpecReader.parse(
            "iot.yaml",
            replace(
                "key: {expression: 'payload.meta.site + \"/\" + payload.device'}",
                "key: {field: meta.device}"));
    assertThat(byField.mapping().keyField()).isEqualTo("meta.device");
    assertThat(byField.processing().keyExpression()).isNull();
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      quoteCharacter = '`',
      textBlock =
          """
          filter syntax       |filter: 'payload.meta.site != "lab" && payload.temperature > -50.0' |filter: 'payload.x >'                 | iot.yaml:4: filter: 'payload.x >' does not compile: ERROR: <input>:1:
          filter not boolean  |filter: 'payload.meta.site != "lab" && payload.temperature > -50.0' |filter: 'payload.x + 1.0'             | iot.yaml:4: filter: 'payload.x + 1.0' is a double, expected a bool
          filter empty        |filter: 'payload.meta.site != "lab" && payload.temperature > -50.0' |filter: ''                            | iot.yaml:4: filter: required (a non-empty text)
          key not a string    |key: {expression: 'payload.meta.site + "/" + payload.device'}       |key: {expression: '1.0 + 2.0'}         | iot.yaml:5: key.expression: '1.0 + 2.0' is a double, expected a string
          key reads ref       |key: {expression: 'payload.meta.site + "/" + payload.device'}       |key: {expression: 'ref.site'}          | iot.yaml:5: key.expression: 'ref.site' does not compile
          key both ways       |key: {expression: 'payload.meta.site + "/" + payload.device'}       |key: {expression: 'payload.d', field: d} | iot.yaml:5: key: give expression (a CEL expression) or field (a path), not both
          key unknown field   |key: {expression: 'payload.meta.site + "/" + payload.device'}       |key: {path: d}                         | iot.yaml:5: key.path: unknown key; allowed here: expression, field
          derive wrong type   |  temperature_f: 'payload.temperature * 9.0 / 5.0 + 32.0'           |  temperature_f: '"a" + "b"'           | iot.yaml:7: derive.temperature_f: '"a" + "b"' is a string, expected a double
          derive int literal  |  temperature_f: 'payload.temperature * 9.0 / 5.0 + 32.0'           |  temperature_f: '1 + 2'               | iot.yaml:7: derive.temperature_f: '1 + 2' is a int, expected a double (write number literals with a decimal point, e.g. 2.0)
          derive bad overload |  temperature_f: 'payload.temperature * 9.0 / 5.0 + 32.0'           |  temperature_f: '"a" * 2'             | iot.yaml:7: derive.temperature_f: '"a" * 2' does not compile: ERROR: <input>:1:5: found no matching overload for '_*_'
          derive bad name     |  temperature_f: 'payload.temperature * 9.0 / 5.0 + 32.0'           |  'temp f': 'payload.temperature'      | iot.yaml:7: derive.temp f: "temp f" is not a metric name
          derive value field  |  temperature_f: 'payload.temperature * 9.0 / 5.0 + 32.0'           |  temperature: 'payload.temperature'   | iot.yaml:7: derive.temperature: is also a metric of parse.values
          derive unknown var  |  temperature_f: 'payload.temperature * 9.0 / 5.0 + 32.0'           |  temperature_f: 'reading.temperature' | iot.yaml:7: derive.temperature_f: 'reading.temperature' does not compile: ERROR: <input>:1:1: undeclared reference to 'reading'
          enrich broken csv   |  csv: DIR/limits.csv                                               |  csv: DIR/broken.csv                  | iot.yaml:9: enrich.csv:
          enrich missing csv  |  csv: DIR/limits.csv                                               |  csv: DIR/nope.csv                    | iot.yaml:9: enrich.csv:
          enrich key column   |  key_column: sensor                                                |  key_column: device                   | iot.yaml:9: enrich.csv:
          enrich missing      |  missing: default                                                  |  missing: ignore                      | iot.yaml:11: enrich.missing: "ignore" is not allowed; use one of skip, default
          enrich no defaults  |  defaults: {max_temperature: 40}                                   |  refresh_every: 1m                    | iot.yaml:8: enrich.defaults: required
          defaults with skip  |  missing: default                                                  |  missing: skip                        | iot.yaml:12: enrich.defaults: defaults apply with missing: default
          enrich unknown key  |  defaults: {max_temperature: 40}                                   |  other: 1                             | iot.yaml:12: enrich.other: unknown key
          enrich bad default  |  defaults: {max_temperature: 40}                                   |  defaults: {max_temperature: [1]}     | iot.yaml:12: enrich.defaults.max_temperature: must be a number, a text or true/false
          enrich refresh      |  key_column: sensor                                                |  key_column: sensor\\n  refresh_every: 10ms | iot.yaml:11: enrich.refresh_every: must be at least 1s
          enrich both         |  key_column: sensor                                                |  key_column: sensor\\n  postgres: {jdbc_url: 'jdbc:postgresql://db/x'} | iot.yaml:8: enrich: give csv (a file) or postgres (a database), not both
          rule on no column   |    condition: mean(temperature) > ref.max_temperature             |    condition: mean(temperature) > ref.limit | iot.yaml:16: rules[0].condition: rule 'hot' compares with ref.limit, but the reference table has no such column (numeric columns: max_temperature)
          rule on text column |    condition: mean(temperature) > ref.max_temperature             |    condition: mean(temperature) > ref.site | iot.yaml:16: rules[0].condition: rule 'hot' compares with ref.site, but that column has no numbers
          """)
  void everyBadBlockIsRejectedWithFileLineAndField(
      String what, String oldLine, String newLine, String message) {
    String text =
        replace(oldLine.replace("DIR", dir.toString()), newLine.replace("DIR", dir.toString()))
            .replace("\\n", "\n");
    assertThatThrownBy(() -> SpecReader.parse("iot.yaml", text))
        .as(what)
        .isInstanceOf(SpecException.class)
        .message()
        .startsWith(message);
  }

  @Test
  void refWithoutAnEnrichBlockIsRejected() {
    String noEnrich =
        valid
            .replaceAll("enrich:\\n(  .*\\n)+", "")
            .replace("ref.max_temperature", "50")
            .replace("payload.temperature * 9.0", "(payload.temperature + ref.offset) * 9.0");
    assertThatThrownBy(() -> SpecReader.parse("iot.yaml", noEnrich))
        .hasMessageStartingWith("iot.yaml:7: derive.temperature_f:")
        .hasMessageEndingWith("(ref needs an enrich block)");
    String ruleOnly = valid.replaceAll("enrich:\\n(  .*\\n)+", "");
    assertThatThrownBy(() -> SpecReader.parse("iot.yaml", ruleOnly))
        .hasMessage(
            "iot.yaml:11: rules[0].condition: rule 'hot' compares with ref.max_temperature, which"
                + " needs an enrich block (a reference table by key)");
    String parseKeyToo = valid.replace("event_time: ts,", "event_time: ts, key: device,");
    assertThatThrownBy(() -> SpecReader.parse("iot.yaml", parseKeyToo))
        .hasMessage("iot.yaml:5: key: give the key here or as parse.key, not both");
  }
}

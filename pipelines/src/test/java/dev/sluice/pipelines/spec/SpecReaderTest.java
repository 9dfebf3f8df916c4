package dev.sluice.pipelines.spec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.pipelines.spec.PipelineSpec.Files;
import java.nio.file.Path;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.joda.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SpecReaderTest {
  /** A valid spec; each broken spec below changes one line of it. */
  private static final String VALID =
      String.join(
          "\n",
          "name: iot", // 1
          "source:", // 2
          "  type: file", // 3
          "  path: data/*.jsonl", // 4
          "windows:", // 5
          "  - type: tumbling", // 6
          "    size: 1m", // 7
          "rules:", // 8
          "  - id: hot", // 9
          "    condition: mean(temperature) > 50", // 10
          "sinks:", // 11
          "  stats:", // 12
          "    - type: jsonl", // 13
          "      path: out/stats", // 14
          "  alerts:", // 15
          "    - type: log", // 16
          "");

  private static String replace(String oldLine, String newLine) {
    assertThat(VALID).contains(oldLine);
    return VALID.replace(oldLine, newLine);
  }

  @Test
  void theValidBaseSpecAndTheExamplesAreValid() {
    PipelineSpec spec = SpecReader.parse("iot.yaml", VALID);
    assertThat(spec.name()).isEqualTo("iot");
    // Relative paths become absolute, so they mean the same on a cluster's workers.
    assertThat(spec.source())
        .isEqualTo(new Files(Path.of("data/*.jsonl").toAbsolutePath().toString(), null));
    assertThat(spec.windows().get(0).size()).isEqualTo(Duration.standardMinutes(1));
    assertThat(spec.rules()).hasSize(1);
    assertThat(spec.alertSinks().get(0).type()).isEqualTo("log");
    for (String example : new String[] {"iot", "payments", "latency"}) {
      // Paths are relative to the working directory: the repository's root for the examples.
      PipelineSpec read =
          SpecReader.read(
              Path.of("..", "examples", example + ".yaml"),
              example.equals("iot")
                  ? java.util.Map.of("enrich.csv", "../examples/data/iot/sensors.csv")
                  : java.util.Map.of());
      assertThat(read.rules()).isNotEmpty();
    }
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      quoteCharacter = '\'',
      textBlock =
          """
          not a duration      |    size: 1m                          |    size: 1 minutes                     | iot.yaml:7: windows[0].size: "1 minutes" is not a duration; use 500ms, 30s, 5m, 2h, 1d
          a number, no unit   |    size: 1m                          |    size: 60                            | iot.yaml:7: windows[0].size: "60" is not a duration; use 500ms, 30s, 5m, 2h, 1d
          unknown top key     |windows:                              |window:                                 | iot.yaml:5: window: unknown key; allowed here: name, source, parse, filter, key, derive, enrich, dedup, windows, rules, rules_file, rule_updates, silences, sinks
          bad source type     |  type: file                          |  type: mqtt                            | iot.yaml:3: source.type: "mqtt" is not allowed; use one of synthetic, file, kafka
          bad window type     |  - type: tumbling                    |  - type: hopping                       | iot.yaml:6: windows[0].type: "hopping" is not allowed; use one of tumbling, sliding, session
          key of other type   |    size: 1m                          |    gap: 1m                             | iot.yaml:7: windows[0].gap: unknown key; allowed here: type, allowed_lateness, early_firings, quantiles, distinct_of, size
          bad rule condition  |    condition: mean(temperature) > 50 |    condition: avg(temperature) > 50    | iot.yaml:10: rules[0].condition: rule 'hot': condition 'avg(temperature) > 50': unknown aggregate 'avg'; use one of count, sum, min, max, mean, stddev, p50, p95, p99, distinct
          bad name            |name: iot                             |name: IoT Sensors                       | iot.yaml:1: name: "IoT Sensors" is not a name; use lower case letters, digits and '-', e.g. iot-sensors
          inline secret       |    - type: log                       |    - {type: webhook, url: 'https://h.example', token: abc} | iot.yaml:16: sinks.alerts[0].token: secrets are not allowed in a spec; use password_env (the name of an environment variable), url_env or properties_file
          loopback webhook    |    - type: log                       |    - {type: webhook, url: 'http://127.0.0.1:9000/hook'} | iot.yaml:16: sinks.alerts[0].url: url host 127.0.0.1 is a loopback address
          metadata webhook    |    - type: log                       |    - {type: webhook, url: 'http://169.254.169.254/latest'} | iot.yaml:16: sinks.alerts[0].url: url host 169.254.169.254 is a cloud metadata address
          private webhook     |    - type: log                       |    - {type: webhook, url: 'https://10.1.2.3/hook'} | iot.yaml:16: sinks.alerts[0].url: url host 10.1.2.3 is
          kafka sink, no brokers |    - type: log                    |    - {type: kafka, topic: alerts}      | iot.yaml:16: sinks.alerts[0].bootstrap_servers: required unless the source is kafka (then its brokers)
          sink type not allowed |    - type: jsonl                    |    - type: log                         | iot.yaml:13: sinks.stats[0].type: "log" is not allowed; use one of embedded, jsonl, postgres
          missing source path |  path: data/*.jsonl                  |  format: csv                           | iot.yaml:2: source.path: required (a non-empty text)
          duplicate key       |  path: data/*.jsonl                  |  path: data/*.jsonl\\n  path: x.jsonl  | iot.yaml:5: source.path: duplicate key
          YAML syntax         |  type: file                          |  type: [file                           | iot.yaml:4: not valid YAML: while parsing a flow sequence
          """)
  void brokenSpecsAreRejectedWithFileLineFieldAndWhatIsAllowed(
      String what, String oldLine, String newLine, String message) {
    String text = replace(oldLine, newLine.replace("\\n", "\n"));
    assertThatThrownBy(() -> SpecReader.parse("iot.yaml", text))
        .as(what)
        .isInstanceOf(SpecException.class)
        .message()
        .startsWith(message);
  }

  @Test
  void aPrivateWebhookAddressIsAcceptedOnlyWhenAllowedOnPurpose() {
    PipelineSpec spec =
        SpecReader.parse(
            "iot.yaml",
            replace(
                "    - type: log",
                "    - {type: webhook, url: 'http://127.0.0.1:9000/hook',"
                    + " allow_private_addresses: true}"));
    assertThat(spec.alertSinks().get(0).allowPrivateAddresses()).isTrue();
    assertThatThrownBy(
            () ->
                SpecReader.parse(
                    "iot.yaml",
                    replace("    - type: log", "    - {type: webhook, url: 'http://127.0.0.1/x'}")))
        .hasMessageContaining("set allow_private_addresses: true for a trusted internal receiver");
  }

  @Test
  void moreRejections() {
    assertThatThrownBy(
            () ->
                SpecReader.parse(
                    "s.yaml",
                    replace("    size: 1m", "    size: 5m\n    every: 2m")
                        .replace("type: tumbling", "type: sliding")))
        .hasMessage(
            "s.yaml:8: windows[0].every: 2m must divide the window size 5m (e.g. size 5m, every 1m)");
    assertThatThrownBy(
            () ->
                SpecReader.parse(
                    "s.yaml",
                    replace(
                        "    condition: mean(temperature) > 50",
                        "    condition: mean(temperature) > 50\n  - id: hot\n    condition: max(t) > 1")))
        .hasMessage("s.yaml:11: rules[1].id: duplicate rule id 'hot'");
    assertThatThrownBy(
            () ->
                SpecReader.parse(
                    "s.yaml",
                    replace("rules:\n  - id: hot\n    condition: mean(temperature) > 50\n", "")))
        .hasMessage(
            "s.yaml:12: sinks.alerts: alert sinks without rules: add rules, or rule_updates, or"
                + " drop them");
    assertThatThrownBy(
            () ->
                SpecReader.parse(
                    "s.yaml",
                    replace(
                        "  type: file\n  path: data/*.jsonl",
                        "  type: synthetic\n  malformed_fraction: 2")))
        .hasMessage("s.yaml:4: source.malformed_fraction: must be a number from 0.0 to 1.0, got 2");
    assertThatThrownBy(
            () ->
                SpecReader.parse(
                    "s.yaml",
                    replace("    size: 1m", "    size: 1m\n    quantiles: false")
                        .replace("mean(temperature) > 50", "p99(temperature) > 50")))
        .hasMessage(
            "s.yaml:11: rules[0].condition: rule 'hot' uses p99, which no window computes; set"
                + " quantiles: true on a window");
    assertThatThrownBy(
            () ->
                SpecReader.parse(
                    "s.yaml", replace("sinks:", "rule_updates: {files: 'rules/*.json'}\nsinks:")))
        .hasMessageStartingWith("s.yaml:11: rule_updates.files: files are watched while the job");
    assertThatThrownBy(() -> SpecReader.parse("s.yaml", ""))
        .hasMessage("s.yaml:1: the file is empty; a pipeline spec is a YAML map");
  }

  // ---- notification sinks: alertmanager, webhook formats ----

  @Test
  void anAlertmanagerSinkIsReadAndWiredAsNotifyAlertsAlertmanager() {
    PipelineSpec spec =
        SpecReader.parse(
            "iot.yaml",
            replace(
                "    - type: log",
                "    - {type: alertmanager, url: 'http://127.0.0.1:9093',"
                    + " allow_private_addresses: true, allowed_hosts: [127.0.0.1],"
                    + " resend_every: 30s}\n"
                    + "    - {type: alertmanager, url: 'https://am.example.com/am'}\n"
                    + "    - {type: webhook, url: 'https://hooks.example.com/x',"
                    + " format: alertmanager}"));

    PipelineSpec.Sink alertmanager = spec.alertSinks().get(0);
    assertThat(alertmanager.type()).isEqualTo("alertmanager");
    assertThat(alertmanager.url()).isEqualTo("http://127.0.0.1:9093");
    assertThat(alertmanager.allowedHosts()).containsExactly("127.0.0.1");
    assertThat(alertmanager.allowPrivateAddresses()).isTrue();
    assertThat(alertmanager.resendEvery()).isEqualTo(Duration.standardSeconds(30));
    assertThat(spec.alertSinks().get(1).resendEvery()).isEqualTo(Duration.standardMinutes(1));
    assertThat(spec.alertSinks().get(2).format()).isEqualTo("alertmanager");

    org.apache.beam.sdk.Pipeline pipeline = org.apache.beam.sdk.Pipeline.create();
    SpecPipeline.build(pipeline, spec);
    java.util.Map<String, DisplayData> steps = new java.util.HashMap<>();
    pipeline.traverseTopologically(
        new org.apache.beam.sdk.Pipeline.PipelineVisitor.Defaults() {
          @Override
          public CompositeBehavior enterCompositeTransform(
              org.apache.beam.sdk.runners.TransformHierarchy.Node node) {
            if (node.getTransform() != null) {
              steps.put(node.getFullName(), DisplayData.from(node.getTransform()));
            }
            return CompositeBehavior.ENTER_TRANSFORM;
          }
        });
    assertThat(steps)
        .containsKeys(
            "NotifyAlerts-0-alertmanager",
            "NotifyAlerts-0-alertmanager/PostToAlertmanager",
            "NotifyAlerts-1-alertmanager",
            "NotifyAlerts-2-webhook/PostToWebhook");
    assertThat(steps.get("NotifyAlerts-0-alertmanager").items())
        .anySatisfy(
            item -> {
              assertThat(item.getKey()).isEqualTo("resendInterval");
              assertThat(item.getValue()).isEqualTo(30_000L);
            });
    assertThat(steps.get("NotifyAlerts-2-webhook").items())
        .anySatisfy(
            item -> {
              assertThat(item.getKey()).isEqualTo("format");
              assertThat(item.getValue()).isEqualTo("alertmanager");
            });
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      quoteCharacter = '\'',
      textBlock =
          """
          no url                  | {type: alertmanager}                                                      | iot.yaml:16: sinks.alerts[0]: an alertmanager sink needs exactly one of url and url_env
          url and url_env         | {type: alertmanager, url: 'https://am.example.com', url_env: AM_URL}      | iot.yaml:16: sinks.alerts[0]: an alertmanager sink needs exactly one of url and url_env
          loopback                | {type: alertmanager, url: 'http://127.0.0.1:9093'}                        | iot.yaml:16: sinks.alerts[0].url: url host 127.0.0.1 is a loopback address; Alertmanager requests to it are refused unless withAllowPrivateAddresses(true) (set allow_private_addresses: true for a trusted internal receiver)
          api path in url         | {type: alertmanager, url: 'https://am.example.com/api/v2/alerts'}         | iot.yaml:16: sinks.alerts[0].url: url must be Alertmanager's base URL; the sink adds /api/v2/alerts itself
          query in url            | {type: alertmanager, url: 'https://am.example.com/?t=1'}                  | iot.yaml:16: sinks.alerts[0].url: url must be Alertmanager's base URL, without query or fragment
          not http                | {type: alertmanager, url: 'am.example.com:9093'}                          | iot.yaml:16: sinks.alerts[0].url: url scheme must be http or https
          zero resend_every       | {type: alertmanager, url: 'https://am.example.com', resend_every: 0s}     | iot.yaml:16: sinks.alerts[0].resend_every: must be longer than 0 (how often a firing alert is re-sent)
          bad resend_every        | {type: alertmanager, url: 'https://am.example.com', resend_every: 1 min}  | iot.yaml:16: sinks.alerts[0].resend_every: "1 min" is not a duration; use 500ms, 30s, 5m, 2h, 1d
          format on alertmanager  | {type: alertmanager, url: 'https://am.example.com', format: slack}        | iot.yaml:16: sinks.alerts[0].format: unknown key; allowed here: type, url, url_env, allowed_hosts, allow_private_addresses, resend_every
          resend_every on webhook | {type: webhook, url: 'https://hooks.example.com', resend_every: 1m}       | iot.yaml:16: sinks.alerts[0].resend_every: unknown key; allowed here: type, url, url_env, format, allowed_hosts, allow_private_addresses
          webhook format          | {type: webhook, url: 'https://hooks.example.com', format: teams}          | iot.yaml:16: sinks.alerts[0].format: "teams" is not allowed; use one of json, slack, alertmanager
          inline token            | {type: alertmanager, url: 'https://am.example.com', token: abc}           | iot.yaml:16: sinks.alerts[0].token: secrets are not allowed in a spec
          not a stats sink        | {type: alertmanager, url: 'https://am.example.com'}                       | iot.yaml:13: sinks.stats[0].type: "alertmanager" is not allowed; use one of embedded, jsonl, postgres
          """)
  void brokenNotificationSinksAreRejectedNamingTheField(String what, String sink, String message) {
    String text =
        what.equals("not a stats sink")
            ? replace("    - type: jsonl\n      path: out/stats", "    - " + sink)
            : replace("    - type: log", "    - " + sink);
    assertThatThrownBy(() -> SpecReader.parse("iot.yaml", text))
        .as(what)
        .isInstanceOf(SpecException.class)
        .message()
        .startsWith(message);
  }
}

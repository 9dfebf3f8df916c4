package dev.sluice.pipelines.spec;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.io.KafkaJsonIO;
import dev.sluice.io.RuleFilesIO;
import dev.sluice.io.SyntheticIO;
import dev.sluice.pipelines.spec.PipelineSpec.Files;
import dev.sluice.pipelines.spec.PipelineSpec.Kafka;
import dev.sluice.pipelines.spec.PipelineSpec.Processing;
import dev.sluice.pipelines.spec.PipelineSpec.RuleUpdates;
import dev.sluice.pipelines.spec.PipelineSpec.Sink;
import dev.sluice.pipelines.spec.PipelineSpec.Source;
import dev.sluice.pipelines.spec.PipelineSpec.Synthetic;
import dev.sluice.pipelines.spec.PipelineSpec.WindowSpec;
import dev.sluice.rules.Rule;
import dev.sluice.rules.Silence;
import dev.sluice.transforms.DurationText;
import dev.sluice.transforms.FieldMapping;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.joda.time.Duration;

/**
 * Reads and validates a pipeline spec, before anything runs. Relative local paths (input, outputs,
 * data directories, properties files) become absolute, so they mean the same on a cluster. Every
 * error names the file, the line, the field and what is allowed; unknown keys are errors; secrets
 * are references ({@code password_env}, {@code url_env}, {@code properties_file}), never inline
 * values.
 *
 * <pre>{@code
 * name: iot-sensors
 * source: {type: file, path: "data/iot/*.jsonl"}
 * windows:
 *   - {type: tumbling, size: 1m, allowed_lateness: 30s}
 * rules:
 *   - {id: hot, condition: "mean(temperature) > 80", severity: CRITICAL, for: 3m}
 * silences:
 *   - {id: backup, matchers: {key: "db-*"},
 *      weekly: {days: [SUN], from: "01:30", to: "03:30", time_zone: Europe/Berlin}}
 * sinks:
 *   stats: [{type: embedded}]
 *   alerts: [{type: log}, {type: jsonl, path: output/iot/alerts}]
 *   dead_letters: [{type: jsonl, path: output/iot/deadletters}]
 * }</pre>
 */
public final class SpecReader {
  private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9-]{0,62}");
  private static final Pattern ENV = Pattern.compile("[A-Z_][A-Z0-9_]*");
  private static final Set<String> SECRET_KEYS =
      Set.of("password", "token", "secret", "sasl_jaas_config", "api_key");

  private final LocatedYaml yaml;
  private final SpecFields fields;

  private SpecReader(LocatedYaml yaml) {
    this.yaml = yaml;
    this.fields = new SpecFields(yaml);
  }

  /** Reads a spec file; the file's name (not its directory) is used in messages. */
  public static PipelineSpec read(Path file) {
    return read(file, Map.of());
  }

  /**
   * Reads a spec file with {@code overrides} (spec path, e.g. {@code windows[0].size}, to a YAML
   * scalar) applied before validation: the command line's {@code --set}, a template's parameters.
   */
  public static PipelineSpec read(Path file, Map<String, String> overrides) {
    String text;
    try {
      text = java.nio.file.Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new SpecException(
          file.toString(), 0, "", "cannot read the spec (" + e.getClass().getSimpleName() + ")");
    }
    return parse(file.getFileName().toString(), text, overrides);
  }

  /** Reads a spec from text; {@code file} names it in messages. */
  public static PipelineSpec parse(String file, String text) {
    return parse(file, text, Map.of());
  }

  /** Reads a spec from text with overrides (see {@link #read(Path, Map)}). */
  public static PipelineSpec parse(String file, String text, Map<String, String> overrides) {
    LocatedYaml yaml = LocatedYaml.parse(file, text);
    overrides.forEach(yaml::set);
    return new SpecReader(yaml).spec();
  }

  /**
   * The spec's settings a deployment may want to change (paths, brokers, topics, database URLs and
   * users, window sizes): spec path to current value, in file order. Template parameters.
   */
  public static Map<String, String> deploymentSettings(Path file) {
    String text;
    try {
      text = java.nio.file.Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new SpecException(file.toString(), 0, "", "cannot read the spec");
    }
    LocatedYaml yaml = LocatedYaml.parse(file.getFileName().toString(), text);
    new SpecReader(yaml).spec(); // only a valid spec has parameters
    Map<String, String> settings = new LinkedHashMap<>();
    collect(yaml.root(), "", settings);
    return settings;
  }

  private static final Set<String> DEPLOYMENT_KEYS =
      Set.of(
          "path",
          "bootstrap_servers",
          "group_id",
          "properties_file",
          "jdbc_url",
          "user",
          "password_env",
          "schema",
          "data_dir",
          "topic",
          "url_env",
          "files",
          "kafka_topic",
          "size",
          "every",
          "gap",
          "allowed_lateness",
          "max_records");

  private static void collect(JsonNode node, String path, Map<String, String> settings) {
    if (node.isObject()) {
      for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        String child = SpecFields.join(path, e.getKey());
        if (e.getValue().isValueNode()) {
          if (DEPLOYMENT_KEYS.contains(e.getKey()) && !path.startsWith("rules")) {
            settings.put(child, e.getValue().asText());
          }
        } else {
          collect(e.getValue(), child, settings);
        }
      }
    } else if (node.isArray()) {
      for (int i = 0; i < node.size(); i++) {
        collect(node.get(i), path + "[" + i + "]", settings);
      }
    }
  }

  private PipelineSpec spec() {
    JsonNode root = yaml.root();
    if (!root.isObject()) {
      throw yaml.error("", "a pipeline spec is a YAML map with name, source, windows, sinks");
    }
    fields.allowOnly(
        root,
        "",
        "name",
        "source",
        "parse",
        "filter",
        "key",
        "derive",
        "enrich",
        "dedup",
        "windows",
        "rules",
        "rules_file",
        "rule_updates",
        "silences",
        "sinks");
    String name = fields.requiredText(root, "", "name");
    if (!NAME.matcher(name).matches()) {
      throw yaml.error(
          "name",
          "\""
              + name
              + "\" is not a name; use lower case letters, digits and '-', e.g. iot-sensors");
    }
    Source source = source(fields.required(root, "", "source"));
    FieldMapping mapping = root.has("parse") ? mapping(root.get("parse")) : FieldMapping.contract();
    Duration dedup = null;
    if (root.has("dedup")) {
      JsonNode d = fields.map(root.get("dedup"), "dedup");
      fields.allowOnly(d, "dedup", "horizon");
      dedup = fields.duration(d, "dedup", "horizon", null, true);
    }
    List<WindowSpec> windows = windows(fields.required(root, "", "windows"));
    List<Rule> rules = rules(root.get("rules"));
    String rulesFile = SpecFields.local(fields.text(root, "", "rules_file", null));
    if (rulesFile != null) {
      if (!rules.isEmpty()) {
        throw yaml.error("rules_file", "give rules or rules_file, not both");
      }
      try {
        rules = new ArrayList<>(RuleFilesIO.load(java.nio.file.Path.of(rulesFile)));
      } catch (IllegalArgumentException e) {
        throw yaml.error("rules_file", e.getMessage());
      }
    }
    checkRulesAgainstWindows(rules, windows);
    Processing processing =
        new ProcessingSpecReader(fields)
            .read(
                root,
                root.path("parse").has("key"),
                rules,
                rulesFile == null ? "rules" : "rules_file");
    if (processing.keyField() != null) {
      try {
        mapping = mapping.withKeyField(processing.keyField());
      } catch (IllegalArgumentException e) {
        throw yaml.error("key.field", e.getMessage());
      }
    }
    for (String metric : processing.derived().keySet()) {
      if (mapping.valueFields().containsKey(metric)) {
        throw yaml.error(
            "derive." + metric, "is also a metric of parse.values; give it another name");
      }
    }
    RuleUpdates updates = ruleUpdates(root.get("rule_updates"), source);
    List<Silence> silences = silences(root.get("silences"));
    if (!silences.isEmpty()
        && rules.isEmpty()
        && updates.files() == null
        && updates.kafkaTopic() == null) {
      throw yaml.error("silences", "silences without rules: add rules or rule_updates");
    }
    JsonNode sinks = fields.map(fields.required(root, "", "sinks"), "sinks");
    fields.allowOnly(sinks, "sinks", "stats", "alerts", "dead_letters");
    List<Sink> stats = sinks(sinks, "stats", Set.of("embedded", "postgres", "jsonl"), source);
    List<Sink> alerts =
        sinks(
            sinks,
            "alerts",
            Set.of("log", "jsonl", "kafka", "webhook", "alertmanager", "postgres", "embedded"),
            source);
    List<Sink> deadLetters =
        sinks(sinks, "dead_letters", Set.of("jsonl", "kafka", "postgres", "embedded"), source);
    if (stats.isEmpty() && alerts.isEmpty() && deadLetters.isEmpty()) {
      throw yaml.error("sinks", "no sinks: the results would go nowhere");
    }
    if (rules.isEmpty()
        && updates.files() == null
        && updates.kafkaTopic() == null
        && !alerts.isEmpty()) {
      throw yaml.error(
          "sinks.alerts", "alert sinks without rules: add rules, or rule_updates, or drop them");
    }
    return new PipelineSpec(
        yaml.file(),
        name,
        source,
        mapping,
        dedup,
        windows,
        rules,
        updates,
        stats,
        alerts,
        deadLetters,
        processing,
        silences);
  }

  // ---- sources ----

  private Source source(JsonNode node) {
    JsonNode s = fields.map(node, "source");
    String type = fields.oneOf(s, "source", "type", List.of("synthetic", "file", "kafka"), null);
    switch (type) {
      case "synthetic":
        fields.allowOnly(
            s,
            "source",
            "type",
            "events",
            "keys",
            "seed",
            "events_per_second",
            "malformed_fraction",
            "out_of_order_fraction",
            "late_fraction",
            "max_out_of_order",
            "spike_keys",
            "unbounded",
            "duration");
        boolean unbounded = fields.bool(s, "source", "unbounded", false);
        if (unbounded && s.has("events")) {
          throw yaml.error(
              "source.events", "an unbounded source generates in real time: use duration");
        }
        if (!unbounded && s.has("duration")) {
          throw yaml.error("source.duration", "applies only with unbounded: true");
        }
        double outOfOrder = fields.number(s, "source", "out_of_order_fraction", 0, 0, 1);
        double late = fields.number(s, "source", "late_fraction", 0, 0, 1);
        if (outOfOrder + late > 1.0) {
          throw yaml.error(
              "source.late_fraction",
              "late_fraction + out_of_order_fraction must not exceed 1, got "
                  + late
                  + " + "
                  + outOfOrder);
        }
        return new Synthetic(
            fields.integer(
                s, "source", "events", SyntheticIO.DEFAULT_NUM_EVENTS, 1, Long.MAX_VALUE),
            (int) fields.integer(s, "source", "keys", SyntheticIO.DEFAULT_NUM_KEYS, 1, 1_000_000),
            fields.integer(
                s, "source", "seed", SyntheticIO.DEFAULT_SEED, Long.MIN_VALUE, Long.MAX_VALUE),
            fields.number(
                s, "source", "events_per_second", SyntheticIO.DEFAULT_EVENTS_PER_SECOND, 1e-3, 1e9),
            fields.number(s, "source", "malformed_fraction", 0, 0, 1),
            outOfOrder,
            fields.duration(
                s, "source", "max_out_of_order", SyntheticIO.DEFAULT_MAX_OUT_OF_ORDER_DELAY, false),
            fields.texts(s, "source", "spike_keys"),
            unbounded,
            s.has("duration") ? fields.duration(s, "source", "duration", null, true) : null,
            late);
      case "file":
        fields.allowOnly(s, "source", "type", "path", "format");
        return new Files(
            SpecFields.local(fields.requiredText(s, "source", "path")),
            s.has("format")
                ? fields.oneOf(s, "source", "format", List.of("jsonl", "csv"), null)
                : null);
      default:
        fields.allowOnly(
            s,
            "source",
            "type",
            "bootstrap_servers",
            "topics",
            "group_id",
            "properties_file",
            "max_out_of_order",
            "auto_offset_reset",
            "max_records");
        List<String> topics = fields.texts(s, "source", "topics");
        if (topics.isEmpty()) {
          throw yaml.error("source.topics", "required: a list of one or more topics");
        }
        return new Kafka(
            fields.requiredText(s, "source", "bootstrap_servers"),
            topics,
            fields.text(s, "source", "group_id", "sluice-" + yaml.root().path("name").asText()),
            SpecFields.local(fields.text(s, "source", "properties_file", null)),
            fields.duration(
                s, "source", "max_out_of_order", KafkaJsonIO.DEFAULT_MAX_OUT_OF_ORDERNESS, false),
            fields.oneOf(
                s, "source", "auto_offset_reset", List.of("earliest", "latest"), "earliest"),
            fields.integer(s, "source", "max_records", 0, 0, Long.MAX_VALUE));
    }
  }

  private FieldMapping mapping(JsonNode node) {
    JsonNode p = fields.map(node, "parse");
    fields.allowOnly(
        p,
        "parse",
        "event_id",
        "key",
        "event_time",
        "time_format",
        "metric",
        "value",
        "values",
        "attributes");
    try {
      FieldMapping m = FieldMapping.contract();
      if (p.has("event_id")) {
        m = m.withEventIdField(fields.requiredText(p, "parse", "event_id"));
      }
      if (p.has("key")) {
        m = m.withKeyField(fields.requiredText(p, "parse", "key"));
      }
      if (p.has("event_time") || p.has("time_format")) {
        String format =
            fields.oneOf(
                p,
                "parse",
                "time_format",
                List.of("iso8601", "epoch_millis", "epoch_seconds"),
                "iso8601");
        m =
            m.withTimeField(
                fields.text(p, "parse", "event_time", m.timeField()),
                switch (format) {
                  case "epoch_millis" -> FieldMapping.TimeFormat.EPOCH_MILLIS;
                  case "epoch_seconds" -> FieldMapping.TimeFormat.EPOCH_SECONDS;
                  default -> FieldMapping.TimeFormat.ISO_8601;
                });
      }
      if (p.has("values")) {
        if (p.has("metric") || p.has("value")) {
          throw yaml.error(
              "parse.values", "use either values (one field per metric) or metric and value");
        }
        JsonNode v = fields.map(p.get("values"), "parse.values");
        Map<String, String> values = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = v.fields(); it.hasNext(); ) {
          Map.Entry<String, JsonNode> e = it.next();
          values.put(e.getKey(), fields.requiredText(v, "parse.values", e.getKey()));
        }
        m = m.withValueFields(values);
      } else if (p.has("metric") || p.has("value")) {
        m =
            m.withMetricAndValueFields(
                fields.text(p, "parse", "metric", "metric"),
                fields.text(p, "parse", "value", "value"));
      }
      if (p.has("attributes")) {
        m = m.withAttributeFields(fields.texts(p, "parse", "attributes"));
      }
      return m;
    } catch (SpecException e) {
      throw e;
    } catch (IllegalArgumentException e) {
      throw yaml.error("parse", e.getMessage());
    }
  }

  // ---- windows and rules ----

  private List<WindowSpec> windows(JsonNode node) {
    if (!node.isArray() || node.isEmpty()) {
      throw yaml.error(
          "windows", "a list of one or more windows, e.g. - {type: tumbling, size: 1m}");
    }
    if (node.size() > 5) {
      throw yaml.error("windows", "at most 5 windows, got " + node.size());
    }
    List<WindowSpec> windows = new ArrayList<>();
    for (int i = 0; i < node.size(); i++) {
      String path = "windows[" + i + "]";
      JsonNode w = fields.map(node.get(i), path);
      String type = fields.oneOf(w, path, "type", List.of("tumbling", "sliding", "session"), null);
      List<String> allowed =
          new ArrayList<>(
              List.of("type", "allowed_lateness", "early_firings", "quantiles", "distinct_of"));
      allowed.addAll(
          switch (type) {
            case "tumbling" -> List.of("size");
            case "sliding" -> List.of("size", "every");
            default -> List.of("gap");
          });
      fields.allowOnly(w, path, allowed.toArray(new String[0]));
      Duration size = type.equals("session") ? null : fields.duration(w, path, "size", null, true);
      Duration every =
          type.equals("sliding") ? fields.duration(w, path, "every", null, true) : null;
      if (every != null
          && (every.isLongerThan(size) || size.getMillis() % every.getMillis() != 0)) {
        throw yaml.error(
            path + ".every",
            DurationText.format(every)
                + " must divide the window size "
                + DurationText.format(size)
                + " (e.g. size 5m, every 1m)");
      }
      windows.add(
          new WindowSpec(
              type,
              size,
              every,
              type.equals("session") ? fields.duration(w, path, "gap", null, true) : null,
              fields.duration(w, path, "allowed_lateness", Duration.ZERO, false),
              fields.duration(w, path, "early_firings", null, false),
              fields.bool(w, path, "quantiles", true),
              fields.text(w, path, "distinct_of", null)));
    }
    return windows;
  }

  private List<Rule> rules(JsonNode node) {
    List<Rule> rules = new ArrayList<>();
    if (node == null) {
      return rules;
    }
    if (!node.isArray()) {
      throw yaml.error("rules", "a list of rules, e.g. - {id: hot, condition: \"mean(t) > 80\"}");
    }
    Set<String> ids = new HashSet<>();
    for (int i = 0; i < node.size(); i++) {
      String path = "rules[" + i + "]";
      Rule rule;
      try {
        rule = Rule.fromTree(node.get(i));
      } catch (IllegalArgumentException e) {
        throw yaml.error(fieldPath(path, node.get(i), e.getMessage()), e.getMessage());
      }
      if (!ids.add(rule.id())) {
        throw yaml.error(path + ".id", "duplicate rule id '" + rule.id() + "'");
      }
      rules.add(rule);
    }
    return rules;
  }

  /**
   * A rule on an aggregate no window computes would never fire: quantiles need a window with {@code
   * quantiles: true}, {@code distinct(...)} a window with {@code distinct_of}.
   */
  private void checkRulesAgainstWindows(List<Rule> rules, List<WindowSpec> windows) {
    boolean quantiles = windows.stream().anyMatch(WindowSpec::quantiles);
    boolean distinct = windows.stream().anyMatch(w -> w.distinctOf() != null);
    for (int i = 0; i < rules.size(); i++) {
      Rule rule = rules.get(i);
      if (rule.condition() == null || rule.condition().aggregate() == null) {
        continue;
      }
      String aggregate = rule.condition().aggregate().name().toLowerCase(Locale.ROOT);
      boolean quantile = aggregate.matches("p\\d+");
      if ((quantile && !quantiles) || (aggregate.equals("distinct") && !distinct)) {
        throw yaml.error(
            "rules[" + i + "].condition",
            "rule '"
                + rule.id()
                + "' uses "
                + aggregate
                + ", which no window computes; "
                + (quantile
                    ? "set quantiles: true on a window"
                    : "set distinct_of: <attribute> on a window"));
      }
    }
  }

  /** The path of the field a rule error names ("... field 'x' ..."), for its line. */
  private static final Pattern SILENCE_FIELD =
      Pattern.compile("(matchers|weekly)(\\.[a-z_]+)?|starts_at|ends_at|comment|version");

  private List<Silence> silences(JsonNode node) {
    List<Silence> silences = new ArrayList<>();
    if (node == null) {
      return silences;
    }
    if (!node.isArray()) {
      throw yaml.error(
          "silences",
          "a list of silences, e.g. - {id: backup, matchers: {key: \"db-*\"}, weekly: {days:"
              + " [SUN], from: \"01:00\", to: \"03:00\", time_zone: Europe/Berlin}}");
    }
    Set<String> ids = new HashSet<>();
    for (int i = 0; i < node.size(); i++) {
      String path = "silences[" + i + "]";
      Silence silence;
      try {
        silence = Silence.fromTree(node.get(i));
      } catch (IllegalArgumentException e) {
        throw yaml.error(silenceFieldPath(path, node.get(i), e.getMessage()), e.getMessage());
      }
      if (silence.deleted()) {
        throw yaml.error(path + ".deleted", "a spec's silences are silences, not deletions");
      }
      if (!ids.add(silence.id())) {
        throw yaml.error(path + ".id", "duplicate silence id '" + silence.id() + "'");
      }
      silences.add(silence);
    }
    return silences;
  }

  /** The field a silence's error message names, as deep as the spec has it. */
  private static String silenceFieldPath(String path, JsonNode silence, String message) {
    int colon = message.indexOf("': ");
    java.util.regex.Matcher m =
        SILENCE_FIELD.matcher(colon < 0 ? message : message.substring(colon + 3));
    if (!m.find()) {
      return path;
    }
    String field = m.group();
    if (silence != null && silence.at("/" + field.replace('.', '/')).isMissingNode()) {
      field = field.contains(".") ? field.substring(0, field.indexOf('.')) : field;
      if (silence.path(field).isMissingNode()) {
        return path;
      }
    }
    return path + "." + field;
  }

  private static String fieldPath(String path, JsonNode rule, String message) {
    if (rule != null && rule.isObject()) {
      for (Iterator<String> names = rule.fieldNames(); names.hasNext(); ) {
        String name = names.next();
        if (message.contains("'" + name + "'")
            || message.contains(name + " ")
            || message.contains(name + ":")) {
          return path + "." + name;
        }
      }
    }
    return path;
  }

  private RuleUpdates ruleUpdates(JsonNode node, Source source) {
    if (node == null) {
      return RuleUpdates.NONE;
    }
    JsonNode u = fields.map(node, "rule_updates");
    fields.allowOnly(
        u, "rule_updates", "files", "kafka_topic", "bootstrap_servers", "properties_file");
    String topic = fields.text(u, "rule_updates", "kafka_topic", null);
    String bootstrap = fields.text(u, "rule_updates", "bootstrap_servers", null);
    String properties = SpecFields.local(fields.text(u, "rule_updates", "properties_file", null));
    if (source instanceof Kafka k) {
      bootstrap = bootstrap == null ? k.bootstrapServers() : bootstrap;
      properties = properties == null ? k.propertiesFile() : properties;
    }
    boolean unbounded = source instanceof Kafka || source instanceof Synthetic s && s.unbounded();
    if (topic != null && bootstrap == null) {
      throw yaml.error(
          "rule_updates.bootstrap_servers",
          "required for kafka_topic unless the source is kafka (then its brokers)");
    }
    if (topic != null && !unbounded) {
      throw yaml.error(
          "rule_updates.kafka_topic",
          "is read while the job runs, which needs an unbounded source (kafka, or synthetic with"
              + " unbounded: true)");
    }
    RuleUpdates updates =
        new RuleUpdates(
            SpecFields.local(fields.text(u, "rule_updates", "files", null)),
            topic,
            bootstrap,
            properties);
    if (updates.files() != null && !unbounded) {
      throw yaml.error(
          "rule_updates.files",
          "files are watched while the job runs, which needs an unbounded source (kafka, or"
              + " synthetic with unbounded: true); a file or bounded source ends, so put the rules"
              + " in rules instead");
    }
    if (updates.files() == null && updates.kafkaTopic() == null) {
      throw yaml.error("rule_updates", "give files (a glob) or kafka_topic, or leave it out");
    }
    return updates;
  }

  // ---- sinks ----

  private List<Sink> sinks(JsonNode sinks, String kind, Set<String> types, Source source) {
    List<Sink> result = new ArrayList<>();
    JsonNode list = sinks.get(kind);
    if (list == null) {
      return result;
    }
    String base = "sinks." + kind;
    if (!list.isArray()) {
      throw yaml.error(base, "a list of sinks, e.g. - {type: jsonl, path: output/" + kind + "}");
    }
    for (int i = 0; i < list.size(); i++) {
      String path = base + "[" + i + "]";
      JsonNode s = fields.map(list.get(i), path);
      for (String secret : SECRET_KEYS) {
        if (s.has(secret)) {
          throw yaml.error(
              path + "." + secret,
              "secrets are not allowed in a spec; use password_env (the name of an environment"
                  + " variable), url_env or properties_file");
        }
      }
      List<String> sorted = new ArrayList<>(types);
      sorted.sort(null);
      String type = fields.oneOf(s, path, "type", sorted, null);
      switch (type) {
        case "jsonl" -> fields.allowOnly(s, path, "type", "path");
        case "log" -> fields.allowOnly(s, path, "type");
        case "embedded" -> fields.allowOnly(s, path, "type", "data_dir", "schema", "port");
        case "postgres" ->
            fields.allowOnly(
                s, path, "type", "jdbc_url", "user", "password_env", "password_file", "schema");
        case "kafka" ->
            fields.allowOnly(
                s,
                path,
                "type",
                "topic",
                "bootstrap_servers",
                "properties_file",
                kind.equals("alerts") ? "exactly_once" : "type");
        case "alertmanager" ->
            fields.allowOnly(
                s,
                path,
                "type",
                "url",
                "url_env",
                "allowed_hosts",
                "allow_private_addresses",
                "resend_every");
        default ->
            fields.allowOnly(
                s,
                path,
                "type",
                "url",
                "url_env",
                "format",
                "allowed_hosts",
                "allow_private_addresses");
      }
      String bootstrap = fields.text(s, path, "bootstrap_servers", null);
      if (type.equals("kafka") && bootstrap == null) {
        if (!(source instanceof Kafka k)) {
          throw yaml.error(
              path + ".bootstrap_servers",
              "required unless the source is kafka (then its brokers)");
        }
        bootstrap = k.bootstrapServers();
      }
      String passwordEnv = fields.text(s, path, "password_env", null);
      if (passwordEnv != null && !ENV.matcher(passwordEnv).matches()) {
        throw yaml.error(
            path + ".password_env",
            "\""
                + passwordEnv
                + "\" is not an environment variable name (e.g. SLUICE_DB_PASSWORD)");
      }
      if (passwordEnv != null && s.has("password_file")) {
        throw yaml.error(path + ".password_file", "give password_env or password_file, not both");
      }
      String url = fields.text(s, path, "url", null);
      String urlEnv = fields.text(s, path, "url_env", null);
      boolean http = type.equals("webhook") || type.equals("alertmanager");
      if (http && (url == null) == (urlEnv == null)) {
        throw yaml.error(
            path,
            (type.equals("webhook") ? "a webhook" : "an alertmanager sink")
                + " needs exactly one of url and url_env");
      }
      if (http && url != null) {
        try {
          boolean allowPrivate = fields.bool(s, path, "allow_private_addresses", false);
          if (type.equals("webhook")) {
            dev.sluice.io.WebhookIO.checkUrl(url, allowPrivate);
          } else {
            dev.sluice.io.AlertmanagerIO.checkUrl(url, allowPrivate);
          }
        } catch (IllegalArgumentException e) {
          throw yaml.error(
              path + ".url",
              e.getMessage()
                  + (e.getMessage().contains("address")
                      ? " (set allow_private_addresses: true for a trusted internal receiver)"
                      : ""));
        }
      }
      Duration resendEvery = null;
      if (type.equals("alertmanager")) {
        resendEvery = fields.duration(s, path, "resend_every", Duration.standardMinutes(1), false);
        if (resendEvery.getMillis() == 0) {
          throw yaml.error(
              path + ".resend_every",
              "must be longer than 0 (how often a firing alert is re-sent)");
        }
      }
      String schema = fields.text(s, path, "schema", "sluice");
      if (!schema.matches("[a-z_][a-z0-9_]{0,62}")) {
        throw yaml.error(
            path + ".schema", "\"" + schema + "\" is not a schema name; use [a-z_][a-z0-9_]*");
      }
      result.add(
          new Sink(
              type,
              type.equals("jsonl") ? SpecFields.local(fields.requiredText(s, path, "path")) : null,
              type.equals("postgres") ? fields.requiredText(s, path, "jdbc_url") : null,
              fields.text(s, path, "user", null),
              passwordEnv,
              SpecFields.local(fields.text(s, path, "password_file", null)),
              schema,
              SpecFields.local(
                  fields.text(
                      s,
                      path,
                      "data_dir",
                      "output/" + yaml.root().path("name").asText() + "/postgres")),
              type.equals("kafka") ? fields.requiredText(s, path, "topic") : null,
              bootstrap,
              SpecFields.local(fields.text(s, path, "properties_file", null)),
              url != null ? url : urlEnv == null ? null : "env:" + urlEnv,
              type.equals("webhook")
                  ? fields.oneOf(
                      s, path, "format", List.of("json", "slack", "alertmanager"), "json")
                  : null,
              fields.texts(s, path, "allowed_hosts"),
              fields.bool(s, path, "allow_private_addresses", false),
              (int) fields.integer(s, path, "port", 0, 0, 65_535),
              fields.bool(s, path, "exactly_once", false),
              resendEvery));
    }
    return result;
  }
}

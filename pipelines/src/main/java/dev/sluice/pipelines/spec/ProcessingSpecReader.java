package dev.sluice.pipelines.spec;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.io.ReferenceTableIO;
import dev.sluice.model.ReferenceTable;
import dev.sluice.pipelines.spec.PipelineSpec.Enrich;
import dev.sluice.pipelines.spec.PipelineSpec.Processing;
import dev.sluice.pipelines.spec.PipelineSpec.Sink;
import dev.sluice.rules.Rule;
import dev.sluice.transforms.PayloadExpression;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;
import org.joda.time.Duration;

/**
 * Reads a spec's processing between parsing and the windows: {@code filter}, {@code key}, {@code
 * derive} (CEL expressions over the payload) and {@code enrich} (a reference table by key).
 *
 * <pre>{@code
 * filter: 'payload.meta.site != "south" && payload.temperature > -50.0'
 * key: {expression: 'payload.meta.site + "/" + payload.device'}   # or {field: device.id}
 * derive:
 *   temperature_f: 'payload.temperature * 9.0 / 5.0 + 32.0'
 * enrich:
 *   csv: examples/data/iot/sensors.csv     # or postgres: {jdbc_url: ..., user: ..., password_env: ...}
 *   table: sensor_limits                   # postgres only
 *   key_column: sensor
 *   refresh_every: 5m                      # unbounded sources; a bounded run reads it once
 *   missing: default                       # or skip (the default)
 *   defaults: {max_temperature: 50.0}
 * }</pre>
 *
 * <p>Every expression is compiled here, so one that does not compile or has the wrong type is an
 * error with the file, line and field; a CSV reference table is read here too, so a broken file, a
 * missing key column or a rule on a column the table does not have fails before anything runs.
 */
final class ProcessingSpecReader {
  private static final Pattern METRIC = Pattern.compile("[A-Za-z0-9_.:/-]{1,200}");
  private static final Pattern ENV = Pattern.compile("[A-Z_][A-Z0-9_]*");

  private final SpecFields fields;
  private final LocatedYaml yaml;

  ProcessingSpecReader(SpecFields fields) {
    this.fields = fields;
    this.yaml = fields.yaml;
  }

  /** The processing of {@code root}; {@code parseHasKey} when {@code parse.key} is given too. */
  Processing read(JsonNode root, boolean parseHasKey, List<Rule> rules, String rulesPath) {
    Enrich enrich = root.has("enrich") ? enrich(root.get("enrich")) : null;
    boolean reference = enrich != null;
    String filter = null;
    if (root.has("filter")) {
      filter = fields.requiredText(root, "", "filter");
      compile("filter", filter, PayloadExpression.Result.BOOLEAN, reference);
    }
    String keyExpression = null;
    String keyField = null;
    if (root.has("key")) {
      JsonNode k = fields.map(root.get("key"), "key");
      fields.allowOnly(k, "key", "expression", "field");
      if (k.has("expression") == k.has("field")) {
        throw yaml.error("key", "give expression (a CEL expression) or field (a path), not both");
      }
      if (parseHasKey) {
        throw yaml.error("key", "give the key here or as parse.key, not both");
      }
      if (k.has("expression")) {
        keyExpression = fields.requiredText(k, "key", "expression");
        compile("key.expression", keyExpression, PayloadExpression.Result.STRING, false);
      } else {
        keyField = fields.requiredText(k, "key", "field");
      }
    }
    SortedMap<String, String> derived = new TreeMap<>();
    if (root.has("derive")) {
      JsonNode d = fields.map(root.get("derive"), "derive");
      for (Iterator<String> names = d.fieldNames(); names.hasNext(); ) {
        String name = names.next();
        String path = "derive." + name;
        if (!METRIC.matcher(name).matches()) {
          throw yaml.error(path, "\"" + name + "\" is not a metric name; use [A-Za-z0-9_.:/-]");
        }
        String text = fields.requiredText(d, "derive", name);
        compile(path, text, PayloadExpression.Result.DOUBLE, reference);
        derived.put(name, text);
      }
      if (derived.isEmpty()) {
        throw yaml.error("derive", "name at least one metric, e.g. temperature_f: '...'");
      }
    }
    checkRules(rules, rulesPath, enrich);
    return new Processing(
        filter, keyExpression, keyField, Collections.unmodifiableSortedMap(derived), enrich);
  }

  private void compile(String path, String text, PayloadExpression.Result result, boolean ref) {
    try {
      PayloadExpression.of(path, text, result, ref);
    } catch (IllegalArgumentException e) {
      String message = e.getMessage();
      if (message.startsWith(path + ": ")) {
        message = message.substring(path.length() + 2);
      }
      if (!ref && message.contains("undeclared reference to 'ref'")) {
        message +=
            path.startsWith("key")
                ? " (the key is what the reference table is looked up by, so it cannot read ref)"
                : " (ref needs an enrich block)";
      }
      throw yaml.error(path, message);
    }
  }

  private Enrich enrich(JsonNode node) {
    JsonNode e = fields.map(node, "enrich");
    fields.allowOnly(
        e,
        "enrich",
        "csv",
        "postgres",
        "table",
        "key_column",
        "refresh_every",
        "missing",
        "defaults");
    if (e.has("csv") == e.has("postgres")) {
      throw yaml.error("enrich", "give csv (a file) or postgres (a database), not both");
    }
    String keyColumn = fields.requiredText(e, "enrich", "key_column");
    Duration refresh =
        fields.duration(e, "enrich", "refresh_every", Duration.standardMinutes(5), false);
    if (refresh.getMillis() < 1000) {
      throw yaml.error("enrich.refresh_every", "must be at least 1s, got " + refresh);
    }
    String missing = fields.oneOf(e, "enrich", "missing", List.of("skip", "default"), "skip");
    SortedMap<String, Object> defaults = null;
    if (missing.equals("default")) {
      JsonNode d = fields.map(fields.required(e, "enrich", "defaults"), "enrich.defaults");
      defaults = new TreeMap<>();
      for (Iterator<Map.Entry<String, JsonNode>> it = d.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> cell = it.next();
        JsonNode v = cell.getValue();
        if (v.isNumber()) {
          defaults.put(cell.getKey(), v.asDouble());
        } else if (v.isBoolean()) {
          defaults.put(cell.getKey(), v.asBoolean());
        } else if (v.isTextual()) {
          defaults.put(cell.getKey(), v.asText());
        } else {
          throw yaml.error(
              "enrich.defaults." + cell.getKey(), "must be a number, a text or true/false");
        }
      }
      if (defaults.isEmpty()) {
        throw yaml.error(
            "enrich.defaults", "give a value for each column, e.g. max_temperature: 50");
      }
    } else if (e.has("defaults")) {
      throw yaml.error("enrich.defaults", "defaults apply with missing: default");
    }
    if (e.has("csv")) {
      if (e.has("table")) {
        throw yaml.error("enrich.table", "a table belongs to postgres; a CSV file is one table");
      }
      String csv = SpecFields.local(fields.requiredText(e, "enrich", "csv"));
      ReferenceTable table;
      try {
        table = read(new Enrich(csv, null, null, keyColumn, refresh, defaults, null)).load();
      } catch (IllegalArgumentException ex) {
        throw yaml.error("enrich.csv", ex.getMessage());
      }
      return new Enrich(csv, null, null, keyColumn, refresh, defaults, columns(table, defaults));
    }
    JsonNode p = fields.map(e.get("postgres"), "enrich.postgres");
    fields.allowOnly(p, "enrich.postgres", "jdbc_url", "user", "password_env", "password_file");
    String passwordEnv = fields.text(p, "enrich.postgres", "password_env", null);
    if (passwordEnv != null && !ENV.matcher(passwordEnv).matches()) {
      throw yaml.error(
          "enrich.postgres.password_env",
          "\"" + passwordEnv + "\" is not an environment variable name (e.g. SLUICE_DB_PASSWORD)");
    }
    if (passwordEnv != null && p.has("password_file")) {
      throw yaml.error(
          "enrich.postgres.password_file", "give password_env or password_file, not both");
    }
    Sink database =
        new Sink(
            "postgres",
            null,
            fields.requiredText(p, "enrich.postgres", "jdbc_url"),
            fields.text(p, "enrich.postgres", "user", null),
            passwordEnv,
            SpecFields.local(fields.text(p, "enrich.postgres", "password_file", null)),
            null,
            null,
            null,
            null,
            null,
            null,
            null,
            List.of(),
            false,
            0,
            false);
    String table = fields.requiredText(e, "enrich", "table");
    if (!table.matches("([a-z_][a-z0-9_]{0,62}\\.)?[a-z_][a-z0-9_]{0,62}")) {
      throw yaml.error(
          "enrich.table", "\"" + table + "\" is not a table name; use [schema.]table, lower case");
    }
    return new Enrich(null, database, table, keyColumn, refresh, defaults, null);
  }

  /** The columns a rule may compare with: every row's and the defaults'. */
  private static SortedMap<String, Boolean> columns(
      ReferenceTable table, SortedMap<String, Object> defaults) {
    SortedMap<String, Boolean> columns = new TreeMap<>();
    table
        .rows()
        .values()
        .forEach(
            row ->
                row.forEach((c, v) -> columns.merge(c, v instanceof Double, Boolean::logicalOr)));
    if (defaults != null) {
      defaults.forEach((c, v) -> columns.merge(c, v instanceof Double, Boolean::logicalOr));
    }
    return columns;
  }

  /**
   * A rule on {@code ref.<column>} needs a reference table with that numeric column (when the table
   * is a file the spec can see).
   */
  private void checkRules(List<Rule> rules, String rulesPath, Enrich enrich) {
    for (int i = 0; i < rules.size(); i++) {
      Rule rule = rules.get(i);
      String column = rule.condition() == null ? null : rule.condition().thresholdColumn();
      if (column == null) {
        continue;
      }
      String path = rulesPath.equals("rules") ? "rules[" + i + "].condition" : rulesPath;
      String compares = "rule '" + rule.id() + "' compares with ref." + column;
      if (enrich == null) {
        throw yaml.error(
            path, compares + ", which needs an enrich block (a reference table by key)");
      }
      if (enrich.columns() != null && !Boolean.TRUE.equals(enrich.columns().get(column))) {
        throw yaml.error(
            path,
            compares
                + ", but "
                + (enrich.columns().containsKey(column)
                    ? "that column has no numbers"
                    : "the reference table has no such column")
                + " (numeric columns: "
                + String.join(", ", numeric(enrich.columns()))
                + ")");
      }
    }
  }

  private static TreeSet<String> numeric(SortedMap<String, Boolean> columns) {
    TreeSet<String> names = new TreeSet<>();
    columns.forEach(
        (c, n) -> {
          if (n) {
            names.add(c);
          }
        });
    return names;
  }

  /** The reference table's read: a CSV file or a PostgreSQL table. */
  static ReferenceTableIO.Read read(Enrich enrich) {
    ReferenceTableIO.Read read =
        enrich.csv() != null
            ? ReferenceTableIO.csv(enrich.csv())
            : ReferenceTableIO.postgres(SinkDatabases.external(enrich.database()), enrich.table());
    return read.withKeyColumn(enrich.keyColumn());
  }
}

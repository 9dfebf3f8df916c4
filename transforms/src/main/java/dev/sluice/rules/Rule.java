package dev.sluice.rules;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.auto.value.AutoValue;
import dev.sluice.model.Alert.Severity;
import dev.sluice.model.DeterministicCoder;
import dev.sluice.rules.Condition.Kind;
import dev.sluice.transforms.DurationText;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.Serializable;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.regex.Pattern;
import org.apache.beam.sdk.coders.CoderProvider;
import org.apache.beam.sdk.coders.CoderProviders;
import org.apache.beam.sdk.coders.DefaultCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.values.TypeDescriptor;
import org.checkerframework.checker.nullness.qual.Nullable;
import org.joda.time.Duration;

/**
 * An alerting rule: plain data, built in Java or read from JSON (and so from YAML), validated when
 * built.
 *
 * <pre>{@code
 * Rule hot = Rule.of("hot-sensor", "mean(temperature) > 80")
 *     .withSeverity(Severity.CRITICAL)
 *     .withKeys("sensor-*")
 *     .withResolveAfter(2)
 *     .withPendingFor(Duration.standardMinutes(3));
 * Rule same = Rule.fromJson("{\"id\":\"hot-sensor\",\"condition\":\"mean(temperature) > 80\","
 *     + "\"severity\":\"CRITICAL\",\"keys\":\"sensor-*\",\"resolve_after\":2,\"for\":\"3m\"}");
 * }</pre>
 *
 * <p>JSON fields: {@code id} (required), {@code version} (default 1), {@code condition} (required
 * unless deleted; see {@link Condition}), {@code severity} ({@code INFO|WARNING|CRITICAL}, default
 * {@code WARNING}), {@code labels} (object of strings), {@code message} (a {@link
 * MessageTemplate}), {@code keys} (a {@link KeyFilter}, default {@code *}), {@code resolve_after}
 * (consecutive clear windows before {@code RESOLVED}, default 1), {@code for} (a pending duration,
 * as Prometheus' {@code for}: the condition must hold in consecutive windows covering at least this
 * much event time before the alert fires, e.g. {@code 3m}; for absence rules, the silence must last
 * this much longer than the condition's), {@code renotify_every} (repeat a {@code FIRING} alert
 * while it holds, in event time, e.g. {@code 30m}), {@code speculative} (threshold rules only: also
 * evaluate early panes), {@code baseline_windows} (anomaly rules only: windows in the key's
 * baseline, default 10), {@code paused}, {@code deleted}. Unknown fields are errors.
 *
 * <p>A rule stream changes a rule by sending the same {@code id} with a higher {@code version}; a
 * {@code paused} version stops evaluating it, a {@code deleted} version (only {@code id} and {@code
 * version} needed) removes it and resolves its open alerts.
 */
@DefaultCoder(Rule.RuleCoder.class)
@AutoValue
public abstract class Rule implements Serializable {
  private static final long serialVersionUID = 1L;

  public static final int DEFAULT_BASELINE_WINDOWS = 10;
  private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,127}");
  private static final Pattern LABEL = Pattern.compile("[A-Za-z0-9_.-]{1,64}");
  private static final ObjectMapper MAPPER = new ObjectMapper();
  static final List<String> FIELDS =
      List.of(
          "id",
          "version",
          "condition",
          "severity",
          "labels",
          "message",
          "keys",
          "resolve_after",
          "for",
          "renotify_every",
          "speculative",
          "paused",
          "baseline_windows",
          "deleted");

  Rule() {}

  public abstract String id();

  public abstract long version();

  /** Null only for a {@link #deleted} rule. */
  public abstract @Nullable Condition condition();

  public abstract Severity severity();

  /** Sorted and unmodifiable. */
  public abstract SortedMap<String, String> labels();

  public abstract MessageTemplate message();

  public abstract KeyFilter keys();

  public abstract int resolveAfter();

  public abstract @Nullable Duration renotifyEvery();

  /**
   * How long the condition must hold before the alert fires (Prometheus' {@code for}); {@code null}
   * fires at once.
   */
  public abstract @Nullable Duration pendingFor();

  public abstract boolean speculative();

  public abstract boolean paused();

  public abstract int baselineWindows();

  public abstract boolean deleted();

  public abstract Builder toBuilder();

  /**
   * A builder with the defaults of {@link #of}: version 1, severity {@code WARNING}, no labels, the
   * default message, every key, resolved after one clear window; {@code id} and (unless deleted)
   * {@code condition} must be set.
   */
  public static Builder builder() {
    return new AutoValue_Rule.Builder()
        .setVersion(1)
        .setSeverity(Severity.WARNING)
        .setLabels(new TreeMap<>())
        .setMessage(MessageTemplate.DEFAULT)
        .setKeys(KeyFilter.ALL)
        .setResolveAfter(1)
        .setSpeculative(false)
        .setPaused(false)
        .setBaselineWindows(DEFAULT_BASELINE_WINDOWS)
        .setDeleted(false);
  }

  /** Builds a rule; {@link #build} validates it. */
  @AutoValue.Builder
  public abstract static class Builder {
    Builder() {}

    public abstract Builder setId(String id);

    public abstract Builder setVersion(long version);

    public abstract Builder setCondition(@Nullable Condition condition);

    public abstract Builder setSeverity(Severity severity);

    /** Copied and sorted when the rule is built. */
    public abstract Builder setLabels(SortedMap<String, String> labels);

    public abstract Builder setMessage(MessageTemplate message);

    public abstract Builder setKeys(KeyFilter keys);

    public abstract Builder setResolveAfter(int windows);

    public abstract Builder setRenotifyEvery(@Nullable Duration every);

    public abstract Builder setPendingFor(@Nullable Duration pendingFor);

    public abstract Builder setSpeculative(boolean speculative);

    public abstract Builder setPaused(boolean paused);

    public abstract Builder setBaselineWindows(int windows);

    public abstract Builder setDeleted(boolean deleted);

    abstract Optional<String> id();

    abstract SortedMap<String, String> labels();

    abstract Rule autoBuild();

    /** The rule, validated; an {@link IllegalArgumentException} names the rule and the problem. */
    public Rule build() {
      checkId(id().orElse(null));
      setLabels(Collections.unmodifiableSortedMap(new TreeMap<>(labels())));
      Rule rule = autoBuild();
      rule.validate();
      return rule;
    }
  }

  private static void checkId(@Nullable String id) {
    if (id == null || !ID.matcher(id).matches()) {
      throw new IllegalArgumentException(
          "rule id must match " + ID.pattern() + ", got " + (id == null ? "null" : "'" + id + "'"));
    }
  }

  private void validate() {
    String where = "rule '" + id() + "': ";
    if (version() < 1) {
      throw new IllegalArgumentException(where + "version must be at least 1, got " + version());
    }
    if (labels().size() > 32) {
      throw new IllegalArgumentException(where + "at most 32 labels, got " + labels().size());
    }
    for (Map.Entry<String, String> label : labels().entrySet()) {
      if (!LABEL.matcher(label.getKey()).matches()) {
        throw new IllegalArgumentException(
            where + "label name must match " + LABEL.pattern() + ", got '" + label.getKey() + "'");
      }
      if (label.getValue() == null || label.getValue().length() > 500) {
        throw new IllegalArgumentException(
            where + "label '" + label.getKey() + "' needs a value of at most 500 characters");
      }
    }
    if (deleted()) {
      return;
    }
    Condition condition = condition();
    if (condition == null) {
      throw new IllegalArgumentException(where + "condition is required");
    }
    if (resolveAfter() < 1 || resolveAfter() > 1000) {
      throw new IllegalArgumentException(
          where + "resolve_after must be from 1 to 1000 windows, got " + resolveAfter());
    }
    Duration renotifyEvery = renotifyEvery();
    if (renotifyEvery != null && renotifyEvery.getMillis() <= 0) {
      throw new IllegalArgumentException(
          where + "renotify_every must be positive, got " + renotifyEvery);
    }
    Duration pendingFor = pendingFor();
    if (pendingFor != null && (pendingFor.getMillis() <= 0 || pendingFor.getStandardDays() > 30)) {
      throw new IllegalArgumentException(
          where
              + "for must be positive and at most 30 days, got "
              + DurationText.format(pendingFor));
    }
    if (pendingFor != null && speculative()) {
      throw new IllegalArgumentException(
          where
              + "for and speculative do not combine: an early pane is not a window that held;"
              + " drop one");
    }
    if (renotifyEvery != null && condition.kind() == Kind.ABSENCE) {
      throw new IllegalArgumentException(
          where + "renotify_every applies to window rules, not to absence rules");
    }
    if (speculative() && condition.kind() != Kind.THRESHOLD) {
      throw new IllegalArgumentException(
          where
              + "speculative applies to threshold rules only (early panes would distort"
              + " the baselines of "
              + condition.kind().name().toLowerCase(Locale.ROOT)
              + " rules)");
    }
    if (baselineWindows() != DEFAULT_BASELINE_WINDOWS && condition.kind() != Kind.ANOMALY) {
      throw new IllegalArgumentException(where + "baseline_windows applies to anomaly rules only");
    }
    if (baselineWindows() < 2 || baselineWindows() > 1000) {
      throw new IllegalArgumentException(
          where + "baseline_windows must be from 2 to 1000, got " + baselineWindows());
    }
  }

  /** Version 1, severity {@code WARNING}, every key, resolved after one clear window. */
  public static Rule of(String id, String condition) {
    Condition parsed;
    try {
      parsed = Condition.parse(condition);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("rule '" + id + "': " + e.getMessage(), e);
    }
    checkId(id);
    return builder().setId(id).setCondition(parsed).build();
  }

  /** A tombstone: version {@code version} of rule {@code id} deletes it. */
  public static Rule deletion(String id, long version) {
    checkId(id);
    return builder().setId(id).setVersion(version).setDeleted(true).build();
  }

  public Rule withVersion(long v) {
    return toBuilder().setVersion(v).build();
  }

  public Rule withSeverity(Severity s) {
    checkNotNull("severity", s);
    return toBuilder().setSeverity(s).build();
  }

  public Rule withLabels(Map<String, String> l) {
    return toBuilder().setLabels(new TreeMap<>(l)).build();
  }

  public Rule withMessage(String template) {
    return toBuilder().setMessage(new MessageTemplate(template)).build();
  }

  public Rule withKeys(String pattern) {
    return toBuilder().setKeys(new KeyFilter(pattern)).build();
  }

  public Rule withResolveAfter(int windows) {
    return toBuilder().setResolveAfter(windows).build();
  }

  public Rule withRenotifyEvery(Duration every) {
    return toBuilder().setRenotifyEvery(every).build();
  }

  /** The pending duration ({@code for}); see {@link #pendingFor()}. */
  public Rule withPendingFor(Duration pendingFor) {
    return toBuilder().setPendingFor(pendingFor).build();
  }

  public Rule withSpeculative(boolean s) {
    return toBuilder().setSpeculative(s).build();
  }

  public Rule withPaused(boolean p) {
    return toBuilder().setPaused(p).build();
  }

  public Rule withBaselineWindows(int n) {
    return toBuilder().setBaselineWindows(n).build();
  }

  private void checkNotNull(String field, Object value) {
    if (value == null) {
      throw new IllegalArgumentException("rule '" + id() + "': " + field + " must not be null");
    }
  }

  /** Whether this rule looks at windows of (key, metric). */
  public boolean appliesTo(String key, String metric) {
    Condition condition = condition();
    return !deleted() && condition != null && condition.watches(metric) && keys().matches(key);
  }

  /** Reads one rule from a JSON object. */
  public static Rule fromJson(String json) {
    JsonNode node;
    try {
      node = MAPPER.readTree(json);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(
          "rule is not valid JSON: " + e.getOriginalMessage() + locationOf(e), e);
    }
    return fromTree(node);
  }

  private static String locationOf(JsonProcessingException e) {
    return e.getLocation() == null
        ? ""
        : " at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr();
  }

  /** Reads one rule from a parsed JSON (or YAML) object; unknown fields are errors. */
  public static Rule fromTree(JsonNode node) {
    if (node == null || !node.isObject()) {
      throw new IllegalArgumentException("a rule must be a JSON object");
    }
    JsonNode idNode = node.get("id");
    if (idNode == null || !idNode.isTextual()) {
      throw new IllegalArgumentException("rule: field 'id' is required and must be a string");
    }
    String id = idNode.textValue();
    String where = "rule '" + id + "': ";
    for (Iterator<String> names = node.fieldNames(); names.hasNext(); ) {
      String name = names.next();
      if (!FIELDS.contains(name)) {
        throw new IllegalArgumentException(
            where + "unknown field '" + name + "'; allowed: " + String.join(", ", FIELDS));
      }
    }
    long version = integer(node, "version", 1, where);
    boolean deleted = bool(node, "deleted", where);
    if (deleted) {
      return deletion(id, version);
    }
    try {
      Condition condition = Condition.parse(text(node, "condition", null, where));
      String severityText = text(node, "severity", "WARNING", where);
      Severity severity;
      try {
        severity = Severity.valueOf(severityText.toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            "severity '" + severityText + "' is not one of INFO, WARNING, CRITICAL", e);
      }
      SortedMap<String, String> labels = new TreeMap<>();
      JsonNode labelsNode = node.get("labels");
      if (labelsNode != null && !labelsNode.isNull()) {
        if (!labelsNode.isObject()) {
          throw new IllegalArgumentException("labels must be an object of strings");
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = labelsNode.fields(); it.hasNext(); ) {
          Map.Entry<String, JsonNode> e = it.next();
          if (!e.getValue().isTextual()) {
            throw new IllegalArgumentException("label '" + e.getKey() + "' must be a string");
          }
          labels.put(e.getKey(), e.getValue().textValue());
        }
      }
      String message = text(node, "message", null, where);
      String keys = text(node, "keys", "*", where);
      String renotify = text(node, "renotify_every", null, where);
      String pending = text(node, "for", null, where);
      Rule.Builder rule =
          builder()
              .setId(id)
              .setVersion(version)
              .setCondition(condition)
              .setSeverity(severity)
              .setLabels(labels)
              .setKeys(new KeyFilter(keys))
              .setResolveAfter((int) integer(node, "resolve_after", 1, where))
              .setRenotifyEvery(
                  renotify == null ? null : DurationText.parse("renotify_every", renotify))
              .setPendingFor(pending == null ? null : DurationText.parse("for", pending))
              .setSpeculative(bool(node, "speculative", where))
              .setPaused(bool(node, "paused", where))
              .setBaselineWindows(
                  (int) integer(node, "baseline_windows", DEFAULT_BASELINE_WINDOWS, where));
      if (message != null) {
        rule.setMessage(new MessageTemplate(message));
      }
      return rule.build();
    } catch (IllegalArgumentException e) {
      String msg = e.getMessage();
      throw new IllegalArgumentException(msg.startsWith("rule ") ? msg : where + msg, e);
    }
  }

  private static String text(JsonNode node, String field, String dflt, String where) {
    JsonNode value = node.get(field);
    if (value == null || value.isNull()) {
      if (dflt == null && field.equals("condition")) {
        throw new IllegalArgumentException(where + "field 'condition' is required");
      }
      return dflt;
    }
    if (!value.isTextual()) {
      throw new IllegalArgumentException(where + "field '" + field + "' must be a string");
    }
    return value.textValue();
  }

  private static long integer(JsonNode node, String field, long dflt, String where) {
    JsonNode value = node.get(field);
    if (value == null || value.isNull()) {
      return dflt;
    }
    if (!value.isIntegralNumber() || !value.canConvertToInt()) {
      throw new IllegalArgumentException(
          where + "field '" + field + "' must be an integer, got " + value);
    }
    return value.longValue();
  }

  private static boolean bool(JsonNode node, String field, String where) {
    JsonNode value = node.get(field);
    if (value == null || value.isNull()) {
      return false;
    }
    if (!value.isBoolean()) {
      throw new IllegalArgumentException(
          where + "field '" + field + "' must be true or false, got " + value);
    }
    return value.booleanValue();
  }

  /** The rule as JSON; {@code fromJson(r.toJson())} equals {@code r}. */
  public String toJson() {
    ObjectNode node = MAPPER.createObjectNode();
    node.put("id", id());
    node.put("version", version());
    if (deleted()) {
      node.put("deleted", true);
      return node.toString();
    }
    Condition condition = condition();
    node.put("condition", condition.toString());
    node.put("severity", severity().name());
    if (!labels().isEmpty()) {
      ObjectNode l = node.putObject("labels");
      labels().forEach(l::put);
    }
    node.put("message", message().text());
    node.put("keys", keys().pattern());
    node.put("resolve_after", resolveAfter());
    Duration pendingFor = pendingFor();
    if (pendingFor != null) {
      node.put("for", DurationText.format(pendingFor));
    }
    Duration renotifyEvery = renotifyEvery();
    if (renotifyEvery != null) {
      node.put("renotify_every", DurationText.format(renotifyEvery));
    }
    if (speculative()) {
      node.put("speculative", true);
    }
    if (paused()) {
      node.put("paused", true);
    }
    if (condition.kind() == Kind.ANOMALY) {
      node.put("baseline_windows", baselineWindows());
    }
    return node.toString();
  }

  /** Deterministic coder: the rule's canonical JSON. */
  public static final class RuleCoder extends DeterministicCoder<Rule> {
    private static final RuleCoder INSTANCE = new RuleCoder();
    private static final StringUtf8Coder STRING = StringUtf8Coder.of();

    /** Used by {@code @DefaultCoder}. */
    public static CoderProvider getCoderProvider() {
      return CoderProviders.forCoder(TypeDescriptor.of(Rule.class), INSTANCE);
    }

    public static RuleCoder of() {
      return INSTANCE;
    }

    @Override
    public void encode(Rule value, OutputStream out) throws IOException {
      STRING.encode(value.toJson(), out);
    }

    @Override
    public Rule decode(InputStream in) throws IOException {
      return fromJson(STRING.decode(in));
    }

    @Override
    public boolean consistentWithEquals() {
      return true;
    }
  }
}

package dev.sluice.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.model.Alert;
import dev.sluice.model.JsonSupport;
import dev.sluice.rules.Condition;
import java.util.Locale;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import org.checkerframework.checker.nullness.qual.Nullable;
import org.joda.time.Instant;

/**
 * A Sluice {@link Alert} in Alertmanager's JSON: labels and annotations, the API's postable alert
 * ({@code POST /api/v2/alerts}) and the webhook message of version 4 (what Alertmanager itself
 * posts to a {@code webhook_config} receiver). The mapping is a contract, documented in {@link
 * AlertmanagerIO}.
 *
 * <p>Labels identify an alert in Alertmanager (its fingerprint is a hash of them), so they hold
 * only what is the same for every notification of an episode; values that change between them
 * (value, window, message) are annotations.
 */
final class AlertmanagerJson {
  /** Go's zero time, which Alertmanager's webhook messages carry as the end of a firing alert. */
  static final String ZERO_TIME = "0001-01-01T00:00:00Z";

  /** Where a rule label displaced by one of Sluice's own labels goes among the annotations. */
  static final String DISPLACED_LABEL_PREFIX = "rule_label_";

  private AlertmanagerJson() {}

  /** The labels and annotations of one alert. */
  record Mapped(SortedMap<String, String> labels, SortedMap<String, String> annotations) {}

  /**
   * Labels {@code alertname} (the rule id), {@code key}, {@code metric}, {@code severity} (lower
   * case, as Prometheus rules write it) and the rule's labels under {@link #labelName} names;
   * annotations {@code summary} (the message), {@code alert_id}, {@code rule_version}, {@code
   * value}, {@code threshold}, {@code window_start}, {@code window_end}. A rule label whose name is
   * already taken (one of Sluice's four, or another rule label with the same Prometheus name) does
   * not change the alert's identity: it becomes the annotation {@code rule_label_<name>}.
   */
  static Mapped map(Alert alert) {
    SortedMap<String, String> labels = new TreeMap<>();
    labels.put("alertname", alert.ruleId());
    labels.put("key", alert.key());
    labels.put("metric", alert.metric());
    labels.put("severity", alert.severity().name().toLowerCase(Locale.ROOT));
    SortedMap<String, String> annotations = new TreeMap<>();
    annotations.put("summary", alert.message());
    annotations.put("alert_id", alert.alertId());
    annotations.put("rule_version", Long.toString(alert.ruleVersion()));
    annotations.put("value", Condition.compact(alert.value()));
    annotations.put("threshold", Condition.compact(alert.threshold()));
    annotations.put("window_start", JsonSupport.formatInstant(alert.windowStart()));
    annotations.put("window_end", JsonSupport.formatInstant(alert.windowEnd()));
    for (Map.Entry<String, String> label : alert.labels().entrySet()) {
      String name = labelName(label.getKey());
      if (labels.putIfAbsent(name, label.getValue()) != null) {
        annotations.putIfAbsent(DISPLACED_LABEL_PREFIX + name, label.getValue());
      }
    }
    return new Mapped(labels, annotations);
  }

  /**
   * A rule label name as a Prometheus label name ({@code [a-zA-Z_][a-zA-Z0-9_]*}, which
   * Alertmanager 0.25 requires): every other character becomes {@code _}, and a leading digit gets
   * a {@code _} in front, as Prometheus' own exporters sanitize names ({@code team.name} becomes
   * {@code team_name}, {@code 2fa} becomes {@code _2fa}).
   */
  static String labelName(String name) {
    StringBuilder out = new StringBuilder(name.length() + 1);
    if (name.isEmpty() || (name.charAt(0) >= '0' && name.charAt(0) <= '9')) {
      out.append('_');
    }
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      boolean ok =
          (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
      out.append(ok ? c : '_');
    }
    return out.toString();
  }

  /**
   * One alert as Alertmanager's API takes it: {@code labels}, {@code annotations}, {@code
   * startsAt}, {@code endsAt} and, when given, {@code generatorURL}.
   */
  static ObjectNode postableAlert(
      ObjectMapper mapper,
      Alert alert,
      Instant startsAt,
      Instant endsAt,
      @Nullable String generatorUrl) {
    Mapped mapped = map(alert);
    ObjectNode node = mapper.createObjectNode();
    putStrings(node.putObject("labels"), mapped.labels());
    putStrings(node.putObject("annotations"), mapped.annotations());
    node.put("startsAt", JsonSupport.formatInstant(startsAt));
    node.put("endsAt", JsonSupport.formatInstant(endsAt));
    if (generatorUrl != null) {
      node.put("generatorURL", generatorUrl);
    }
    return node;
  }

  /** The body of {@code POST /api/v2/alerts}: a list of one postable alert. */
  static String postBody(
      ObjectMapper mapper,
      Alert alert,
      Instant startsAt,
      Instant endsAt,
      @Nullable String generatorUrl) {
    ArrayNode list = mapper.createArrayNode();
    list.add(postableAlert(mapper, alert, startsAt, endsAt, generatorUrl));
    return write(mapper, list);
  }

  /**
   * Alertmanager's webhook message (version 4) for one alert, as a receiver grouping by {@code
   * alertname} under the root route gets it: {@code version}, {@code groupKey} ({@code
   * {}:{alertname="<rule_id>"}}), {@code truncatedAlerts} 0, {@code status} ({@code firing} or
   * {@code resolved}), {@code receiver} {@code sluice}, {@code groupLabels} ({@code alertname}),
   * {@code commonLabels} and {@code commonAnnotations} (the alert's own, as it is alone), {@code
   * externalURL} empty, and {@code alerts}: one with {@code status}, {@code labels}, {@code
   * annotations}, {@code startsAt} (the alert's window start), {@code endsAt} (Go's zero time
   * {@value #ZERO_TIME} while firing, the window end once resolved), {@code generatorURL} empty and
   * {@code fingerprint} (the alert id, 32 hex digits, where Alertmanager has 16 of its own).
   */
  static String webhookMessage(ObjectMapper mapper, Alert alert) {
    Mapped mapped = map(alert);
    String status = alert.status() == Alert.Status.FIRING ? "firing" : "resolved";
    ObjectNode message = mapper.createObjectNode();
    message.put("version", "4");
    message.put("groupKey", "{}:{alertname=" + quoted(alert.ruleId()) + "}");
    message.put("truncatedAlerts", 0);
    message.put("status", status);
    message.put("receiver", "sluice");
    message.putObject("groupLabels").put("alertname", alert.ruleId());
    putStrings(message.putObject("commonLabels"), mapped.labels());
    putStrings(message.putObject("commonAnnotations"), mapped.annotations());
    message.put("externalURL", "");
    ObjectNode one = message.putArray("alerts").addObject();
    one.put("status", status);
    putStrings(one.putObject("labels"), mapped.labels());
    putStrings(one.putObject("annotations"), mapped.annotations());
    one.put("startsAt", JsonSupport.formatInstant(alert.windowStart()));
    one.put(
        "endsAt",
        alert.status() == Alert.Status.FIRING
            ? ZERO_TIME
            : JsonSupport.formatInstant(alert.windowEnd()));
    one.put("generatorURL", "");
    one.put("fingerprint", alert.alertId());
    return write(mapper, message);
  }

  /** A label value as Alertmanager's group keys quote it (Go's {@code %q}, for ASCII text). */
  private static String quoted(String value) {
    return '"' + value.replace("\\", "\\\\").replace("\"", "\\\"") + '"';
  }

  private static void putStrings(ObjectNode node, Map<String, String> values) {
    values.forEach(node::put);
  }

  private static String write(ObjectMapper mapper, Object node) {
    try {
      return mapper.writeValueAsString(node);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("a tree of strings and numbers is always serializable", e);
    }
  }
}

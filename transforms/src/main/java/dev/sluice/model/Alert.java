package dev.sluice.model;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Collections;
import java.util.HexFormat;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import org.apache.beam.sdk.coders.CoderProvider;
import org.apache.beam.sdk.coders.CoderProviders;
import org.apache.beam.sdk.coders.DefaultCoder;
import org.apache.beam.sdk.values.TypeDescriptor;
import org.joda.time.Instant;

/**
 * A rule's verdict on one key: {@code FIRING} when the condition starts to hold, {@code RESOLVED}
 * when it clears.
 *
 * <p>{@code alertId} is a deterministic fingerprint of rule, key, metric and episode (see {@link
 * #fingerprint}), so a retried bundle or a replay yields the same id and sinks can upsert on it.
 * {@code emittedAt} is the processing time the alert was produced; it is the only field that
 * differs between two runs over the same input. {@code labels} are the rule's labels, for routing;
 * the JSON form has them as an object {@code labels}, left out when there are none. {@code
 * silenced} marks a transition a silence covered: it is stored like any other, but notification
 * sinks (webhook, Alertmanager) do not send it.
 */
@DefaultCoder(Alert.AlertCoder.class)
public record Alert(
    String alertId,
    String ruleId,
    long ruleVersion,
    String key,
    String metric,
    Status status,
    Severity severity,
    double value,
    double threshold,
    Instant windowStart,
    Instant windowEnd,
    String message,
    Instant emittedAt,
    SortedMap<String, String> labels,
    boolean silenced)
    implements Serializable {

  /** The alert's place in its lifecycle. */
  public enum Status {
    FIRING,
    RESOLVED
  }

  /** How urgent the alert is. */
  public enum Severity {
    INFO,
    WARNING,
    CRITICAL
  }

  public Alert {
    requireNonNull(alertId, "alertId");
    requireNonNull(ruleId, "ruleId");
    requireNonNull(key, "key");
    requireNonNull(metric, "metric");
    requireNonNull(status, "status");
    requireNonNull(severity, "severity");
    requireNonNull(windowStart, "windowStart");
    requireNonNull(windowEnd, "windowEnd");
    requireNonNull(message, "message");
    requireNonNull(emittedAt, "emittedAt");
    labels = Collections.unmodifiableSortedMap(new TreeMap<>(labels == null ? Map.of() : labels));
  }

  /** An alert that no silence covers. */
  public Alert(
      String alertId,
      String ruleId,
      long ruleVersion,
      String key,
      String metric,
      Status status,
      Severity severity,
      double value,
      double threshold,
      Instant windowStart,
      Instant windowEnd,
      String message,
      Instant emittedAt,
      SortedMap<String, String> labels) {
    this(
        alertId,
        ruleId,
        ruleVersion,
        key,
        metric,
        status,
        severity,
        value,
        threshold,
        windowStart,
        windowEnd,
        message,
        emittedAt,
        labels,
        false);
  }

  /** An alert without labels. */
  public Alert(
      String alertId,
      String ruleId,
      long ruleVersion,
      String key,
      String metric,
      Status status,
      Severity severity,
      double value,
      double threshold,
      Instant windowStart,
      Instant windowEnd,
      String message,
      Instant emittedAt) {
    this(
        alertId,
        ruleId,
        ruleVersion,
        key,
        metric,
        status,
        severity,
        value,
        threshold,
        windowStart,
        windowEnd,
        message,
        emittedAt,
        null);
  }

  /**
   * The deterministic alert id: the first 128 bits of SHA-256 over rule id, key, metric and the
   * start of the episode, as 32 lower-case hex digits. The rule version is not part of it: editing
   * a rule's threshold does not turn an ongoing episode into a new alert.
   */
  public static String fingerprint(String ruleId, String key, String metric, Instant episode) {
    MessageDigest sha256;
    try {
      sha256 = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required of every JVM", e);
    }
    String material = ruleId + '\u0000' + key + '\u0000' + metric + '\u0000' + episode.getMillis();
    byte[] digest = sha256.digest(material.getBytes(StandardCharsets.UTF_8));
    return HexFormat.of().formatHex(digest, 0, 16);
  }

  /** Returns a copy with another emission time (to compare alerts of two runs). */
  public Alert withEmittedAt(Instant newEmittedAt) {
    return new Alert(
        alertId,
        ruleId,
        ruleVersion,
        key,
        metric,
        status,
        severity,
        value,
        threshold,
        windowStart,
        windowEnd,
        message,
        newEmittedAt,
        labels,
        silenced);
  }

  /** Returns a copy marked (or not) as covered by a silence. */
  public Alert withSilenced(boolean newSilenced) {
    return new Alert(
        alertId,
        ruleId,
        ruleVersion,
        key,
        metric,
        status,
        severity,
        value,
        threshold,
        windowStart,
        windowEnd,
        message,
        emittedAt,
        labels,
        newSilenced);
  }

  public String toJson() {
    return JsonSupport.writeObject(
        gen -> {
          gen.writeStringField("alert_id", alertId);
          gen.writeStringField("rule_id", ruleId);
          gen.writeNumberField("rule_version", ruleVersion);
          gen.writeStringField("key", key);
          gen.writeStringField("metric", metric);
          gen.writeStringField("status", status.name());
          gen.writeStringField("severity", severity.name());
          gen.writeNumberField("value", value);
          gen.writeNumberField("threshold", threshold);
          JsonSupport.writeInstant(gen, "window_start", windowStart);
          JsonSupport.writeInstant(gen, "window_end", windowEnd);
          gen.writeStringField("message", message);
          JsonSupport.writeInstant(gen, "emitted_at", emittedAt);
          if (!labels.isEmpty()) {
            JsonSupport.writeStringMap(gen, "labels", labels);
          }
          gen.writeBooleanField("silenced", silenced);
        });
  }

  /** Reads an alert written by {@link #toJson()}. */
  public static Alert fromJson(String json) {
    JsonNode node = JsonSupport.readTree(json);
    return new Alert(
        JsonSupport.text(node, "alert_id"),
        JsonSupport.text(node, "rule_id"),
        JsonSupport.longValue(node, "rule_version"),
        JsonSupport.text(node, "key"),
        JsonSupport.text(node, "metric"),
        Status.valueOf(JsonSupport.text(node, "status")),
        Severity.valueOf(JsonSupport.text(node, "severity")),
        JsonSupport.number(node, "value"),
        JsonSupport.number(node, "threshold"),
        JsonSupport.instant(node, "window_start"),
        JsonSupport.instant(node, "window_end"),
        JsonSupport.text(node, "message"),
        JsonSupport.instant(node, "emitted_at"),
        JsonSupport.stringMap(node, "labels"),
        node.path("silenced").asBoolean(false));
  }

  /**
   * Deterministic coder for {@link Alert}. Format version 2 added {@code silenced}; bytes of the
   * unversioned format (alerts held in a checkpoint from before) decode as not silenced.
   */
  public static final class AlertCoder extends DeterministicCoder<Alert> {
    private static final AlertCoder INSTANCE = new AlertCoder();
    private static final int VERSION = 2;

    /** Used by {@code @DefaultCoder}. */
    public static CoderProvider getCoderProvider() {
      return CoderProviders.forCoder(TypeDescriptor.of(Alert.class), INSTANCE);
    }

    public static AlertCoder of() {
      return INSTANCE;
    }

    @Override
    public void encode(Alert a, OutputStream out) throws IOException {
      FormatVersion.write(VERSION, out);
      CoderSupport.writeString(a.alertId, out);
      CoderSupport.writeString(a.ruleId, out);
      CoderSupport.writeLong(a.ruleVersion, out);
      CoderSupport.writeString(a.key, out);
      CoderSupport.writeString(a.metric, out);
      CoderSupport.writeEnum(a.status, out);
      CoderSupport.writeEnum(a.severity, out);
      CoderSupport.writeDouble(a.value, out);
      CoderSupport.writeDouble(a.threshold, out);
      CoderSupport.writeInstant(a.windowStart, out);
      CoderSupport.writeInstant(a.windowEnd, out);
      CoderSupport.writeString(a.message, out);
      CoderSupport.writeInstant(a.emittedAt, out);
      CoderSupport.writeStringMap(a.labels, out);
      CoderSupport.writeBoolean(a.silenced, out);
    }

    @Override
    public Alert decode(InputStream in) throws IOException {
      FormatVersion format = FormatVersion.read(in);
      String alertId =
          format.firstString() != null ? format.firstString() : CoderSupport.readString(in);
      return new Alert(
          alertId,
          CoderSupport.readString(in),
          CoderSupport.readLong(in),
          CoderSupport.readString(in),
          CoderSupport.readString(in),
          CoderSupport.readEnum(Status.class, in),
          CoderSupport.readEnum(Severity.class, in),
          CoderSupport.readDouble(in),
          CoderSupport.readDouble(in),
          CoderSupport.readInstant(in),
          CoderSupport.readInstant(in),
          CoderSupport.readString(in),
          CoderSupport.readInstant(in),
          CoderSupport.readStringMap(in),
          format.version() >= 2 && CoderSupport.readBoolean(in));
    }

    @Override
    public boolean consistentWithEquals() {
      return true;
    }
  }
}

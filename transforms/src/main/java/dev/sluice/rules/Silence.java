package dev.sluice.rules;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.model.DeterministicCoder;
import dev.sluice.model.JsonSupport;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.Serializable;
import java.time.DateTimeException;
import java.time.DayOfWeek;
import java.time.LocalDate;
import java.time.LocalTime;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.format.DateTimeParseException;
import java.util.Collections;
import java.util.EnumSet;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.regex.Pattern;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.checkerframework.checker.nullness.qual.Nullable;
import org.joda.time.Instant;

/**
 * A silence: alerts it matches are still stored, but marked {@code silenced} and not sent to
 * notification sinks while it is active. Active either in an event-time range {@code [starts_at,
 * ends_at)} or in a recurring weekly maintenance window in a named time zone.
 *
 * <pre>{@code
 * Silence night = Silence.fromJson("{\"id\":\"backup-window\",\"matchers\":{\"key\":\"db-*\"},"
 *     + "\"weekly\":{\"days\":[\"SAT\",\"SUN\"],\"from\":\"01:30\",\"to\":\"03:30\","
 *     + "\"time_zone\":\"Europe/Berlin\"}}");
 * Silence migration = Silence.fromJson("{\"id\":\"migration\",\"matchers\":{\"rule\":\"hot-*\","
 *     + "\"labels\":{\"team\":\"iot\"}},\"starts_at\":\"2026-12-05T22:00:00Z\","
 *     + "\"ends_at\":\"2026-12-06T02:00:00Z\",\"comment\":\"ticket OPS-42\"}");
 * }</pre>
 *
 * <p>JSON fields: {@code id} (required), {@code version} (default 1; a higher version replaces a
 * silence sent on the rule-update channel), {@code matchers} (required unless deleted: {@code rule}
 * a glob on the rule id, {@code key} a glob on the key, {@code labels} an object of rule labels
 * that must all be equal; at least one of them), either {@code starts_at} and {@code ends_at}
 * (ISO-8601 instants) or {@code weekly} ({@code days}: a list of {@code MON}..{@code SUN}, {@code
 * from} and {@code to}: local {@code HH:mm}, {@code to} at or before {@code from} meaning the next
 * day, {@code time_zone}: an IANA zone such as {@code Europe/Berlin}), {@code comment}, {@code
 * deleted}. Unknown fields are errors.
 *
 * <p><b>Event time.</b> A transition is judged at the last instant of its window ({@code
 * window_end} minus 1 ms): a silence ending at 03:00 covers the window that closes at 03:00, one
 * starting at 03:00 does not. A weekly window follows the zone's wall clock: on the night clocks go
 * forward, a 02:00-04:00 window lasts one hour; on the night they go back, three.
 */
public record Silence(
    String id,
    long version,
    boolean deleted,
    @Nullable KeyFilter rules,
    @Nullable KeyFilter keys,
    SortedMap<String, String> labels,
    @Nullable Instant startsAt,
    @Nullable Instant endsAt,
    @Nullable Weekly weekly,
    @Nullable String comment)
    implements Serializable {
  private static final long serialVersionUID = 1L;
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,127}");
  static final List<String> FIELDS =
      List.of("id", "version", "matchers", "starts_at", "ends_at", "weekly", "comment", "deleted");
  private static final List<String> MATCHER_FIELDS = List.of("rule", "key", "labels");
  private static final List<String> WEEKLY_FIELDS = List.of("days", "from", "to", "time_zone");

  /** A recurring weekly window of local wall-clock time in a zone. */
  public record Weekly(Set<DayOfWeek> days, LocalTime from, LocalTime to, ZoneId zone)
      implements Serializable {
    public Weekly {
      if (days == null || days.isEmpty()) {
        throw new IllegalArgumentException("weekly.days must name at least one day");
      }
      days = Collections.unmodifiableSet(EnumSet.copyOf(days));
      if (from == null || to == null || zone == null) {
        throw new IllegalArgumentException("weekly needs from, to and time_zone");
      }
      if (from.equals(to)) {
        throw new IllegalArgumentException(
            "weekly.from and weekly.to are both " + from + "; a window needs a length");
      }
    }

    /** The end of the occurrence that covers {@code t}, or null when none does. */
    @Nullable Instant activeUntil(Instant t) {
      java.time.Instant at = java.time.Instant.ofEpochMilli(t.getMillis());
      LocalDate today = at.atZone(zone).toLocalDate();
      // An occurrence that crosses midnight may have started the day before.
      for (LocalDate day : new LocalDate[] {today.minusDays(1), today}) {
        if (!days.contains(day.getDayOfWeek())) {
          continue;
        }
        // ZonedDateTime.of moves a time in a gap (clocks forward) past the gap, and takes the
        // earlier offset in an overlap (clocks back): the zone's wall clock decides.
        ZonedDateTime start = ZonedDateTime.of(day, from, zone);
        ZonedDateTime end = ZonedDateTime.of(to.isAfter(from) ? day : day.plusDays(1), to, zone);
        if (!at.isBefore(start.toInstant()) && at.isBefore(end.toInstant())) {
          return new Instant(end.toInstant().toEpochMilli());
        }
      }
      return null;
    }
  }

  public Silence {
    if (id == null || !ID.matcher(id).matches()) {
      throw new IllegalArgumentException(
          "silence id must match "
              + ID.pattern()
              + ", got "
              + (id == null ? "null" : "'" + id + "'"));
    }
    String where = "silence '" + id + "': ";
    if (version < 1) {
      throw new IllegalArgumentException(where + "version must be at least 1, got " + version);
    }
    labels = Collections.unmodifiableSortedMap(new TreeMap<>(labels == null ? Map.of() : labels));
    if (!deleted) {
      if (rules == null && keys == null && labels.isEmpty()) {
        throw new IllegalArgumentException(
            where
                + "matchers needs at least one of rule, key, labels (rule: \"*\" silences every"
                + " rule)");
      }
      if (weekly == null && (startsAt == null || endsAt == null)) {
        throw new IllegalArgumentException(
            where + "give starts_at and ends_at, or a weekly window");
      }
      if (weekly != null && (startsAt != null || endsAt != null)) {
        throw new IllegalArgumentException(
            where + "give starts_at and ends_at, or a weekly window, not both");
      }
      if (startsAt != null && !endsAt.isAfter(startsAt)) {
        throw new IllegalArgumentException(
            where
                + "ends_at "
                + JsonSupport.formatInstant(endsAt)
                + " must be after starts_at "
                + JsonSupport.formatInstant(startsAt));
      }
    }
    if (comment != null && comment.length() > 1000) {
      throw new IllegalArgumentException(where + "comment must be at most 1000 characters");
    }
  }

  /** A tombstone: version {@code version} of silence {@code id} deletes it. */
  public static Silence deletion(String id, long version) {
    return new Silence(id, version, true, null, null, null, null, null, null, null);
  }

  /** Whether the silence applies to alerts of {@code rule} on {@code key} (time aside). */
  public boolean matches(Rule rule, String key) {
    if (deleted) {
      return false;
    }
    if (rules != null && !rules.matches(rule.id())) {
      return false;
    }
    if (keys != null && !keys.matches(key)) {
      return false;
    }
    for (Map.Entry<String, String> label : labels.entrySet()) {
      if (!label.getValue().equals(rule.labels().get(label.getKey()))) {
        return false;
      }
    }
    return true;
  }

  /** The end of the active period that covers {@code t}, or null when the silence is not active. */
  public @Nullable Instant activeUntil(Instant t) {
    if (deleted) {
      return null;
    }
    if (weekly != null) {
      return weekly.activeUntil(t);
    }
    return !t.isBefore(startsAt) && t.isBefore(endsAt) ? endsAt : null;
  }

  /** Whether event time {@code t} is past the silence for good (a range that has ended). */
  public boolean expiredBy(Instant t) {
    return weekly == null && endsAt != null && !t.isBefore(endsAt);
  }

  /** Reads one silence from a JSON object. */
  public static Silence fromJson(String json) {
    JsonNode node;
    try {
      node = MAPPER.readTree(json);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("silence is not valid JSON: " + e.getOriginalMessage(), e);
    }
    return fromTree(node);
  }

  /** Reads one silence from a parsed JSON (or YAML) object; unknown fields are errors. */
  public static Silence fromTree(JsonNode node) {
    if (node == null || !node.isObject()) {
      throw new IllegalArgumentException("a silence must be an object");
    }
    JsonNode idNode = node.get("id");
    if (idNode == null || !idNode.isTextual()) {
      throw new IllegalArgumentException("silence: field 'id' is required and must be a string");
    }
    String id = idNode.textValue();
    String where = "silence '" + id + "': ";
    try {
      allowOnly(node, FIELDS, "");
      long version = 1;
      JsonNode v = node.get("version");
      if (v != null && !v.isNull()) {
        if (!v.isIntegralNumber() || !v.canConvertToLong()) {
          throw new IllegalArgumentException("version must be an integer, got " + v);
        }
        version = v.longValue();
      }
      JsonNode d = node.get("deleted");
      if (d != null && !d.isNull() && !d.isBoolean()) {
        throw new IllegalArgumentException("deleted must be true or false, got " + d);
      }
      if (d != null && d.asBoolean()) {
        return deletion(id, version);
      }
      JsonNode m = node.get("matchers");
      if (m == null || !m.isObject()) {
        throw new IllegalArgumentException(
            "matchers is required: an object with rule, key and/or labels");
      }
      allowOnly(m, MATCHER_FIELDS, "matchers.");
      String rule = text(m, "rule", "matchers.");
      String key = text(m, "key", "matchers.");
      SortedMap<String, String> labels = new TreeMap<>();
      JsonNode l = m.get("labels");
      if (l != null && !l.isNull()) {
        if (!l.isObject()) {
          throw new IllegalArgumentException("matchers.labels must be an object of strings");
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = l.fields(); it.hasNext(); ) {
          Map.Entry<String, JsonNode> e = it.next();
          if (!e.getValue().isTextual()) {
            throw new IllegalArgumentException(
                "matchers.labels." + e.getKey() + " must be a string");
          }
          labels.put(e.getKey(), e.getValue().textValue());
        }
      }
      return new Silence(
          id,
          version,
          false,
          rule == null ? null : new KeyFilter(rule),
          key == null ? null : new KeyFilter(key),
          labels,
          instant(node, "starts_at"),
          instant(node, "ends_at"),
          weekly(node.get("weekly")),
          text(node, "comment", ""));
    } catch (IllegalArgumentException e) {
      String msg = e.getMessage();
      throw new IllegalArgumentException(msg.startsWith("silence ") ? msg : where + msg, e);
    }
  }

  private static @Nullable Weekly weekly(@Nullable JsonNode w) {
    if (w == null || w.isNull()) {
      return null;
    }
    if (!w.isObject()) {
      throw new IllegalArgumentException(
          "weekly must be an object: {days: [SAT, SUN], from: \"02:00\", to: \"04:00\","
              + " time_zone: Europe/Berlin}");
    }
    allowOnly(w, WEEKLY_FIELDS, "weekly.");
    JsonNode daysNode = w.get("days");
    if (daysNode == null || !daysNode.isArray() || daysNode.isEmpty()) {
      throw new IllegalArgumentException("weekly.days must be a list of days, e.g. [SAT, SUN]");
    }
    Set<DayOfWeek> days = EnumSet.noneOf(DayOfWeek.class);
    for (JsonNode day : daysNode) {
      days.add(day(day));
    }
    String zoneText = text(w, "time_zone", "weekly.");
    if (zoneText == null) {
      throw new IllegalArgumentException(
          "weekly.time_zone is required, an IANA zone such as Europe/Berlin or UTC");
    }
    ZoneId zone;
    try {
      zone = ZoneId.of(zoneText);
    } catch (DateTimeException e) {
      throw new IllegalArgumentException(
          "weekly.time_zone '"
              + zoneText
              + "' is not a time zone; use an IANA name such as"
              + " Europe/Berlin");
    }
    return new Weekly(days, localTime(w, "from"), localTime(w, "to"), zone);
  }

  private static DayOfWeek day(JsonNode node) {
    String text = node.isTextual() ? node.textValue().trim().toUpperCase(Locale.ROOT) : "";
    for (DayOfWeek d : DayOfWeek.values()) {
      if (d.name().equals(text) || d.name().substring(0, 3).equals(text)) {
        return d;
      }
    }
    throw new IllegalArgumentException(
        "weekly.days: " + node + " is not a day; use MON, TUE, WED, THU, FRI, SAT, SUN");
  }

  private static LocalTime localTime(JsonNode w, String field) {
    String text = text(w, field, "weekly.");
    if (text == null) {
      throw new IllegalArgumentException("weekly." + field + " is required, a local time HH:mm");
    }
    try {
      return LocalTime.parse(text.length() == 4 ? "0" + text : text);
    } catch (DateTimeParseException e) {
      throw new IllegalArgumentException(
          "weekly." + field + ": \"" + text + "\" is not a local time; use HH:mm, e.g. 02:30");
    }
  }

  private static @Nullable Instant instant(JsonNode node, String field) {
    String text = text(node, field, "");
    if (text == null) {
      return null;
    }
    try {
      return new Instant(java.time.Instant.parse(text).toEpochMilli());
    } catch (DateTimeParseException e) {
      throw new IllegalArgumentException(
          field + ": \"" + text + "\" is not an ISO-8601 instant, e.g. 2026-12-05T22:00:00Z");
    }
  }

  private static @Nullable String text(JsonNode node, String field, String prefix) {
    JsonNode value = node.get(field);
    if (value == null || value.isNull()) {
      return null;
    }
    if (!value.isTextual()) {
      throw new IllegalArgumentException(prefix + field + " must be a string, got " + value);
    }
    return value.textValue();
  }

  private static void allowOnly(JsonNode node, List<String> allowed, String prefix) {
    for (Iterator<String> names = node.fieldNames(); names.hasNext(); ) {
      String name = names.next();
      if (!allowed.contains(name)) {
        throw new IllegalArgumentException(
            "unknown field '" + prefix + name + "'; allowed: " + String.join(", ", allowed));
      }
    }
  }

  /** The silence as JSON; {@code fromJson(s.toJson())} equals {@code s}. */
  public String toJson() {
    ObjectNode node = MAPPER.createObjectNode();
    node.put("id", id);
    node.put("version", version);
    if (deleted) {
      node.put("deleted", true);
      return node.toString();
    }
    ObjectNode m = node.putObject("matchers");
    if (rules != null) {
      m.put("rule", rules.pattern());
    }
    if (keys != null) {
      m.put("key", keys.pattern());
    }
    if (!labels.isEmpty()) {
      ObjectNode l = m.putObject("labels");
      labels.forEach(l::put);
    }
    if (weekly != null) {
      ObjectNode w = node.putObject("weekly");
      ArrayNode days = w.putArray("days");
      weekly.days().forEach(d -> days.add(d.name().substring(0, 3)));
      w.put("from", weekly.from().toString());
      w.put("to", weekly.to().toString());
      w.put("time_zone", weekly.zone().getId());
    } else {
      node.put("starts_at", JsonSupport.formatInstant(startsAt));
      node.put("ends_at", JsonSupport.formatInstant(endsAt));
    }
    if (comment != null) {
      node.put("comment", comment);
    }
    return node.toString();
  }

  /** Deterministic coder: the silence's canonical JSON. */
  public static final class SilenceCoder extends DeterministicCoder<Silence> {
    private static final SilenceCoder INSTANCE = new SilenceCoder();
    private static final StringUtf8Coder STRING = StringUtf8Coder.of();

    public static SilenceCoder of() {
      return INSTANCE;
    }

    @Override
    public void encode(Silence value, OutputStream out) throws IOException {
      STRING.encode(value.toJson(), out);
    }

    @Override
    public Silence decode(InputStream in) throws IOException {
      return fromJson(STRING.decode(in));
    }

    @Override
    public boolean consistentWithEquals() {
      return true;
    }
  }
}

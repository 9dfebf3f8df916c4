package dev.sluice.local.dashboard;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The dashboard's dead letters: counts by reason over {@code failed_at} in buckets sized to the
 * time they span, and the newest with their payloads exactly as stored (cut for display only), by
 * fixed queries over {@code <schema>.dead_letters}. The payloads are untrusted text; the page shows
 * them with {@code textContent}.
 *
 * <pre>{@code
 * ObjectNode json = new DeadLetterData("sluice").deadLetters(connection);
 * }</pre>
 */
final class DeadLetterData {
  /** The newest dead letters shown with their payloads. */
  static final int NEWEST_DEAD_LETTERS = 20;

  /** Payloads longer than this are cut for display (the store keeps them whole). */
  static final int MAX_PAYLOAD_CHARS = 4_000;

  private static final long[] BUCKETS = {
    1, 5, 10, 30, 60, 300, 600, 1_800, 3_600, 6 * 3_600, 86_400, 7 * 86_400
  };

  private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

  private final StoreTables tables;

  DeadLetterData(String schema) {
    this.tables = new StoreTables(schema);
  }

  /** Dead letters by reason in buckets of {@code failed_at}, and the newest with their payloads. */
  ObjectNode deadLetters(Connection c) throws SQLException {
    ObjectNode out = JSON.objectNode();
    ArrayNode reasons = out.putArray("reasons");
    ArrayNode buckets = out.putArray("t");
    ObjectNode counts = out.putObject("counts");
    ArrayNode newest = out.putArray("newest");
    if (!tables.exists(c, "dead_letters")) {
      out.put("total", 0);
      return out;
    }
    long first;
    long last;
    try (PreparedStatement s =
            c.prepareStatement(
                "SELECT count(*), floor(extract(epoch FROM min(failed_at)))::bigint,"
                    + " floor(extract(epoch FROM max(failed_at)))::bigint FROM "
                    + tables.t("dead_letters"));
        ResultSet r = s.executeQuery()) {
      r.next();
      out.put("total", r.getLong(1));
      if (r.getLong(1) == 0) {
        return out;
      }
      first = r.getLong(2);
      last = r.getLong(3);
    }
    long width = BUCKETS[BUCKETS.length - 1];
    for (long candidate : BUCKETS) {
      if ((last - first) / candidate < 60) {
        width = candidate;
        break;
      }
    }
    out.put("bucket_seconds", width);
    Map<String, Map<Long, Long>> byReason = new LinkedHashMap<>();
    try (PreparedStatement s =
        c.prepareStatement(
            "SELECT reason, floor(extract(epoch FROM failed_at) / ?)::bigint, count(*) FROM "
                + tables.t("dead_letters")
                + " GROUP BY 1, 2 ORDER BY 1, 2")) {
      s.setLong(1, width);
      try (ResultSet r = s.executeQuery()) {
        while (r.next()) {
          byReason
              .computeIfAbsent(r.getString(1), k -> new LinkedHashMap<>())
              .put(r.getLong(2), r.getLong(3));
        }
      }
    }
    long from = first / width;
    long to = last / width;
    for (long b = from; b <= to; b++) {
      buckets.add(b * width);
    }
    for (Map.Entry<String, Map<Long, Long>> reason : byReason.entrySet()) {
      long total = reason.getValue().values().stream().mapToLong(Long::longValue).sum();
      reasons.addObject().put("reason", reason.getKey()).put("count", total);
      ArrayNode series = counts.putArray(reason.getKey());
      for (long b = from; b <= to; b++) {
        series.add(reason.getValue().getOrDefault(b, 0L));
      }
    }
    try (PreparedStatement s =
            c.prepareStatement(
                "SELECT failed_at, stage, reason, error, payload, payload_base64, source FROM "
                    + tables.t("dead_letters")
                    + " ORDER BY failed_at DESC, dead_letter_id LIMIT "
                    + NEWEST_DEAD_LETTERS);
        ResultSet r = s.executeQuery()) {
      while (r.next()) {
        String payload = r.getString(5);
        boolean base64 = payload == null;
        String text = base64 ? r.getString(6) : payload;
        text = text == null ? "" : text;
        ObjectNode d =
            newest
                .addObject()
                .put("failed_at", StoreTables.iso(r.getTimestamp(1)))
                .put("stage", r.getString(2))
                .put("reason", r.getString(3))
                .put("error", r.getString(4))
                .put("payload_base64", base64)
                .put("payload_length", text.length())
                .put(
                    "payload",
                    text.length() > MAX_PAYLOAD_CHARS
                        ? text.substring(0, MAX_PAYLOAD_CHARS)
                        : text);
        StoreTables.addNullable(d, "source", r.getString(7));
      }
    }
    return out;
  }
}

package dev.sluice.local.dashboard;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The dashboard's data: fixed, parameterized queries over a store's {@code window_stats} and {@code
 * alerts} (and counts of {@code dead_letters}; {@link DeadLetterData} has the rest), as JSON for
 * the page. The schema name is validated ({@code [a-z_][a-z0-9_]*}); every value from a request is
 * a bound parameter. A missing table gives empty data (a spec may store only some of the three); so
 * does a missing column a newer Sluice added ({@code written_at}, {@code silenced}): this reads, it
 * never migrates.
 *
 * <pre>{@code
 * DashboardData data = new DashboardData("sluice");
 * ObjectNode series = data.series(connection, "plant-a/sensor-03", "temperature", null);
 * }</pre>
 *
 * <p>Times are epoch seconds (what the charts plot) and ISO-8601 text (what the tables show).
 */
final class DashboardData {
  /** At most this many windows per chart, the newest. */
  static final int MAX_POINTS = 2_000;

  /** At most this many (key, metric) pairs in the chooser. */
  static final int MAX_PAIRS = 5_000;

  /** At most this many alert episodes on the timeline, the newest. */
  static final int MAX_EPISODES = 500;

  /** Window ends on the throughput and lag charts, the newest. */
  static final int MAX_WINDOW_ENDS = 500;

  private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

  private final StoreTables tables;

  DashboardData(String schema) {
    this.tables = new StoreTables(schema);
  }

  /** Counts, the (key, metric) pairs with their window and alert counts, the window sizes. */
  ObjectNode overview(Connection c) throws SQLException {
    ObjectNode out = JSON.objectNode();
    out.put("schema", tables.schema());
    boolean stats = tables.exists(c, "window_stats");
    boolean alerts = tables.exists(c, "alerts");
    boolean deadLetters = tables.exists(c, "dead_letters");
    out.putObject("tables")
        .put("window_stats", stats)
        .put("alerts", alerts)
        .put("dead_letters", deadLetters);
    out.put(
        "windows",
        stats ? StoreTables.count(c, "SELECT count(*) FROM " + tables.t("window_stats")) : 0);
    out.put(
        "alerts", alerts ? StoreTables.count(c, "SELECT count(*) FROM " + tables.t("alerts")) : 0);
    out.put(
        "dead_letters",
        deadLetters ? StoreTables.count(c, "SELECT count(*) FROM " + tables.t("dead_letters")) : 0);
    Map<String, Long> alertsOf = new LinkedHashMap<>();
    if (alerts) {
      try (PreparedStatement s =
              c.prepareStatement(
                  "SELECT key, metric, count(*) FROM " + tables.t("alerts") + " GROUP BY 1, 2");
          ResultSet r = s.executeQuery()) {
        while (r.next()) {
          alertsOf.put(r.getString(1) + '\u0000' + r.getString(2), r.getLong(3));
        }
      }
    }
    ArrayNode pairs = out.putArray("pairs");
    ArrayNode sizes = out.putArray("window_sizes");
    if (stats) {
      try (PreparedStatement s =
          c.prepareStatement(
              "SELECT key, metric, count(*) FROM "
                  + tables.t("window_stats")
                  + " GROUP BY 1, 2 ORDER BY 1, 2 LIMIT "
                  + (MAX_PAIRS + 1))) {
        try (ResultSet r = s.executeQuery()) {
          while (r.next()) {
            if (pairs.size() == MAX_PAIRS) {
              out.put("pairs_truncated", true);
              break;
            }
            long alertCount = alertsOf.getOrDefault(r.getString(1) + '\u0000' + r.getString(2), 0L);
            pairs
                .addObject()
                .put("key", r.getString(1))
                .put("metric", r.getString(2))
                .put("windows", r.getLong(3))
                .put("alerts", alertCount);
          }
        }
      }
      sizes(c).forEach(sizes::add);
    }
    return out;
  }

  /** The distinct window sizes in seconds (at most 20; more means session windows). */
  private List<Long> sizes(Connection c) throws SQLException {
    List<Long> sizes = new ArrayList<>();
    try (PreparedStatement s =
            c.prepareStatement(
                "SELECT DISTINCT extract(epoch FROM window_end - window_start)::bigint FROM "
                    + tables.t("window_stats")
                    + " ORDER BY 1 LIMIT 21");
        ResultSet r = s.executeQuery()) {
      while (r.next()) {
        sizes.add(r.getLong(1));
      }
    }
    return sizes;
  }

  /**
   * The windows of one key and metric (of one window size, if given): mean, p95, p99, count; the
   * thresholds of the rules that judged these windows, and the values their FIRING alerts saw.
   */
  ObjectNode series(Connection c, String key, String metric, Long sizeSeconds) throws SQLException {
    ObjectNode out = JSON.objectNode().put("key", key).put("metric", metric);
    if (sizeSeconds != null) {
      out.put("size", sizeSeconds);
    }
    ArrayNode time = out.putArray("t");
    ArrayNode mean = out.putArray("mean");
    ArrayNode p95 = out.putArray("p95");
    ArrayNode p99 = out.putArray("p99");
    ArrayNode counts = out.putArray("count");
    ArrayNode thresholds = out.putArray("thresholds");
    ArrayNode firing = out.putArray("firing");
    if (!tables.exists(c, "window_stats")) {
      out.put("total", 0);
      return out;
    }
    String size =
        sizeSeconds == null ? "" : " AND window_end - window_start = make_interval(secs => ?)";
    try (PreparedStatement s =
        c.prepareStatement(
            "SELECT count(*) FROM "
                + tables.t("window_stats")
                + " WHERE key = ? AND metric = ?"
                + size)) {
      bind(s, key, metric, sizeSeconds);
      try (ResultSet r = s.executeQuery()) {
        r.next();
        out.put("total", r.getLong(1));
      }
    }
    List<Object[]> rows = new ArrayList<>();
    try (PreparedStatement s =
        c.prepareStatement(
            "SELECT window_end, mean, p95, p99, count FROM "
                + tables.t("window_stats")
                + " WHERE key = ? AND metric = ?"
                + size
                + " ORDER BY window_end DESC, window_start DESC LIMIT "
                + MAX_POINTS)) {
      bind(s, key, metric, sizeSeconds);
      try (ResultSet r = s.executeQuery()) {
        while (r.next()) {
          rows.add(
              new Object[] {
                StoreTables.seconds(r.getTimestamp(1)),
                r.getDouble(2),
                (Double) r.getObject(3),
                (Double) r.getObject(4),
                r.getLong(5)
              });
        }
      }
    }
    for (int i = rows.size() - 1; i >= 0; i--) {
      Object[] row = rows.get(i);
      time.add((Double) row[0]);
      mean.add((Double) row[1]);
      StoreTables.addNullable(p95, (Double) row[2]);
      StoreTables.addNullable(p99, (Double) row[3]);
      counts.add((Long) row[4]);
    }
    if (tables.exists(c, "alerts")) {
      // Only alerts about a window of this series: an absence rule's deadline is not a window
      // mean, and its "threshold" (a duration) does not belong on this axis.
      try (PreparedStatement s =
          c.prepareStatement(
              "SELECT a.rule_id, a.threshold, a.status, a.value, a.window_end FROM "
                  + tables.t("alerts")
                  + " a WHERE a.key = ? AND a.metric = ? AND EXISTS (SELECT 1 FROM "
                  + tables.t("window_stats")
                  + " w WHERE w.key = a.key AND w.metric = a.metric"
                  + " AND w.window_start = a.window_start AND w.window_end = a.window_end)"
                  + (sizeSeconds == null
                      ? ""
                      : " AND a.window_end - a.window_start = make_interval(secs => ?)")
                  + " ORDER BY a.window_end, a.rule_id")) {
        bind(s, key, metric, sizeSeconds);
        Set<String> seen = new HashSet<>();
        try (ResultSet r = s.executeQuery()) {
          while (r.next()) {
            if (seen.add(r.getString(1) + '\u0000' + r.getDouble(2))) {
              thresholds.addObject().put("rule_id", r.getString(1)).put("value", r.getDouble(2));
            }
            if ("FIRING".equals(r.getString(3))) {
              firing
                  .addObject()
                  .put("rule_id", r.getString(1))
                  .put("t", StoreTables.seconds(r.getTimestamp(5)))
                  .put("value", r.getDouble(4));
            }
          }
        }
      }
    }
    return out;
  }

  /**
   * Alert episodes, FIRING to RESOLVED, by rule and key (the newest {@value #MAX_EPISODES}), and
   * the newest notifications.
   */
  ObjectNode alerts(Connection c) throws SQLException {
    ObjectNode out = JSON.objectNode();
    ArrayNode episodes = out.putArray("episodes");
    ArrayNode newest = out.putArray("newest");
    if (!tables.exists(c, "alerts")) {
      out.put("total", 0);
      return out;
    }
    out.put("total", StoreTables.count(c, "SELECT count(*) FROM " + tables.t("alerts")));
    if (tables.exists(c, "window_stats")) {
      // Where the data ends: an episode still firing reaches up to here on the timeline.
      try (PreparedStatement s =
              c.prepareStatement("SELECT max(window_end) FROM " + tables.t("window_stats"));
          ResultSet r = s.executeQuery()) {
        r.next();
        Timestamp end = r.getTimestamp(1);
        StoreTables.addNullable(out, "data_end", end == null ? null : StoreTables.seconds(end));
      }
    }
    String silenced = tables.hasColumn(c, "alerts", "silenced") ? "bool_or(silenced)" : "false";
    try (PreparedStatement s =
            c.prepareStatement(
                "SELECT alert_id, min(rule_id), min(key), min(metric), min(severity),"
                    + " min(window_start) FILTER (WHERE status = 'FIRING'),"
                    + " max(window_end) FILTER (WHERE status = 'RESOLVED'),"
                    + " max(window_end), count(*), max(value) FILTER (WHERE status = 'FIRING'),"
                    + " max(threshold), "
                    + silenced
                    + ", min(window_start) FROM "
                    + tables.t("alerts")
                    + " GROUP BY alert_id ORDER BY max(window_end) DESC, alert_id LIMIT "
                    + MAX_EPISODES);
        ResultSet r = s.executeQuery()) {
      while (r.next()) {
        Timestamp firingStart = r.getTimestamp(6);
        Timestamp resolved = r.getTimestamp(7);
        ObjectNode e =
            episodes
                .addObject()
                .put("alert_id", r.getString(1))
                .put("rule_id", r.getString(2))
                .put("key", r.getString(3))
                .put("metric", r.getString(4))
                .put("severity", r.getString(5))
                .put(
                    "start",
                    StoreTables.seconds(firingStart != null ? firingStart : r.getTimestamp(13)))
                .put("last", StoreTables.seconds(r.getTimestamp(8)))
                .put("notifications", r.getLong(9))
                .put("threshold", r.getDouble(11))
                .put("silenced", r.getBoolean(12))
                .put("resolved", resolved != null);
        StoreTables.addNullable(e, "end", resolved == null ? null : StoreTables.seconds(resolved));
        StoreTables.addNullable(e, "value", (Double) r.getObject(10));
      }
    }
    try (PreparedStatement s =
            c.prepareStatement(
                "SELECT rule_id, key, metric, status, severity, value, threshold, window_start,"
                    + " window_end, message, emitted_at FROM "
                    + tables.t("alerts")
                    + " ORDER BY emitted_at DESC, window_end DESC, alert_id LIMIT 20");
        ResultSet r = s.executeQuery()) {
      while (r.next()) {
        newest
            .addObject()
            .put("rule_id", r.getString(1))
            .put("key", r.getString(2))
            .put("metric", r.getString(3))
            .put("status", r.getString(4))
            .put("severity", r.getString(5))
            .put("value", r.getDouble(6))
            .put("threshold", r.getDouble(7))
            .put("window_start", StoreTables.iso(r.getTimestamp(8)))
            .put("window_end", StoreTables.iso(r.getTimestamp(9)))
            .put("message", r.getString(10))
            .put("emitted_at", StoreTables.iso(r.getTimestamp(11)));
      }
    }
    return out;
  }

  /**
   * Per window end (the newest {@value #MAX_WINDOW_ENDS}): values aggregated, by metric, and the
   * watermark lag, how long after the window's end its last final row was stored ({@code written_at
   * - window_end}; null where the store does not know).
   */
  ObjectNode throughput(Connection c, Long sizeSeconds) throws SQLException {
    ObjectNode out = JSON.objectNode();
    ArrayNode time = out.putArray("t");
    ObjectNode byMetric = out.putObject("values");
    ArrayNode lag = out.putArray("lag_seconds");
    if (!tables.exists(c, "window_stats")) {
      return out;
    }
    if (sizeSeconds != null) {
      out.put("size", sizeSeconds);
    }
    boolean written = tables.hasColumn(c, "window_stats", "written_at");
    String size =
        sizeSeconds == null ? "" : " WHERE window_end - window_start = make_interval(secs => ?)";
    String sql =
        "WITH ends AS (SELECT DISTINCT window_end FROM "
            + tables.t("window_stats")
            + size
            + " ORDER BY window_end DESC LIMIT "
            + MAX_WINDOW_ENDS
            + ") SELECT w.window_end, w.metric, sum(w.count), "
            + (written
                ? "extract(epoch FROM max(w.written_at) FILTER (WHERE w.final) - w.window_end)"
                    + "::double precision"
                : "NULL::double precision")
            + " FROM "
            + tables.t("window_stats")
            + " w JOIN ends USING (window_end)"
            + (sizeSeconds == null
                ? ""
                : " WHERE w.window_end - w.window_start = make_interval(secs => ?)")
            + " GROUP BY 1, 2 ORDER BY 1, 2";
    Map<Double, Map<String, Long>> values = new LinkedHashMap<>();
    Map<Double, Double> lags = new LinkedHashMap<>();
    Set<String> metrics = new java.util.TreeSet<>();
    try (PreparedStatement s = c.prepareStatement(sql)) {
      if (sizeSeconds != null) {
        s.setLong(1, sizeSeconds);
        s.setLong(2, sizeSeconds);
      }
      try (ResultSet r = s.executeQuery()) {
        while (r.next()) {
          double end = StoreTables.seconds(r.getTimestamp(1));
          metrics.add(r.getString(2));
          values.computeIfAbsent(end, k -> new LinkedHashMap<>()).put(r.getString(2), r.getLong(3));
          Double l = (Double) r.getObject(4);
          if (l != null) {
            lags.merge(end, l, Math::max);
          }
        }
      }
    }
    values.keySet().forEach(time::add);
    for (String metric : metrics) {
      ArrayNode series = byMetric.putArray(metric);
      values.values().forEach(v -> StoreTables.addNullable(series, v.get(metric)));
    }
    values.keySet().forEach(end -> StoreTables.addNullable(lag, lags.get(end)));
    out.put("lag_known", written);
    return out;
  }

  private static void bind(PreparedStatement s, String key, String metric, Long sizeSeconds)
      throws SQLException {
    s.setString(1, key);
    s.setString(2, metric);
    if (sizeSeconds != null) {
      s.setLong(3, sizeSeconds);
    }
  }
}

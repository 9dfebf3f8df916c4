package dev.sluice.runners.faults;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * What a job stored in PostgreSQL, compared with the offline computation of a {@link Backlog}.
 *
 * @param exact windows whose stored count, sum, min and max equal the offline ones
 * @param partial windows stored with other values (fewer events, or a wrong sum)
 * @param missing windows not stored
 * @param firing distinct episodes with a FIRING
 * @param duplicateFiring FIRING rows beyond one per episode (same key, more than one alert id for
 *     one expected episode, or more than one FIRING row per alert id)
 * @param neverResolved FIRING alert ids without a RESOLVED
 * @param deadLetters dead letters by reason
 * @param notifications the webhook idempotency keys ({@code alert_id:STATUS:window_end}) of the
 *     stored alerts no silence covered: what a webhook must receive
 * @param silencedNotifications the same of the silenced ones: what it must never receive
 */
record StoredResults(
    int exact,
    int partial,
    int missing,
    int firing,
    int duplicateFiring,
    int neverResolved,
    Map<String, Long> deadLetters,
    Set<String> notifications,
    Set<String> silencedNotifications) {

  boolean allExact(Backlog backlog) {
    return exact == backlog.expectedWindows() && partial == 0 && missing == 0;
  }

  long late() {
    return deadLetters.getOrDefault("TOO_LATE", 0L);
  }

  /** Reads the store at {@code jdbcUrl}; the password is the first line of {@code passwordFile}. */
  static StoredResults read(String jdbcUrl, Path passwordFile, Backlog backlog)
      throws SQLException {
    Properties props = new Properties();
    props.setProperty("user", "postgres");
    try {
      props.setProperty("password", Files.readAllLines(passwordFile).get(0).strip());
    } catch (java.io.IOException e) {
      throw new SQLException("no password file " + passwordFile, e);
    }
    props.setProperty("connectTimeout", "5");
    try (Connection c = DriverManager.getConnection(jdbcUrl, props);
        Statement s = c.createStatement()) {
      Map<String, Map<Long, Backlog.Window>> stored = new HashMap<>();
      try (ResultSet r =
          s.executeQuery(
              "SELECT key, window_start, count, sum, min, max FROM sluice.window_stats"
                  + " WHERE metric = '"
                  + Backlog.METRIC
                  + "'")) {
        while (r.next()) {
          stored
              .computeIfAbsent(r.getString(1), k -> new HashMap<>())
              .put(
                  r.getTimestamp(2).getTime(),
                  new Backlog.Window(r.getLong(3), r.getDouble(4), r.getDouble(5), r.getDouble(6)));
        }
      }
      int exact = 0;
      int partial = 0;
      int missing = 0;
      for (Map.Entry<String, TreeMap<Long, Backlog.Window>> key : backlog.expected.entrySet()) {
        for (Map.Entry<Long, Backlog.Window> w : key.getValue().entrySet()) {
          Backlog.Window got = stored.getOrDefault(key.getKey(), Map.of()).get(w.getKey());
          if (got == null) {
            missing++;
          } else if (same(got, w.getValue())) {
            exact++;
          } else {
            partial++;
          }
        }
      }
      // A silenced FIRING and the FIRING sent when its silence ended are one episode's two rows.
      Map<String, Integer> firingRows = new HashMap<>();
      Map<String, String> firingKey = new HashMap<>();
      Map<String, Boolean> resolved = new HashMap<>();
      Set<String> notifications = new TreeSet<>();
      Set<String> silenced = new TreeSet<>();
      try (ResultSet r =
          s.executeQuery("SELECT alert_id, key, status, silenced, window_end FROM sluice.alerts")) {
        while (r.next()) {
          String id = r.getString(1);
          boolean quiet = r.getBoolean(4);
          if (r.getString(3).equals("FIRING")) {
            firingRows.merge(id + (quiet ? " silenced" : ""), 1, Integer::sum);
            firingKey.put(id, r.getString(2));
          } else {
            resolved.put(id, true);
          }
          String notification =
              id
                  + ":"
                  + r.getString(3)
                  + ":"
                  + dev.sluice.model.JsonSupport.formatInstant(
                      new org.joda.time.Instant(r.getTimestamp(5).getTime()));
          (quiet ? silenced : notifications).add(notification);
        }
      }
      int duplicateFiring = 0;
      for (int rows : firingRows.values()) {
        duplicateFiring += rows - 1;
      }
      Map<String, Integer> idsPerKey = new HashMap<>();
      firingKey.values().forEach(k -> idsPerKey.merge(k, 1, Integer::sum));
      for (Map.Entry<String, Integer> key : idsPerKey.entrySet()) {
        int expectedEpisodes =
            backlog.expectedEpisodes().getOrDefault(key.getKey(), List.of()).size();
        duplicateFiring += Math.max(0, key.getValue() - expectedEpisodes);
      }
      int neverResolved = 0;
      for (String id : firingKey.keySet()) {
        if (!resolved.containsKey(id)) {
          neverResolved++;
        }
      }
      Map<String, Long> deadLetters = new TreeMap<>();
      try (ResultSet r =
          s.executeQuery("SELECT reason, count(*) FROM sluice.dead_letters GROUP BY reason")) {
        while (r.next()) {
          deadLetters.put(r.getString(1), r.getLong(2));
        }
      }
      return new StoredResults(
          exact,
          partial,
          missing,
          firingKey.size(),
          duplicateFiring,
          neverResolved,
          deadLetters,
          notifications,
          silenced);
    }
  }

  private static boolean same(Backlog.Window a, Backlog.Window b) {
    return a.count() == b.count()
        && a.min() == b.min()
        && a.max() == b.max()
        && Math.abs(a.sum() - b.sum()) <= 1e-6 * Math.max(1, Math.abs(b.sum()));
  }
}

package dev.sluice.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sluice.io.PostgresTable.OnConflict;
import dev.sluice.model.Alert;
import dev.sluice.model.DeadLetter;
import dev.sluice.model.WindowStats;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Types;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.HexFormat;
import org.joda.time.Instant;

/** Sluice's own tables ({@code window_stats}, {@code alerts}, {@code dead_letters}). */
final class SluiceTables {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private SluiceTables() {}

  /**
   * A later pane of a window replaces an earlier one; a stale pane (lower index) never overwrites a
   * newer one; an equal one is a replay, or a recomputation, which replaces the row only if it saw
   * at least as many events: a window recomputed from part of its events never replaces the
   * complete one.
   */
  static final PostgresTable<WindowStats> STATS =
      PostgresTable.<WindowStats>named("window_stats")
          .withColumns(
              "key",
              "metric",
              "window_start",
              "window_end",
              "count",
              "sum",
              "min",
              "max",
              "mean",
              "stddev",
              "p50",
              "p95",
              "p99",
              "distinct_count",
              "pane",
              "pane_index",
              "final")
          .withKey("key", "metric", "window_start", "window_end")
          .withUpdateCondition(
              "t.pane_index < EXCLUDED.pane_index"
                  + " OR (t.pane_index = EXCLUDED.pane_index AND t.count <= EXCLUDED.count)")
          .withBinder(SluiceTables::bindStats)
          .withNaturalKey(SluiceTables::statsKey)
          .withWinner(SluiceTables::laterPane)
          .withPayload(WindowStats::toJson)
          .withWriteTimeColumn("written_at")
          .withDdl(PostgresIO.ddlTemplate("window_stats"));

  /** A notification is written once; a replay of it is ignored. */
  static final PostgresTable<Alert> ALERTS =
      PostgresTable.<Alert>named("alerts")
          .withColumns(
              "alert_id",
              "rule_id",
              "rule_version",
              "key",
              "metric",
              "status",
              "severity",
              "value",
              "threshold",
              "window_start",
              "window_end",
              "message",
              "emitted_at",
              "labels",
              "silenced")
          .withCast("labels", "jsonb")
          .withKey("alert_id", "status", "window_end")
          .withOnConflict(OnConflict.DO_NOTHING)
          .withBinder(SluiceTables::bindAlert)
          .withNaturalKey(
              a -> a.alertId() + '\u0000' + a.status() + '\u0000' + a.windowEnd().getMillis())
          .withPayload(Alert::toJson)
          .withDdl(PostgresIO.ddlTemplate("alerts"));

  /** Once each, identified by {@link #deadLetterId}. */
  static final PostgresTable<DeadLetter> DEAD_LETTERS =
      PostgresTable.<DeadLetter>named("dead_letters")
          .withColumns(
              "dead_letter_id",
              "stage",
              "reason",
              "error",
              "payload",
              "payload_base64",
              "source",
              "failed_at")
          .withKey("dead_letter_id")
          .withOnConflict(OnConflict.DO_NOTHING)
          .withBinder(SluiceTables::bindDeadLetter)
          .withNaturalKey(SluiceTables::deadLetterId)
          .withPayload(DeadLetter::toJson)
          .withDdl(PostgresIO.ddlTemplate("dead_letters"));

  private static void bindStats(PreparedStatement s, WindowStats w) throws SQLException {
    s.setString(1, w.key());
    s.setString(2, w.metric());
    s.setObject(3, timestamp(w.windowStart()));
    s.setObject(4, timestamp(w.windowEnd()));
    s.setLong(5, w.count());
    s.setDouble(6, w.sum());
    s.setDouble(7, w.min());
    s.setDouble(8, w.max());
    s.setDouble(9, w.mean());
    setDouble(s, 10, w.stddev());
    setDouble(s, 11, w.p50());
    setDouble(s, 12, w.p95());
    setDouble(s, 13, w.p99());
    if (w.distinct() == null) {
      s.setNull(14, Types.BIGINT);
    } else {
      s.setLong(14, w.distinct());
    }
    s.setString(15, w.pane().name());
    s.setLong(16, w.paneIndex());
    s.setBoolean(17, w.finalPane());
  }

  private static String statsKey(WindowStats w) {
    return w.key()
        + '\u0000'
        + w.metric()
        + '\u0000'
        + w.windowStart().getMillis()
        + '\u0000'
        + w.windowEnd().getMillis();
  }

  /** The row the upsert's condition would keep of two panes of one window. */
  private static WindowStats laterPane(WindowStats first, WindowStats second) {
    if (second.paneIndex() != first.paneIndex()) {
      return second.paneIndex() > first.paneIndex() ? second : first;
    }
    return second.count() >= first.count() ? second : first;
  }

  private static void bindAlert(PreparedStatement s, Alert a) throws SQLException {
    s.setString(1, a.alertId());
    s.setString(2, a.ruleId());
    s.setLong(3, a.ruleVersion());
    s.setString(4, a.key());
    s.setString(5, a.metric());
    s.setString(6, a.status().name());
    s.setString(7, a.severity().name());
    s.setDouble(8, a.value());
    s.setDouble(9, a.threshold());
    s.setObject(10, timestamp(a.windowStart()));
    s.setObject(11, timestamp(a.windowEnd()));
    s.setString(12, a.message());
    s.setObject(13, timestamp(a.emittedAt()));
    try {
      s.setString(14, MAPPER.writeValueAsString(a.labels()));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("labels of alert " + a.alertId(), e);
    }
    s.setBoolean(15, a.silenced());
  }

  private static void bindDeadLetter(PreparedStatement s, DeadLetter d) throws SQLException {
    // PostgreSQL text cannot hold NUL; such a payload is kept exactly, as base64.
    boolean textOk = d.payload() != null && d.payload().indexOf('\u0000') < 0;
    s.setString(1, deadLetterId(d));
    s.setString(2, d.stage());
    s.setString(3, d.reason().name());
    s.setString(4, d.error().replace('\u0000', '\uFFFD'));
    s.setString(5, textOk ? d.payload() : null);
    s.setString(6, textOk ? null : Base64.getEncoder().encodeToString(d.payloadBytes()));
    s.setString(7, d.source() == null ? null : d.source().replace('\u0000', '\uFFFD'));
    s.setObject(8, timestamp(d.failedAt()));
  }

  /** SHA-256 of stage, reason, source and payload (and, without a source, the rejection time). */
  static String deadLetterId(DeadLetter d) {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      for (String part : new String[] {d.stage(), d.reason().name(), String.valueOf(d.source())}) {
        sha.update(part.getBytes(StandardCharsets.UTF_8));
        sha.update((byte) 0);
      }
      sha.update(d.payloadBytes());
      if (d.source() == null) {
        // Without a source a replay cannot be recognised, and identical rejects at different
        // times are distinct: the time of the rejection is part of the identity.
        sha.update((byte) 0);
        sha.update(Long.toString(d.failedAt().getMillis()).getBytes(StandardCharsets.UTF_8));
      }
      return HexFormat.of().formatHex(sha.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  static OffsetDateTime timestamp(Instant instant) {
    return OffsetDateTime.ofInstant(
        java.time.Instant.ofEpochMilli(instant.getMillis()), ZoneOffset.UTC);
  }

  private static void setDouble(PreparedStatement s, int index, Double value) throws SQLException {
    if (value == null) {
      s.setNull(index, Types.DOUBLE);
    } else {
      s.setDouble(index, value);
    }
  }
}

package dev.sluice.local.dashboard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sluice.local.EmbeddedPostgresStore;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The dashboard's server against a real PostgreSQL 16 (the embedded store): its connections cannot
 * write, it answers only reads from localhost, with its security headers, and its data is what the
 * store holds.
 */
class DashboardServerIT {
  @TempDir static Path dir;
  private static EmbeddedPostgresStore store;
  private static Dashboard dashboard;
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static final ObjectMapper JSON = new ObjectMapper();

  @BeforeAll
  static void start() throws SQLException {
    store = EmbeddedPostgresStore.start(dir.resolve("pg"));
    try (Connection c = store.connect();
        Statement s = c.createStatement()) {
      // The columns the dashboard reads (the full DDL is sluice-io's; this module cannot see it).
      s.execute("CREATE SCHEMA sluice");
      s.execute(
          "CREATE TABLE sluice.window_stats (key text, metric text, window_start timestamptz,"
              + " window_end timestamptz, count bigint, mean double precision,"
              + " p95 double precision, p99 double precision, final boolean,"
              + " written_at timestamptz)");
      s.execute(
          "CREATE TABLE sluice.alerts (alert_id text, rule_id text, key text, metric text,"
              + " status text, severity text, value double precision,"
              + " threshold double precision, window_start timestamptz, window_end timestamptz,"
              + " message text, emitted_at timestamptz, silenced boolean)");
      s.execute(
          "INSERT INTO sluice.window_stats SELECT 'k<1>', 'temp',"
              + " timestamptz '2026-01-01' + m * interval '1 minute',"
              + " timestamptz '2026-01-01' + (m + 1) * interval '1 minute', 6, 20 + m, 25 + m,"
              + " 26 + m, true, timestamptz '2026-01-01' + (m + 1) * interval '1 minute'"
              + " + interval '3 seconds' FROM generate_series(0, 4) m");
      // A threshold rule that judged a window of the series, and an absence rule whose deadline
      // window is none of the series' windows (its threshold, 300 s, is not on this axis).
      s.execute(
          "INSERT INTO sluice.alerts VALUES"
              + " ('a1', 'hot', 'k<1>', 'temp', 'FIRING', 'CRITICAL', 23, 22,"
              + " '2026-01-01 00:03Z', '2026-01-01 00:04Z', 'm', now(), false),"
              + " ('a1', 'hot', 'k<1>', 'temp', 'RESOLVED', 'CRITICAL', 21, 22,"
              + " '2026-01-01 00:04Z', '2026-01-01 00:05Z', 'm', now(), false),"
              + " ('a2', 'gone', 'k<1>', 'temp', 'FIRING', 'WARNING', 300, 300,"
              + " '2026-01-01 00:00Z', '2026-01-01 00:05Z', 'm', now(), false)");
    }
    dashboard =
        Dashboard.start(
            new Dashboard.Settings(StoreAccess.embedded(store, "sluice"), "sluice", "test store"));
  }

  @AfterAll
  static void stop() {
    if (dashboard != null) {
      dashboard.close();
    }
    if (store != null) {
      store.close();
    }
  }

  @Test
  void theUisConnectionsCannotWriteEvenIfTheSessionTriesTo() throws Exception {
    try (Connection c = StoreAccess.embedded(store, "sluice").connect();
        Statement s = c.createStatement()) {
      assertThatThrownBy(() -> s.execute("DELETE FROM sluice.window_stats"))
          .isInstanceOf(SQLException.class)
          .satisfies(e -> assertThat(((SQLException) e).getSQLState()).isEqualTo("25006"));
      // A session that turns read-only off still has a role that may only SELECT.
      c.setReadOnly(false);
      s.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE");
      assertThatThrownBy(() -> s.execute("DELETE FROM sluice.window_stats"))
          .isInstanceOf(SQLException.class)
          .satisfies(e -> assertThat(((SQLException) e).getSQLState()).isEqualTo("42501"));
      assertThatThrownBy(() -> s.execute("CREATE TABLE sluice.x (a int)"))
          .isInstanceOf(SQLException.class);
    }
    // Even the superuser's credentials give a read-only connection through StoreAccess.jdbc.
    Properties superuser = new Properties();
    superuser.setProperty("password", java.nio.file.Files.readString(store.passwordFile()).strip());
    try (Connection c = StoreAccess.jdbc(store.jdbcUrl(), superuser).connect();
        Statement s = c.createStatement()) {
      assertThatThrownBy(() -> s.execute("DELETE FROM sluice.alerts"))
          .isInstanceOf(SQLException.class)
          .satisfies(e -> assertThat(((SQLException) e).getSQLState()).isEqualTo("25006"));
    }
    try (Connection c = store.connect();
        Statement s = c.createStatement();
        var r = s.executeQuery("SELECT count(*) FROM sluice.window_stats")) {
      r.next();
      assertThat(r.getLong(1)).isEqualTo(5);
    }
  }

  @Test
  void itAnswersOnlyReadsFromLocalhostWithAStrictPolicy() throws Exception {
    assertThat(dashboard.url()).startsWith("http://127.0.0.1:");
    HttpResponse<String> page = get("/");
    assertThat(page.statusCode()).isEqualTo(200);
    assertThat(page.headers().firstValue("Content-Security-Policy")).hasValue(Dashboard.CSP);
    assertThat(page.headers().firstValue("X-Content-Type-Options")).hasValue("nosniff");
    assertThat(page.headers().firstValue("X-Frame-Options")).hasValue("DENY");
    assertThat(get("/app.js").headers().firstValue("Content-Type"))
        .hasValue("text/javascript; charset=utf-8");
    assertThat(get("/vendor/uPlot.iife.min.js").body()).contains("uPlot");
    assertThat(get("/api/overview").headers().firstValue("Content-Type"))
        .hasValue("application/json; charset=utf-8");
    assertThat(get("/../pom.xml").statusCode()).isEqualTo(404);
    assertThat(get("/api/series").statusCode()).isEqualTo(400);

    HttpResponse<String> post =
        HTTP.send(
            HttpRequest.newBuilder(URI.create(dashboard.url() + "api/overview"))
                .POST(HttpRequest.BodyPublishers.ofString("{}"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(post.statusCode()).isEqualTo(405);
    // A page of another site that resolves its own name to 127.0.0.1 (DNS rebinding) is refused.
    try (java.net.Socket socket = new java.net.Socket("127.0.0.1", dashboard.port())) {
      socket
          .getOutputStream()
          .write(
              "GET /api/overview HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n"
                  .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      String reply =
          new String(
              socket.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
      assertThat(reply).startsWith("HTTP/1.1 421").doesNotContain("window_stats");
    }
    assertThat(Dashboard.loopbackHost("evil.example:" + dashboard.port())).isFalse();
    assertThat(Dashboard.loopbackHost("127.0.0.1:" + dashboard.port())).isTrue();
    assertThat(Dashboard.loopbackHost("localhost")).isTrue();
    assertThat(Dashboard.loopbackHost("[::1]:80")).isTrue();
  }

  @Test
  void theSeriesHasEveryWindowAndOnlyTheThresholdsOfRulesThatJudgedThem() throws Exception {
    JsonNode series = json("/api/series?key=k%3C1%3E&metric=temp");
    assertThat(series.get("t")).hasSize(5);
    assertThat(series.get("total").asLong()).isEqualTo(5);
    assertThat(series.get("mean").get(4).asDouble()).isEqualTo(24.0);
    assertThat(series.get("thresholds")).hasSize(1);
    assertThat(series.get("thresholds").get(0).get("rule_id").asText()).isEqualTo("hot");
    assertThat(series.get("firing")).hasSize(1);

    JsonNode alerts = json("/api/alerts");
    assertThat(alerts.get("total").asLong()).isEqualTo(3);
    assertThat(alerts.get("episodes")).hasSize(2);

    JsonNode throughput = json("/api/throughput");
    assertThat(throughput.get("values").get("temp")).hasSize(5);
    // Each window's row was stored 3 s after the window's end.
    assertThat(throughput.get("lag_seconds").get(0).asDouble()).isEqualTo(3.0);

    // No dead_letters table in this store: empty, not an error.
    assertThat(json("/api/dead-letters").get("total").asLong()).isZero();
    assertThat(json("/api/overview").get("tables").get("dead_letters").asBoolean()).isFalse();
  }

  private static JsonNode json(String path) throws Exception {
    HttpResponse<String> response = get(path);
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    return JSON.readTree(response.body());
  }

  private static HttpResponse<String> get(String path) throws Exception {
    return HTTP.send(
        HttpRequest.newBuilder(URI.create(dashboard.url() + path.substring(1))).build(),
        HttpResponse.BodyHandlers.ofString());
  }
}

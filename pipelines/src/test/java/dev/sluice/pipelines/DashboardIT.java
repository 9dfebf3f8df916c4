package dev.sluice.pipelines;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.local.dashboard.Dashboard;
import dev.sluice.pipelines.spec.SpecReader;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/**
 * The dashboard in a real browser (Debian's headless Chromium through its chromedriver) against the
 * store of a real run: the charts show the run's windows, the timeline its alerts, and untrusted
 * keys and dead-letter payloads appear as text, never as markup, under an enforced
 * Content-Security-Policy, with nothing loaded from outside the dashboard's origin. Saves a
 * screenshot to {@code target/dashboard-it.png}.
 */
class DashboardIT {
  private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
  private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
  private static final Duration DEADLINE = Duration.ofSeconds(30);

  /** A key with markup in it: it must show as these characters. */
  private static final String MARKUP_KEY = "<b>bold</b>&amp;\"q\"";

  /** A malformed payload (a MALFORMED_JSON dead letter) that would run script if parsed as HTML. */
  private static final String XSS_PAYLOAD =
      "{\"key\":\"<img src=x onerror=window.__xss=1>\",\"metric\":\"</script><b>x</b>\"";

  /** A well-formed payload with a bad value (BAD_TYPE) and markup in its device. */
  private static final String SVG_PAYLOAD =
      "{\"id\":\"bad-2\",\"device\":\"<svg onload=window.__xss=2>\","
          + "\"ts\":\"2026-01-01T00:01:00.000Z\",\"temperature\":\"hot\"}";

  @Test
  void chartsTimelineAndDeadLettersShowTheRunsDataAsTextOnly(@TempDir Path dir) throws Exception {
    checkBrowserInstalled();
    long started = System.nanoTime();
    String printed = runJob(dir);
    // The job served its own dashboard while it ran (on a free port here) and said where.
    assertThat(printed).containsPattern("dashboard at http://127\\.0\\.0\\.1:\\d+/ \\(read-only");

    try (StoreDashboard.Running ui =
        StoreDashboard.start(
            new String[] {"--dataDir=" + dir.resolve("postgres"), "--port=0"},
            new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8))) {
      String origin = ui.url().substring(0, ui.url().length() - 1);
      checkHeaders(ui.url());
      WebDriver browser = browser();
      try {
        browser.get(ui.url());
        JavascriptExecutor js = (JavascriptExecutor) browser;
        await("the dashboard drawn with the store's data")
            .atMost(DEADLINE)
            .pollInterval(Duration.ofMillis(200))
            .until(
                () ->
                    "true".equals(js.executeScript("return document.body.dataset.ready"))
                        && browser.findElements(By.cssSelector(".chart canvas")).size() == 2);

        // A chart per chosen key and metric (by default the two with the most alerts: both), with
        // as many points as the store has windows for that key and metric, and the threshold.
        List<WebElement> charts = browser.findElements(By.cssSelector(".chart[data-points]"));
        assertThat(charts).hasSize(2);
        List<String> keys = new ArrayList<>();
        for (WebElement chart : charts) {
          String key = chart.getAttribute("data-key");
          String metric = chart.getAttribute("data-metric");
          keys.add(key);
          long windows = count(ui, "SELECT count(*) FROM sluice.window_stats", key, metric);
          assertThat(windows).isEqualTo(10);
          assertThat(chart.getAttribute("data-points")).isEqualTo(String.valueOf(windows));
          assertThat(chart.getAttribute("data-thresholds")).isEqualTo("1");
          assertThat(chart.findElement(By.cssSelector(".title")).getText())
              .isEqualTo(key + " · " + metric);
          assertThat(chart.getText()).contains("threshold hot", "alert value (FIRING)");
        }
        assertThat(keys).containsExactlyInAnyOrder("sensor-a", MARKUP_KEY);

        // The alert timeline: every stored notification counted, one episode per alert id.
        WebElement timeline = browser.findElement(By.id("timeline"));
        assertThat(timeline.getAttribute("data-alert-count"))
            .isEqualTo(String.valueOf(count(ui, "SELECT count(*) FROM sluice.alerts")))
            .isEqualTo("4");
        assertThat(timeline.findElements(By.cssSelector(".bar[data-status=RESOLVED]"))).hasSize(2);
        assertThat(timeline.getText()).contains(MARKUP_KEY);
        assertThat(browser.findElement(By.id("n-alerts")).getText()).isEqualTo("4");

        // Dead letters: the payloads exactly as stored, as text; nothing they contain ran.
        List<String> payloads = new ArrayList<>();
        for (WebElement payload : browser.findElements(By.cssSelector("#dead-letters .payload"))) {
          payloads.add((String) js.executeScript("return arguments[0].textContent", payload));
        }
        assertThat(payloads).containsExactlyInAnyOrder(XSS_PAYLOAD, SVG_PAYLOAD);
        assertThat(browser.findElements(By.cssSelector("img, svg, b, iframe, object"))).isEmpty();
        assertThat(js.executeScript("return typeof window.__xss")).isEqualTo("undefined");
        assertThat(browser.findElement(By.id("dead-letter-reasons")).getText())
            .contains("MALFORMED_JSON", "BAD_TYPE");

        // Throughput and watermark lag: a point per window end, a lag for each.
        assertThat(browser.findElement(By.id("throughput")).getAttribute("data-points"))
            .isEqualTo("10");
        assertThat(browser.findElement(By.id("lag")).getAttribute("data-points")).isEqualTo("10");

        // Live: the page keeps polling the store.
        await("a second refresh")
            .atMost(DEADLINE)
            .until(
                () ->
                    Integer.parseInt(
                            (String) js.executeScript("return document.body.dataset.refreshes"))
                        >= 2);

        // Everything the page loaded came from the dashboard itself, and the policy never had to
        // block anything the page does.
        @SuppressWarnings("unchecked")
        List<String> loaded =
            (List<String>)
                js.executeScript(
                    "return performance.getEntriesByType('resource').map(e => e.name)"
                        + ".concat([location.href])");
        assertThat(loaded).isNotEmpty().allMatch(url -> url.startsWith(origin + "/"), origin);
        assertThat(js.executeScript("return document.body.dataset.cspViolations")).isEqualTo("0");

        Path screenshot = Path.of("target", "dashboard-it.png");
        Files.createDirectories(screenshot.getParent());
        Files.write(screenshot, ((TakesScreenshot) browser).getScreenshotAs(OutputType.BYTES));
        js.executeScript("document.getElementById('dead-letters').scrollIntoView()");
        Files.write(
            Path.of("target", "dashboard-it-dead-letters.png"),
            ((TakesScreenshot) browser).getScreenshotAs(OutputType.BYTES));

        // And the policy is enforced: an inline script is refused (and reported).
        js.executeScript(
            "const s = document.createElement('script'); s.textContent = 'window.__inline = 1';"
                + " document.body.appendChild(s);");
        await("the violation reported")
            .atMost(DEADLINE)
            .until(
                () -> !"0".equals(js.executeScript("return document.body.dataset.cspViolations")));
        assertThat(js.executeScript("return typeof window.__inline")).isEqualTo("undefined");
      } finally {
        browser.quit();
      }
    }
    System.out.printf(Locale.ROOT, "DashboardIT: %.1f s%n", (System.nanoTime() - started) / 1e9);
  }

  /** Two keys (one with markup), a hot episode each, and two bad lines, into an embedded store. */
  private static String runJob(Path dir) throws Exception {
    Path input = Files.createDirectories(dir.resolve("input"));
    List<String> lines = new ArrayList<>();
    int n = 0;
    for (String key : List.of("sensor-a", MARKUP_KEY)) {
      int hotMinute = key.equals("sensor-a") ? 3 : 6;
      for (int minute = 0; minute < 10; minute++) {
        for (int second = 0; second < 60; second += 20) {
          double value = minute == hotMinute ? 70.0 + second / 10.0 : 20.0 + second / 10.0;
          lines.add(
              String.format(
                  Locale.ROOT,
                  "{\"id\":\"e%d\",\"device\":%s,\"ts\":\"2026-01-01T00:%02d:%02d.000Z\","
                      + "\"temperature\":%.1f}",
                  n++,
                  new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(key),
                  minute,
                  second,
                  value));
        }
      }
    }
    lines.add(XSS_PAYLOAD);
    lines.add(SVG_PAYLOAD);
    Files.write(input.resolve("readings.jsonl"), lines);
    String spec =
        String.join(
            "\n",
            "name: dashboard-it",
            "source: {type: file, path: '" + input + "/*.jsonl'}",
            "parse: {event_id: id, key: device, event_time: ts,"
                + " values: {temperature: temperature}}",
            "windows:",
            "  - {type: tumbling, size: 1m}",
            "rules:",
            "  - {id: hot, condition: mean(temperature) > 50, severity: CRITICAL}",
            "sinks:",
            "  stats: [{type: embedded, data_dir: '" + dir.resolve("postgres") + "'}]",
            "  alerts: [{type: embedded, data_dir: '" + dir.resolve("postgres") + "'}]",
            "  dead_letters: [{type: embedded, data_dir: '" + dir.resolve("postgres") + "'}]",
            "");
    ByteArrayOutputStream printed = new ByteArrayOutputStream();
    org.apache.beam.sdk.options.PipelineOptions options =
        PipelineOptionsFactory.fromArgs("--runner=DirectRunner").create();
    options.as(DashboardOptions.class).setUiPort(0);
    PipelineResult.State state =
        SpecJob.run(
            SpecReader.parse("dashboard-it.yaml", spec),
            options,
            new PrintStream(printed, true, StandardCharsets.UTF_8));
    assertThat(state).isEqualTo(PipelineResult.State.DONE);
    return printed.toString(StandardCharsets.UTF_8);
  }

  private static void checkHeaders(String url) throws Exception {
    HttpResponse<String> page =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(URI.create(url)).build(),
                HttpResponse.BodyHandlers.ofString());
    assertThat(page.statusCode()).isEqualTo(200);
    assertThat(page.headers().firstValue("Content-Security-Policy")).hasValue(Dashboard.CSP);
    assertThat(page.headers().firstValue("X-Content-Type-Options")).hasValue("nosniff");
    assertThat(page.headers().firstValue("Content-Type")).hasValue("text/html; charset=utf-8");
    // No inline script or style for the policy to allow.
    assertThat(page.body()).doesNotContainPattern("<script>|<script [^>]*>[^<]|<style|style=");
  }

  private static long count(StoreDashboard.Running ui, String sql, String... keyMetric)
      throws SQLException {
    String where = keyMetric.length == 0 ? "" : " WHERE key = ? AND metric = ?";
    try (Connection c = ui.store().connect();
        PreparedStatement s = c.prepareStatement(sql + where)) {
      for (int i = 0; i < keyMetric.length; i++) {
        s.setString(i + 1, keyMetric[i]);
      }
      try (ResultSet r = s.executeQuery()) {
        r.next();
        return r.getLong(1);
      }
    }
  }

  /** Debian's Chromium and chromedriver, never a downloaded browser or driver. */
  private static WebDriver browser() {
    ChromeOptions options = new ChromeOptions();
    options.setBinary(CHROMIUM.toFile());
    options.addArguments(
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000");
    ChromeDriverService service =
        new ChromeDriverService.Builder()
            .usingDriverExecutable(CHROMEDRIVER.toFile())
            .usingAnyFreePort()
            .build();
    return new ChromeDriver(service, options);
  }

  private static void checkBrowserInstalled() {
    for (Path binary : List.of(CHROMIUM, CHROMEDRIVER)) {
      if (!Files.isExecutable(binary)) {
        throw new AssertionError(
            binary
                + " is missing: DashboardIT drives Debian's headless Chromium. Install the Debian"
                + " packages chromium and chromium-driver (apt-get install chromium"
                + " chromium-driver), as .ci/run does.");
      }
    }
    System.setProperty("webdriver.chrome.driver", CHROMEDRIVER.toString());
    new File("target").mkdirs();
  }
}

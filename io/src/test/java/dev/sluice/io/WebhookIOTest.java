package dev.sluice.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sluice.io.HttpReceiver.Received;
import dev.sluice.model.Alert;
import dev.sluice.model.DeadLetter;
import java.io.IOException;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.testing.TestPipelineExtension;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.values.PCollection;
import org.joda.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(TestPipelineExtension.class)
class WebhookIOTest {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private HttpReceiver receiver;

  @AfterEach
  void stopReceiver() {
    if (receiver != null) {
      receiver.close();
    }
  }

  // --- delivery ---------------------------------------------------------------------------------

  @Test
  void eachAlertIsPostedOnceAsJsonWithAnIdempotencyKeyOfIdStatusAndWindow(TestPipeline pipeline)
      throws IOException {
    receiver = new HttpReceiver((attempt, exchange) -> 200);
    List<Alert> alerts = List.of(alert("a1", "too hot"), alert("a2", "too cold"));

    PCollection<DeadLetter> deadLetters =
        pipeline
            .apply(Create.of(alerts).withCoder(Alert.AlertCoder.of()))
            .apply(fastRetries(receiver.url("/hook")));
    PAssert.that(deadLetters).empty();
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    assertThat(receiver.requests)
        .extracting(Received::method, Received::path, Received::contentType)
        .containsOnly(tuple("POST", "/hook", "application/json"));
    assertThat(receiver.requests)
        .extracting(Received::idempotencyKey, Received::body)
        .containsExactlyInAnyOrder(
            tuple("a1:FIRING:2026-01-01T00:01:00.000Z", alerts.get(0).toJson()),
            tuple("a2:FIRING:2026-01-01T00:01:00.000Z", alerts.get(1).toJson()));
    assertThat(counter(result, WebhookIO.DELIVERED)).isEqualTo(2);
    assertThat(counter(result, WebhookIO.REJECTED)).isZero();
  }

  @Test
  void firingResolvedAndReNotificationOfOneEpisodeHaveDifferentIdempotencyKeys() {
    Alert firing = alert("a1", "too hot");
    Alert renotified =
        Alert.fromJson(
            firing.toJson().replace("00:01:00.000Z\",\"message", "00:05:00.000Z\",\"message"));
    Alert resolved = Alert.fromJson(firing.toJson().replace("\"FIRING\"", "\"RESOLVED\""));
    assertThat(
            java.util.Set.of(
                WebhookIO.DeliverFn.idempotencyKey(firing),
                WebhookIO.DeliverFn.idempotencyKey(renotified),
                WebhookIO.DeliverFn.idempotencyKey(resolved)))
        .hasSize(3);
    assertThat(WebhookIO.DeliverFn.idempotencyKey(firing))
        .isEqualTo(WebhookIO.DeliverFn.idempotencyKey(alert("a1", "another message")));
  }

  @Test
  void serverErrorsAreRetriedWithTheSameIdempotencyKey(TestPipeline pipeline) throws IOException {
    receiver = new HttpReceiver((attempt, exchange) -> attempt <= 2 ? 500 : 200);

    PCollection<DeadLetter> deadLetters =
        pipeline
            .apply(Create.of(alert("a1", "too hot")).withCoder(Alert.AlertCoder.of()))
            .apply(fastRetries(receiver.url("/hook")));
    PAssert.that(deadLetters).empty();
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    assertThat(receiver.requests)
        .extracting(Received::idempotencyKey)
        .containsExactly(
            "a1:FIRING:2026-01-01T00:01:00.000Z",
            "a1:FIRING:2026-01-01T00:01:00.000Z",
            "a1:FIRING:2026-01-01T00:01:00.000Z");
    assertThat(counter(result, WebhookIO.RETRIES)).isEqualTo(2);
    assertThat(counter(result, WebhookIO.DELIVERED)).isEqualTo(1);
  }

  @Test
  void tooManyRequestsWithRetryAfterIsRetriedWithinMaxBackoff(TestPipeline pipeline)
      throws IOException {
    receiver =
        new HttpReceiver(
            (attempt, exchange) -> {
              if (attempt == 1) {
                // Capped by maxBackoff (20 ms), not slept for an hour.
                exchange.getResponseHeaders().add("Retry-After", "3600");
                return 429;
              }
              return 200;
            });

    PCollection<DeadLetter> deadLetters =
        pipeline
            .apply(Create.of(alert("a1", "too hot")).withCoder(Alert.AlertCoder.of()))
            .apply(fastRetries(receiver.url("/hook")).withMaxBackoff(Duration.millis(20)));
    PAssert.that(deadLetters).empty();
    pipeline.run().waitUntilFinish();

    assertThat(receiver.requests).hasSize(2);
  }

  @Test
  void persistentServerErrorBecomesOneDeadLetterAfterMaxAttempts(TestPipeline pipeline)
      throws IOException {
    receiver = new HttpReceiver((attempt, exchange) -> 500);
    Alert alert = alert("a1", "too hot");
    String expectedSource = "webhook:127.0.0.1";

    PCollection<DeadLetter> deadLetters =
        pipeline
            .apply(Create.of(alert).withCoder(Alert.AlertCoder.of()))
            .apply(fastRetries(receiver.url("/hook?token=s3cr3t")).withMaxAttempts(3));
    PAssert.that(deadLetters)
        .satisfies(
            letters -> {
              assertThat(letters).hasSize(1);
              DeadLetter letter = letters.iterator().next();
              assertThat(letter.stage()).isEqualTo("webhook");
              assertThat(letter.reason()).isEqualTo(DeadLetter.Reason.SINK_REJECTED);
              assertThat(letter.error()).contains("500").contains("3 attempts");
              assertThat(letter.error()).doesNotContain("s3cr3t");
              assertThat(letter.payload()).isEqualTo(alert.toJson());
              assertThat(letter.source()).isEqualTo(expectedSource);
              return null;
            });
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    assertThat(receiver.requests).hasSize(3);
    assertThat(counter(result, WebhookIO.REJECTED)).isEqualTo(1);
    assertThat(counter(result, WebhookIO.DELIVERED)).isZero();
  }

  @Test
  void clientErrorIsNotRetried(TestPipeline pipeline) throws IOException {
    receiver = new HttpReceiver((attempt, exchange) -> 404);

    PCollection<DeadLetter> deadLetters =
        pipeline
            .apply(Create.of(alert("a1", "too hot")).withCoder(Alert.AlertCoder.of()))
            .apply(fastRetries(receiver.url("/hook")));
    PAssert.that(deadLetters)
        .satisfies(
            letters -> {
              assertThat(letters)
                  .singleElement()
                  .satisfies(l -> assertThat(l.error()).contains("404"));
              return null;
            });
    pipeline.run().waitUntilFinish();

    assertThat(receiver.requests).hasSize(1);
  }

  @Test
  void slowResponseTimesOutAndIsRetried(TestPipeline pipeline) throws IOException {
    CountDownLatch secondAttempt = new CountDownLatch(1);
    receiver =
        new HttpReceiver(
            (attempt, exchange) -> {
              if (attempt == 1) {
                // Hold the first response until the client has given up on it and retried.
                awaitQuietly(secondAttempt);
              } else {
                secondAttempt.countDown();
              }
              return 200;
            });

    PCollection<DeadLetter> deadLetters =
        pipeline
            .apply(Create.of(alert("a1", "too hot")).withCoder(Alert.AlertCoder.of()))
            .apply(fastRetries(receiver.url("/hook")).withReadTimeout(Duration.millis(300)));
    PAssert.that(deadLetters).empty();
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    assertThat(receiver.requests).hasSize(2);
    assertThat(counter(result, WebhookIO.DELIVERED)).isEqualTo(1);
  }

  @Test
  void redirectIsNotFollowed(TestPipeline pipeline) throws IOException {
    receiver =
        new HttpReceiver(
            (attempt, exchange) -> {
              exchange.getResponseHeaders().add("Location", "/elsewhere");
              return 302;
            });

    PCollection<DeadLetter> deadLetters =
        pipeline
            .apply(Create.of(alert("a1", "too hot")).withCoder(Alert.AlertCoder.of()))
            .apply(fastRetries(receiver.url("/hook")));
    PAssert.that(deadLetters)
        .satisfies(
            letters -> {
              assertThat(letters)
                  .singleElement()
                  .satisfies(l -> assertThat(l.error()).contains("302").contains("not followed"));
              return null;
            });
    pipeline.run().waitUntilFinish();

    assertThat(receiver.requests).extracting(Received::path).containsExactly("/hook");
  }

  @Test
  void slackFormatSendsATextField(TestPipeline pipeline) throws IOException {
    receiver = new HttpReceiver((attempt, exchange) -> 200);

    pipeline
        .apply(Create.of(alert("a1", "too hot")).withCoder(Alert.AlertCoder.of()))
        .apply(fastRetries(receiver.url("/hook")).withSlackFormat());
    pipeline.run().waitUntilFinish();

    assertThat(receiver.requests).hasSize(1);
    JsonNode body = MAPPER.readTree(receiver.requests.get(0).body());
    assertThat(body.get("text").asText()).isEqualTo("CRITICAL FIRING hot sensor-001: too hot");
    assertThat(receiver.requests.get(0).idempotencyKey())
        .isEqualTo("a1:FIRING:2026-01-01T00:01:00.000Z");
  }

  @Test
  void configuredHeadersAreSent(TestPipeline pipeline) throws IOException {
    receiver = new HttpReceiver((attempt, exchange) -> 200);

    pipeline
        .apply(Create.of(alert("a1", "too hot")).withCoder(Alert.AlertCoder.of()))
        .apply(fastRetries(receiver.url("/hook")).withHeader("Authorization", "Bearer s3cr3t"));
    pipeline.run().waitUntilFinish();

    assertThat(receiver.requests)
        .extracting(Received::authorization)
        .containsExactly("Bearer s3cr3t");
  }

  @Test
  void silencedAlertsAreNeitherPostedNorDeadLetteredButCounted(TestPipeline pipeline)
      throws IOException {
    receiver = new HttpReceiver((attempt, exchange) -> 200);
    Alert silenced = alert("a1", "too hot").withSilenced(true);
    Alert silencedResolved =
        Alert.fromJson(silenced.toJson().replace("\"FIRING\"", "\"RESOLVED\""));
    Alert audible = alert("a2", "too cold");

    PCollection<DeadLetter> deadLetters =
        pipeline
            .apply(Create.of(silenced, silencedResolved, audible).withCoder(Alert.AlertCoder.of()))
            .apply(fastRetries(receiver.url("/hook")));
    PAssert.that(deadLetters).empty();
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    assertThat(receiver.requests)
        .extracting(Received::idempotencyKey)
        .containsExactly("a2:FIRING:2026-01-01T00:01:00.000Z");
    assertThat(counter(result, WebhookIO.SKIPPED_SILENCED)).isEqualTo(2);
    assertThat(counter(result, WebhookIO.DELIVERED)).isEqualTo(1);
    assertThat(counter(result, WebhookIO.REJECTED)).isZero();
  }

  @Test
  void alertmanagerFormatPostsAlertmanagersWebhookMessage(TestPipeline pipeline)
      throws IOException {
    receiver = new HttpReceiver((attempt, exchange) -> 200);
    Alert firing =
        Alert.fromJson(
            alert("a1", "too hot")
                .toJson()
                .replace("\"silenced\"", "\"labels\":{\"team\":\"ops\"},\"silenced\""));
    Alert resolved = Alert.fromJson(firing.toJson().replace("\"FIRING\"", "\"RESOLVED\""));

    pipeline
        .apply(Create.of(firing, resolved).withCoder(Alert.AlertCoder.of()))
        .apply(fastRetries(receiver.url("/hook")).withAlertmanagerFormat());
    pipeline.run().waitUntilFinish();

    assertThat(receiver.requests).hasSize(2);
    JsonNode firingBody = bodyWithStatus("firing");
    assertThat(fieldNames(firingBody))
        .containsExactlyInAnyOrder(
            "version",
            "groupKey",
            "truncatedAlerts",
            "status",
            "receiver",
            "groupLabels",
            "commonLabels",
            "commonAnnotations",
            "externalURL",
            "alerts");
    assertThat(firingBody.get("version").asText()).isEqualTo("4");
    assertThat(firingBody.get("groupKey").asText()).isEqualTo("{}:{alertname=\"hot\"}");
    assertThat(firingBody.get("truncatedAlerts").asInt()).isZero();
    assertThat(firingBody.get("receiver").asText()).isEqualTo("sluice");
    assertThat(firingBody.get("groupLabels").toString()).isEqualTo("{\"alertname\":\"hot\"}");
    assertThat(firingBody.get("commonLabels").toString())
        .isEqualTo(
            "{\"alertname\":\"hot\",\"key\":\"sensor-001\",\"metric\":\"temperature\","
                + "\"severity\":\"critical\",\"team\":\"ops\"}");
    assertThat(firingBody.get("commonAnnotations").get("summary").asText()).isEqualTo("too hot");
    assertThat(firingBody.get("alerts")).hasSize(1);
    JsonNode one = firingBody.get("alerts").get(0);
    assertThat(fieldNames(one))
        .containsExactlyInAnyOrder(
            "status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint");
    assertThat(one.get("status").asText()).isEqualTo("firing");
    assertThat(one.get("labels")).isEqualTo(firingBody.get("commonLabels"));
    assertThat(one.get("annotations").get("alert_id").asText()).isEqualTo("a1");
    assertThat(one.get("annotations").get("value").asText()).isEqualTo("42.5");
    assertThat(one.get("annotations").get("threshold").asText()).isEqualTo("40");
    assertThat(one.get("startsAt").asText()).isEqualTo("2026-01-01T00:00:00.000Z");
    assertThat(one.get("endsAt").asText()).isEqualTo("0001-01-01T00:00:00Z");
    assertThat(one.get("fingerprint").asText()).isEqualTo("a1");

    JsonNode resolvedAlert = bodyWithStatus("resolved").get("alerts").get(0);
    assertThat(resolvedAlert.get("status").asText()).isEqualTo("resolved");
    assertThat(resolvedAlert.get("endsAt").asText()).isEqualTo("2026-01-01T00:01:00.000Z");
    // The same episode keeps its Idempotency-Key scheme in this format too.
    assertThat(receiver.requests)
        .extracting(Received::idempotencyKey)
        .containsExactlyInAnyOrder(
            "a1:FIRING:2026-01-01T00:01:00.000Z", "a1:RESOLVED:2026-01-01T00:01:00.000Z");
  }

  // --- SSRF -------------------------------------------------------------------------------------

  @Test
  void literalLoopbackAddressIsRefusedWhenApplied() {
    Pipeline pipeline = Pipeline.create(PipelineOptionsFactory.create());
    PCollection<Alert> alerts =
        pipeline.apply(Create.of(alert("a1", "too hot")).withCoder(Alert.AlertCoder.of()));

    assertThatThrownBy(() -> alerts.apply(WebhookIO.write().to("http://127.0.0.1:8080/hook")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("127.0.0.1")
        .hasMessageContaining("loopback")
        .hasMessageContaining("withAllowPrivateAddresses");
    assertThatThrownBy(() -> alerts.apply(WebhookIO.write().to("http://[::1]/hook")))
        .hasMessageContaining("[::1]");
    assertThatThrownBy(
            () -> alerts.apply(WebhookIO.write().to("http://169.254.169.254/latest/meta-data")))
        .hasMessageContaining("metadata");
    assertThatThrownBy(() -> alerts.apply(WebhookIO.write().to("http://2130706433/")))
        .hasMessageContaining("2130706433");
  }

  @Test
  void hostNameResolvingToLoopbackIsRefusedAtDelivery(TestPipeline pipeline) throws IOException {
    receiver = new HttpReceiver((attempt, exchange) -> 200);

    PCollection<DeadLetter> deadLetters =
        pipeline
            .apply(Create.of(alert("a1", "too hot")).withCoder(Alert.AlertCoder.of()))
            .apply(
                WebhookIO.write()
                    .to("http://localhost:" + receiver.port() + "/hook")
                    .withInitialBackoff(Duration.millis(10)));
    PAssert.that(deadLetters)
        .satisfies(
            letters -> {
              assertThat(letters)
                  .singleElement()
                  .satisfies(
                      l -> {
                        assertThat(l.reason()).isEqualTo(DeadLetter.Reason.SINK_REJECTED);
                        assertThat(l.error()).contains("loopback").contains("no request sent");
                        assertThat(l.source()).isEqualTo("webhook:localhost");
                      });
              return null;
            });
    pipeline.run().waitUntilFinish();

    assertThat(receiver.requests).isEmpty();
  }

  // --- construction -----------------------------------------------------------------------------

  @Test
  void schemeMustBeHttpOrHttps() {
    assertThatThrownBy(() -> WebhookIO.write().to("ftp://x"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("url scheme")
        .hasMessageContaining("'ftp'");
  }

  @Test
  void urlMustHaveAHostAndNoUserInfo() {
    assertThatThrownBy(() -> WebhookIO.write().to("http:///hook"))
        .hasMessage("url must have a valid host name or IP address, got 'http:///...'");
    assertThatThrownBy(() -> WebhookIO.write().to("https://bot:hunter22@hooks.example.com/x"))
        .hasMessageContaining("url must not contain user info")
        .hasMessageNotContaining("hunter22");
  }

  @Test
  void urlErrorsDoNotShowPathOrQueryString() {
    assertThatThrownBy(() -> WebhookIO.write().to("ftp://hooks.example.com/T0/B1/s3cr3t?t=s3cr3t"))
        .hasMessageContaining("ftp://hooks.example.com/...")
        .hasMessageNotContaining("s3cr3t");
  }

  @Test
  void urlIsRequired() {
    Pipeline pipeline = Pipeline.create(PipelineOptionsFactory.create());
    PCollection<Alert> alerts =
        pipeline.apply(Create.of(alert("a1", "too hot")).withCoder(Alert.AlertCoder.of()));
    assertThatThrownBy(() -> alerts.apply(WebhookIO.write()))
        .hasMessage("url must be set with to(url) or toUrlFromEnv(name)");
  }

  @Test
  void maxAttemptsMustBeBetweenOneAndTwenty() {
    assertThatThrownBy(() -> WebhookIO.write().withMaxAttempts(0))
        .hasMessage("maxAttempts must be between 1 and 20, got 0");
    assertThatThrownBy(() -> WebhookIO.write().withMaxAttempts(21))
        .hasMessage("maxAttempts must be between 1 and 20, got 21");
  }

  @Test
  void timeoutsAndBackoffsMustBePositive() {
    assertThatThrownBy(() -> WebhookIO.write().withReadTimeout(Duration.millis(-1)))
        .hasMessage("readTimeout must be a positive duration, got PT-0.001S");
    assertThatThrownBy(() -> WebhookIO.write().withConnectTimeout(Duration.ZERO))
        .hasMessage("connectTimeout must be a positive duration, got PT0S");
    assertThatThrownBy(() -> WebhookIO.write().withInitialBackoff(Duration.millis(-5)))
        .hasMessage("initialBackoff must be a positive duration, got PT-0.005S");
    assertThatThrownBy(() -> WebhookIO.write().withMaxBackoff(null))
        .hasMessage("maxBackoff must not be null");
  }

  @Test
  void initialBackoffMustNotExceedMaxBackoff() {
    Pipeline pipeline = Pipeline.create(PipelineOptionsFactory.create());
    PCollection<Alert> alerts =
        pipeline.apply(Create.of(alert("a1", "too hot")).withCoder(Alert.AlertCoder.of()));
    assertThatThrownBy(
            () ->
                alerts.apply(
                    WebhookIO.write()
                        .to("https://hooks.example.com/x")
                        .withInitialBackoff(Duration.standardMinutes(1))))
        .hasMessage("initialBackoff PT60S must not exceed maxBackoff PT30S");
  }

  @Test
  void hostMustBeInTheAllowList() {
    assertThatThrownBy(
            () ->
                WebhookIO.write()
                    .withAllowedHosts(Set.of("hooks.example.com"))
                    .to("https://evil.example.org/x"))
        .hasMessage("url host 'evil.example.org' is not in allowedHosts [hooks.example.com]");
    assertThatThrownBy(
            () ->
                WebhookIO.write()
                    .to("https://evil.example.org/x")
                    .withAllowedHosts(Set.of("hooks.example.com")))
        .hasMessage("url host 'evil.example.org' is not in allowedHosts [hooks.example.com]");
    // Exact match, case-insensitive.
    WebhookIO.write()
        .withAllowedHosts(Set.of("Hooks.Example.com"))
        .to("https://HOOKS.example.com/");
    assertThatThrownBy(
            () ->
                WebhookIO.write()
                    .withAllowedHosts(Set.of("example.com"))
                    .to("https://hooks.example.com/"))
        .hasMessageContaining("hooks.example.com");
  }

  @Test
  void headersAreValidatedWithoutEchoingTheirValues() {
    assertThatThrownBy(() -> WebhookIO.write().withHeader("X-Token", "abc\r\nX-Evil: 1"))
        .hasMessageContaining("header 'X-Token'")
        .hasMessageNotContaining("abc");
    assertThatThrownBy(() -> WebhookIO.write().withHeader("Host", "internal"))
        .hasMessageContaining("header 'Host'");
    assertThatThrownBy(() -> WebhookIO.write().withHeader("Idempotency-Key", "x"))
        .hasMessageContaining("header 'Idempotency-Key'");
    assertThatThrownBy(() -> WebhookIO.write().withHeader("Bad Name", "x"))
        .hasMessageContaining("header name must be an HTTP token")
        .hasMessageContaining("got 'Bad Name'");
  }

  // --- display data -----------------------------------------------------------------------------

  @Test
  void displayDataShowsSettingsAndHeaderNamesButNoSecrets() {
    WebhookIO.Write transform =
        WebhookIO.write()
            .to("https://hooks.example.com/alerts?token=querysecret")
            .withHeader("Authorization", "Bearer s3cr3t-value")
            .withAllowedHosts(Set.of("hooks.example.com"))
            .withMaxAttempts(3);

    DisplayData displayData = DisplayData.from(transform);

    assertThat(displayData.items())
        .anySatisfy(
            item -> {
              assertThat(item.getKey()).isEqualTo("headers");
              assertThat(item.getValue()).isEqualTo("Authorization");
            })
        .anySatisfy(
            item -> {
              assertThat(item.getKey()).isEqualTo("url");
              assertThat(item.getValue()).isEqualTo("https://hooks.example.com/...");
            })
        .anySatisfy(
            item -> {
              assertThat(item.getKey()).isEqualTo("maxAttempts");
              assertThat(item.getValue()).isEqualTo(3L);
            })
        .anySatisfy(
            item -> {
              assertThat(item.getKey()).isEqualTo("allowedHosts");
              assertThat(item.getValue()).isEqualTo("hooks.example.com");
            })
        .allSatisfy(
            item ->
                assertThat(String.valueOf(item.getValue()))
                    .doesNotContain("s3cr3t-value")
                    .doesNotContain("querysecret"));
    assertThat(displayData.toString()).doesNotContain("s3cr3t-value");
    assertThat(transform.toString()).doesNotContain("s3cr3t-value");
  }

  // --- helpers ----------------------------------------------------------------------------------

  /** Loopback receiver, quick retries: the settings of most tests here. */
  private static WebhookIO.Write fastRetries(String url) {
    return WebhookIO.write()
        .to(url)
        .withAllowPrivateAddresses(true)
        .withInitialBackoff(Duration.millis(10))
        .withMaxBackoff(Duration.millis(50))
        .withConnectTimeout(Duration.standardSeconds(2))
        .withReadTimeout(Duration.standardSeconds(2));
  }

  private static Alert alert(String alertId, String message) {
    // Built from the contract JSON so the test keeps compiling if Alert gains optional fields.
    return Alert.fromJson(
        MAPPER
            .createObjectNode()
            .put("alert_id", alertId)
            .put("rule_id", "hot")
            .put("rule_version", 1)
            .put("key", "sensor-001")
            .put("metric", "temperature")
            .put("status", "FIRING")
            .put("severity", "CRITICAL")
            .put("value", 42.5)
            .put("threshold", 40.0)
            .put("window_start", "2026-01-01T00:00:00.000Z")
            .put("window_end", "2026-01-01T00:01:00.000Z")
            .put("message", message)
            .put("emitted_at", "2026-01-01T00:01:00.500Z")
            .toString());
  }

  private JsonNode bodyWithStatus(String status) throws IOException {
    for (Received r : receiver.requests) {
      JsonNode body = MAPPER.readTree(r.body());
      if (body.path("status").asText().equals(status)) {
        return body;
      }
    }
    throw new AssertionError("no request with status " + status + " in " + receiver.requests);
  }

  private static List<String> fieldNames(JsonNode node) {
    List<String> names = new java.util.ArrayList<>();
    node.fieldNames().forEachRemaining(names::add);
    return names;
  }

  private static long counter(PipelineResult result, String name) {
    return dev.sluice.testing.Counters.attempted(result, WebhookIO.METRICS_NAMESPACE, name);
  }

  private static void awaitQuietly(CountDownLatch latch) {
    try {
      latch.await(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}

package dev.sluice.transforms;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.model.Event;
import dev.sluice.model.JsonSupport;
import dev.sluice.transforms.FieldMapping.TimeFormat;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.beam.sdk.transforms.windowing.BoundedWindow;
import org.joda.time.Instant;
import org.junit.jupiter.api.Test;

/**
 * The streaming path of {@link EventParser} against its tree path, on generated payloads: where the
 * streaming path decides, it gives the tree path's events; {@link EventParser#parse} gives the tree
 * path's events or its rejection (reason and message) for every payload.
 */
class EventParserStreamingTest {
  private static final int PAYLOADS_PER_SHAPE = 4000;

  /** Names of the members a shape's mapping reads, by role. */
  private record Shape(
      String name,
      ParseEvents<?> spec,
      String eventId,
      String key,
      String time,
      TimeFormat timeFormat,
      List<String> values,
      String metric,
      List<String> attributes) {}

  private static final List<Shape> SHAPES =
      List.of(
          new Shape(
              "contract",
              ParseEvents.fromJson(),
              "event_id",
              "key",
              "event_time",
              TimeFormat.ISO_8601,
              List.of("value"),
              "metric",
              null),
          new Shape(
              "contract with tight limits",
              ParseEvents.fromJson()
                  .withMaxNestingDepth(3)
                  .withMaxStringLength(400)
                  .withMaxKeyLength(6)
                  .withMaxAbsValue(1e6)
                  .withMaxPayloadBytes(600),
              "event_id",
              "key",
              "event_time",
              TimeFormat.ISO_8601,
              List.of("value"),
              "metric",
              null),
          new Shape(
              "value fields, epoch millis, attribute fields",
              ParseEvents.fromJson()
                  .withMapping(
                      FieldMapping.contract()
                          .withEventIdField("id")
                          .withKeyField("device")
                          .withTimeField("ts", TimeFormat.EPOCH_MILLIS)
                          .withValueFields(Map.of("temperature", "temp", "humidity", "hum"))
                          .withAttributeFields(List.of("site", "device"))),
              "id",
              "device",
              "ts",
              TimeFormat.EPOCH_MILLIS,
              List.of("temp", "hum"),
              null,
              List.of("site", "device")),
          new Shape(
              "renamed metric and value, epoch seconds, key is the event id",
              ParseEvents.fromJson()
                  .withMapping(
                      FieldMapping.contract()
                          .withKeyField("event_id")
                          .withMetricAndValueFields("m", "v")
                          .withTimeField("t", TimeFormat.EPOCH_SECONDS)),
              "event_id",
              "event_id",
              "t",
              TimeFormat.EPOCH_SECONDS,
              List.of("v"),
              "m",
              null));

  @Test
  void theStreamingPathAgreesWithTheTreePathOnGeneratedPayloads() {
    for (Shape shape : SHAPES) {
      EventParser parser = EventParser.of(shape.spec());
      assertThat(parser.streams()).as(shape.name()).isTrue();
      Random random = new Random(17L * shape.name().hashCode());
      int valid = 0;
      int streamed = 0;
      int timed = 0;
      Map<String, Integer> reasons = new java.util.TreeMap<>();
      for (int i = 0; i < PAYLOADS_PER_SHAPE; i++) {
        byte[] payload = payload(random, shape, i % 4 == 0 ? 0 : 1 + random.nextInt(3));
        Instant elementTimestamp =
            random.nextInt(20) == 0 ? JsonSupport.parseInstant("2025-06-01T00:00:00Z") : T0;
        String description = shape.name() + ": " + new String(payload, StandardCharsets.UTF_8);
        Object tree = outcome(p -> parser.parseWithTree(p, elementTimestamp), payload);
        Object parsed = outcome(p -> parser.parse(p, elementTimestamp), payload);
        assertThat(parsed).as(description).isEqualTo(tree);
        // The Kafka reader's timestamp: the time parse gives every valid payload's events.
        Object atEarliest =
            outcome(p -> parser.parse(p, BoundedWindow.TIMESTAMP_MIN_VALUE), payload);
        if (atEarliest instanceof List<?> events) {
          assertThat(parser.eventTime(payload))
              .as("event time of " + description)
              .isEqualTo(((Event) events.get(0)).eventTime());
          timed++;
        }
        List<Event> fast = parser.parseStreaming(payload, elementTimestamp, null);
        if (fast != null) {
          assertThat(fast).as(description).isEqualTo(tree);
          streamed++;
        }
        if (tree instanceof List) {
          valid++;
        } else {
          reasons.merge(
              ((String) tree).substring(0, ((String) tree).indexOf(':')), 1, Integer::sum);
        }
      }
      // Not vacuous: many valid payloads, most of them streamed, and many kinds of rejection.
      assertThat(valid).as(shape.name() + " valid").isGreaterThan(PAYLOADS_PER_SHAPE / 5);
      assertThat(streamed).as(shape.name() + " streamed").isGreaterThan(valid * 3 / 4);
      assertThat(timed).as(shape.name() + " timed").isGreaterThanOrEqualTo(valid);
      assertThat(reasons.keySet()).as(shape.name() + " " + reasons).hasSizeGreaterThan(4);
    }
  }

  @Test
  void theEventTimeAloneIsTheLastTimeMemberAndNoneForAPayloadWithoutOne() {
    EventParser parser = EventParser.of(ParseEvents.fromJson());
    String rest = "\"event_id\":\"e\",\"key\":\"k\",\"metric\":\"m\",\"value\":1";
    // As parse reads duplicates: the last member wins.
    assertThat(
            parser.eventTime(
                ("{\"event_time\":\"2026-01-01T00:00:00Z\","
                        + rest
                        + ",\"event_time\":\"2026-01-01T00:01:00Z\"}")
                    .getBytes(StandardCharsets.UTF_8)))
        .isEqualTo(JsonSupport.parseInstant("2026-01-01T00:01:00Z"));
    // Skipped members are skipped whole, nested or not.
    assertThat(
            parser.eventTime(
                ("{\"attributes\":{\"event_time\":\"1999-01-01T00:00:00Z\",\"a\":[1,{}]},"
                        + rest
                        + ",\"event_time\":\"2026-01-01T00:00:00Z\"}")
                    .getBytes(StandardCharsets.UTF_8)))
        .isEqualTo(JsonSupport.parseInstant("2026-01-01T00:00:00Z"));
    for (String bad :
        List.of(
            "{oops",
            "[1]",
            "{" + rest + "}",
            "{" + rest + ",\"event_time\":{\"at\":1}}",
            "{" + rest + ",\"event_time\":\"yesterday\"}",
            "{" + rest + ",\"event_time\":\"1969-01-01T00:00:00Z\"}",
            "{" + rest + ",\"event_time\":\"2026-01-01T00:00:00Z\"} {}")) {
      assertThat(parser.eventTime(bad.getBytes(StandardCharsets.UTF_8))).as(bad).isNull();
    }
  }

  @Test
  void nestedPathsAndExpressionsAreLeftToTheTreePath() {
    assertThat(
            EventParser.of(
                    ParseEvents.fromJson()
                        .withMapping(FieldMapping.contract().withKeyField("device.id")))
                .streams())
        .isFalse();
    assertThat(EventParser.of(ParseEvents.fromJson().withFilter("payload.value > 1.0")).streams())
        .isFalse();
    assertThat(
            EventParser.of(
                    ParseEvents.fromJson().withDerived(Map.of("twice", "payload.value * 2.0")))
                .streams())
        .isFalse();
    assertThat(
            EventParser.of(ParseEvents.fromJson().withKeyExpression("payload.key + \"/x\""))
                .streams())
        .isFalse();
  }

  private static final Instant T0 = Instant.EPOCH;

  private interface ParseCall {
    List<Event> parse(byte[] payload) throws EventParser.Rejection;
  }

  /** The events, or "REASON: message". */
  private static Object outcome(ParseCall call, byte[] payload) {
    try {
      return call.parse(payload);
    } catch (EventParser.Rejection rejection) {
      return rejection.reason() + ": " + rejection.getMessage();
    }
  }

  // ---- payload generation ----

  private static final String[] TEXTS = {
    "sensor-1",
    "a",
    "évènement",
    "日本語",
    "\\u00e9t\\u00e9",
    "emoji 😀",
    "\\ud83d\\ude00",
    "\\ud800",
    "tab\\there",
    "line\\nbreak",
    "bell\\u0007",
    "quote\\\"d",
    "back\\\\slash",
    "sep\\u2028",
    "",
    "toolongforthelimit-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "\\q",
    "raw\u0001ctl",
    "raw\ttab",
  };

  private static final String[] NUMBERS = {
    "0",
    "-0",
    "-0.0",
    "1",
    "21.375",
    "-3.5e2",
    "1E3",
    "2147483647",
    "2147483648",
    "-2147483649",
    "9223372036854775807",
    "9223372036854775808",
    "12345678901234567890123",
    "1e400",
    "-1e400",
    "1e-400",
    "1e101",
    "999999.5",
    "1000001",
    "NaN",
    "Infinity",
    "-Infinity",
    "+1",
    "01",
    "1.",
    ".5",
    "0x10",
    "1767225600000",
    "1767225600.125",
    "1767225600000.5",
    "946684799999",
    "99999999999999999999",
    "9.3e15",
  };

  private static final String[] TIMES = {
    "2025-01-01T00:00:00Z",
    "2025-03-04T05:06:07.123Z",
    "2025-03-04T05:06:07.123456789Z",
    "2025-03-04T07:06:07+02:00",
    "2025-03-04t05:06:07z",
    "2025-02-30T00:00:00Z",
    "1999-12-31T23:59:59Z",
    "2999-01-01T00:00:00Z",
    "+10000-01-01T00:00:00Z",
    "yesterday",
    "",
    "2025-01-01 00:00:00Z",
  };

  private static String pick(Random random, String[] values) {
    return values[random.nextInt(values.length)];
  }

  private static String quoted(String text) {
    return "\"" + text + "\"";
  }

  private static String anyScalar(Random random) {
    switch (random.nextInt(5)) {
      case 0:
        return quoted(pick(random, TEXTS));
      case 1:
        return pick(random, NUMBERS);
      case 2:
        return random.nextBoolean() ? "true" : "false";
      case 3:
        return "null";
      default:
        return quoted(pick(random, TIMES));
    }
  }

  /** A random JSON value, sometimes deeply nested. */
  private static String anyValue(Random random, int depth) {
    int kind = random.nextInt(depth > 6 ? 2 : 4);
    if (kind < 2 || depth > 40) {
      return anyScalar(random);
    }
    int size = random.nextInt(4);
    StringBuilder out = new StringBuilder(kind == 2 ? "{" : "[");
    for (int i = 0; i < size; i++) {
      if (i > 0) {
        out.append(',');
      }
      if (kind == 2) {
        out.append(quoted(random.nextInt(3) == 0 ? "k" : "k" + i)).append(':');
      }
      out.append(anyValue(random, depth + 1 + (random.nextInt(8) == 0 ? 10 : 0)));
    }
    return out.append(kind == 2 ? "}" : "]").toString();
  }

  private static String goodText(Random random) {
    return quoted(
        random.nextInt(4) == 0
            ? pick(random, new String[] {"é", "日本", "x😀"})
            : "s-" + random.nextInt(50));
  }

  private static String goodTime(Random random, TimeFormat format) {
    long millis = 1_700_000_000_000L + random.nextInt(1_000_000_000);
    switch (format) {
      case ISO_8601:
        return quoted(JsonSupport.formatInstant(new Instant(millis)));
      case EPOCH_MILLIS:
        return Long.toString(millis);
      default:
        return random.nextBoolean() ? Long.toString(millis / 1000) : (millis / 1000.0) + "";
    }
  }

  private static String goodNumber(Random random) {
    switch (random.nextInt(4)) {
      case 0:
        return Integer.toString(random.nextInt(1000) - 500);
      case 1:
        return Double.toString(random.nextDouble() * 100);
      case 2:
        return random.nextInt(100) + "e-2";
      default:
        return Long.toString(random.nextLong() % 1_000_000L);
    }
  }

  private static String goodAttributes(Random random) {
    int size = random.nextInt(4);
    StringBuilder out = new StringBuilder("{");
    for (int i = 0; i < size; i++) {
      if (i > 0) {
        out.append(',');
      }
      out.append(quoted(random.nextInt(4) == 0 ? "a" : "a" + i)).append(':');
      switch (random.nextInt(8)) {
        case 0 -> out.append(pick(random, NUMBERS));
        case 1 -> out.append(random.nextBoolean());
        case 2 -> out.append("null");
        case 3 -> out.append(anyValue(random, 1));
        default -> out.append(goodText(random));
      }
    }
    return out.append('}').toString();
  }

  /** A mutation of a member's value: a wrong type, an edge value, or another valid value. */
  private static String mutated(Random random, String good) {
    switch (random.nextInt(8)) {
      case 0:
        return anyScalar(random);
      case 1:
        return anyValue(random, 0);
      case 2:
        return quoted(good.replace("\"", ""));
      case 3:
        return pick(random, NUMBERS);
      case 4:
        return quoted(pick(random, TEXTS));
      case 5:
        return quoted(pick(random, TIMES));
      case 6:
        return "null";
      default:
        return good;
    }
  }

  /**
   * A payload for {@code shape}: its members, each possibly missing, mutated or duplicated, plus
   * extra members, in a random order; then possibly a syntax or byte mutation. {@code mutations} is
   * how many mutations to apply (0 gives a valid payload, apart from chance).
   */
  private static byte[] payload(Random random, Shape shape, int mutations) {
    List<String[]> members = new ArrayList<>();
    members.add(new String[] {shape.eventId(), goodText(random)});
    if (!shape.key().equals(shape.eventId())) {
      members.add(new String[] {shape.key(), goodText(random)});
    }
    members.add(new String[] {shape.time(), goodTime(random, shape.timeFormat())});
    if (shape.metric() != null) {
      members.add(new String[] {shape.metric(), goodText(random)});
    }
    for (String value : shape.values()) {
      members.add(new String[] {value, goodNumber(random)});
    }
    if (shape.attributes() == null) {
      if (random.nextInt(4) != 0) {
        members.add(new String[] {"attributes", goodAttributes(random)});
      }
    } else {
      for (String attribute : shape.attributes()) {
        if (!attribute.equals(shape.key()) && random.nextBoolean()) {
          members.add(new String[] {attribute, goodText(random)});
        }
      }
    }
    int extras = random.nextInt(4);
    for (int i = 0; i < extras; i++) {
      members.add(new String[] {"extra" + random.nextInt(3), anyValue(random, 0)});
    }
    String syntax = null;
    for (int m = 0; m < mutations && !members.isEmpty(); m++) {
      int index = random.nextInt(members.size());
      String[] member = members.get(index);
      switch (random.nextInt(7)) {
        case 0 -> members.remove(index);
        case 1, 2 -> member[1] = mutated(random, member[1]);
        case 3 -> members.add(new String[] {member[0], mutated(random, member[1])});
        case 4 -> members.add(0, new String[] {member[0], mutated(random, member[1])});
        case 5 -> member[1] = "\"" + "x".repeat(300 + random.nextInt(500)) + "\"";
        default -> syntax = "syntax";
      }
    }
    if (random.nextBoolean()) {
      Collections.shuffle(members, random);
    }
    StringBuilder out = new StringBuilder(random.nextInt(10) == 0 ? " {\n" : "{");
    for (int i = 0; i < members.size(); i++) {
      if (i > 0) {
        out.append(random.nextInt(10) == 0 ? " , " : ",");
      }
      out.append(quoted(members.get(i)[0])).append(':').append(members.get(i)[1]);
    }
    out.append('}');
    String text = out.toString();
    if (syntax != null) {
      text = syntaxMutation(random, text);
    }
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    if (mutations > 0 && bytes.length > 0 && random.nextInt(25) == 0) {
      bytes[random.nextInt(bytes.length)] =
          (byte) new int[] {0xFF, 0xC3, 0xE2, 0x80, 0xF0, 0x00, 0x1F}[random.nextInt(7)];
    }
    return bytes;
  }

  private static String syntaxMutation(Random random, String text) {
    switch (random.nextInt(14)) {
      case 0:
        return text.substring(0, random.nextInt(text.length()));
      case 1:
        return text + " x";
      case 2:
        return text + "}";
      case 3:
        return text + "{}";
      case 4:
        return text + "\n \t";
      case 5:
        return text.substring(0, text.length() - 1) + ",}";
      case 6:
        return text.replaceFirst(",", ",,");
      case 7:
        return text.replace('"', '\'');
      case 8:
        return "/* c */" + text;
      case 9:
        return "\uFEFF" + text;
      case 10:
        return random.nextBoolean() ? "" : " \n";
      case 11:
        return "[" + text + "]";
      case 12:
        return pick(random, new String[] {"42", "\"text\"", "null", "true", "[]"});
      default:
        return text.replaceFirst(":", " ");
    }
  }
}

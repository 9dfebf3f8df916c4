package dev.sluice.model;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import org.joda.time.Instant;
import org.joda.time.format.DateTimeFormatter;
import org.joda.time.format.ISODateTimeFormat;

/**
 * JSON helpers shared by the data model: one thread-safe {@link ObjectMapper}, and the contract's
 * timestamp format (ISO-8601, UTC, millisecond precision, {@code Z} suffix, e.g. {@code
 * 2026-01-01T00:01:00.000Z}).
 */
public final class JsonSupport {

  /** Thread-safe once configured; never reconfigured after class initialisation. */
  static final ObjectMapper MAPPER =
      new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  private static final JsonFactory FACTORY = MAPPER.getFactory();

  private static final DateTimeFormatter ISO_UTC = ISODateTimeFormat.dateTime().withZoneUTC();

  private JsonSupport() {}

  /** Formats an instant as the contract's ISO-8601 UTC text. */
  public static String formatInstant(Instant instant) {
    return ISO_UTC.print(instant);
  }

  /**
   * Parses ISO-8601 text with an offset ({@code Z} or {@code +hh:mm}) into an instant.
   *
   * @throws IllegalArgumentException if the text is not an ISO-8601 date-time with an offset
   */
  public static Instant parseInstant(String text) {
    long fast = parseUtcFast(text);
    if (fast != NOT_FAST) {
      return new Instant(fast);
    }
    try {
      return new Instant(OffsetDateTime.parse(text).toInstant().toEpochMilli());
    } catch (DateTimeParseException | ArithmeticException e) {
      throw new IllegalArgumentException(
          "'" + text + "' is not an ISO-8601 date-time with offset, e.g. 2026-01-01T00:00:00Z", e);
    }
  }

  private static final long NOT_FAST = Long.MIN_VALUE;

  /**
   * The common form {@code yyyy-MM-ddTHH:mm:ss[.f{1,9}]Z}, parsed by hand: {@link
   * OffsetDateTime#parse} costs a microsecond per event, the largest single cost of parsing an
   * event. Returns {@link #NOT_FAST} for anything else (other offsets, lower case, out-of-range
   * fields), which the full parser then accepts or rejects with its message; where both accept a
   * text they give the same instant (tested).
   */
  static long parseUtcFast(String s) {
    int n = s.length();
    if (n < 20
        || n > 30
        || s.charAt(4) != '-'
        || s.charAt(7) != '-'
        || s.charAt(10) != 'T'
        || s.charAt(13) != ':'
        || s.charAt(16) != ':'
        || s.charAt(n - 1) != 'Z') {
      return NOT_FAST;
    }
    int year = digits(s, 0, 4);
    int month = digits(s, 5, 7);
    int day = digits(s, 8, 10);
    int hour = digits(s, 11, 13);
    int minute = digits(s, 14, 16);
    int second = digits(s, 17, 19);
    if (year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23) {
      return NOT_FAST;
    }
    if (minute < 0 || minute > 59 || second < 0 || second > 59) {
      return NOT_FAST;
    }
    int millis = 0;
    if (n > 20) {
      int fractionDigits = n - 21;
      if (s.charAt(19) != '.' || fractionDigits < 1 || fractionDigits > 9) {
        return NOT_FAST;
      }
      int fraction = digits(s, 20, n - 1);
      if (fraction < 0) {
        return NOT_FAST;
      }
      for (int i = fractionDigits; i < 3; i++) {
        fraction *= 10;
      }
      for (int i = 3; i < fractionDigits; i++) {
        fraction /= 10;
      }
      millis = fraction;
    } else if (s.charAt(19) != 'Z') {
      return NOT_FAST;
    }
    if (day > java.time.YearMonth.of(year, month).lengthOfMonth()) {
      return NOT_FAST;
    }
    long epochDay = java.time.LocalDate.of(year, month, day).toEpochDay();
    return ((epochDay * 24 + hour) * 60 + minute) * 60_000L + second * 1000L + millis;
  }

  /** The decimal number in {@code s[from, to)}, or -1 if a character is not an ASCII digit. */
  private static int digits(String s, int from, int to) {
    int value = 0;
    for (int i = from; i < to; i++) {
      char c = s.charAt(i);
      if (c < '0' || c > '9') {
        return -1;
      }
      value = value * 10 + (c - '0');
    }
    return value;
  }

  /** Reads a JSON document into a tree; trailing content is an error. */
  static JsonNode readTree(String json) {
    try {
      return MAPPER.readTree(json);
    } catch (IOException e) {
      throw new IllegalArgumentException("not a JSON document: " + e.getMessage(), e);
    }
  }

  /** Writes one JSON object with the given body writer; the generator is closed afterwards. */
  static String writeObject(JsonBody body) {
    StringWriter writer = new StringWriter(256);
    try (JsonGenerator gen = FACTORY.createGenerator(writer)) {
      gen.writeStartObject();
      body.write(gen);
      gen.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return writer.toString();
  }

  static void writeInstant(JsonGenerator gen, String field, Instant instant) throws IOException {
    gen.writeStringField(field, formatInstant(instant));
  }

  static void writeNullableNumber(JsonGenerator gen, String field, Double value)
      throws IOException {
    if (value != null) {
      gen.writeNumberField(field, value);
    }
  }

  /** Required text field of a contract object. */
  static String text(JsonNode node, String field) {
    JsonNode value = node.get(field);
    if (value == null || value.isNull()) {
      throw new IllegalArgumentException("missing field '" + field + "'");
    }
    if (!value.isTextual()) {
      throw new IllegalArgumentException("field '" + field + "' must be a string");
    }
    return value.textValue();
  }

  static String optionalText(JsonNode node, String field) {
    JsonNode value = node.get(field);
    return value == null || value.isNull() ? null : text(node, field);
  }

  static double number(JsonNode node, String field) {
    JsonNode value = node.get(field);
    if (value == null || value.isNull()) {
      throw new IllegalArgumentException("missing field '" + field + "'");
    }
    if (!value.isNumber()) {
      throw new IllegalArgumentException("field '" + field + "' must be a number");
    }
    return value.doubleValue();
  }

  static Double optionalNumber(JsonNode node, String field) {
    JsonNode value = node.get(field);
    return value == null || value.isNull() ? null : number(node, field);
  }

  static long longValue(JsonNode node, String field) {
    JsonNode value = node.get(field);
    if (value == null || !value.canConvertToLong() || !value.isIntegralNumber()) {
      throw new IllegalArgumentException("field '" + field + "' must be an integer");
    }
    return value.longValue();
  }

  /** An optional object of strings; absent or null is empty. */
  static java.util.SortedMap<String, String> stringMap(JsonNode node, String field) {
    java.util.SortedMap<String, String> map = new java.util.TreeMap<>();
    JsonNode object = node.get(field);
    if (object == null || object.isNull()) {
      return map;
    }
    if (!object.isObject()) {
      throw new IllegalArgumentException("field '" + field + "' must be an object of strings");
    }
    java.util.Iterator<String> names = object.fieldNames();
    while (names.hasNext()) {
      String name = names.next();
      map.put(name, text(object, name));
    }
    return map;
  }

  static void writeStringMap(JsonGenerator gen, String field, java.util.Map<String, String> map)
      throws IOException {
    gen.writeObjectFieldStart(field);
    for (java.util.Map.Entry<String, String> entry : map.entrySet()) {
      gen.writeStringField(entry.getKey(), entry.getValue());
    }
    gen.writeEndObject();
  }

  static Instant instant(JsonNode node, String field) {
    return parseInstant(text(node, field));
  }

  /** Writes the fields of one JSON object. */
  @FunctionalInterface
  interface JsonBody {
    void write(JsonGenerator gen) throws IOException;
  }
}

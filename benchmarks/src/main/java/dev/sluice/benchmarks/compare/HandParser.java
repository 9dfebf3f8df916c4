package dev.sluice.benchmarks.compare;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import java.io.IOException;
import java.io.Serializable;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Map;

/**
 * The parsing a hand-written job does, as its author would write it: Jackson data binding into a
 * POJO, then the checks of the event contract (required fields, a finite value, an ISO-8601 time).
 * Shared by the plain-Java loop and the native Flink job, which are the baselines; Sluice parses
 * with its own {@code ParseEvents}.
 */
final class HandParser {
  private static final ObjectReader READER = new ObjectMapper().readerFor(JsonEvent.class);

  /** The contract's fields. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public static final class JsonEvent {
    @JsonProperty("event_id")
    public String eventId;

    public String key;
    public String metric;
    public Double value;

    @JsonProperty("event_time")
    public String eventTime;

    public Map<String, String> attributes;
  }

  /** What the aggregation needs of an event; a Flink POJO (public fields, no-arg constructor). */
  public static final class Measurement implements Serializable {
    private static final long serialVersionUID = 1L;
    public String key;
    public String metric;
    public long eventTime;
    public double value;

    public Measurement() {}

    Measurement(String key, String metric, long eventTime, double value) {
      this.key = key;
      this.metric = metric;
      this.eventTime = eventTime;
      this.value = value;
    }
  }

  /** Thrown for input that is not a valid event; the message starts with a reason code. */
  static final class Invalid extends Exception {
    private static final long serialVersionUID = 1L;

    Invalid(String message) {
      super(message, null, false, false);
    }
  }

  static Measurement parse(byte[] payload) throws Invalid {
    JsonEvent e;
    try {
      e = READER.readValue(payload);
    } catch (IOException ex) {
      throw new Invalid("MALFORMED_JSON " + ex.getMessage());
    }
    if (e.eventId == null || e.eventId.isEmpty()) {
      throw new Invalid("MISSING_FIELD event_id");
    }
    if (e.key == null || e.key.isEmpty()) {
      throw new Invalid("MISSING_FIELD key");
    }
    if (e.metric == null || e.metric.isEmpty()) {
      throw new Invalid("MISSING_FIELD metric");
    }
    if (e.value == null) {
      throw new Invalid("MISSING_FIELD value");
    }
    if (!Double.isFinite(e.value)) {
      throw new Invalid("NON_FINITE_VALUE " + e.value);
    }
    if (e.eventTime == null) {
      throw new Invalid("MISSING_FIELD event_time");
    }
    long time;
    try {
      time = Instant.parse(e.eventTime).toEpochMilli();
    } catch (DateTimeParseException ex) {
      throw new Invalid("BAD_TYPE event_time " + e.eventTime);
    }
    return new Measurement(e.key, e.metric, time, e.value);
  }

  /** A dead-letter line for the shared output: {@code D|reason code|payload}. */
  static String deadLetterLine(String reason, byte[] payload) {
    int space = reason.indexOf(' ');
    return "D|"
        + (space < 0 ? reason : reason.substring(0, space))
        + '|'
        + new String(payload, java.nio.charset.StandardCharsets.UTF_8);
  }
}

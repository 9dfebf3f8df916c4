package dev.sluice.transforms;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.auto.value.AutoValue;
import dev.sluice.model.DeadLetter;
import dev.sluice.model.DeadLetter.Reason;
import dev.sluice.model.Event;
import dev.sluice.model.JsonSupport;
import java.nio.charset.StandardCharsets;
import java.util.EnumMap;
import java.util.Iterator;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.transforms.windowing.BoundedWindow;
import org.apache.beam.sdk.transforms.windowing.GlobalWindow;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TupleTag;
import org.apache.beam.sdk.values.TupleTagList;
import org.joda.time.Duration;
import org.joda.time.Instant;

/**
 * Parses JSON payloads in the {@link Event} contract format into events timestamped with their
 * event time; every payload that cannot become a valid event becomes a {@link DeadLetter} instead.
 *
 * <pre>{@code
 * OutputWithDeadLetters<Event> parsed =
 *     payloads.apply("ParseEvents", ParseEvents.fromJson().withMaxFutureSkew(Duration.standardMinutes(5)));
 * parsed.output();       // PCollection<Event>, element timestamp = event_time
 * parsed.deadLetters();  // PCollection<DeadLetter>, reason + original payload
 * }</pre>
 *
 * <p>Never throws on bad input. Reasons: {@code MALFORMED_JSON} (syntax, empty, trailing content),
 * {@code MISSING_FIELD}, {@code BAD_TYPE} (wrong JSON type, not an object, unparseable time),
 * {@code NON_FINITE_VALUE} (NaN, Infinity, overflow), {@code VALUE_OUT_OF_RANGE} (magnitude above
 * {@code maxAbsValue}, default 1e150, beyond which squares overflow), {@code TOO_LARGE} (payload
 * bytes, nesting depth, string length), {@code TIMESTAMP_OUT_OF_RANGE} (before the minimum, beyond
 * the allowed future skew, or behind the timestamp the source already gave the element). Each
 * outcome is counted in the Beam counters {@code events_parsed} and {@code dead_letters_<REASON>}
 * of namespace {@link #METRICS_NAMESPACE}. Works on bounded and unbounded input; element-wise, no
 * state. Error messages name the field but never echo payload content.
 *
 * <p>Timestamps: a DoFn may only move an element's timestamp forward, so the input must carry
 * either the minimum timestamp (bounded sources such as files) or the event time itself (a source
 * that assigns event time, e.g. Kafka with an event-time timestamp policy). An input stamped with
 * its arrival time would send every event that is older than its arrival to dead letters.
 *
 * <p>Attributes: string values are kept as they are; numbers and booleans are kept as their JSON
 * text ({@code 2} becomes {@code "2"}); objects and arrays are {@code BAD_TYPE}.
 */
@AutoValue
public abstract class ParseEvents
    extends PTransform<PCollection<String>, OutputWithDeadLetters<Event>> {

  /** Value of {@link DeadLetter#stage()} for rejections by this transform. */
  public static final String STAGE = "parse";

  public static final String METRICS_NAMESPACE = "sluice.parse";

  /** Largest allowed future skew: 100 years. */
  private static final Duration MAX_FUTURE_SKEW = Duration.standardDays(36_525);

  public static final String EVENTS_PARSED = "events_parsed";

  /** Counter name for dead letters of one reason. */
  public static String deadLetterCounterName(Reason reason) {
    return "dead_letters_" + reason.name();
  }

  abstract int maxPayloadBytes();

  abstract int maxNestingDepth();

  abstract int maxStringLength();

  abstract Instant minEventTime();

  abstract Duration maxFutureSkew();

  abstract double maxAbsValue();

  abstract Builder toBuilder();

  /**
   * Defaults: payloads up to 1 MiB, nesting depth 32, strings up to 64 KiB, event times from
   * 2000-01-01T00:00:00Z to 1 hour ahead of the processing clock.
   */
  public static ParseEvents fromJson() {
    return new AutoValue_ParseEvents.Builder()
        .setMaxPayloadBytes(1 << 20)
        .setMaxNestingDepth(32)
        .setMaxStringLength(64 * 1024)
        .setMinEventTime(JsonSupport.parseInstant("2000-01-01T00:00:00Z"))
        .setMaxFutureSkew(Duration.standardHours(1))
        .setMaxAbsValue(1e150)
        .build();
  }

  /** Payloads larger than this many bytes (UTF-8) are rejected as {@code TOO_LARGE}. */
  public ParseEvents withMaxPayloadBytes(int maxPayloadBytes) {
    Checks.positive("maxPayloadBytes", maxPayloadBytes);
    return toBuilder().setMaxPayloadBytes(maxPayloadBytes).build();
  }

  /** Documents nested deeper than this are rejected as {@code TOO_LARGE}. */
  public ParseEvents withMaxNestingDepth(int maxNestingDepth) {
    Checks.positive("maxNestingDepth", maxNestingDepth);
    return toBuilder().setMaxNestingDepth(maxNestingDepth).build();
  }

  /** Documents with a string longer than this are rejected as {@code TOO_LARGE}. */
  public ParseEvents withMaxStringLength(int maxStringLength) {
    Checks.positive("maxStringLength", maxStringLength);
    return toBuilder().setMaxStringLength(maxStringLength).build();
  }

  /** Events before this instant are rejected as {@code TIMESTAMP_OUT_OF_RANGE}. */
  public ParseEvents withMinEventTime(Instant minEventTime) {
    Checks.notNull("minEventTime", minEventTime);
    if (minEventTime.isBefore(BoundedWindow.TIMESTAMP_MIN_VALUE)
        || !minEventTime.isBefore(GlobalWindow.INSTANCE.maxTimestamp())) {
      throw new IllegalArgumentException(
          "minEventTime must be within Beam's timestamp range, got " + minEventTime);
    }
    return toBuilder().setMinEventTime(minEventTime).build();
  }

  /**
   * Values whose magnitude is above this are rejected as {@code VALUE_OUT_OF_RANGE}. At most 1e150,
   * so that squares and sums of values stay finite.
   */
  public ParseEvents withMaxAbsValue(double maxAbsValue) {
    Checks.positive("maxAbsValue", maxAbsValue);
    if (maxAbsValue > 1e150) {
      throw new IllegalArgumentException("maxAbsValue must be at most 1e150, got " + maxAbsValue);
    }
    return toBuilder().setMaxAbsValue(maxAbsValue).build();
  }

  /**
   * Events further than this ahead of the processing clock are rejected as {@code
   * TIMESTAMP_OUT_OF_RANGE}.
   */
  public ParseEvents withMaxFutureSkew(Duration maxFutureSkew) {
    Checks.notNegative("maxFutureSkew", maxFutureSkew);
    if (maxFutureSkew.isLongerThan(MAX_FUTURE_SKEW)) {
      throw new IllegalArgumentException(
          "maxFutureSkew must be at most " + MAX_FUTURE_SKEW + ", got " + maxFutureSkew);
    }
    return toBuilder().setMaxFutureSkew(maxFutureSkew).build();
  }

  @Override
  public OutputWithDeadLetters<Event> expand(PCollection<String> payloads) {
    TupleTag<Event> eventsTag = new TupleTag<Event>() {};
    TupleTag<DeadLetter> deadLettersTag = new TupleTag<DeadLetter>() {};
    PCollectionTuple tuple =
        payloads.apply(
            "ParseJson",
            ParDo.of(new ParseFn(this, eventsTag, deadLettersTag))
                .withOutputTags(eventsTag, TupleTagList.of(deadLettersTag)));
    tuple.get(eventsTag).setCoder(Event.EventCoder.of());
    tuple.get(deadLettersTag).setCoder(DeadLetter.DeadLetterCoder.of());
    return OutputWithDeadLetters.in(tuple, eventsTag, deadLettersTag);
  }

  @Override
  public void populateDisplayData(DisplayData.Builder builder) {
    super.populateDisplayData(builder);
    builder
        .add(DisplayData.item("maxPayloadBytes", maxPayloadBytes()))
        .add(DisplayData.item("maxNestingDepth", maxNestingDepth()))
        .add(DisplayData.item("maxStringLength", maxStringLength()))
        .add(DisplayData.item("minEventTime", JsonSupport.formatInstant(minEventTime())))
        .add(DisplayData.item("maxFutureSkew", maxFutureSkew()))
        .add(DisplayData.item("maxAbsValue", maxAbsValue()));
  }

  @AutoValue.Builder
  abstract static class Builder {
    abstract Builder setMaxPayloadBytes(int value);

    abstract Builder setMaxNestingDepth(int value);

    abstract Builder setMaxStringLength(int value);

    abstract Builder setMinEventTime(Instant value);

    abstract Builder setMaxFutureSkew(Duration value);

    abstract Builder setMaxAbsValue(double value);

    abstract ParseEvents build();
  }

  /** A rejection found while reading one payload. */
  private static final class Rejection extends Exception {
    final Reason reason;

    Rejection(Reason reason, String message) {
      super(message, null, false, false);
      this.reason = reason;
    }
  }

  private static final class ParseFn extends DoFn<String, Event> {
    /** Jackson's "[Source: ...; " prefix of a location inside a message. */
    private static final Pattern SOURCE_IN_MESSAGE = Pattern.compile("\\[Source: [^;\\]]*; ");

    private final int maxPayloadBytes;
    private final int maxNestingDepth;
    private final int maxStringLength;
    private final Instant minEventTime;
    private final Duration maxFutureSkew;
    private final double maxAbsValue;
    private final TupleTag<Event> eventsTag;
    private final TupleTag<DeadLetter> deadLettersTag;

    private transient ObjectMapper mapper;
    private transient Counter parsed;
    private transient Map<Reason, Counter> rejected;

    ParseFn(ParseEvents spec, TupleTag<Event> eventsTag, TupleTag<DeadLetter> deadLettersTag) {
      this.maxPayloadBytes = spec.maxPayloadBytes();
      this.maxNestingDepth = spec.maxNestingDepth();
      this.maxStringLength = spec.maxStringLength();
      this.minEventTime = spec.minEventTime();
      this.maxFutureSkew = spec.maxFutureSkew();
      this.maxAbsValue = spec.maxAbsValue();
      this.eventsTag = eventsTag;
      this.deadLettersTag = deadLettersTag;
    }

    @Setup
    public void setup() {
      JsonFactory factory =
          JsonFactory.builder()
              // Read NaN/Infinity so they are reported as NON_FINITE_VALUE, not as a syntax error.
              .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
              // Error messages must not echo payload content; the dead letter carries it anyway.
              .disable(StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION)
              .streamReadConstraints(
                  StreamReadConstraints.builder()
                      .maxNestingDepth(maxNestingDepth)
                      .maxStringLength(maxStringLength)
                      .build())
              .build();
      mapper = new ObjectMapper(factory).enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
      parsed = Metrics.counter(METRICS_NAMESPACE, EVENTS_PARSED);
      rejected = new EnumMap<>(Reason.class);
      for (Reason reason : Reason.values()) {
        rejected.put(reason, Metrics.counter(METRICS_NAMESPACE, deadLetterCounterName(reason)));
      }
    }

    @ProcessElement
    public void process(
        @Element String payload, @Timestamp Instant elementTimestamp, MultiOutputReceiver out) {
      try {
        Event event = parse(payload, elementTimestamp);
        parsed.inc();
        out.get(eventsTag).outputWithTimestamp(event, event.eventTime());
      } catch (Rejection rejection) {
        rejected.get(rejection.reason).inc();
        out.get(deadLettersTag)
            .output(
                DeadLetter.of(
                    STAGE, rejection.reason, rejection.getMessage(), payload, null, Instant.now()));
      }
    }

    private Event parse(String payload, Instant elementTimestamp) throws Rejection {
      // Cheap bound first: a UTF-8 char takes at most 3 bytes per UTF-16 unit.
      if ((long) payload.length() * 3 > maxPayloadBytes) {
        int bytes = payload.getBytes(StandardCharsets.UTF_8).length;
        if (bytes > maxPayloadBytes) {
          throw new Rejection(
              Reason.TOO_LARGE,
              "payload is " + bytes + " bytes, more than the limit of " + maxPayloadBytes);
        }
      }
      JsonNode root = readTree(payload);
      if (!root.isObject()) {
        throw new Rejection(
            Reason.BAD_TYPE, "payload is a JSON " + typeName(root) + ", expected an object");
      }
      String eventId = requiredText(root, "event_id");
      String key = requiredText(root, "key");
      String metric = requiredText(root, "metric");
      double value = requiredNumber(root, "value");
      if (Math.abs(value) > maxAbsValue) {
        throw new Rejection(
            Reason.VALUE_OUT_OF_RANGE,
            "field 'value' " + value + " is beyond the allowed magnitude " + maxAbsValue);
      }
      Instant eventTime = requiredTime(root, "event_time");
      checkRange(eventTime, elementTimestamp);
      return new Event(eventId, key, metric, value, eventTime, attributes(root));
    }

    private JsonNode readTree(String payload) throws Rejection {
      if (payload.isBlank()) {
        throw new Rejection(Reason.MALFORMED_JSON, "payload is empty");
      }
      try {
        return mapper.readTree(payload);
      } catch (StreamConstraintsException e) {
        throw new Rejection(Reason.TOO_LARGE, e.getOriginalMessage());
      } catch (JsonProcessingException e) {
        String where = e.getLocation() == null ? "" : " at column " + e.getLocation().getColumnNr();
        throw new Rejection(
            Reason.MALFORMED_JSON,
            "invalid JSON"
                + where
                + ": "
                + SOURCE_IN_MESSAGE.matcher(e.getOriginalMessage()).replaceAll("["));
      }
    }

    private static JsonNode present(JsonNode root, String field) throws Rejection {
      JsonNode node = root.get(field);
      if (node == null || node.isNull()) {
        throw new Rejection(Reason.MISSING_FIELD, "field '" + field + "' is missing");
      }
      return node;
    }

    private static String requiredText(JsonNode root, String field) throws Rejection {
      JsonNode node = present(root, field);
      if (!node.isTextual()) {
        throw new Rejection(
            Reason.BAD_TYPE, "field '" + field + "' must be a string, got a " + typeName(node));
      }
      if (node.textValue().isEmpty()) {
        throw new Rejection(Reason.MISSING_FIELD, "field '" + field + "' is empty");
      }
      return node.textValue();
    }

    private static double requiredNumber(JsonNode root, String field) throws Rejection {
      JsonNode node = present(root, field);
      if (!node.isNumber()) {
        throw new Rejection(
            Reason.BAD_TYPE, "field '" + field + "' must be a number, got a " + typeName(node));
      }
      double value = node.doubleValue();
      if (!Double.isFinite(value)) {
        throw new Rejection(
            Reason.NON_FINITE_VALUE,
            "field '" + field + "' is " + node.asText() + ", not a finite number");
      }
      return value;
    }

    private static Instant requiredTime(JsonNode root, String field) throws Rejection {
      String text;
      JsonNode node = present(root, field);
      if (!node.isTextual()) {
        throw new Rejection(
            Reason.BAD_TYPE,
            "field '" + field + "' must be an ISO-8601 string, got a " + typeName(node));
      }
      text = node.textValue();
      try {
        return JsonSupport.parseInstant(text);
      } catch (IllegalArgumentException e) {
        throw new Rejection(Reason.BAD_TYPE, "field '" + field + "': " + e.getMessage());
      }
    }

    private void checkRange(Instant eventTime, Instant elementTimestamp) throws Rejection {
      if (eventTime.isBefore(minEventTime)) {
        throw new Rejection(
            Reason.TIMESTAMP_OUT_OF_RANGE,
            "field 'event_time' "
                + JsonSupport.formatInstant(eventTime)
                + " is before the minimum "
                + JsonSupport.formatInstant(minEventTime));
      }
      Instant latest = Instant.now().plus(maxFutureSkew);
      if (latest.isAfter(GlobalWindow.INSTANCE.maxTimestamp())) {
        latest = GlobalWindow.INSTANCE.maxTimestamp();
      }
      if (eventTime.isAfter(latest)) {
        throw new Rejection(
            Reason.TIMESTAMP_OUT_OF_RANGE,
            "field 'event_time' "
                + JsonSupport.formatInstant(eventTime)
                + " is more than "
                + maxFutureSkew
                + " ahead of the processing clock, or beyond Beam's timestamp range");
      }
      if (eventTime.isBefore(elementTimestamp)) {
        // A DoFn may not move an element's timestamp backwards; the source must assign event time.
        throw new Rejection(
            Reason.TIMESTAMP_OUT_OF_RANGE,
            "field 'event_time' "
                + JsonSupport.formatInstant(eventTime)
                + " is before the element timestamp "
                + JsonSupport.formatInstant(elementTimestamp)
                + " that the source assigned");
      }
    }

    private static TreeMap<String, String> attributes(JsonNode root) throws Rejection {
      JsonNode node = root.get("attributes");
      TreeMap<String, String> attributes = new TreeMap<>();
      if (node == null || node.isNull()) {
        return attributes;
      }
      if (!node.isObject()) {
        throw new Rejection(
            Reason.BAD_TYPE, "field 'attributes' must be an object, got a " + typeName(node));
      }
      Iterator<Map.Entry<String, JsonNode>> fields = node.fields();
      while (fields.hasNext()) {
        Map.Entry<String, JsonNode> field = fields.next();
        JsonNode value = field.getValue();
        if (value.isContainerNode()) {
          throw new Rejection(
              Reason.BAD_TYPE,
              "field 'attributes."
                  + field.getKey()
                  + "' must be a string, number or boolean, got a "
                  + typeName(value));
        }
        if (!value.isNull()) {
          attributes.put(field.getKey(), value.asText());
        }
      }
      return attributes;
    }

    private static String typeName(JsonNode node) {
      return node.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
    }
  }
}

package dev.sluice.transforms;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.model.DeadLetter.Reason;
import dev.sluice.model.Event;
import dev.sluice.model.JsonSupport;
import dev.sluice.model.ReferenceTable;
import java.io.IOException;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;
import org.apache.beam.sdk.transforms.windowing.BoundedWindow;
import org.apache.beam.sdk.transforms.windowing.GlobalWindow;
import org.checkerframework.checker.nullness.qual.Nullable;
import org.joda.time.Duration;
import org.joda.time.Instant;

/**
 * The parsing path of {@link ParseEvents}, without the pipeline around it: payload bytes to events,
 * or a {@link Rejection} with its reason and message. Configured from a {@link ParseEvents}; call
 * {@link #prepare()} once (it builds the JSON reader) before {@link #parse}. One instance per
 * thread.
 */
public final class EventParser implements Serializable {
  /** Why a payload could not become events. */
  public static final class Rejection extends Exception {
    private final Reason reason;

    Rejection(Reason reason, String message) {
      super(message, null, false, false);
      this.reason = reason;
    }

    public Reason reason() {
      return reason;
    }
  }

  /** Jackson's "[Source: ...; " prefix of a location inside a message. */
  private static final Pattern SOURCE_IN_MESSAGE = Pattern.compile("\\[Source: [^;\\]]*; ");

  private final int maxPayloadBytes;
  private final int maxNestingDepth;
  private final int maxStringLength;
  private final int maxKeyLength;
  private final Instant minEventTime;
  private final Duration maxFutureSkew;
  private final double maxAbsValue;
  private final FieldMapping mapping;
  private final PayloadExpression filter;
  private final PayloadExpression keyExpression;
  private final Map<String, PayloadExpression> derived;
  private final Enrichment enrichment;

  /**
   * The top-level members the mapping reads, when it reads nothing else (no dotted paths, no
   * expressions); {@code null} when only the tree path can parse.
   */
  private final @Nullable Set<String> streamedFields;

  /** Contract attributes: the {@code attributes} member is an object of scalars. */
  private final boolean attributesObject;

  private transient ObjectMapper mapper;

  EventParser(ParseEvents<?> spec) {
    boolean reference = spec.enrichment() != null;
    this.filter =
        spec.filter() == null
            ? null
            : PayloadExpression.of(
                "filter", spec.filter(), PayloadExpression.Result.BOOLEAN, reference);
    // The key is what the reference table is looked up by, so its expression cannot read ref.
    this.keyExpression =
        spec.keyExpression() == null
            ? null
            : PayloadExpression.of(
                "key.expression", spec.keyExpression(), PayloadExpression.Result.STRING, false);
    this.derived = new java.util.LinkedHashMap<>();
    for (Map.Entry<String, String> d : spec.derived().entrySet()) {
      derived.put(
          d.getKey(),
          PayloadExpression.of(
              "derive." + d.getKey(), d.getValue(), PayloadExpression.Result.DOUBLE, reference));
    }
    this.enrichment = spec.enrichment();
    this.maxPayloadBytes = spec.maxPayloadBytes();
    this.maxNestingDepth = spec.maxNestingDepth();
    this.maxStringLength = spec.maxStringLength();
    this.maxKeyLength = spec.maxKeyLength();
    this.minEventTime = spec.minEventTime();
    this.maxFutureSkew = spec.maxFutureSkew();
    this.maxAbsValue = spec.maxAbsValue();
    this.mapping = spec.mapping();
    this.attributesObject = mapping.attributeFields() == null;
    this.streamedFields =
        filter == null && keyExpression == null && derived.isEmpty()
            ? topLevelFields(mapping)
            : null;
  }

  /** The members {@code mapping} reads, or {@code null} when one of them is a nested path. */
  private static @Nullable Set<String> topLevelFields(FieldMapping mapping) {
    Set<String> fields = new HashSet<>();
    fields.add(mapping.eventIdField());
    fields.add(mapping.keyField());
    fields.add(mapping.timeField());
    if (mapping.metricField() != null) {
      fields.add(mapping.metricField());
      fields.add(mapping.valueField());
    }
    fields.addAll(mapping.valueFields().values());
    if (mapping.attributeFields() == null) {
      fields.add("attributes");
    } else {
      fields.addAll(mapping.attributeFields());
    }
    for (String field : fields) {
      if (field.indexOf('.') >= 0) {
        return null;
      }
    }
    return Set.copyOf(fields);
  }

  /** A parser with the settings of {@code spec}, prepared. */
  public static EventParser of(ParseEvents<?> spec) {
    EventParser parser = new EventParser(spec);
    parser.prepare();
    return parser;
  }

  /** Builds the JSON reader with the configured limits. */
  public void prepare() {
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
    if (filter != null) {
      filter.prepare();
    }
    if (keyExpression != null) {
      keyExpression.prepare();
    }
    derived.values().forEach(PayloadExpression::prepare);
  }

  /** Whether a {@link #parse} result that is empty means the filter dropped the payload. */
  public boolean filters() {
    return filter != null;
  }

  /**
   * The events in {@code payload}; {@code elementTimestamp} is the timestamp the source gave it.
   * Without enrichment; see {@link #parse(byte[], Instant, ReferenceTable)}.
   */
  public List<Event> parse(byte[] payload, Instant elementTimestamp) throws Rejection {
    return parse(payload, elementTimestamp, null);
  }

  /**
   * The events in {@code payload}, or an empty list when the filter dropped it; {@code
   * elementTimestamp} is the timestamp the source gave it, {@code reference} the reference table
   * (when enrichment is configured).
   *
   * @throws Rejection with the reason and a message naming the field or expression
   */
  public List<Event> parse(
      byte[] payload, Instant elementTimestamp, @Nullable ReferenceTable reference)
      throws Rejection {
    if (payload.length > maxPayloadBytes) {
      throw new Rejection(
          Reason.TOO_LARGE,
          "payload is " + payload.length + " bytes, more than the limit of " + maxPayloadBytes);
    }
    List<Event> streamed = parseStreaming(payload, elementTimestamp, reference);
    if (streamed != null) {
      return streamed;
    }
    return events(readTree(payload), elementTimestamp, reference);
  }

  /**
   * The streaming path alone: the events of a valid payload whose fields it can read without a
   * tree, or {@code null} when it leaves the payload to the tree path. It never rejects: on any
   * problem the tree path parses again and rejects with its own reason and message, so both paths
   * reject alike by construction; where this path accepts, the tree path gives the same events
   * (tested on generated payloads). A payload longer than the string length limit is left to the
   * tree path, which then need not be imitated in counting string lengths.
   */
  @Nullable List<Event> parseStreaming(
      byte[] payload, Instant elementTimestamp, @Nullable ReferenceTable reference) {
    if (streamedFields == null
        || payload.length > maxStringLength
        || payload.length > maxPayloadBytes) {
      return null;
    }
    ObjectNode needed = readNeededFields(payload);
    if (needed == null) {
      return null;
    }
    try {
      return events(needed, elementTimestamp, reference);
    } catch (Rejection rejection) {
      return null;
    }
  }

  /**
   * As {@link #parse(byte[], Instant)} by the tree path only, which every payload can take and
   * which is the reference for the streaming path (for tests and benchmarks).
   */
  public List<Event> parseWithTree(byte[] payload, Instant elementTimestamp) throws Rejection {
    if (payload.length > maxPayloadBytes) {
      throw new Rejection(
          Reason.TOO_LARGE,
          "payload is " + payload.length + " bytes, more than the limit of " + maxPayloadBytes);
    }
    return events(readTree(payload), elementTimestamp, null);
  }

  /**
   * The event time {@link #parse} would give the events of {@code payload}, for a source that
   * timestamps payloads before they are parsed (the Kafka reader); {@code null} when there is none
   * to give. Where the mapping reads top-level members only and no expression ({@link #streams()}),
   * one pass of the JSON tokenizer that keeps the time member alone (the last of duplicates, as
   * {@code parse} does), skips the rest without decoding it, and builds no events: a payload that
   * {@code parse} rejects for another reason (a missing key, a bad value) still gets its time, and
   * {@code parse} rejects it with its own reason. Otherwise {@code parse} itself decides ({@code
   * null} when it rejects the payload or the filter drops it).
   */
  public @Nullable Instant eventTime(byte[] payload) {
    if (payload.length > maxPayloadBytes) {
      return null;
    }
    if (streamedFields == null) {
      try {
        List<Event> events = parse(payload, BoundedWindow.TIMESTAMP_MIN_VALUE);
        return events.isEmpty() ? null : events.get(0).eventTime();
      } catch (Rejection | RuntimeException e) {
        return null;
      }
    }
    String timeField = mapping.timeField();
    JsonNodeFactory nodes = mapper.getNodeFactory();
    JsonNode time = null;
    try (JsonParser parser = mapper.createParser(payload)) {
      if (parser.nextToken() != JsonToken.START_OBJECT) {
        return null;
      }
      JsonToken token;
      while ((token = parser.nextToken()) == JsonToken.FIELD_NAME) {
        boolean wanted = parser.currentName().equals(timeField);
        JsonToken value = parser.nextToken();
        if (wanted) {
          // A container (or a number parse leaves to the tree path) is no time, unless a later
          // duplicate member replaces it.
          time = scalar(parser, value, nodes);
        }
        parser.skipChildren(); // a no-op on a scalar
      }
      if (token != JsonToken.END_OBJECT || time == null || parser.nextToken() != null) {
        return null;
      }
      ObjectNode root = nodes.objectNode();
      root.set(timeField, time);
      Instant eventTime = requiredTime(root, timeField, mapping.timeFormat());
      checkRange(eventTime, BoundedWindow.TIMESTAMP_MIN_VALUE);
      return eventTime;
    } catch (IOException | Rejection | RuntimeException e) {
      return null;
    }
  }

  /** Whether {@link #parse} tries the streaming path first (the mapping reads top-level fields). */
  boolean streams() {
    return streamedFields != null;
  }

  private List<Event> events(
      JsonNode root, Instant elementTimestamp, @Nullable ReferenceTable reference)
      throws Rejection {
    if (!root.isObject()) {
      throw new Rejection(
          Reason.BAD_TYPE, "payload is a JSON " + typeName(root) + ", expected an object");
    }
    Map<String, Object> fields =
        filter == null && keyExpression == null && derived.isEmpty()
            ? null
            : new JsonPayloadMap(root);
    // Filter, then key, then derive: a payload the filter drops is never a dead letter.
    if (filter != null && !filter.usesReference() && !passes(fields, Map.of(), null)) {
      return List.of();
    }
    String eventId = requiredText(root, mapping.eventIdField());
    String key =
        keyExpression == null
            ? checkedName(mapping.keyField(), requiredText(root, mapping.keyField()))
            : checkedName(
                keyExpression.field(), (String) evaluate(keyExpression, fields, Map.of(), null));
    Map<String, ?> ref = Map.of();
    if (enrichment != null) {
      Map<String, Object> row = reference == null ? null : enrichment.rowFor(reference, key);
      ref = row == null ? Map.of() : row;
    }
    if (filter != null && filter.usesReference() && !passes(fields, ref, key)) {
      return List.of();
    }
    Instant eventTime = requiredTime(root, mapping.timeField(), mapping.timeFormat());
    checkRange(eventTime, elementTimestamp);
    TreeMap<String, String> attributes = attributes(root);
    List<Event> events = new ArrayList<>(mapping.valueFields().size() + derived.size() + 1);
    if (mapping.metricField() != null) {
      String metric = checkedName(mapping.metricField(), requiredText(root, mapping.metricField()));
      double value = requiredValue(root, mapping.valueField());
      events.add(new Event(eventId, key, metric, value, eventTime, attributes));
    }
    for (Map.Entry<String, String> field : mapping.valueFields().entrySet()) {
      double value = requiredValue(root, field.getValue());
      events.add(new Event(eventId, key, field.getKey(), value, eventTime, attributes));
    }
    for (Map.Entry<String, PayloadExpression> d : derived.entrySet()) {
      double value = (Double) evaluate(d.getValue(), fields, ref, key);
      if (Math.abs(value) > maxAbsValue) {
        throw new Rejection(
            Reason.VALUE_OUT_OF_RANGE,
            d.getValue().field()
                + " gives "
                + value
                + ", beyond the allowed magnitude "
                + maxAbsValue);
      }
      events.add(new Event(eventId, key, d.getKey(), value, eventTime, attributes));
    }
    return events;
  }

  private boolean passes(Map<String, Object> fields, Map<String, ?> ref, @Nullable String key)
      throws Rejection {
    return (Boolean) evaluate(filter, fields, ref, key);
  }

  private Object evaluate(
      PayloadExpression expression,
      Map<String, Object> fields,
      Map<String, ?> ref,
      @Nullable String key)
      throws Rejection {
    try {
      return expression.evaluate(fields, ref, key);
    } catch (PayloadExpression.EvaluationError e) {
      String hint =
          enrichment != null && key != null && ref.isEmpty() && expression.usesReference()
              ? " (the key '" + key + "' has no reference row)"
              : "";
      throw new Rejection(Reason.EXPRESSION_ERROR, e.getMessage() + hint);
    }
  }

  private JsonNode readTree(byte[] payload) throws Rejection {
    if (isBlank(payload)) {
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
    } catch (IOException e) {
      throw new Rejection(Reason.MALFORMED_JSON, "unreadable payload: " + e.getMessage());
    }
  }

  /**
   * The streaming path: one pass of the JSON parser over the whole payload that keeps only the
   * members the mapping reads, as the tree path's nodes would be (the last of duplicate members
   * wins), and skips the rest; {@code null} when the payload is not a syntactically valid object
   * within the limits, or holds something this path does not decide (a container where a scalar is
   * read), so that the tree path decides. Skipped strings are still decoded, so that invalid UTF-8
   * and unescaped control characters are rejected as the tree path rejects them; callers ensure no
   * string can exceed the length limit (the payload is not longer than it).
   */
  @Nullable ObjectNode readNeededFields(byte[] payload) {
    if (isBlank(payload)) {
      return null;
    }
    JsonNodeFactory nodes = mapper.getNodeFactory();
    try (JsonParser parser = mapper.createParser(payload)) {
      if (parser.nextToken() != JsonToken.START_OBJECT) {
        return null;
      }
      ObjectNode root = nodes.objectNode();
      JsonToken token;
      while ((token = parser.nextToken()) == JsonToken.FIELD_NAME) {
        String name = parser.currentName();
        JsonToken value = parser.nextToken();
        if (!streamedFields.contains(name)) {
          skip(parser, value);
          continue;
        }
        JsonNode node =
            value == JsonToken.START_OBJECT && attributesObject && name.equals("attributes")
                ? scalarMembers(parser, nodes)
                : scalar(parser, value, nodes);
        if (node == null) {
          return null;
        }
        root.replace(name, node);
      }
      if (token != JsonToken.END_OBJECT || parser.nextToken() != null) {
        return null;
      }
      return root;
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  /** Skips the value at {@code token}, decoding its strings (see {@link #readNeededFields}). */
  private static void skip(JsonParser parser, JsonToken token) throws IOException {
    if (token == JsonToken.VALUE_STRING) {
      parser.getTextLength();
      return;
    }
    if (token != JsonToken.START_OBJECT && token != JsonToken.START_ARRAY) {
      return;
    }
    int depth = 1;
    while (depth > 0) {
      JsonToken next = parser.nextToken();
      if (next == null) {
        throw new IOException("unexpected end of input");
      }
      switch (next) {
        case START_OBJECT, START_ARRAY -> depth++;
        case END_OBJECT, END_ARRAY -> depth--;
        case VALUE_STRING -> parser.getTextLength();
        default -> {}
      }
    }
  }

  /** An object whose members are all scalars, or {@code null} when one is a container. */
  private static @Nullable ObjectNode scalarMembers(JsonParser parser, JsonNodeFactory nodes)
      throws IOException {
    ObjectNode object = nodes.objectNode();
    JsonToken token;
    while ((token = parser.nextToken()) == JsonToken.FIELD_NAME) {
      String name = parser.currentName();
      JsonNode node = scalar(parser, parser.nextToken(), nodes);
      if (node == null) {
        return null;
      }
      object.replace(name, node);
    }
    return token == JsonToken.END_OBJECT ? object : null;
  }

  /**
   * The node Jackson's tree deserializer makes of the scalar at {@code token}, or {@code null} for
   * a container.
   */
  private static @Nullable JsonNode scalar(
      JsonParser parser, JsonToken token, JsonNodeFactory nodes) throws IOException {
    switch (token) {
      case VALUE_STRING:
        return nodes.textNode(parser.getText());
      case VALUE_NUMBER_INT:
        switch (parser.getNumberType()) {
          case INT:
            return nodes.numberNode(parser.getIntValue());
          case LONG:
            return nodes.numberNode(parser.getLongValue());
          default:
            return nodes.numberNode(parser.getBigIntegerValue());
        }
      case VALUE_NUMBER_FLOAT:
        return parser.getNumberType() == JsonParser.NumberType.BIG_DECIMAL
            ? null
            : nodes.numberNode(parser.getDoubleValue());
      case VALUE_TRUE:
        return nodes.booleanNode(true);
      case VALUE_FALSE:
        return nodes.booleanNode(false);
      case VALUE_NULL:
        return nodes.nullNode();
      default:
        return null;
    }
  }

  private static boolean isBlank(byte[] payload) {
    for (byte b : payload) {
      if (b != ' ' && b != '\t' && b != '\n' && b != '\r') {
        return false;
      }
    }
    return true;
  }

  /** The node at a dotted path, or {@code null} when a member on the way is absent or null. */
  private static JsonNode at(JsonNode root, String path) throws Rejection {
    JsonNode node = root;
    String[] segments = FieldMapping.segments(path);
    for (int i = 0; i < segments.length; i++) {
      if (i > 0 && !node.isObject()) {
        throw new Rejection(
            Reason.BAD_TYPE,
            "field '"
                + path
                + "': '"
                + String.join(".", java.util.Arrays.copyOf(segments, i))
                + "' is a "
                + typeName(node)
                + ", not an object");
      }
      node = node.get(segments[i]);
      if (node == null || node.isNull()) {
        return null;
      }
    }
    return node;
  }

  private static JsonNode present(JsonNode root, String path) throws Rejection {
    JsonNode node = at(root, path);
    if (node == null) {
      throw new Rejection(Reason.MISSING_FIELD, "field '" + path + "' is missing");
    }
    return node;
  }

  /**
   * A key or metric name: at most {@code maxKeyLength} characters, no control characters (they
   * break file names, logs and terminals, and make two keys look alike).
   */
  private String checkedName(String path, String value) throws Rejection {
    int length = value.codePointCount(0, value.length());
    if (length > maxKeyLength) {
      throw new Rejection(
          Reason.TOO_LARGE,
          "field '"
              + path
              + "' is "
              + length
              + " characters long, more than the limit of "
              + maxKeyLength);
    }
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (Character.isISOControl(c) || c == '\u2028' || c == '\u2029') {
        throw new Rejection(
            Reason.INVALID_KEY,
            String.format(
                "field '%s' contains the control character U+%04X at position %d",
                path, (int) c, i));
      }
    }
    return value;
  }

  private static String requiredText(JsonNode root, String path) throws Rejection {
    JsonNode node = present(root, path);
    if (!node.isTextual()) {
      throw new Rejection(
          Reason.BAD_TYPE, "field '" + path + "' must be a string, got a " + typeName(node));
    }
    if (node.textValue().isEmpty()) {
      throw new Rejection(Reason.MISSING_FIELD, "field '" + path + "' is empty");
    }
    return node.textValue();
  }

  private double requiredValue(JsonNode root, String path) throws Rejection {
    JsonNode node = present(root, path);
    if (!node.isNumber()) {
      throw new Rejection(
          Reason.BAD_TYPE, "field '" + path + "' must be a number, got a " + typeName(node));
    }
    double value = node.doubleValue();
    if (!Double.isFinite(value)) {
      throw new Rejection(
          Reason.NON_FINITE_VALUE,
          "field '" + path + "' is " + node.asText() + ", not a finite number");
    }
    if (Math.abs(value) > maxAbsValue) {
      throw new Rejection(
          Reason.VALUE_OUT_OF_RANGE,
          "field '" + path + "' " + value + " is beyond the allowed magnitude " + maxAbsValue);
    }
    return value;
  }

  private static Instant requiredTime(JsonNode root, String path, FieldMapping.TimeFormat format)
      throws Rejection {
    JsonNode node = present(root, path);
    switch (format) {
      case ISO_8601:
        if (!node.isTextual()) {
          throw new Rejection(
              Reason.BAD_TYPE,
              "field '" + path + "' must be an ISO-8601 string, got a " + typeName(node));
        }
        try {
          return JsonSupport.parseInstant(node.textValue());
        } catch (IllegalArgumentException e) {
          throw new Rejection(Reason.BAD_TYPE, "field '" + path + "': " + e.getMessage());
        }
      case EPOCH_MILLIS:
        if (!node.isIntegralNumber() || !node.canConvertToLong()) {
          throw new Rejection(
              Reason.BAD_TYPE,
              "field '" + path + "' must be whole epoch milliseconds, got a " + describe(node));
        }
        return new Instant(node.longValue());
      case EPOCH_SECONDS:
        if (!node.isNumber()
            || !Double.isFinite(node.doubleValue())
            || Math.abs(node.doubleValue()) > 9.2e15) {
          throw new Rejection(
              Reason.BAD_TYPE,
              "field '" + path + "' must be epoch seconds, got a " + describe(node));
        }
        return new Instant(Math.round(node.doubleValue() * 1000.0));
      default:
        throw new AssertionError(format);
    }
  }

  private static String describe(JsonNode node) {
    return node.isNumber() ? "number out of range" : typeName(node);
  }

  private void checkRange(Instant eventTime, Instant elementTimestamp) throws Rejection {
    if (eventTime.isBefore(minEventTime)) {
      throw outOfRange(
          eventTime, "is before the minimum " + JsonSupport.formatInstant(minEventTime));
    }
    Instant latest = Instant.now().plus(maxFutureSkew);
    if (latest.isAfter(GlobalWindow.INSTANCE.maxTimestamp())) {
      latest = GlobalWindow.INSTANCE.maxTimestamp();
    }
    if (eventTime.isAfter(latest)) {
      throw outOfRange(
          eventTime,
          "is more than "
              + maxFutureSkew
              + " ahead of the processing clock, or beyond Beam's timestamp range");
    }
    if (eventTime.isBefore(elementTimestamp)) {
      // A DoFn may not move an element's timestamp backwards; the source must assign event time.
      throw outOfRange(
          eventTime,
          "is before the element timestamp "
              + JsonSupport.formatInstant(elementTimestamp)
              + " that the source assigned");
    }
  }

  private Rejection outOfRange(Instant eventTime, String problem) {
    return new Rejection(
        Reason.TIMESTAMP_OUT_OF_RANGE,
        "field '"
            + mapping.timeField()
            + "' "
            + JsonSupport.formatInstant(eventTime)
            + " "
            + problem);
  }

  private TreeMap<String, String> attributes(JsonNode root) throws Rejection {
    TreeMap<String, String> attributes = new TreeMap<>();
    if (mapping.attributeFields() != null) {
      for (String path : mapping.attributeFields()) {
        JsonNode value = at(root, path);
        if (value != null) {
          attributes.put(path, scalarText(path, value));
        }
      }
      return attributes;
    }
    JsonNode node = root.get("attributes");
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
      if (!field.getValue().isNull()) {
        attributes.put(
            field.getKey(), scalarText("attributes." + field.getKey(), field.getValue()));
      }
    }
    return attributes;
  }

  private static String scalarText(String path, JsonNode value) throws Rejection {
    if (value.isContainerNode()) {
      throw new Rejection(
          Reason.BAD_TYPE,
          "field '" + path + "' must be a string, number or boolean, got a " + typeName(value));
    }
    return value.asText();
  }

  private static String typeName(JsonNode node) {
    return node.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
  }
}

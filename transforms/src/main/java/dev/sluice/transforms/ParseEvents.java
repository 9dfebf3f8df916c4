package dev.sluice.transforms;

import com.google.auto.value.AutoValue;
import dev.sluice.model.DeadLetter;
import dev.sluice.model.DeadLetter.Reason;
import dev.sluice.model.Event;
import dev.sluice.model.JsonSupport;
import dev.sluice.model.RawPayload;
import dev.sluice.model.ReferenceTable;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.SerializableFunction;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.transforms.windowing.BoundedWindow;
import org.apache.beam.sdk.transforms.windowing.GlobalWindow;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TupleTag;
import org.apache.beam.sdk.values.TupleTagList;
import org.apache.beam.sdk.values.TypeDescriptor;
import org.checkerframework.checker.nullness.qual.Nullable;
import org.joda.time.Duration;
import org.joda.time.Instant;

/**
 * Parses JSON payloads into events timestamped with their event time; every payload that cannot
 * become valid events becomes a {@link DeadLetter} instead.
 *
 * <pre>{@code
 * OutputWithDeadLetters<Event> parsed =
 *     payloads.apply("ParseEvents", ParseEvents.fromJson().withMaxFutureSkew(Duration.standardMinutes(5)));
 * parsed.output();       // PCollection<Event>, element timestamp = event time
 * parsed.deadLetters();  // PCollection<DeadLetter>, reason + original payload
 *
 * // Bytes with source coordinates (e.g. from Kafka), in a payload shape of your own:
 * records.apply("ParseEvents", ParseEvents.fromRawPayloads().withMapping(
 *     FieldMapping.contract().withKeyField("device.id").withTimeField("ts", TimeFormat.EPOCH_MILLIS)
 *         .withValueFields(Map.of("temperature", "readings.temp"))));
 * }</pre>
 *
 * <p>Input: {@link #fromJson()} takes strings, {@link #fromJsonBytes()} bytes, {@link
 * #fromRawPayloads()} bytes with their source, which dead letters then carry. Where the parts of an
 * event are is a {@link FieldMapping}, by default the Sluice event contract; a payload with several
 * value fields yields one event per field. Bytes that are not UTF-8 are {@code MALFORMED_JSON} and
 * are kept base64-encoded in the dead letter.
 *
 * <p>Never throws on bad input. Reasons: {@code MALFORMED_JSON} (syntax, empty, trailing content),
 * {@code MISSING_FIELD}, {@code BAD_TYPE} (wrong JSON type, not an object, unparseable time),
 * {@code NON_FINITE_VALUE} (NaN, Infinity, overflow), {@code VALUE_OUT_OF_RANGE} (magnitude above
 * {@code maxAbsValue}, default 1e100, beyond which the exact sums of squares of a large window
 * could overflow), {@code TOO_LARGE} (payload bytes, nesting depth, string length), {@code
 * TIMESTAMP_OUT_OF_RANGE} (before the minimum, beyond the allowed future skew, or behind the
 * timestamp the source already gave the element). Each outcome is counted in the Beam counters
 * {@code events_parsed} and {@code dead_letters_<REASON>} of namespace {@link #METRICS_NAMESPACE}.
 * Works on bounded and unbounded input; element-wise, no state. Error messages name the field and
 * may quote the offending value, but never repeat the whole payload (the dead letter carries it).
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
public abstract class ParseEvents<InputT>
    extends PTransform<PCollection<InputT>, OutputWithDeadLetters<Event>> {

  /** Value of {@link DeadLetter#stage()} for rejections by this transform. */
  public static final String STAGE = "parse";

  public static final String METRICS_NAMESPACE = "sluice.parse";

  /** Largest allowed future skew: 100 years. */
  private static final Duration MAX_FUTURE_SKEW = Duration.standardDays(36_525);

  public static final String EVENTS_PARSED = "events_parsed";

  /** Counter of input payloads, whatever became of them. */
  public static final String PAYLOADS_READ = "payloads_read";

  /** Counter of payloads the filter expression dropped (never dead letters). */
  public static final String FILTERED_OUT = "filtered_out";

  /** Counter name for dead letters of one reason. */
  public static String deadLetterCounterName(Reason reason) {
    return "dead_letters_" + reason.name();
  }

  abstract int maxPayloadBytes();

  abstract int maxNestingDepth();

  abstract int maxStringLength();

  abstract int maxKeyLength();

  abstract Instant minEventTime();

  abstract Duration maxFutureSkew();

  abstract double maxAbsValue();

  abstract FieldMapping mapping();

  abstract SerializableFunction<InputT, RawPayload> toRawPayload();

  abstract @Nullable String filter();

  abstract @Nullable String keyExpression();

  abstract SortedMap<String, String> derived();

  abstract @Nullable Enrichment enrichment();

  abstract Builder<InputT> toBuilder();

  /**
   * Parses strings. Defaults: the contract {@link FieldMapping}, payloads up to 1 MiB, nesting
   * depth 32, strings up to 64 KiB, values up to 1e100 in magnitude, event times from
   * 2000-01-01T00:00:00Z to 1 hour ahead of the processing clock.
   */
  public static ParseEvents<String> fromJson() {
    return ParseEvents.<String>withDefaults()
        .setToRawPayload(text -> new RawPayload(text.getBytes(StandardCharsets.UTF_8), null))
        .build();
  }

  /** Parses bytes, which should be UTF-8 JSON; defaults as {@link #fromJson()}. */
  public static ParseEvents<byte[]> fromJsonBytes() {
    return ParseEvents.<byte[]>withDefaults()
        .setToRawPayload(bytes -> new RawPayload(bytes, null))
        .build();
  }

  /** Parses bytes with their source coordinates; defaults as {@link #fromJson()}. */
  public static ParseEvents<RawPayload> fromRawPayloads() {
    return ParseEvents.<RawPayload>withDefaults().setToRawPayload(raw -> raw).build();
  }

  private static <T> Builder<T> withDefaults() {
    return new AutoValue_ParseEvents.Builder<T>()
        .setMaxPayloadBytes(1 << 20)
        .setMaxNestingDepth(32)
        .setMaxStringLength(64 * 1024)
        .setMaxKeyLength(256)
        .setMinEventTime(JsonSupport.parseInstant("2000-01-01T00:00:00Z"))
        .setMaxFutureSkew(Duration.standardHours(1))
        .setMaxAbsValue(1e100)
        .setMapping(FieldMapping.contract())
        .setDerived(Collections.emptySortedMap());
  }

  /**
   * Keeps only payloads for which this CEL expression is true, e.g. {@code payload.meta.site !=
   * "south" && payload.temperature > -50.0} (see {@link PayloadExpression}). It runs first, before
   * the mapping's fields are read, so a dropped payload is never a dead letter; it is counted in
   * {@code filtered_out}. With {@link #withEnrichment} it may read {@code ref} and {@code key}, and
   * then runs after the key is known.
   *
   * @throws IllegalArgumentException with CEL's message when it does not compile to a boolean
   */
  public ParseEvents<InputT> withFilter(String expression) {
    PayloadExpression.of("filter", expression, PayloadExpression.Result.BOOLEAN, true);
    return toBuilder().setFilter(expression).build();
  }

  /**
   * The event's key is this CEL expression's string value instead of the mapping's key field, e.g.
   * {@code payload.meta.site + "/" + payload.device}.
   */
  public ParseEvents<InputT> withKeyExpression(String expression) {
    PayloadExpression.of("key.expression", expression, PayloadExpression.Result.STRING, false);
    return toBuilder().setKeyExpression(expression).build();
  }

  /**
   * New metrics per payload, each the double value of a CEL expression, e.g. {@code temperature_f
   * -> payload.temperature * 9.0 / 5.0 + 32.0}; each becomes an event aggregated like any other.
   * With {@link #withEnrichment} they may read {@code ref.<column>}.
   */
  public ParseEvents<InputT> withDerived(Map<String, String> metricToExpression) {
    Checks.notNull("derived", metricToExpression);
    SortedMap<String, String> copy = new TreeMap<>();
    for (Map.Entry<String, String> d : metricToExpression.entrySet()) {
      Checks.notBlank("derived metric name", d.getKey());
      PayloadExpression.of(
          "derive." + d.getKey(), d.getValue(), PayloadExpression.Result.DOUBLE, true);
      copy.put(d.getKey(), d.getValue());
    }
    return toBuilder().setDerived(Collections.unmodifiableSortedMap(copy)).build();
  }

  /** Looks each event's key up in a reference table, for {@code ref} in the expressions. */
  public ParseEvents<InputT> withEnrichment(Enrichment enrichment) {
    return toBuilder().setEnrichment(Checks.notNull("enrichment", enrichment)).build();
  }

  /** Where the event's parts are in the payload. */
  public ParseEvents<InputT> withMapping(FieldMapping mapping) {
    Checks.notNull("mapping", mapping);
    return toBuilder().setMapping(mapping).build();
  }

  /** Payloads larger than this many bytes (UTF-8) are rejected as {@code TOO_LARGE}. */
  public ParseEvents<InputT> withMaxPayloadBytes(int maxPayloadBytes) {
    Checks.positive("maxPayloadBytes", maxPayloadBytes);
    return toBuilder().setMaxPayloadBytes(maxPayloadBytes).build();
  }

  /**
   * Keys and metric names longer than this many characters are rejected as {@code TOO_LARGE}
   * (default 256): a key is part of every state key, file name and primary-key index entry.
   */
  public ParseEvents<InputT> withMaxKeyLength(int maxKeyLength) {
    Checks.positive("maxKeyLength", maxKeyLength);
    return toBuilder().setMaxKeyLength(maxKeyLength).build();
  }

  /** Documents nested deeper than this are rejected as {@code TOO_LARGE}. */
  public ParseEvents<InputT> withMaxNestingDepth(int maxNestingDepth) {
    Checks.positive("maxNestingDepth", maxNestingDepth);
    return toBuilder().setMaxNestingDepth(maxNestingDepth).build();
  }

  /** Documents with a string longer than this are rejected as {@code TOO_LARGE}. */
  public ParseEvents<InputT> withMaxStringLength(int maxStringLength) {
    Checks.positive("maxStringLength", maxStringLength);
    return toBuilder().setMaxStringLength(maxStringLength).build();
  }

  /** Events before this instant are rejected as {@code TIMESTAMP_OUT_OF_RANGE}. */
  public ParseEvents<InputT> withMinEventTime(Instant minEventTime) {
    Checks.notNull("minEventTime", minEventTime);
    if (minEventTime.isBefore(BoundedWindow.TIMESTAMP_MIN_VALUE)
        || !minEventTime.isBefore(GlobalWindow.INSTANCE.maxTimestamp())) {
      throw new IllegalArgumentException(
          "minEventTime must be within Beam's timestamp range, got " + minEventTime);
    }
    return toBuilder().setMinEventTime(minEventTime).build();
  }

  /**
   * Values whose magnitude is above this are rejected as {@code VALUE_OUT_OF_RANGE}. At most 1e100,
   * so that the exact sums of values and of their squares stay finite for any window size.
   */
  public ParseEvents<InputT> withMaxAbsValue(double maxAbsValue) {
    Checks.positive("maxAbsValue", maxAbsValue);
    if (maxAbsValue > 1e100) {
      throw new IllegalArgumentException("maxAbsValue must be at most 1e100, got " + maxAbsValue);
    }
    return toBuilder().setMaxAbsValue(maxAbsValue).build();
  }

  /**
   * Events further than this ahead of the processing clock are rejected as {@code
   * TIMESTAMP_OUT_OF_RANGE}.
   */
  public ParseEvents<InputT> withMaxFutureSkew(Duration maxFutureSkew) {
    Checks.notNegative("maxFutureSkew", maxFutureSkew);
    if (maxFutureSkew.isLongerThan(MAX_FUTURE_SKEW)) {
      throw new IllegalArgumentException(
          "maxFutureSkew must be at most " + MAX_FUTURE_SKEW + ", got " + maxFutureSkew);
    }
    return toBuilder().setMaxFutureSkew(maxFutureSkew).build();
  }

  @Override
  @SuppressWarnings("unchecked") // RawPayload input is recognised by its coder.
  public OutputWithDeadLetters<Event> expand(PCollection<InputT> input) {
    TupleTag<Event> eventsTag = new TupleTag<Event>() {};
    TupleTag<DeadLetter> deadLettersTag = new TupleTag<DeadLetter>() {};
    PCollection<RawPayload> payloads =
        input.getCoder() instanceof RawPayload.RawPayloadCoder
            ? (PCollection<RawPayload>) input
            : input
                .apply(
                    "ToRawPayload",
                    MapElements.into(TypeDescriptor.of(RawPayload.class)).via(toRawPayload()))
                .setCoder(RawPayload.RawPayloadCoder.of());
    for (String metric : derived().keySet()) {
      if (mapping().valueFields().containsKey(metric)) {
        throw new IllegalArgumentException(
            "derived metric '" + metric + "' is also a value field; give it another name");
      }
    }
    // Compiles every expression as the workers will (ref only with enrichment): fails here, not
    // on the first payload.
    new EventParser(this);
    ParDo.MultiOutput<RawPayload, Event> parse =
        ParDo.of(new ParseFn(this, eventsTag, deadLettersTag))
            .withOutputTags(eventsTag, TupleTagList.of(deadLettersTag));
    if (enrichment() != null) {
      parse = parse.withSideInputs(enrichment().table());
    }
    PCollectionTuple tuple = payloads.apply("ParseJson", parse);
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
        .add(DisplayData.item("maxKeyLength", maxKeyLength()))
        .add(DisplayData.item("minEventTime", JsonSupport.formatInstant(minEventTime())))
        .add(DisplayData.item("maxFutureSkew", maxFutureSkew()))
        .add(DisplayData.item("maxAbsValue", maxAbsValue()))
        .add(DisplayData.item("mapping", mapping().toString()))
        .addIfNotNull(DisplayData.item("filter", filter()))
        .addIfNotNull(DisplayData.item("keyExpression", keyExpression()))
        .add(DisplayData.item("enrichment", enrichment() != null));
    for (Map.Entry<String, String> d : derived().entrySet()) {
      builder.add(DisplayData.item("derive." + d.getKey(), d.getValue()));
    }
  }

  @AutoValue.Builder
  abstract static class Builder<InputT> {
    abstract Builder<InputT> setMaxPayloadBytes(int value);

    abstract Builder<InputT> setMaxNestingDepth(int value);

    abstract Builder<InputT> setMaxStringLength(int value);

    abstract Builder<InputT> setMaxKeyLength(int value);

    abstract Builder<InputT> setMinEventTime(Instant value);

    abstract Builder<InputT> setMaxFutureSkew(Duration value);

    abstract Builder<InputT> setMaxAbsValue(double value);

    abstract Builder<InputT> setMapping(FieldMapping value);

    abstract Builder<InputT> setToRawPayload(SerializableFunction<InputT, RawPayload> value);

    abstract Builder<InputT> setFilter(@Nullable String value);

    abstract Builder<InputT> setKeyExpression(@Nullable String value);

    abstract Builder<InputT> setDerived(SortedMap<String, String> value);

    abstract Builder<InputT> setEnrichment(@Nullable Enrichment value);

    abstract ParseEvents<InputT> build();
  }

  private static final class ParseFn extends DoFn<RawPayload, Event> {
    private final EventParser parser;
    private final TupleTag<Event> eventsTag;
    private final TupleTag<DeadLetter> deadLettersTag;
    private final @Nullable Enrichment enrichment;

    // Counted per bundle: a Beam counter update per element costs a metrics-container lookup.
    private transient BundleCounter payloadsRead;
    private transient BundleCounter filteredOut;
    private transient BundleCounter parsed;
    private transient Map<Reason, BundleCounter> rejected;

    ParseFn(ParseEvents<?> spec, TupleTag<Event> eventsTag, TupleTag<DeadLetter> deadLettersTag) {
      this.parser = new EventParser(spec);
      this.eventsTag = eventsTag;
      this.deadLettersTag = deadLettersTag;
      this.enrichment = spec.enrichment();
    }

    @Setup
    public void setup() {
      parser.prepare();
      payloadsRead = BundleCounter.of(METRICS_NAMESPACE, PAYLOADS_READ);
      filteredOut = BundleCounter.of(METRICS_NAMESPACE, FILTERED_OUT);
      parsed = BundleCounter.of(METRICS_NAMESPACE, EVENTS_PARSED);
      rejected = new EnumMap<>(Reason.class);
      for (Reason reason : Reason.values()) {
        rejected.put(reason, BundleCounter.of(METRICS_NAMESPACE, deadLetterCounterName(reason)));
      }
    }

    @StartBundle
    public void startBundle() {
      payloadsRead.reset();
      filteredOut.reset();
      parsed.reset();
      rejected.values().forEach(BundleCounter::reset);
    }

    @FinishBundle
    public void finishBundle() {
      payloadsRead.flush();
      filteredOut.flush();
      parsed.flush();
      rejected.values().forEach(BundleCounter::flush);
    }

    @ProcessElement
    public void process(
        @Element RawPayload payload,
        @Timestamp Instant elementTimestamp,
        ProcessContext context,
        MultiOutputReceiver out) {
      payloadsRead.inc();
      List<Event> events;
      try {
        ReferenceTable reference =
            enrichment == null ? null : context.sideInput(enrichment.table());
        events = parser.parse(payload.bytes(), elementTimestamp, reference);
      } catch (EventParser.Rejection rejection) {
        rejected.get(rejection.reason()).inc();
        out.get(deadLettersTag)
            .output(
                DeadLetter.ofBytes(
                    STAGE,
                    rejection.reason(),
                    rejection.getMessage(),
                    payload.bytes(),
                    payload.source(),
                    Instant.now()));
        return;
      }
      if (events.isEmpty() && parser.filters()) {
        filteredOut.inc();
        return;
      }
      parsed.inc(events.size());
      for (Event event : events) {
        out.get(eventsTag).outputWithTimestamp(event, event.eventTime());
      }
    }
  }
}

package dev.sluice.io;

import com.google.auto.value.AutoValue;
import dev.sluice.model.Alert;
import dev.sluice.model.DeadLetter;
import dev.sluice.model.RawPayload;
import dev.sluice.transforms.Checks;
import dev.sluice.transforms.EventParser;
import dev.sluice.transforms.ParseEvents;
import java.io.IOException;
import java.io.Reader;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.LongSupplier;
import java.util.regex.Pattern;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.NullableCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.io.kafka.KafkaIO;
import org.apache.beam.sdk.io.kafka.KafkaRecord;
import org.apache.beam.sdk.io.kafka.TimestampPolicy;
import org.apache.beam.sdk.io.kafka.TimestampPolicyFactory;
import org.apache.beam.sdk.metrics.Gauge;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.SerializableFunction;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.transforms.windowing.BoundedWindow;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PBegin;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PDone;
import org.apache.beam.sdk.values.TypeDescriptor;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.checkerframework.checker.nullness.qual.Nullable;
import org.joda.time.Duration;
import org.joda.time.Instant;

/**
 * JSON over Kafka: events in (with event-time timestamps and a watermark), alerts and dead letters
 * out. Built on Beam's {@code KafkaIO}.
 *
 * <pre>{@code
 * PCollection<RawPayload> payloads = pipeline.apply("ReadEvents",
 *     KafkaJsonIO.read()
 *         .withBootstrapServers("broker:9092")
 *         .withTopics(List.of("events"))
 *         .withGroupId("sluice-metrics")
 *         .withConsumerPropertiesFile(Path.of("kafka-client.properties")) // SASL/SSL settings
 *         .withMaxOutOfOrderness(Duration.standardSeconds(10)));
 * OutputWithDeadLetters<Event> events = payloads.apply("ParseEvents", ParseEvents.fromRawPayloads());
 * alerts.apply("PublishAlerts", KafkaJsonIO.writeAlerts().withBootstrapServers("broker:9092").to("alerts"));
 * }</pre>
 *
 * <p><b>Read</b> (unbounded, or bounded with {@link Read#withMaxNumRecords}): record values are
 * read as bytes, so deserialization never fails; each record becomes a {@link RawPayload} whose
 * {@code source} is {@code topic/partition/offset}, and a value that does not parse becomes a dead
 * letter with those coordinates in {@link ParseEvents}. Each record's timestamp is its event time,
 * read from the payload with the same parser (so {@link Read#withEventTimeFrom} must get the
 * pipeline's {@code ParseEvents}; {@code EventParser.eventTime}: with a mapping of top-level
 * members, the time member alone). A record without a readable, valid time gets the earliest
 * timestamp, so the parse step reports why it is bad (not a timestamp problem); one whose time is
 * valid keeps it (and moves the watermark) even when another field makes it a dead letter.
 *
 * <p><b>Watermark</b>: per partition, the largest event time read minus {@code maxOutOfOrderness}
 * (bounded out-of-orderness), never moving back; the source's watermark is the minimum over its
 * partitions. A partition with nothing left to read (its backlog is 0 at the last check, which
 * KafkaIO makes every few seconds), including one that never had a record, is <em>idle</em>: its
 * watermark advances to the check time minus {@code maxOutOfOrderness}, so an idle partition does
 * not hold windows open forever. The price: a record later appended to an idle partition with an
 * event time older than that is late (and handled as late data downstream). Beam's own {@code
 * CustomTimestampPolicyWithLimitedDelay} does not advance a partition that never had a record.
 *
 * <p><b>Delivery</b>: offsets are committed to the consumer group when the runner finalizes a
 * checkpoint ({@code commitOffsetsInFinalize}), not when records are polled, so a restart from the
 * group resumes after the last record whose results were durably processed (at-least-once; the
 * sinks' upserts and alert ids make repeats harmless). {@code enable.auto.commit} is forced off.
 * {@code auto.offset.reset} defaults to {@code earliest}: a new consumer group starts at the
 * beginning of the retained log rather than silently skipping what was produced before the job
 * started; set {@code latest} with {@link Read#withAutoOffsetReset} to start at the end.
 *
 * <p><b>Secrets</b>: client properties whose name contains {@code password}, {@code secret}, {@code
 * jaas}, {@code token}, {@code credential} or {@code user.info}, or ends in {@code .key}, are kept
 * apart: they reach the Kafka client only when it is created on the worker, never the display data
 * (Beam's {@code KafkaIO} shows every consumer/producer property there), {@code toString} or error
 * messages. Kafka's own config log prints them as {@code [hidden]}.
 *
 * <p><b>Write</b> (alerts, dead letters, anything with a JSON form): one record per element, value
 * = JSON, key = the alert id (so a compacted topic or a consumer can de-duplicate the at-least-once
 * delivery) or the dead letter's source; producer with {@code acks=all} and idempotence on.
 */
public final class KafkaJsonIO {
  /**
   * The state layout of the exactly-once sink ({@link Write#withExactlyOnce}): its steps and state
   * ids changed from Beam's sink to {@link KafkaTransactionalWrite}, so a launcher records it with
   * a job's state settings and refuses to resume a checkpoint written with another layout.
   */
  public static final String EXACTLY_ONCE_LAYOUT = "transactional writer 2";

  public static final String METRICS_NAMESPACE = "sluice.kafka";

  /** Counter of records handed to the producer (a retried bundle may count them again). */
  public static final String RECORDS_WRITTEN = "records_written";

  /**
   * Prefix of the gauges of each partition's consumer lag in records, {@code
   * consumer_lag_records:<partition>:<topic>}: the partition's latest offset (as the reader last
   * fetched it) minus the next offset to read, updated as the reader reads.
   */
  public static final String CONSUMER_LAG_RECORDS = "consumer_lag_records:";

  /** The name of the consumer lag gauge of {@code partition}. */
  public static String consumerLagGaugeName(TopicPartition partition) {
    return CONSUMER_LAG_RECORDS + partition.partition() + ":" + partition.topic();
  }

  private KafkaJsonIO() {}

  /** Names of client properties treated as secrets. */
  private static final Pattern SECRET_NAME =
      Pattern.compile("(?i).*(password|secret|jaas|token|credential|user\\.info).*|.*\\.key");

  /** True when a client property of this name is kept out of display data and messages. */
  public static boolean isSecret(String propertyName) {
    return SECRET_NAME.matcher(propertyName).matches();
  }

  public static Read read() {
    return new AutoValue_KafkaJsonIO_Read.Builder()
        .setTopics(List.of())
        .setClientProperties(ClientProperties.EMPTY)
        .setMaxOutOfOrderness(DEFAULT_MAX_OUT_OF_ORDERNESS)
        .setEventTimeFrom(ParseEvents.fromRawPayloads())
        .setAutoOffsetReset("earliest")
        .setCommitOffsets(true)
        .setMaxNumRecords(Long.MAX_VALUE)
        .setArrivalTime(false)
        .build();
  }

  /**
   * A read of a control topic (rule updates): records are stamped with the time they are read and
   * the watermark follows the clock; nothing is committed, and a new reader starts at the earliest
   * offset, so every start sees the whole retained topic (replayed updates are ignored by version).
   */
  public static Read readControlTopic() {
    return read().withArrivalTime().withCommitOffsets(false);
  }

  /** A write of elements as JSON values with record keys from {@code keyFn} (may return null). */
  public static <T> Write<T> write(
      SerializableFunction<T, String> toJson, SerializableFunction<T, String> keyFn) {
    Checks.notNull("toJson", toJson);
    Checks.notNull("keyFn", keyFn);
    return new AutoValue_KafkaJsonIO_Write.Builder<T>()
        .setToJson(toJson)
        .setKeyFn(keyFn)
        .setClientProperties(ClientProperties.EMPTY)
        .build();
  }

  /** Alerts as JSON, record key = {@code alert_id}. */
  public static Write<Alert> writeAlerts() {
    return write(Alert::toJson, Alert::alertId);
  }

  /**
   * Dead letters as JSON, record key = their {@code source} (topic/partition/offset, file:line).
   */
  public static Write<DeadLetter> writeDeadLetters() {
    // A payload over 128 KiB is truncated (marked, with its length and SHA-256): even escaped as
    // JSON the record stays below the producer's default max.request.size of 1 MiB.
    return write(d -> d.withPayloadAtMost(DEAD_LETTER_PAYLOAD_LIMIT).toJson(), DeadLetter::source);
  }

  /** Bytes of a dead letter's payload that go to Kafka; longer ones are truncated and marked. */
  static final int DEAD_LETTER_PAYLOAD_LIMIT = 128 * 1024;

  /**
   * How far behind the largest event time read a record may be without being late, unless {@link
   * Read#withMaxOutOfOrderness} says otherwise; Sluice's one default for this bound.
   */
  public static final Duration DEFAULT_MAX_OUT_OF_ORDERNESS = Duration.standardSeconds(10);

  /**
   * Kafka client properties split into the displayable ones and the secrets; serializable so it
   * travels to the workers, and its {@code toString} names the secret keys only.
   */
  public static final class ClientProperties implements Serializable {
    static final ClientProperties EMPTY = new ClientProperties(Map.of(), Map.of(), List.of());

    private final TreeMap<String, String> plain;
    private final TreeMap<String, String> secret;

    /** Files whose secret entries are read where the client is created, never serialized. */
    private final List<String> secretFiles;

    private final TreeSet<String> fileSecretNames = new TreeSet<>();

    private ClientProperties(
        Map<String, String> plain, Map<String, String> secret, List<String> secretFiles) {
      this.plain = new TreeMap<>(plain);
      this.secret = new TreeMap<>(secret);
      this.secretFiles = List.copyOf(secretFiles);
    }

    /** Splits {@code properties} into plain settings and secrets. */
    public static ClientProperties of(Map<String, String> properties) {
      Map<String, String> plain = new HashMap<>();
      Map<String, String> secret = new HashMap<>();
      properties.forEach(
          (k, v) -> {
            Checks.notBlank("property name", k);
            if (v == null) {
              throw new IllegalArgumentException("property " + k + " has no value");
            }
            (isSecret(k) ? secret : plain).put(k, v);
          });
      return new ClientProperties(plain, secret, List.of());
    }

    /**
     * Reads a Java properties file (as Kafka's own tools take: {@code security.protocol=SASL_SSL},
     * {@code sasl.jaas.config=...}); {@code field} names the setting in error messages.
     */
    public static ClientProperties fromFile(String field, Path file) {
      Checks.notNull(field, file);
      Map<String, String> map = load(file, field);
      Map<String, String> plain = new HashMap<>();
      TreeSet<String> secretNames = new TreeSet<>();
      map.forEach(
          (k, v) -> {
            if (isSecret(k)) {
              secretNames.add(k);
            } else {
              plain.put(k, v);
            }
          });
      // The secrets stay in the file: read again where the client is created (on the worker),
      // they are never part of the job graph or a template.
      ClientProperties properties =
          new ClientProperties(
              plain, Map.of(), List.of(file.toAbsolutePath().normalize().toString()));
      properties.fileSecretNames.addAll(secretNames);
      return properties;
    }

    private static Map<String, String> load(Path file, String field) {
      Properties properties = new Properties();
      try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
        properties.load(reader);
      } catch (IOException e) {
        throw new IllegalArgumentException(
            field + ": cannot read " + file + " (" + e.getClass().getSimpleName() + ")", e);
      }
      Map<String, String> map = new HashMap<>();
      for (String name : properties.stringPropertyNames()) {
        map.put(name, properties.getProperty(name));
      }
      return map;
    }

    /** Settings that may be shown. */
    public Map<String, String> plain() {
      return Collections.unmodifiableMap(plain);
    }

    /** Names (only) of the secret settings. */
    public TreeSet<String> secretNames() {
      TreeSet<String> names = new TreeSet<>(secret.keySet());
      names.addAll(fileSecretNames);
      return names;
    }

    ClientProperties merge(ClientProperties more) {
      Map<String, String> p = new HashMap<>(plain);
      p.putAll(more.plain);
      Map<String, String> s = new HashMap<>(secret);
      s.putAll(more.secret);
      List<String> files = new java.util.ArrayList<>(secretFiles);
      files.addAll(more.secretFiles);
      ClientProperties merged = new ClientProperties(p, s, files);
      merged.fileSecretNames.addAll(fileSecretNames);
      merged.fileSecretNames.addAll(more.fileSecretNames);
      return merged;
    }

    /** {@code config} with the secrets added; those of files are read from them now. */
    Map<String, Object> withSecrets(Map<String, Object> config) {
      Map<String, Object> all = new HashMap<>(config);
      for (String file : secretFiles) {
        load(Path.of(file), "Kafka client properties file")
            .forEach(
                (k, v) -> {
                  if (isSecret(k)) {
                    all.put(k, v);
                  }
                });
      }
      all.putAll(secret);
      return all;
    }

    @Override
    public String toString() {
      return "ClientProperties"
          + plain
          + (secretNames().isEmpty() ? "" : " + secrets " + secretNames());
    }
  }

  private static void rejectReserved(ClientProperties properties, String field, String... names) {
    for (String name : names) {
      if (properties.plain.containsKey(name) || properties.secret.containsKey(name)) {
        throw new IllegalArgumentException(
            field + ": " + name + " is set by Sluice and cannot be overridden");
      }
    }
  }

  /**
   * Reads JSON events from Kafka topics as {@link RawPayload}s with {@code topic/partition/offset}.
   */
  @AutoValue
  public abstract static class Read extends PTransform<PBegin, PCollection<RawPayload>> {
    abstract @Nullable String bootstrapServers();

    abstract List<String> topics();

    abstract @Nullable String groupId();

    abstract ClientProperties clientProperties();

    abstract Duration maxOutOfOrderness();

    abstract ParseEvents<?> eventTimeFrom();

    abstract String autoOffsetReset();

    abstract boolean commitOffsets();

    abstract long maxNumRecords();

    abstract boolean arrivalTime();

    abstract Builder toBuilder();

    /** {@code host:port[,host:port]} of the brokers (required). */
    public Read withBootstrapServers(String bootstrapServers) {
      return toBuilder()
          .setBootstrapServers(Checks.notBlank("bootstrapServers", bootstrapServers))
          .build();
    }

    /** The topics to read (required, at least one). */
    public Read withTopics(List<String> topics) {
      Checks.notNull("topics", topics);
      if (topics.isEmpty()) {
        throw new IllegalArgumentException("topics must name at least one topic, got []");
      }
      topics.forEach(t -> Checks.notBlank("topic", t));
      return toBuilder().setTopics(List.copyOf(topics)).build();
    }

    /** The consumer group; offsets are committed to it (required unless commits are off). */
    public Read withGroupId(String groupId) {
      return toBuilder().setGroupId(Checks.notBlank("groupId", groupId)).build();
    }

    /** Consumer properties (SASL, SSL, fetch sizes ...); secrets are recognised by name. */
    public Read withConsumerProperties(Map<String, String> properties) {
      ClientProperties added =
          ClientProperties.of(Checks.notNull("consumerProperties", properties));
      return withClientProperties("consumerProperties", added);
    }

    /** Consumer properties from a Java properties file, read now (fails fast if unreadable). */
    public Read withConsumerPropertiesFile(Path file) {
      return withClientProperties(
          "consumerPropertiesFile", ClientProperties.fromFile("consumerPropertiesFile", file));
    }

    private Read withClientProperties(String field, ClientProperties added) {
      rejectReserved(
          added,
          field,
          ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG,
          ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG,
          ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG,
          ConsumerConfig.GROUP_ID_CONFIG,
          ConsumerConfig.AUTO_OFFSET_RESET_CONFIG,
          ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG);
      return toBuilder().setClientProperties(clientProperties().merge(added)).build();
    }

    /** How far behind the largest event time seen a record may be without being late (10 s). */
    public Read withMaxOutOfOrderness(Duration maxOutOfOrderness) {
      return toBuilder()
          .setMaxOutOfOrderness(Checks.notNegative("maxOutOfOrderness", maxOutOfOrderness))
          .build();
    }

    /** The parse step whose field mapping gives the event time (default: the standard fields). */
    public Read withEventTimeFrom(ParseEvents<?> parseEvents) {
      return toBuilder().setEventTimeFrom(Checks.notNull("eventTimeFrom", parseEvents)).build();
    }

    /** Where a new consumer group starts: {@code earliest} (default) or {@code latest}. */
    public Read withAutoOffsetReset(String autoOffsetReset) {
      Checks.notNull("autoOffsetReset", autoOffsetReset);
      String value = autoOffsetReset.toLowerCase(Locale.ROOT);
      if (!value.equals("earliest") && !value.equals("latest")) {
        throw new IllegalArgumentException(
            "autoOffsetReset must be earliest or latest, got '" + autoOffsetReset + "'");
      }
      return toBuilder().setAutoOffsetReset(value).build();
    }

    /** Commit offsets to the group on checkpoint finalization (default true). */
    public Read withCommitOffsets(boolean commitOffsets) {
      return toBuilder().setCommitOffsets(commitOffsets).build();
    }

    /**
     * Timestamps are the time records are read (processing time), not event time from the payload:
     * for control topics such as rule updates, which take effect on arrival.
     */
    public Read withArrivalTime() {
      return toBuilder().setArrivalTime(true).build();
    }

    /** Stop after this many records: a bounded read (replays, tests, benchmarks). */
    public Read withMaxNumRecords(long maxNumRecords) {
      return toBuilder().setMaxNumRecords(Checks.positive("maxNumRecords", maxNumRecords)).build();
    }

    @Override
    public PCollection<RawPayload> expand(PBegin input) {
      if (bootstrapServers() == null) {
        throw new IllegalArgumentException(
            "bootstrapServers must be set with withBootstrapServers");
      }
      if (topics().isEmpty()) {
        throw new IllegalArgumentException("topics must be set with withTopics");
      }
      if (commitOffsets() && groupId() == null) {
        throw new IllegalArgumentException(
            "groupId must be set (withGroupId) to commit offsets, or use withCommitOffsets(false)");
      }
      Map<String, Object> config = new HashMap<>(clientProperties().plain());
      config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
      config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, autoOffsetReset());
      if (groupId() != null) {
        config.put(ConsumerConfig.GROUP_ID_CONFIG, groupId());
      }
      KafkaIO.Read<byte[], byte[]> read =
          KafkaIO.<byte[], byte[]>read()
              .withBootstrapServers(bootstrapServers())
              .withTopics(topics())
              .withKeyDeserializer(ByteArrayDeserializer.class)
              .withValueDeserializer(ByteArrayDeserializer.class)
              .withConsumerConfigUpdates(config)
              .withConsumerFactoryFn(new ConsumerFactory(clientProperties()));
      boolean throttleLag = maxNumRecords() == Long.MAX_VALUE; // see LagGauge
      read =
          arrivalTime()
              ? read.withTimestampPolicyFactory(new ArrivalTimePolicyFactory(throttleLag))
              : read.withTimestampPolicyFactory(
                  new EventTimePolicyFactory(eventTimeFrom(), maxOutOfOrderness(), throttleLag));
      if (commitOffsets()) {
        read = read.commitOffsetsInFinalize();
      }
      if (maxNumRecords() < Long.MAX_VALUE) {
        read = read.withMaxNumRecords(maxNumRecords());
      }
      return input
          .apply("ReadKafka", read)
          .apply(
              "ToRawPayload",
              MapElements.into(TypeDescriptor.of(RawPayload.class)).via(KafkaJsonIO::toRawPayload))
          .setCoder(RawPayload.RawPayloadCoder.of());
    }

    @Override
    public void populateDisplayData(DisplayData.Builder builder) {
      super.populateDisplayData(builder);
      builder
          .addIfNotNull(DisplayData.item("bootstrapServers", bootstrapServers()))
          .add(DisplayData.item("topics", String.join(",", topics())))
          .addIfNotNull(DisplayData.item("groupId", groupId()))
          .add(DisplayData.item("maxOutOfOrderness", maxOutOfOrderness()))
          .add(DisplayData.item("timestamps", arrivalTime() ? "arrival time" : "event time"))
          .add(DisplayData.item("autoOffsetReset", autoOffsetReset()))
          .add(DisplayData.item("commitOffsets", commitOffsets()));
      if (maxNumRecords() < Long.MAX_VALUE) {
        builder.add(DisplayData.item("maxNumRecords", maxNumRecords()));
      }
      clientProperties().plain().forEach((k, v) -> builder.add(DisplayData.item(k, v)));
      if (!clientProperties().secretNames().isEmpty()) {
        builder.add(
            DisplayData.item("secretProperties", String.join(",", clientProperties().secretNames()))
                .withLabel("Secret properties (values hidden)"));
      }
    }

    @AutoValue.Builder
    abstract static class Builder {
      abstract Builder setBootstrapServers(String value);

      abstract Builder setTopics(List<String> value);

      abstract Builder setGroupId(String value);

      abstract Builder setClientProperties(ClientProperties value);

      abstract Builder setMaxOutOfOrderness(Duration value);

      abstract Builder setEventTimeFrom(ParseEvents<?> value);

      abstract Builder setAutoOffsetReset(String value);

      abstract Builder setCommitOffsets(boolean value);

      abstract Builder setMaxNumRecords(long value);

      abstract Builder setArrivalTime(boolean value);

      abstract Read build();
    }
  }

  static RawPayload toRawPayload(KafkaRecord<byte[], byte[]> record) {
    byte[] value = record.getKV().getValue();
    return new RawPayload(
        value == null ? new byte[0] : value,
        record.getTopic() + "/" + record.getPartition() + "/" + record.getOffset());
  }

  /** Creates the consumer on the worker, adding the secret properties only there. */
  private static final class ConsumerFactory
      implements SerializableFunction<Map<String, Object>, Consumer<byte[], byte[]>> {
    private final ClientProperties properties;

    ConsumerFactory(ClientProperties properties) {
      this.properties = properties;
    }

    @Override
    public Consumer<byte[], byte[]> apply(Map<String, Object> config) {
      return new KafkaConsumer<>(properties.withSecrets(config));
    }

    @Override
    public String toString() {
      return "ConsumerFactory(" + properties + ")";
    }
  }

  /** Creates the producer on the worker, adding the secret properties only there. */
  private static final class ProducerFactory
      implements SerializableFunction<Map<String, Object>, Producer<String, String>> {
    private final ClientProperties properties;

    ProducerFactory(ClientProperties properties) {
      this.properties = properties;
    }

    @Override
    public Producer<String, String> apply(Map<String, Object> config) {
      return new KafkaProducer<>(properties.withSecrets(config));
    }

    @Override
    public String toString() {
      return "ProducerFactory(" + properties + ")";
    }
  }

  /** Creates an {@link EventTimePolicy} per partition. */
  static final class EventTimePolicyFactory implements TimestampPolicyFactory<byte[], byte[]> {
    private final ParseEvents<?> parseEvents;
    private final Duration maxOutOfOrderness;

    private final boolean throttleLag;

    EventTimePolicyFactory(
        ParseEvents<?> parseEvents, Duration maxOutOfOrderness, boolean throttleLag) {
      this.parseEvents = parseEvents;
      this.maxOutOfOrderness = maxOutOfOrderness;
      this.throttleLag = throttleLag;
    }

    @Override
    public TimestampPolicy<byte[], byte[]> createTimestampPolicy(
        TopicPartition partition, Optional<Instant> previousWatermark) {
      return new EventTimePolicy(
          EventParser.of(parseEvents),
          maxOutOfOrderness,
          previousWatermark,
          partition == null ? null : new LagGauge(partition, throttleLag));
    }
  }

  /**
   * Keeps a partition's consumer lag gauge up to date; called by the reader's policy for every
   * record. While an unbounded reader catches up the lag changes with every record, and a gauge
   * update is a metrics-container lookup plus a timestamped value, so it is set at most once per
   * {@link #RECORDS_PER_UPDATE} changes or per {@link #NANOS_PER_UPDATE}, and always when the lag
   * reaches zero. A value held back is set by a later call: the reader keeps calling the policy
   * (for the watermark) while it runs, idle or not. A bounded read ({@code withMaxNumRecords})
   * stops after its last record without another call, so there every change is set.
   */
  static final class LagGauge {
    static final int RECORDS_PER_UPDATE = 1000;
    static final long NANOS_PER_UPDATE = 200_000_000L;

    private final Gauge gauge;
    private final boolean throttled;
    private final LongSupplier nanoTime;
    private long last = Long.MIN_VALUE;
    private long lastSetNanos;
    private int changesSinceSet;

    LagGauge(TopicPartition partition, boolean throttled) {
      this(
          Metrics.gauge(METRICS_NAMESPACE, consumerLagGaugeName(partition)),
          throttled,
          System::nanoTime);
    }

    LagGauge(Gauge gauge, boolean throttled, LongSupplier nanoTime) {
      this.gauge = gauge;
      this.throttled = throttled;
      this.nanoTime = nanoTime;
    }

    /** After a record was read (e.g. from {@code getWatermark}). */
    void report(TimestampPolicy.PartitionContext context) {
      report(context.getMessageBacklog());
    }

    /** While the reader assigns a timestamp to a record, its backlog still counts that record. */
    void reportWithRecord(TimestampPolicy.PartitionContext context) {
      long backlog = context.getMessageBacklog();
      report(backlog > 0 ? backlog - 1 : backlog);
    }

    void report(long backlog) {
      // Sets only on change: a gauge update is a map lookup in the metrics container.
      if (backlog < 0 || backlog == last) {
        return;
      }
      if (throttled && last != Long.MIN_VALUE && backlog != 0) {
        long now = nanoTime.getAsLong();
        if (++changesSinceSet < RECORDS_PER_UPDATE && now - lastSetNanos < NANOS_PER_UPDATE) {
          return;
        }
        lastSetNanos = now;
      } else if (throttled) {
        lastSetNanos = nanoTime.getAsLong();
      }
      changesSinceSet = 0;
      last = backlog;
      gauge.set(backlog);
    }
  }

  /** Arrival (processing) time, as {@code withProcessingTime()}, plus the consumer lag gauge. */
  static final class ArrivalTimePolicyFactory implements TimestampPolicyFactory<byte[], byte[]> {
    private final boolean throttleLag;

    ArrivalTimePolicyFactory(boolean throttleLag) {
      this.throttleLag = throttleLag;
    }

    @Override
    public TimestampPolicy<byte[], byte[]> createTimestampPolicy(
        TopicPartition partition, Optional<Instant> previousWatermark) {
      TimestampPolicy<byte[], byte[]> arrival =
          TimestampPolicyFactory.<byte[], byte[]>withProcessingTime()
              .createTimestampPolicy(partition, previousWatermark);
      LagGauge lag = new LagGauge(partition, throttleLag);
      return new TimestampPolicy<>() {
        @Override
        public Instant getTimestampForRecord(
            PartitionContext context, KafkaRecord<byte[], byte[]> record) {
          lag.reportWithRecord(context);
          return arrival.getTimestampForRecord(context, record);
        }

        @Override
        public Instant getWatermark(PartitionContext context) {
          lag.report(context);
          return arrival.getWatermark(context);
        }
      };
    }
  }

  /**
   * Event time from the payload, bounded out-of-orderness, and idle partitions advance with the
   * backlog check time (see the class comment).
   */
  static final class EventTimePolicy extends TimestampPolicy<byte[], byte[]> {
    private final EventParser parser;
    private final Duration maxOutOfOrderness;
    private Instant maxEventTime = BoundedWindow.TIMESTAMP_MIN_VALUE;
    private Instant watermark;

    private final @Nullable LagGauge lag;

    EventTimePolicy(
        EventParser parser,
        Duration maxOutOfOrderness,
        Optional<Instant> previousWatermark,
        @Nullable LagGauge lag) {
      this.lag = lag;
      this.parser = parser;
      this.maxOutOfOrderness = maxOutOfOrderness;
      this.watermark = previousWatermark.orElse(BoundedWindow.TIMESTAMP_MIN_VALUE);
    }

    @Override
    public Instant getTimestampForRecord(
        PartitionContext context, KafkaRecord<byte[], byte[]> record) {
      if (lag != null) {
        lag.reportWithRecord(context);
      }
      Instant eventTime = eventTime(record.getKV().getValue());
      if (eventTime == null) {
        // ParseEvents turns it into a dead letter with its own reason. The earliest timestamp
        // keeps its event-time check (never before the element timestamp) out of the way; dead
        // letters stay in the global window, where nothing is dropped as late.
        return BoundedWindow.TIMESTAMP_MIN_VALUE;
      }
      if (eventTime.isAfter(maxEventTime)) {
        maxEventTime = eventTime;
      }
      return eventTime;
    }

    private @Nullable Instant eventTime(byte @Nullable [] value) {
      // Only the time member, not a second full parse: ParseEvents parses the payload anyway.
      return value == null ? null : parser.eventTime(value);
    }

    @Override
    public Instant getWatermark(PartitionContext context) {
      if (lag != null) {
        lag.report(context);
      }
      return advance(context.getMessageBacklog(), context.getBacklogCheckTime(), Instant.now());
    }

    /** The watermark given the partition's backlog at {@code checkTime}; never moves back. */
    Instant advance(long backlog, Instant checkTime, Instant now) {
      Instant candidate =
          maxEventTime.isAfter(BoundedWindow.TIMESTAMP_MIN_VALUE.plus(maxOutOfOrderness))
              ? maxEventTime.minus(maxOutOfOrderness)
              : BoundedWindow.TIMESTAMP_MIN_VALUE;
      if (backlog == 0 && checkTime != null) {
        Instant idle = checkTime.minus(maxOutOfOrderness);
        if (idle.isAfter(candidate)) {
          candidate = idle;
        }
      }
      Instant cap = now.minus(maxOutOfOrderness); // event times in the future do not run ahead
      if (candidate.isAfter(cap)) {
        candidate = cap;
      }
      if (candidate.isAfter(watermark)) {
        watermark = candidate;
      }
      return watermark;
    }
  }

  /** Writes elements as JSON records to a topic. */
  @AutoValue
  public abstract static class Write<T> extends PTransform<PCollection<T>, PDone> {
    abstract SerializableFunction<T, String> toJson();

    abstract SerializableFunction<T, String> keyFn();

    abstract @Nullable String bootstrapServers();

    abstract @Nullable String topic();

    abstract ClientProperties clientProperties();

    abstract @Nullable String exactlyOnceGroup();

    abstract Builder<T> toBuilder();

    /**
     * Exactly-once delivery with Kafka transactions ({@link KafkaTransactionalWrite}: the design of
     * Beam's {@code KafkaIO} EOS sink, one shard, with a writer that also survives a crash right
     * after its first transaction): a record becomes visible to {@code read_committed} consumers
     * once, even across runner retries and restarts. Needs a runner that supports
     * {@code @RequiresStableInput} with checkpoints (the Flink presets, Dataflow) and brokers with
     * a transaction log; {@code sinkGroupId} names the sink's transactional state and must stay the
     * same across restarts of the job. Without it the write is at-least-once, with the keys that
     * let a consumer drop repeats.
     */
    public Write<T> withExactlyOnce(String sinkGroupId) {
      return toBuilder().setExactlyOnceGroup(Checks.notBlank("sinkGroupId", sinkGroupId)).build();
    }

    /** {@code host:port[,host:port]} of the brokers (required). */
    public Write<T> withBootstrapServers(String bootstrapServers) {
      return toBuilder()
          .setBootstrapServers(Checks.notBlank("bootstrapServers", bootstrapServers))
          .build();
    }

    /** The topic to write to (required). */
    public Write<T> to(String topic) {
      return toBuilder().setTopic(Checks.notBlank("topic", topic)).build();
    }

    /** Producer properties (SASL, SSL, linger ...); secrets are recognised by name. */
    public Write<T> withProducerProperties(Map<String, String> properties) {
      return withClientProperties(
          "producerProperties",
          ClientProperties.of(Checks.notNull("producerProperties", properties)));
    }

    /** Producer properties from a Java properties file, read now (fails fast if unreadable). */
    public Write<T> withProducerPropertiesFile(Path file) {
      return withClientProperties(
          "producerPropertiesFile", ClientProperties.fromFile("producerPropertiesFile", file));
    }

    private Write<T> withClientProperties(String field, ClientProperties added) {
      rejectReserved(
          added,
          field,
          ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG,
          ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG,
          ProducerConfig.BOOTSTRAP_SERVERS_CONFIG);
      return toBuilder().setClientProperties(clientProperties().merge(added)).build();
    }

    @Override
    public PDone expand(PCollection<T> input) {
      if (bootstrapServers() == null) {
        throw new IllegalArgumentException(
            "bootstrapServers must be set with withBootstrapServers");
      }
      if (topic() == null) {
        throw new IllegalArgumentException("topic must be set with to(topic)");
      }
      Map<String, Object> config = new HashMap<>();
      config.put(ProducerConfig.ACKS_CONFIG, "all");
      config.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
      config.putAll(clientProperties().plain());
      SerializableFunction<T, String> toJson = toJson();
      SerializableFunction<T, String> keyFn = keyFn();
      KafkaIO.Write<String, String> write =
          KafkaIO.<String, String>write()
              .withBootstrapServers(bootstrapServers())
              .withTopic(topic())
              .withKeySerializer(StringSerializer.class)
              .withValueSerializer(StringSerializer.class)
              .withProducerConfigUpdates(config)
              .withProducerFactoryFn(new ProducerFactory(clientProperties()));
      PCollection<KV<String, String>> records =
          input
              .apply(
                  "ToRecord",
                  new CountedMap<T, KV<String, String>>(
                      element -> KV.of(keyFn.apply(element), toJson.apply(element)),
                      METRICS_NAMESPACE,
                      RECORDS_WRITTEN))
              .setCoder(KvCoder.of(NullableCoder.of(StringUtf8Coder.of()), StringUtf8Coder.of()));
      if (exactlyOnceGroup() != null) {
        return records.apply(
            "WriteKafka",
            new KafkaTransactionalWrite(
                bootstrapServers(), topic(), exactlyOnceGroup(), clientProperties()));
      }
      return records.apply("WriteKafka", write);
    }

    @Override
    public void populateDisplayData(DisplayData.Builder builder) {
      super.populateDisplayData(builder);
      builder
          .addIfNotNull(DisplayData.item("bootstrapServers", bootstrapServers()))
          .addIfNotNull(DisplayData.item("topic", topic()))
          .add(
              DisplayData.item(
                  "delivery", exactlyOnceGroup() == null ? "at-least-once" : "exactly-once"));
      clientProperties().plain().forEach((k, v) -> builder.add(DisplayData.item(k, v)));
      if (!clientProperties().secretNames().isEmpty()) {
        builder.add(
            DisplayData.item("secretProperties", String.join(",", clientProperties().secretNames()))
                .withLabel("Secret properties (values hidden)"));
      }
    }

    @AutoValue.Builder
    abstract static class Builder<T> {
      abstract Builder<T> setExactlyOnceGroup(String value);

      abstract Builder<T> setToJson(SerializableFunction<T, String> value);

      abstract Builder<T> setKeyFn(SerializableFunction<T, String> value);

      abstract Builder<T> setBootstrapServers(String value);

      abstract Builder<T> setTopic(String value);

      abstract Builder<T> setClientProperties(ClientProperties value);

      abstract Write<T> build();
    }
  }
}

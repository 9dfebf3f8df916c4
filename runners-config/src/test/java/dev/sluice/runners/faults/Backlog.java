package dev.sluice.runners.faults;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.TreeMap;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * A backlog of sensor events for a fault scenario, and what a correct job makes of it, computed
 * offline: the count, sum, min and max of every (key, 1-minute window), and the alert episodes of
 * the rule {@code mean(temperature) > 50}.
 *
 * <p>Event times start at a whole minute about an hour before now, so the source's idle partitions
 * advance the watermark past every window once the backlog is read. Each key stays on one
 * partition, in event-time order. Two keys spike above the threshold for two windows, twice, and
 * cool down again before the end, so every episode ends with a RESOLVED.
 */
final class Backlog {
  static final String METRIC = "temperature";
  static final double THRESHOLD = 50.0;
  static final long WINDOW_MILLIS = 60_000;

  /** Expected statistics of one window. */
  record Window(long count, double sum, double min, double max) {
    Window add(double v) {
      return new Window(count + 1, sum + v, Math.min(min, v), Math.max(max, v));
    }

    double mean() {
      return sum / count;
    }
  }

  final int events;
  final int keys;
  final int minutes;
  final int partitions;
  final Instant start;

  /** key -> window start (epoch millis) -> expected stats. */
  final Map<String, TreeMap<Long, Window>> expected = new TreeMap<>();

  private final List<ProducerRecord<String, String>> records = new ArrayList<>();

  /** Bad payloads mixed in (F8), and the dead-letter reason each must get. */
  final Map<String, Long> expectedDeadLetters = new TreeMap<>();

  Backlog(int events, int keys, int minutes, int partitions, String topic, long seed) {
    this(events, keys, minutes, partitions, partitions, false, topic, seed);
  }

  /**
   * @param activePartitions events go to partitions {@code 0 .. activePartitions - 1}; the others
   *     stay empty (idle)
   * @param badInput mix one of each {@link #BAD_PAYLOADS} in every 1,000 events
   */
  Backlog(
      int events,
      int keys,
      int minutes,
      int partitions,
      int activePartitions,
      boolean badInput,
      String topic,
      long seed) {
    this.events = events;
    this.keys = keys;
    this.minutes = minutes;
    this.partitions = partitions;
    this.start =
        Instant.now().truncatedTo(ChronoUnit.MINUTES).minus(60 + minutes, ChronoUnit.MINUTES);
    Random random = new Random(seed);
    long spanMillis = minutes * WINDOW_MILLIS;
    for (int i = 0; i < events; i++) {
      String key = String.format(Locale.ROOT, "key-%03d", i % keys);
      long offset = (long) i * spanMillis / events;
      long eventTime = start.toEpochMilli() + offset;
      int minute = (int) (offset / WINDOW_MILLIS);
      double value = 20 + Math.round(random.nextGaussian() * 2000) / 1000.0;
      if (spiking(i % keys, minute)) {
        value += 50;
      }
      String json =
          String.format(
              Locale.ROOT,
              "{\"event_id\":\"e-%d\",\"key\":\"%s\",\"metric\":\"%s\",\"value\":%s,"
                  + "\"event_time\":\"%s\"}",
              i,
              key,
              METRIC,
              Double.toString(value),
              Instant.ofEpochMilli(eventTime));
      int partition = (i % keys) % activePartitions;
      records.add(new ProducerRecord<>(topic, partition, eventTime, key, json));
      if (badInput && i % 1000 == 500) {
        String at = Instant.ofEpochMilli(eventTime).toString();
        for (Map.Entry<String, String> bad : BAD_PAYLOADS.entrySet()) {
          String payload = bad.getKey().replace("@T", at).replace("@N", Integer.toString(i));
          records.add(new ProducerRecord<>(topic, partition, eventTime, key, payload));
          expectedDeadLetters.merge(bad.getValue(), 1L, Long::sum);
        }
      }
      long window = eventTime - Math.floorMod(eventTime, WINDOW_MILLIS);
      double v = value;
      expected
          .computeIfAbsent(key, k -> new TreeMap<>())
          .merge(window, new Window(1, v, v, v), (a, b) -> a.add(v));
    }
  }

  /**
   * Bad payloads (@T: a current event time, @N: a number that makes each one unique) and the reason
   * the parse step must give each: 22 kinds.
   */
  static final Map<String, String> BAD_PAYLOADS = new java.util.LinkedHashMap<>();

  static {
    String ok = "\"event_id\":\"bad-@N\",\"key\":\"k\",\"metric\":\"m\",\"value\":1,";
    BAD_PAYLOADS.put("not json @N", "MALFORMED_JSON");
    BAD_PAYLOADS.put("{\"event_id\":\"bad-@N\",\"key\":\"k\"", "MALFORMED_JSON");
    BAD_PAYLOADS.put("{" + ok + "\"event_time\":\"@T\"} trailing @N", "MALFORMED_JSON");
    BAD_PAYLOADS.put("[@N, 2]", "BAD_TYPE");
    BAD_PAYLOADS.put(
        "{\"event_id\":\"bad-@N\",\"metric\":\"m\",\"value\":1,\"event_time\":\"@T\"}",
        "MISSING_FIELD");
    BAD_PAYLOADS.put(
        "{\"event_id\":\"bad-@N\",\"key\":\"k\",\"value\":1,\"event_time\":\"@T\"}",
        "MISSING_FIELD");
    BAD_PAYLOADS.put(
        "{\"event_id\":\"bad-@N\",\"key\":\"k\",\"metric\":\"m\",\"event_time\":\"@T\"}",
        "MISSING_FIELD");
    BAD_PAYLOADS.put("{" + ok.replace(",\"value\":1,", ",") + "\"value\":1}", "MISSING_FIELD");
    BAD_PAYLOADS.put(
        "{\"event_id\":\"bad-@N\",\"key\":\"\",\"metric\":\"m\",\"value\":1,\"event_time\":\"@T\"}",
        "MISSING_FIELD");
    BAD_PAYLOADS.put(
        "{\"event_id\":\"bad-@N\",\"key\":7,\"metric\":\"m\",\"value\":1,\"event_time\":\"@T\"}",
        "BAD_TYPE");
    BAD_PAYLOADS.put(
        "{" + ok.replace("\"value\":1", "\"value\":\"abc\"") + "\"event_time\":\"@T\"}",
        "BAD_TYPE");
    BAD_PAYLOADS.put(
        "{" + ok.replace("\"value\":1", "\"value\":NaN") + "\"event_time\":\"@T\"}",
        "NON_FINITE_VALUE");
    BAD_PAYLOADS.put(
        "{" + ok.replace("\"value\":1", "\"value\":1e400") + "\"event_time\":\"@T\"}",
        "NON_FINITE_VALUE");
    BAD_PAYLOADS.put(
        "{" + ok.replace("\"value\":1", "\"value\":1e200") + "\"event_time\":\"@T\"}",
        "VALUE_OUT_OF_RANGE");
    BAD_PAYLOADS.put("{" + ok + "\"event_time\":\"yesterday\"}", "BAD_TYPE");
    BAD_PAYLOADS.put(
        "{" + ok + "\"event_time\":\"1999-12-31T23:59:59Z\"}", "TIMESTAMP_OUT_OF_RANGE");
    BAD_PAYLOADS.put(
        "{" + ok + "\"event_time\":\"2999-01-01T00:00:00Z\"}", "TIMESTAMP_OUT_OF_RANGE");
    BAD_PAYLOADS.put("{" + ok + "\"event_time\":\"@T\",\"attributes\":[1]}", "BAD_TYPE");
    BAD_PAYLOADS.put(
        "{"
            + ok.replace("\"key\":\"k\"", "\"key\":\"" + "k".repeat(300) + "\"")
            + "\"event_time\":\"@T\"}",
        "TOO_LARGE");
    BAD_PAYLOADS.put(
        "{" + ok.replace("\"key\":\"k\"", "\"key\":\"k\\u0007\"") + "\"event_time\":\"@T\"}",
        "INVALID_KEY");
    BAD_PAYLOADS.put(
        "{" + ok.replace("\"metric\":\"m\"", "\"metric\":\"m\\nx\"") + "\"event_time\":\"@T\"}",
        "INVALID_KEY");
    BAD_PAYLOADS.put(
        "{\"event_id\":\"bad-@N\",\"deep\":" + "[".repeat(40) + "]".repeat(40) + "}", "TOO_LARGE");
  }

  long badRecords() {
    return expectedDeadLetters.values().stream().mapToLong(Long::longValue).sum();
  }

  /** Keys 7 and 42 (when present) run hot in minutes 3–4 and 8–9 of the backlog. */
  private boolean spiking(int keyIndex, int minute) {
    boolean hotKey = keyIndex == 7 || keyIndex == 42;
    return hotKey && minutes >= 12 && ((minute >= 3 && minute < 5) || (minute >= 8 && minute < 10));
  }

  int expectedWindows() {
    return expected.values().stream().mapToInt(Map::size).sum();
  }

  /** Expected episodes: key -> window starts where an episode begins (mean crosses above). */
  Map<String, List<Long>> expectedEpisodes() {
    Map<String, List<Long>> episodes = new HashMap<>();
    expected.forEach(
        (key, windows) -> {
          boolean firing = false;
          for (Map.Entry<Long, Window> w : windows.entrySet()) {
            boolean hot = w.getValue().mean() > THRESHOLD;
            if (hot && !firing) {
              episodes.computeIfAbsent(key, k -> new ArrayList<>()).add(w.getKey());
            }
            firing = hot;
          }
        });
    return episodes;
  }

  /** Sends every event (acks=all, idempotent) and returns how many were acknowledged. */
  long produce(String bootstrapServers) {
    Properties props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    props.put(ProducerConfig.LINGER_MS_CONFIG, 20);
    props.put(ProducerConfig.BATCH_SIZE_CONFIG, 256 * 1024);
    java.util.concurrent.atomic.AtomicLong failed = new java.util.concurrent.atomic.AtomicLong();
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(props)) {
      for (ProducerRecord<String, String> record : records) {
        producer.send(
            record,
            (metadata, e) -> {
              if (e != null) {
                failed.incrementAndGet();
              }
            });
      }
      producer.flush();
    }
    if (failed.get() > 0) {
      throw new IllegalStateException(failed.get() + " events were not acknowledged by Kafka");
    }
    return records.size();
  }
}

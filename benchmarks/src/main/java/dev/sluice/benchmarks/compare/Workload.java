package dev.sluice.benchmarks.compare;

import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.time.Instant;

/**
 * The reference workload every implementation of the comparison consumes: event {@code i} is a pure
 * function of {@code i} and the settings, so all of them see byte-identical input.
 *
 * <p>About 200 bytes of JSON per event in the Sluice event contract; {@code numKeys} keys (key
 * {@code i % numKeys}), three metrics (metric {@code (i / numKeys) % 3}), evenly spaced in event
 * time at {@code eventsPerSecond} from 2026-01-01T00:00:00Z, in event-time order. Values are
 * multiples of 0.25 below 500, so every sum is exact in a {@code double} and every implementation,
 * whatever order it adds in, computes bit-identical sums and means: the outputs can be compared by
 * checksum. One threshold rule, {@code mean(cpu) > threshold}, with the Sluice lifecycle: FIRING
 * when a key's window starts to exceed it, RESOLVED at its first window that does not.
 */
public final class Workload implements Serializable {
  private static final long serialVersionUID = 1L;

  public static final String[] METRICS = {"cpu", "memory", "latency_ms"};
  public static final String RULE_ID = "cpu-high";
  public static final String RULE_METRIC = "cpu";
  public static final long WINDOW_MILLIS = 60_000L;
  public static final long START_MILLIS = Instant.parse("2026-01-01T00:00:00Z").toEpochMilli();
  private static final String[] REGIONS = {"eu-west-1", "us-east-1", "ap-south-1", "sa-east-1"};

  public final long numEvents;
  public final int numKeys;
  public final long eventsPerSecond;
  public final double threshold;

  /**
   * 0, or every this many events one earlier event is delivered again (same payload, same event
   * time): a redelivery, as an at-least-once source makes them. See {@link #streamLength()}.
   */
  public final int redeliverEvery;

  /** How many events before the redelivery the redelivered event came first. */
  public static final long REDELIVERY_LAG = 10_000L;

  public Workload(long numEvents, int numKeys, long eventsPerSecond, double threshold) {
    this(numEvents, numKeys, eventsPerSecond, threshold, 0);
  }

  private Workload(
      long numEvents, int numKeys, long eventsPerSecond, double threshold, int redeliverEvery) {
    if (numEvents < 1) {
      throw new IllegalArgumentException("events must be at least 1, got " + numEvents);
    }
    if (numKeys < 1 || numKeys > 99_999) {
      throw new IllegalArgumentException("keys must be from 1 to 99999, got " + numKeys);
    }
    if (eventsPerSecond < 1) {
      throw new IllegalArgumentException(
          "eventsPerSecond must be at least 1, got " + eventsPerSecond);
    }
    this.numEvents = numEvents;
    this.numKeys = numKeys;
    this.eventsPerSecond = eventsPerSecond;
    this.threshold = threshold;
    if (redeliverEvery < 0) {
      throw new IllegalArgumentException(
          "redeliverEvery must be 0 (none) or positive, got " + redeliverEvery);
    }
    this.redeliverEvery = redeliverEvery;
  }

  /** 10,000 keys, 20,000 events per second of event time (1.2 million per window), cpu > 55. */
  public static Workload reference(long numEvents) {
    return new Workload(numEvents, 10_000, 20_000, 55.0);
  }

  public Workload withEvents(long events) {
    return new Workload(events, numKeys, eventsPerSecond, threshold, redeliverEvery);
  }

  /**
   * The same events with a redelivery after every {@code every} of them: after events {@code every
   * - 1}, {@code 2 every - 1}, ... comes again the event {@link #REDELIVERY_LAG} before the block's
   * first (or the block's first, early on). {@link #numEvents} stays the number of distinct events;
   * deduplicated, the stream is the workload without redeliveries.
   */
  public Workload withRedeliveries(int every) {
    if (every < 1) {
      throw new IllegalArgumentException("every must be at least 1, got " + every);
    }
    return new Workload(numEvents, numKeys, eventsPerSecond, threshold, every);
  }

  /** The number of payloads delivered: {@link #numEvents} plus the redeliveries. */
  public long streamLength() {
    return redeliverEvery == 0 ? numEvents : numEvents + numEvents / redeliverEvery;
  }

  /** The event delivered at position {@code j} of the stream (0 ≤ j < {@link #streamLength()}). */
  public long eventAt(long j) {
    if (redeliverEvery == 0) {
      return j;
    }
    long block = j / (redeliverEvery + 1);
    long r = j % (redeliverEvery + 1);
    long first = block * redeliverEvery;
    if (r < redeliverEvery) {
      return first + r;
    }
    return first >= REDELIVERY_LAG ? first - REDELIVERY_LAG : first;
  }

  public long eventTimeMillis(long i) {
    return START_MILLIS + i * 1000L / eventsPerSecond;
  }

  public static long windowStart(long eventTimeMillis) {
    return eventTimeMillis - Math.floorMod(eventTimeMillis, WINDOW_MILLIS);
  }

  public static String keyName(int k) {
    String digits = Integer.toString(k);
    return "device-" + "00000".substring(digits.length()) + digits;
  }

  public String metric(long i) {
    return METRICS[(int) ((i / numKeys) % METRICS.length)];
  }

  /** A multiple of 0.25: cpu and memory in [0, 100), latency_ms in [0, 500). */
  public double value(long i) {
    long h = mix(i);
    int range = metric(i).equals("latency_ms") ? 2000 : 400;
    return Math.floorMod(h, range) / 4.0;
  }

  /** The UTF-8 JSON payload of event {@code i}. */
  public byte[] payload(long i) {
    return payload(i, eventTimeMillis(i));
  }

  /** The payload of event {@code i} with another event time (the latency run's wall clock). */
  public byte[] payload(long i, long eventTimeMillis) {
    long h = mix(i ^ 0x5DEECE66DL);
    int k = (int) (i % numKeys);
    String id = Long.toString(i);
    StringBuilder json = new StringBuilder(224);
    json.append("{\"event_id\":\"evt-")
        .append("0000000000", 0, Math.max(0, 10 - id.length()))
        .append(id)
        .append("\",\"key\":\"")
        .append(keyName(k))
        .append("\",\"metric\":\"")
        .append(metric(i))
        .append("\",\"value\":")
        .append(value(i))
        .append(",\"event_time\":\"")
        .append(Instant.ofEpochMilli(eventTimeMillis))
        .append("\",\"attributes\":{\"region\":\"")
        .append(REGIONS[k % REGIONS.length])
        .append("\",\"host\":\"edge-")
        .append(k % 500)
        .append(".example.net\",\"firmware\":\"2.")
        .append(Math.floorMod(h, 7))
        .append(".")
        .append(Math.floorMod(h >>> 8, 13))
        .append("\"}}");
    return json.toString().getBytes(StandardCharsets.UTF_8);
  }

  /** SplitMix64's finalizer: a cheap, well-spread hash of the index. */
  static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  @Override
  public String toString() {
    return numEvents
        + " events, "
        + numKeys
        + " keys x "
        + METRICS.length
        + " metrics, "
        + eventsPerSecond
        + " events/s of event time, 1-minute tumbling windows, rule mean("
        + RULE_METRIC
        + ") > "
        + threshold
        + (redeliverEvery == 0
            ? ""
            : ", plus one redelivery (an earlier event again) every " + redeliverEvery + " events");
  }
}

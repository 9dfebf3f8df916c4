package dev.sluice.io;

import dev.sluice.model.Event;
import java.io.Serializable;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.joda.time.Duration;
import org.joda.time.Instant;

/**
 * Generates the synthetic event with a given index: a pure function of the seed, the index and the
 * settings, so the same settings always produce the same events, however the work is split across
 * workers or bundles.
 */
final class SyntheticEvents implements Serializable {

  /** Kinds of malformed payload, each meant to hit a distinct dead-letter reason. */
  enum Malformation {
    TRUNCATED_JSON,
    MISSING_KEY,
    VALUE_NOT_A_NUMBER,
    NON_FINITE_VALUE,
    UNPARSEABLE_TIME,
    NOT_JSON
  }

  /** One generated payload and the event time it carries (its element timestamp). */
  record Generated(String payload, Instant timestamp, Malformation malformation) {}

  private final long seed;
  private final Instant startTime;
  private final double eventsPerSecond;
  private final int numKeys;
  private final List<String> metrics;
  private final double outOfOrderFraction;
  private final long maxOutOfOrderDelayMillis;
  private final double lateFraction;
  private final long allowedLatenessMillis;
  private final double malformedFraction;
  private final Set<String> spikeKeys;
  private final double spikeMagnitude;
  private final long spikeEveryMillis;
  private final long spikeLengthMillis;
  private final int keyWidth;

  SyntheticEvents(SyntheticIO.Read spec, Instant startTime) {
    this.seed = spec.seed();
    this.startTime = startTime;
    this.eventsPerSecond = spec.eventsPerSecond();
    this.numKeys = spec.numKeys();
    this.metrics = List.copyOf(spec.metrics());
    this.outOfOrderFraction = spec.outOfOrderFraction();
    this.maxOutOfOrderDelayMillis = spec.maxOutOfOrderDelay().getMillis();
    this.lateFraction = spec.lateFraction();
    this.allowedLatenessMillis = spec.allowedLateness().getMillis();
    this.malformedFraction = spec.malformedFraction();
    this.spikeKeys = Set.copyOf(spec.spikeKeys());
    this.spikeMagnitude = spec.spikeMagnitude();
    this.spikeEveryMillis = spec.spikeEvery().getMillis();
    this.spikeLengthMillis = spec.spikeLength().getMillis();
    this.keyWidth = keyWidth(numKeys);
  }

  /** The in-order event time of index {@code i}: events are spaced evenly at the rate. */
  Instant baseTime(long index) {
    return startTime.plus((long) Math.floor(index * 1000.0 / eventsPerSecond));
  }

  Duration maxOutOfOrderDelay() {
    return Duration.millis(maxOutOfOrderDelayMillis);
  }

  /** Extra delay beyond the watermark that makes an event late beyond the allowed lateness. */
  Duration lateMargin() {
    return Duration.millis(maxOutOfOrderDelayMillis + allowedLatenessMillis)
        .plus(Duration.standardMinutes(1));
  }

  String keyName(int keyIndex) {
    return paddedKey(keyWidth, keyIndex);
  }

  /** Keys are {@code sensor-} and the index, zero-padded to the width of the largest index. */
  private static int keyWidth(int numKeys) {
    return Math.max(3, String.valueOf(numKeys - 1).length());
  }

  /** The name of key {@code index} among {@code numKeys} keys. */
  static String keyName(int numKeys, int index) {
    return paddedKey(keyWidth(numKeys), index);
  }

  // String.format was a tenth of the main job's generator time; this is the same text.
  private static String paddedKey(int width, int index) {
    String digits = Integer.toString(index);
    StringBuilder name = new StringBuilder(7 + Math.max(width, digits.length())).append("sensor-");
    for (int pad = digits.length(); pad < width; pad++) {
      name.append('0');
    }
    return name.append(digits).toString();
  }

  /** Whether {@code key} is one of the keys generated with {@code numKeys} keys. */
  static boolean isKey(int numKeys, String key) {
    if (!key.startsWith("sensor-")) {
      return false;
    }
    String digits = key.substring("sensor-".length());
    if (digits.isEmpty() || digits.length() > 10 || !digits.chars().allMatch(Character::isDigit)) {
      return false;
    }
    long index = Long.parseLong(digits);
    return index < numKeys && keyName(numKeys, (int) index).equals(key);
  }

  Generated generate(long index) {
    SplittableRandom random = new SplittableRandom(mix(seed, index));
    int keyIndex = random.nextInt(numKeys);
    int metricIndex = random.nextInt(metrics.size());
    String key = keyName(keyIndex);
    String metric = metrics.get(metricIndex);

    long base = baseTime(index).getMillis();
    long eventTime = base;
    double disorder = random.nextDouble();
    if (disorder < lateFraction) {
      eventTime = base - lateMargin().getMillis() - (long) (random.nextDouble() * 60_000);
    } else if (disorder < lateFraction + outOfOrderFraction) {
      eventTime = base - (long) (random.nextDouble() * maxOutOfOrderDelayMillis);
    }

    double value = 20.0 + 30.0 * metricIndex + (keyIndex % 7) + 2.0 * random.nextGaussian();
    if (spikeKeys.contains(key) && isSpiking(eventTime)) {
      value += spikeMagnitude;
    }
    value = Math.round(value * 1000.0) / 1000.0;

    Event event =
        new Event(
            "evt-" + index,
            key,
            metric,
            value,
            new Instant(eventTime),
            new java.util.TreeMap<>(Map.of("site", "site-" + (keyIndex % 5))));
    String payload = event.toJson();
    Malformation malformation = null;
    if (random.nextDouble() < malformedFraction) {
      Malformation[] kinds = Malformation.values();
      malformation = kinds[random.nextInt(kinds.length)];
      payload = malform(payload, event, malformation);
    }
    return new Generated(payload, new Instant(eventTime), malformation);
  }

  private boolean isSpiking(long eventTime) {
    long sinceStart = eventTime - startTime.getMillis();
    return Math.floorMod(sinceStart, spikeEveryMillis) < spikeLengthMillis;
  }

  private static String malform(String payload, Event event, Malformation malformation) {
    switch (malformation) {
      case TRUNCATED_JSON:
        return payload.substring(0, payload.length() / 2);
      case MISSING_KEY:
        return payload.replace("\"key\":\"" + event.key() + "\",", "");
      case VALUE_NOT_A_NUMBER:
        return payload.replaceFirst("\"value\":[^,]+", "\"value\":\"n/a\"");
      case NON_FINITE_VALUE:
        return payload.replaceFirst("\"value\":[^,]+", "\"value\":NaN");
      case UNPARSEABLE_TIME:
        return payload.replaceFirst("\"event_time\":\"[^\"]+\"", "\"event_time\":\"yesterday\"");
      case NOT_JSON:
        return "<event id=\"" + event.eventId() + "\"/>";
      default:
        throw new AssertionError(malformation);
    }
  }

  /** SplitMix64 finaliser over seed and index: independent streams per index. */
  private static long mix(long seed, long index) {
    long z = seed * 0x9E3779B97F4A7C15L + index;
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }
}

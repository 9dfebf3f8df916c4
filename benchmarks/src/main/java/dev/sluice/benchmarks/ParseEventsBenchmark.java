package dev.sluice.benchmarks;

import dev.sluice.model.Event;
import dev.sluice.model.JsonSupport;
import dev.sluice.transforms.EventParser;
import dev.sluice.transforms.ParseEvents;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.beam.sdk.transforms.windowing.BoundedWindow;
import org.joda.time.Instant;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/** Throughput of the parsing path of {@code ParseEvents}: one contract payload to one event. */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class ParseEventsBenchmark {
  private EventParser parser;
  private byte[] payload;
  private byte[] malformed;
  private byte[] payloadWithExtras;

  @Setup
  public void setup() {
    parser = EventParser.of(ParseEvents.fromJson());
    payload =
        Event.of(
                "evt-123456",
                "sensor-042",
                "temperature",
                21.375,
                JsonSupport.parseInstant("2026-01-01T00:00:01.250Z"))
            .withAttributes(java.util.Map.of("site", "site-2", "floor", "3"))
            .toJson()
            .getBytes(StandardCharsets.UTF_8);
    String json = new String(payload, StandardCharsets.UTF_8);
    payloadWithExtras =
        ("{\"source\":{\"host\":\"edge-7\",\"firmware\":\"4.2.1\",\"tags\":[\"a\",\"b\"]},"
                + "\"seq\":123456,\"quality\":0.98,"
                + json.substring(1))
            .getBytes(StandardCharsets.UTF_8);
    malformed =
        "{\"event_id\":\"evt-1\",\"key\":\"sensor-1\",\"value\":".getBytes(StandardCharsets.UTF_8);
  }

  @Benchmark
  public List<Event> parseValidPayload() throws EventParser.Rejection {
    return parser.parse(payload, Instant.EPOCH);
  }

  /** The same payload through the tree path alone, as every payload was parsed before. */
  @Benchmark
  public List<Event> parseValidPayloadTreePath() throws EventParser.Rejection {
    return parser.parseWithTree(payload, Instant.EPOCH);
  }

  /** A valid payload with members the contract does not read, which the streaming path skips. */
  @Benchmark
  public List<Event> parseValidPayloadWithExtras() throws EventParser.Rejection {
    return parser.parse(payloadWithExtras, Instant.EPOCH);
  }

  @Benchmark
  public List<Event> parseValidPayloadWithExtrasTreePath() throws EventParser.Rejection {
    return parser.parseWithTree(payloadWithExtras, Instant.EPOCH);
  }

  /** The Kafka reader's timestamp of the payload: its event time alone (no events built). */
  @Benchmark
  public Object eventTimeOfValidPayload() {
    return parser.eventTime(payload);
  }

  /** How the Kafka reader timestamped a payload before: a whole parse, keeping the time. */
  @Benchmark
  public Object eventTimeOfValidPayloadByParsing() throws EventParser.Rejection {
    return parser.parse(payload, BoundedWindow.TIMESTAMP_MIN_VALUE).get(0).eventTime();
  }

  @Benchmark
  public Object rejectMalformedPayload() {
    try {
      return parser.parse(malformed, Instant.EPOCH);
    } catch (EventParser.Rejection rejection) {
      return rejection.reason();
    }
  }
}

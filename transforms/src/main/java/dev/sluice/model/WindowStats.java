package dev.sluice.model;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.Serializable;
import org.apache.beam.sdk.coders.CoderProvider;
import org.apache.beam.sdk.coders.CoderProviders;
import org.apache.beam.sdk.coders.DefaultCoder;
import org.apache.beam.sdk.values.TypeDescriptor;
import org.joda.time.Instant;

/**
 * Aggregates of one (key, metric) over one event-time window, as emitted in one pane.
 *
 * <p>{@code stddev} is the population standard deviation. {@code p50}, {@code p95}, {@code p99} and
 * {@code distinct} are {@code null} when the aggregation did not compute them; they are then left
 * out of the JSON form. {@code finalPane} is the contract's {@code final}: no later pane of this
 * window will follow.
 */
@DefaultCoder(WindowStats.WindowStatsCoder.class)
public record WindowStats(
    String key,
    String metric,
    Instant windowStart,
    Instant windowEnd,
    long count,
    double sum,
    double min,
    double max,
    double mean,
    Double stddev,
    Double p50,
    Double p95,
    Double p99,
    Long distinct,
    PaneTiming pane,
    long paneIndex,
    boolean finalPane)
    implements Serializable {

  public WindowStats {
    requireNonNull(key, "key");
    requireNonNull(metric, "metric");
    requireNonNull(windowStart, "windowStart");
    requireNonNull(windowEnd, "windowEnd");
    requireNonNull(pane, "pane");
  }

  public String toJson() {
    return JsonSupport.writeObject(
        gen -> {
          gen.writeStringField("key", key);
          gen.writeStringField("metric", metric);
          JsonSupport.writeInstant(gen, "window_start", windowStart);
          JsonSupport.writeInstant(gen, "window_end", windowEnd);
          gen.writeNumberField("count", count);
          gen.writeNumberField("sum", sum);
          gen.writeNumberField("min", min);
          gen.writeNumberField("max", max);
          gen.writeNumberField("mean", mean);
          JsonSupport.writeNullableNumber(gen, "stddev", stddev);
          JsonSupport.writeNullableNumber(gen, "p50", p50);
          JsonSupport.writeNullableNumber(gen, "p95", p95);
          JsonSupport.writeNullableNumber(gen, "p99", p99);
          if (distinct != null) {
            gen.writeNumberField("distinct", distinct);
          }
          gen.writeStringField("pane", pane.name());
          gen.writeNumberField("pane_index", paneIndex);
          gen.writeBooleanField("final", finalPane);
        });
  }

  /** Reads stats written by {@link #toJson()}. */
  public static WindowStats fromJson(String json) {
    JsonNode node = JsonSupport.readTree(json);
    JsonNode distinct = node.get("distinct");
    JsonNode finalNode = node.get("final");
    if (finalNode == null || !finalNode.isBoolean()) {
      throw new IllegalArgumentException("field 'final' must be a boolean");
    }
    return new WindowStats(
        JsonSupport.text(node, "key"),
        JsonSupport.text(node, "metric"),
        JsonSupport.instant(node, "window_start"),
        JsonSupport.instant(node, "window_end"),
        JsonSupport.longValue(node, "count"),
        JsonSupport.number(node, "sum"),
        JsonSupport.number(node, "min"),
        JsonSupport.number(node, "max"),
        JsonSupport.number(node, "mean"),
        JsonSupport.optionalNumber(node, "stddev"),
        JsonSupport.optionalNumber(node, "p50"),
        JsonSupport.optionalNumber(node, "p95"),
        JsonSupport.optionalNumber(node, "p99"),
        distinct == null || distinct.isNull() ? null : JsonSupport.longValue(node, "distinct"),
        PaneTiming.valueOf(JsonSupport.text(node, "pane")),
        JsonSupport.longValue(node, "pane_index"),
        finalNode.booleanValue());
  }

  /** Deterministic coder for {@link WindowStats}. */
  public static final class WindowStatsCoder extends DeterministicCoder<WindowStats> {
    private static final WindowStatsCoder INSTANCE = new WindowStatsCoder();

    /** Used by {@code @DefaultCoder}. */
    public static CoderProvider getCoderProvider() {
      return CoderProviders.forCoder(TypeDescriptor.of(WindowStats.class), INSTANCE);
    }

    public static WindowStatsCoder of() {
      return INSTANCE;
    }

    @Override
    public void encode(WindowStats s, OutputStream out) throws IOException {
      CoderSupport.writeString(s.key, out);
      CoderSupport.writeString(s.metric, out);
      CoderSupport.writeInstant(s.windowStart, out);
      CoderSupport.writeInstant(s.windowEnd, out);
      CoderSupport.writeLong(s.count, out);
      CoderSupport.writeDouble(s.sum, out);
      CoderSupport.writeDouble(s.min, out);
      CoderSupport.writeDouble(s.max, out);
      CoderSupport.writeDouble(s.mean, out);
      CoderSupport.writeNullableDouble(s.stddev, out);
      CoderSupport.writeNullableDouble(s.p50, out);
      CoderSupport.writeNullableDouble(s.p95, out);
      CoderSupport.writeNullableDouble(s.p99, out);
      CoderSupport.writeNullableLong(s.distinct, out);
      CoderSupport.writeEnum(s.pane, out);
      CoderSupport.writeLong(s.paneIndex, out);
      CoderSupport.writeBoolean(s.finalPane, out);
    }

    @Override
    public WindowStats decode(InputStream in) throws IOException {
      return new WindowStats(
          CoderSupport.readString(in),
          CoderSupport.readString(in),
          CoderSupport.readInstant(in),
          CoderSupport.readInstant(in),
          CoderSupport.readLong(in),
          CoderSupport.readDouble(in),
          CoderSupport.readDouble(in),
          CoderSupport.readDouble(in),
          CoderSupport.readDouble(in),
          CoderSupport.readNullableDouble(in),
          CoderSupport.readNullableDouble(in),
          CoderSupport.readNullableDouble(in),
          CoderSupport.readNullableDouble(in),
          CoderSupport.readNullableLong(in),
          CoderSupport.readEnum(PaneTiming.class, in),
          CoderSupport.readLong(in),
          CoderSupport.readBoolean(in));
    }

    @Override
    public boolean consistentWithEquals() {
      return true;
    }
  }
}

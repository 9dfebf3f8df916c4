package dev.sluice.rules;

import dev.sluice.model.DeterministicCoder;
import dev.sluice.model.WindowStats;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import org.apache.beam.sdk.coders.NullableCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.coders.VarLongCoder;

/**
 * One input of a rule-engine shard: a window's stats, a rule update (with the payload it came in,
 * for dead letters), or evidence that event time has reached a point.
 */
public record EngineInput(
    Type type, WindowStats stats, Rule rule, String payload, String source, long time) {

  /** What the input carries. */
  public enum Type {
    STATS,
    RULE,
    EVENT_TIME
  }

  public static EngineInput stats(WindowStats stats) {
    return new EngineInput(Type.STATS, stats, null, null, null, stats.windowEnd().getMillis());
  }

  public static EngineInput rule(Rule rule, String payload, String source) {
    return new EngineInput(Type.RULE, null, rule, payload, source, 0);
  }

  public static EngineInput eventTime(long time) {
    return new EngineInput(Type.EVENT_TIME, null, null, null, null, time);
  }

  /** Coder: a type tag, then the payload of that type. */
  public static final class EngineInputCoder extends DeterministicCoder<EngineInput> {
    private static final EngineInputCoder INSTANCE = new EngineInputCoder();
    private static final StringUtf8Coder STRING = StringUtf8Coder.of();
    private static final NullableCoder<String> NULLABLE = NullableCoder.of(STRING);
    private static final VarLongCoder LONG = VarLongCoder.of();

    public static EngineInputCoder of() {
      return INSTANCE;
    }

    @Override
    public void encode(EngineInput value, OutputStream out) throws IOException {
      STRING.encode(value.type.name(), out);
      switch (value.type) {
        case STATS:
          WindowStats.WindowStatsCoder.of().encode(value.stats, out);
          break;
        case RULE:
          Rule.RuleCoder.of().encode(value.rule, out);
          NULLABLE.encode(value.payload, out);
          NULLABLE.encode(value.source, out);
          break;
        case EVENT_TIME:
          LONG.encode(value.time, out);
          break;
        default:
          throw new AssertionError(value.type);
      }
    }

    @Override
    public EngineInput decode(InputStream in) throws IOException {
      Type type = Type.valueOf(STRING.decode(in));
      switch (type) {
        case STATS:
          return stats(WindowStats.WindowStatsCoder.of().decode(in));
        case RULE:
          return rule(Rule.RuleCoder.of().decode(in), NULLABLE.decode(in), NULLABLE.decode(in));
        case EVENT_TIME:
          return eventTime(LONG.decode(in));
        default:
          throw new AssertionError(type);
      }
    }
  }
}

package dev.sluice.rules;

import dev.sluice.model.DeterministicCoder;
import dev.sluice.model.WindowStats;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Collections;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import org.apache.beam.sdk.coders.DoubleCoder;
import org.apache.beam.sdk.coders.MapCoder;
import org.apache.beam.sdk.coders.NullableCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.coders.VarLongCoder;

/**
 * One input of a rule-engine shard: a window's stats (with its key's numeric reference values when
 * the rules are enriched), a rule update or a silence update (with the payload it came in, for dead
 * letters), or evidence that event time has reached a point.
 */
public record EngineInput(
    Type type,
    WindowStats stats,
    Rule rule,
    String payload,
    String source,
    long time,
    SortedMap<String, Double> reference,
    Silence silence,
    boolean judgedOnArrival) {

  /** What the input carries. */
  public enum Type {
    STATS,
    RULE,
    EVENT_TIME,
    SILENCE
  }

  /** Encoded type name of stats with reference values; plain stats keep the older encoding. */
  private static final String STATS_WITH_REFERENCE = "STATS_REF";

  /**
   * Suffix of the encoded type name of stats already judged on arrival ({@link
   * #judgedOnArrival()}); stats without it keep the older encoding.
   */
  private static final String JUDGED = "_JUDGED";

  public static EngineInput stats(WindowStats stats) {
    return stats(stats, null);
  }

  /** Stats with the numeric reference values of their key, or {@code null} for none. */
  public static EngineInput stats(WindowStats stats, Map<String, ?> reference) {
    SortedMap<String, Double> numbers = null;
    if (reference != null) {
      numbers = new TreeMap<>();
      for (Map.Entry<String, ?> cell : reference.entrySet()) {
        if (cell.getValue() instanceof Double d) {
          numbers.put(cell.getKey(), d);
        }
      }
      numbers = Collections.unmodifiableSortedMap(numbers);
    }
    return new EngineInput(
        Type.STATS, stats, null, null, null, stats.windowEnd().getMillis(), numbers, null, false);
  }

  /**
   * These stats, marked as judged on arrival by every rule but the absence rules, which judge them
   * when event time passes them.
   */
  public EngineInput judged() {
    if (type != Type.STATS) {
      throw new IllegalStateException("only stats are judged, not " + type);
    }
    return new EngineInput(type, stats, null, null, null, time, reference, null, true);
  }

  public static EngineInput rule(Rule rule, String payload, String source) {
    return new EngineInput(Type.RULE, null, rule, payload, source, 0, null, null, false);
  }

  public static EngineInput silence(Silence silence, String payload, String source) {
    return new EngineInput(Type.SILENCE, null, null, payload, source, 0, null, silence, false);
  }

  public static EngineInput eventTime(long time) {
    return new EngineInput(Type.EVENT_TIME, null, null, null, null, time, null, null, false);
  }

  /**
   * Coder: a type tag, then the payload of that type. Stats with reference values, and stats judged
   * on arrival, have tags of their own ({@code STATS_REF}, {@code STATS_JUDGED}, {@code
   * STATS_REF_JUDGED}), so state written before enrichment or judging on arrival existed decodes
   * unchanged.
   */
  public static final class EngineInputCoder extends DeterministicCoder<EngineInput> {
    private static final EngineInputCoder INSTANCE = new EngineInputCoder();
    private static final StringUtf8Coder STRING = StringUtf8Coder.of();
    private static final NullableCoder<String> NULLABLE = NullableCoder.of(STRING);
    private static final VarLongCoder LONG = VarLongCoder.of();
    private static final MapCoder<String, Double> REFERENCE =
        MapCoder.of(StringUtf8Coder.of(), DoubleCoder.of());

    public static EngineInputCoder of() {
      return INSTANCE;
    }

    @Override
    public void encode(EngineInput value, OutputStream out) throws IOException {
      boolean referenced = value.type == Type.STATS && value.reference != null;
      String tag = referenced ? STATS_WITH_REFERENCE : value.type.name();
      STRING.encode(value.judgedOnArrival ? tag + JUDGED : tag, out);
      switch (value.type) {
        case STATS:
          WindowStats.WindowStatsCoder.of().encode(value.stats, out);
          if (referenced) {
            REFERENCE.encode(value.reference, out);
          }
          break;
        case RULE:
          Rule.RuleCoder.of().encode(value.rule, out);
          NULLABLE.encode(value.payload, out);
          NULLABLE.encode(value.source, out);
          break;
        case EVENT_TIME:
          LONG.encode(value.time, out);
          break;
        case SILENCE:
          Silence.SilenceCoder.of().encode(value.silence, out);
          NULLABLE.encode(value.payload, out);
          NULLABLE.encode(value.source, out);
          break;
        default:
          throw new AssertionError(value.type);
      }
    }

    @Override
    public EngineInput decode(InputStream in) throws IOException {
      String tag = STRING.decode(in);
      if (tag.endsWith(JUDGED)) {
        String base = tag.substring(0, tag.length() - JUDGED.length());
        if (base.equals(STATS_WITH_REFERENCE)) {
          return stats(WindowStats.WindowStatsCoder.of().decode(in), REFERENCE.decode(in)).judged();
        }
        if (base.equals(Type.STATS.name())) {
          return stats(WindowStats.WindowStatsCoder.of().decode(in)).judged();
        }
        throw new IOException("not an engine input type: " + tag);
      }
      if (tag.equals(STATS_WITH_REFERENCE)) {
        return stats(WindowStats.WindowStatsCoder.of().decode(in), REFERENCE.decode(in));
      }
      Type type = Type.valueOf(tag);
      switch (type) {
        case STATS:
          return stats(WindowStats.WindowStatsCoder.of().decode(in));
        case RULE:
          return rule(Rule.RuleCoder.of().decode(in), NULLABLE.decode(in), NULLABLE.decode(in));
        case EVENT_TIME:
          return eventTime(LONG.decode(in));
        case SILENCE:
          return silence(
              Silence.SilenceCoder.of().decode(in), NULLABLE.decode(in), NULLABLE.decode(in));
        default:
          throw new AssertionError(type);
      }
    }
  }
}

package dev.sluice.transforms;

import dev.cel.common.CelAbstractSyntaxTree;
import dev.cel.common.CelOptions;
import dev.cel.common.CelValidationException;
import dev.cel.common.CelValidationResult;
import dev.cel.common.types.CelKind;
import dev.cel.common.types.CelType;
import dev.cel.common.types.MapType;
import dev.cel.common.types.SimpleType;
import dev.cel.compiler.CelCompiler;
import dev.cel.compiler.CelCompilerFactory;
import dev.cel.parser.CelStandardMacro;
import dev.cel.runtime.CelEvaluationException;
import dev.cel.runtime.CelRuntime;
import dev.cel.runtime.CelRuntimeFactory;
import java.io.Serializable;
import java.util.HashMap;
import java.util.Map;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * One expression in Google's Common Expression Language (CEL) over an event's JSON payload: typed,
 * sandboxed, without side effects. The payload is the variable {@code payload} (a map; JSON numbers
 * are doubles, so {@code payload.humidity * 1.5} works on {@code "humidity": 40}); with enrichment,
 * the key's reference row is {@code ref} and the event's key is {@code key}.
 *
 * <pre>{@code
 * PayloadExpression filter = PayloadExpression.of(
 *     "filter", "payload.meta.site != \"south\" && payload.temperature > -50.0",
 *     PayloadExpression.Result.BOOLEAN, false);
 * filter.prepare();
 * boolean keep = (Boolean) filter.evaluate(payloadMap, Map.of(), "sensor-1");
 * }</pre>
 *
 * <p>{@link #of} parses and type-checks the text and throws {@link IllegalArgumentException} with
 * CEL's message when it does not compile or cannot have the wanted result type. The compiled
 * program is not serializable: each worker compiles it again in {@link #prepare()} (a DoFn's
 * {@code @Setup}); evaluation never compiles. Comparisons between doubles and integer literals work
 * ({@code payload.temperature > 50}); arithmetic needs the same type on both sides ({@code
 * payload.temperature * 2.0}).
 */
public final class PayloadExpression implements Serializable {

  /** The type an expression must produce. */
  public enum Result {
    BOOLEAN(SimpleType.BOOL),
    STRING(SimpleType.STRING),
    DOUBLE(SimpleType.DOUBLE);

    private final CelType type;

    Result(CelType type) {
      this.type = type;
    }
  }

  /** Why an expression could not be evaluated on one payload. */
  public static final class EvaluationError extends Exception {
    EvaluationError(String message) {
      super(message, null, false, false);
    }
  }

  static final String PAYLOAD = "payload";
  static final String REF = "ref";
  static final String KEY = "key";

  private static final CelOptions OPTIONS =
      CelOptions.current()
          .enableHeterogeneousNumericComparisons(true)
          .maxExpressionCodePointSize(10_000)
          .comprehensionMaxIterations(10_000)
          .build();

  private final String field;
  private final String text;
  private final Result result;
  private final boolean usesReference;

  private transient CelRuntime.@Nullable Program program;

  private PayloadExpression(String field, String text, Result result, boolean usesReference) {
    this.field = field;
    this.text = text;
    this.result = result;
    this.usesReference = usesReference;
  }

  /**
   * Compiles {@code text}; {@code field} names it in messages (e.g. {@code derive.temperature_f}).
   * With {@code reference}, the expression may also read {@code ref} and {@code key}.
   *
   * @throws IllegalArgumentException naming the field, with CEL's message
   */
  public static PayloadExpression of(String field, String text, Result result, boolean reference) {
    Checks.notBlank("expression field", field);
    if (text == null || text.isBlank()) {
      throw new IllegalArgumentException(field + ": the expression is empty");
    }
    boolean usesReference = false;
    if (reference) {
      // Whether it reads ref or key decides when it can run: before or after the key lookup.
      usesReference = compile(field, text, result, false, true) == null;
    }
    compile(field, text, result, reference, false);
    return new PayloadExpression(field, text, result, usesReference);
  }

  /**
   * The checked syntax tree, or (with {@code quiet}) null when it does not compile; otherwise a
   * compile error is thrown.
   */
  private static @Nullable CelAbstractSyntaxTree compile(
      String field, String text, Result result, boolean reference, boolean quiet) {
    CelCompiler compiler = compiler(reference);
    CelValidationResult compiled = compiler.compile(text);
    if (compiled.hasError()) {
      if (quiet) {
        return null;
      }
      throw new IllegalArgumentException(
          field + ": '" + text + "' does not compile: " + compiled.getErrorString());
    }
    CelAbstractSyntaxTree ast;
    try {
      ast = compiled.getAst();
    } catch (CelValidationException e) {
      throw new IllegalArgumentException(field + ": " + e.getMessage(), e);
    }
    CelType type = ast.getResultType();
    if (type.kind() != CelKind.DYN && !result.type.isAssignableFrom(type)) {
      if (quiet) {
        return null;
      }
      boolean numeric = result == Result.DOUBLE && type.kind() == CelKind.INT;
      throw new IllegalArgumentException(
          field
              + ": '"
              + text
              + "' is a "
              + type.name()
              + ", expected a "
              + result.type.name()
              + (numeric ? " (write number literals with a decimal point, e.g. 2.0)" : ""));
    }
    return ast;
  }

  private static CelCompiler compiler(boolean reference) {
    MapType map = MapType.create(SimpleType.STRING, SimpleType.DYN);
    var builder =
        CelCompilerFactory.standardCelCompilerBuilder()
            .setOptions(OPTIONS)
            .setStandardMacros(CelStandardMacro.STANDARD_MACROS)
            .addVar(PAYLOAD, map);
    if (reference) {
      builder.addVar(REF, map).addVar(KEY, SimpleType.STRING);
    }
    return builder.build();
  }

  /** Compiles the program for this worker; call once (a DoFn's {@code @Setup}). */
  public void prepare() {
    try {
      CelRuntime runtime =
          CelRuntimeFactory.standardCelRuntimeBuilder().setOptions(OPTIONS).build();
      program = runtime.createProgram(compile(field, text, result, true, false));
    } catch (CelEvaluationException e) {
      throw new IllegalStateException(field + ": cannot build the program: " + e.getMessage(), e);
    }
  }

  /**
   * Evaluates on one payload.
   *
   * @param payload the JSON object, as maps, lists, strings, doubles and booleans
   * @param ref the key's reference row (empty without enrichment or without a row)
   * @param key the event's key, or null before it is known
   * @return a Boolean, String or finite Double, as the {@link Result} says
   * @throws EvaluationError naming the expression and the reason
   */
  public Object evaluate(Map<String, ?> payload, Map<String, ?> ref, @Nullable String key)
      throws EvaluationError {
    if (program == null) {
      prepare();
    }
    Map<String, Object> vars = new HashMap<>(4);
    vars.put(PAYLOAD, payload);
    vars.put(REF, ref);
    vars.put(KEY, key == null ? "" : key);
    Object value;
    try {
      value = program.eval(vars);
    } catch (CelEvaluationException e) {
      throw error(e.getMessage());
    } catch (RuntimeException e) {
      throw error(e.getClass().getSimpleName() + ": " + e.getMessage());
    }
    switch (result) {
      case BOOLEAN:
        if (value instanceof Boolean) {
          return value;
        }
        break;
      case STRING:
        if (value instanceof String s) {
          if (s.isEmpty()) {
            throw error("the result is an empty string");
          }
          return s;
        }
        break;
      case DOUBLE:
        if (value instanceof Double || value instanceof Long) {
          double d = ((Number) value).doubleValue();
          if (!Double.isFinite(d)) {
            throw error("the result is " + d + ", not a finite number");
          }
          return d;
        }
        break;
      default:
        throw new AssertionError(result);
    }
    throw error(
        "the result is a "
            + (value == null ? "null" : value.getClass().getSimpleName())
            + ", expected a "
            + result.name().toLowerCase(java.util.Locale.ROOT));
  }

  private EvaluationError error(String reason) {
    return new EvaluationError(field + " '" + text + "': " + reason);
  }

  /** Where the expression is configured, e.g. {@code filter} or {@code derive.temperature_f}. */
  public String field() {
    return field;
  }

  public String text() {
    return text;
  }

  /** Whether it reads {@code ref} or {@code key}, so it runs after the key's reference lookup. */
  public boolean usesReference() {
    return usesReference;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof PayloadExpression e
        && field.equals(e.field)
        && text.equals(e.text)
        && result == e.result
        && usesReference == e.usesReference;
  }

  @Override
  public int hashCode() {
    return text.hashCode();
  }

  @Override
  public String toString() {
    return field + ": " + text;
  }
}

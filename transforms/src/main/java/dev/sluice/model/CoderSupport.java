package dev.sluice.model;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import org.apache.beam.sdk.coders.BooleanCoder;
import org.apache.beam.sdk.coders.DoubleCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.coders.VarIntCoder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.joda.time.Instant;

/**
 * Field encoders shared by Sluice's coders (the model's, and the transforms' internal ones). Every
 * encoding is deterministic: fixed field order, doubles by their IEEE bits, maps in sorted key
 * order, an explicit presence flag for nullable fields.
 */
public final class CoderSupport {
  private static final StringUtf8Coder STRING = StringUtf8Coder.of();
  private static final VarLongCoder VAR_LONG = VarLongCoder.of();
  private static final VarIntCoder VAR_INT = VarIntCoder.of();
  private static final DoubleCoder DOUBLE = DoubleCoder.of();
  private static final BooleanCoder BOOLEAN = BooleanCoder.of();

  private CoderSupport() {}

  public static void writeString(String value, OutputStream out) throws IOException {
    STRING.encode(value, out);
  }

  public static String readString(InputStream in) throws IOException {
    return STRING.decode(in);
  }

  public static void writeNullableString(String value, OutputStream out) throws IOException {
    writeBoolean(value != null, out);
    if (value != null) {
      writeString(value, out);
    }
  }

  public static String readNullableString(InputStream in) throws IOException {
    return readBoolean(in) ? readString(in) : null;
  }

  public static void writeLong(long value, OutputStream out) throws IOException {
    VAR_LONG.encode(value, out);
  }

  public static long readLong(InputStream in) throws IOException {
    return VAR_LONG.decode(in);
  }

  public static void writeInt(int value, OutputStream out) throws IOException {
    VAR_INT.encode(value, out);
  }

  public static int readInt(InputStream in) throws IOException {
    return VAR_INT.decode(in);
  }

  public static void writeDouble(double value, OutputStream out) throws IOException {
    DOUBLE.encode(value, out);
  }

  public static double readDouble(InputStream in) throws IOException {
    return DOUBLE.decode(in);
  }

  public static void writeNullableDouble(Double value, OutputStream out) throws IOException {
    writeBoolean(value != null, out);
    if (value != null) {
      writeDouble(value, out);
    }
  }

  public static Double readNullableDouble(InputStream in) throws IOException {
    return readBoolean(in) ? readDouble(in) : null;
  }

  public static void writeNullableLong(Long value, OutputStream out) throws IOException {
    writeBoolean(value != null, out);
    if (value != null) {
      writeLong(value, out);
    }
  }

  public static Long readNullableLong(InputStream in) throws IOException {
    return readBoolean(in) ? readLong(in) : null;
  }

  public static void writeBoolean(boolean value, OutputStream out) throws IOException {
    BOOLEAN.encode(value, out);
  }

  public static boolean readBoolean(InputStream in) throws IOException {
    return BOOLEAN.decode(in);
  }

  /** A map of strings in key order (the map must iterate in key order, e.g. a SortedMap). */
  public static void writeStringMap(java.util.SortedMap<String, String> map, OutputStream out)
      throws IOException {
    writeInt(map.size(), out);
    for (java.util.Map.Entry<String, String> entry : map.entrySet()) {
      writeString(entry.getKey(), out);
      writeString(entry.getValue(), out);
    }
  }

  public static java.util.SortedMap<String, String> readStringMap(InputStream in)
      throws IOException {
    int size = readInt(in);
    java.util.SortedMap<String, String> map = new java.util.TreeMap<>();
    for (int i = 0; i < size; i++) {
      map.put(readString(in), readString(in));
    }
    return map;
  }

  /** Instants as epoch millis; the model never holds a null instant. */
  public static void writeInstant(Instant value, OutputStream out) throws IOException {
    writeLong(value.getMillis(), out);
  }

  public static Instant readInstant(InputStream in) throws IOException {
    return new Instant(readLong(in));
  }

  /** Enums by name, so reordering constants never changes what old bytes mean. */
  public static void writeEnum(Enum<?> value, OutputStream out) throws IOException {
    writeString(value.name(), out);
  }

  public static <E extends Enum<E>> E readEnum(Class<E> type, InputStream in) throws IOException {
    return Enum.valueOf(type, readString(in));
  }
}

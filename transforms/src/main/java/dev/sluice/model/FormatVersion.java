package dev.sluice.model;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import org.apache.beam.sdk.util.VarInt;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * A format version for coders whose first encoded field is a string, so that bytes written before
 * the format had a version still decode: a version is written as a negative length, which no string
 * has. Old bytes read as version 1 with their first string already read.
 *
 * <pre>{@code
 * FormatVersion.write(2, out);            // encode: version first, then every field
 * FormatVersion v = FormatVersion.read(in);
 * String first = v.firstString() != null ? v.firstString() : readString(in);
 * boolean silenced = v.version() >= 2 && readBoolean(in);
 * }</pre>
 */
public record FormatVersion(int version, @Nullable String firstString) {

  /** Writes {@code version} (at least 2; version 1 is the unversioned format). */
  public static void write(int version, OutputStream out) throws IOException {
    if (version < 2) {
      throw new IllegalArgumentException("versions start at 2, got " + version);
    }
    VarInt.encode(-version, out);
  }

  /**
   * Reads a version, or, from bytes of the unversioned format, version 1 and the first string (a
   * {@code StringUtf8Coder} string: its length, then its UTF-8 bytes).
   */
  public static FormatVersion read(InputStream in) throws IOException {
    int n = VarInt.decodeInt(in);
    if (n < 0) {
      return new FormatVersion(-n, null);
    }
    byte[] bytes = in.readNBytes(n);
    if (bytes.length < n) {
      throw new EOFException("a string of " + n + " bytes ended after " + bytes.length);
    }
    return new FormatVersion(1, new String(bytes, StandardCharsets.UTF_8));
  }
}

package dev.sluice.model;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.Serializable;
import java.util.Arrays;
import org.apache.beam.sdk.coders.ByteArrayCoder;
import org.apache.beam.sdk.coders.CoderProvider;
import org.apache.beam.sdk.coders.CoderProviders;
import org.apache.beam.sdk.coders.DefaultCoder;
import org.apache.beam.sdk.values.TypeDescriptor;

/**
 * The bytes of one input record as a source delivered them, with where they came from ({@code
 * topic/partition/offset}, {@code file:line}, or {@code null} when unknown), before any parsing.
 */
@DefaultCoder(RawPayload.RawPayloadCoder.class)
public record RawPayload(byte[] bytes, String source) implements Serializable {

  public RawPayload {
    requireNonNull(bytes, "bytes");
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof RawPayload that
        && Arrays.equals(bytes, that.bytes)
        && java.util.Objects.equals(source, that.source);
  }

  @Override
  public int hashCode() {
    return 31 * Arrays.hashCode(bytes) + java.util.Objects.hashCode(source);
  }

  @Override
  public String toString() {
    return "RawPayload[" + bytes.length + " bytes from " + source + "]";
  }

  /** Deterministic coder for {@link RawPayload}. */
  public static final class RawPayloadCoder extends DeterministicCoder<RawPayload> {
    private static final RawPayloadCoder INSTANCE = new RawPayloadCoder();
    private static final ByteArrayCoder BYTES = ByteArrayCoder.of();

    /** Used by {@code @DefaultCoder}. */
    public static CoderProvider getCoderProvider() {
      return CoderProviders.forCoder(TypeDescriptor.of(RawPayload.class), INSTANCE);
    }

    public static RawPayloadCoder of() {
      return INSTANCE;
    }

    @Override
    public void encode(RawPayload value, OutputStream out) throws IOException {
      BYTES.encode(value.bytes, out);
      CoderSupport.writeNullableString(value.source, out);
    }

    @Override
    public RawPayload decode(InputStream in) throws IOException {
      return new RawPayload(BYTES.decode(in), CoderSupport.readNullableString(in));
    }

    @Override
    public boolean consistentWithEquals() {
      return true;
    }
  }
}

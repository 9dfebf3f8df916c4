package dev.sluice.model;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.apache.beam.sdk.coders.CoderProvider;
import org.apache.beam.sdk.coders.CoderProviders;
import org.apache.beam.sdk.coders.DefaultCoder;
import org.apache.beam.sdk.values.TypeDescriptor;
import org.joda.time.Instant;

/**
 * An input that a stage could not process, with why, and the original payload so it can be
 * inspected and replayed.
 *
 * <p>Exactly one of {@code payload} (the original text, unmodified) and {@code payloadBase64} (the
 * original bytes, when they are not valid UTF-8) is set. {@code source} names where the input came
 * from ({@code topic/partition/offset}, {@code file:line}) or is {@code null} when unknown.
 */
@DefaultCoder(DeadLetter.DeadLetterCoder.class)
public record DeadLetter(
    String stage,
    Reason reason,
    String error,
    String payload,
    String payloadBase64,
    String source,
    Instant failedAt)
    implements Serializable {

  /** Why an input was rejected: the contract's upper-snake {@code reason} codes. */
  public enum Reason {
    /** Not parseable as JSON (syntax error, truncated, trailing content, empty). */
    MALFORMED_JSON,
    /** A CSV row has bad quoting, is not UTF-8, or has more or fewer cells than its header. */
    MALFORMED_CSV,
    /** A required field is absent, null or empty. */
    MISSING_FIELD,
    /** A field, or the document itself, has the wrong JSON type or an unparseable value. */
    BAD_TYPE,
    /** A numeric value is NaN or infinite. */
    NON_FINITE_VALUE,
    /** A numeric value is finite but beyond the magnitude the aggregations can square and sum. */
    VALUE_OUT_OF_RANGE,
    /** The payload exceeds a size, nesting depth, string, key or line length limit. */
    TOO_LARGE,
    /** The event time is before the allowed minimum or too far in the future. */
    TIMESTAMP_OUT_OF_RANGE,
    /** The element arrived after its window's allowed lateness. */
    TOO_LATE,
    /** An external sink refused the element after all retries. */
    SINK_REJECTED,
    /** A rule update is not a valid rule (syntax, unknown field, bad condition or setting). */
    INVALID_RULE,
    /** A rule update's version is older than, or conflicts with, the version in force. */
    RULE_VERSION_CONFLICT,
    /** A key or metric name contains a control character. */
    INVALID_KEY,
    /**
     * A filter, key or derive expression cannot be evaluated on the payload (a missing field, a
     * wrong type, a non-finite result).
     */
    EXPRESSION_ERROR
  }

  public DeadLetter {
    requireNonNull(stage, "stage");
    requireNonNull(reason, "reason");
    requireNonNull(error, "error");
    requireNonNull(failedAt, "failedAt");
    if ((payload == null) == (payloadBase64 == null)) {
      throw new IllegalArgumentException("exactly one of payload and payloadBase64 must be set");
    }
  }

  /** A dead letter for a text payload. */
  public static DeadLetter of(
      String stage, Reason reason, String error, String payload, String source, Instant failedAt) {
    return new DeadLetter(stage, reason, error, payload, null, source, failedAt);
  }

  /**
   * A dead letter for raw bytes: kept as text when they are valid UTF-8, else as base64, so the
   * original is always recoverable exactly.
   */
  public static DeadLetter ofBytes(
      String stage, Reason reason, String error, byte[] payload, String source, Instant failedAt) {
    String text = decodeUtf8OrNull(payload);
    return text != null
        ? new DeadLetter(stage, reason, error, text, null, source, failedAt)
        : new DeadLetter(
            stage,
            reason,
            error,
            null,
            Base64.getEncoder().encodeToString(payload),
            source,
            failedAt);
  }

  /** The marker that {@link #withPayloadAtMost} appends to the error of a truncated dead letter. */
  public static final String TRUNCATED_MARKER = "[payload truncated: ";

  /**
   * This dead letter, or, when its payload is longer than {@code maxBytes} bytes (UTF-8; base64
   * counts as its decoded bytes), a copy whose payload is the first {@code maxBytes} bytes and
   * whose error ends with {@code [payload truncated: first N of M bytes, SHA-256 <hex> of the
   * original]}, so a sink with a size limit still gets the dead letter and the original can be
   * recognised.
   */
  public DeadLetter withPayloadAtMost(int maxBytes) {
    byte[] bytes = payloadBytes();
    if (bytes.length <= maxBytes) {
      return this;
    }
    return truncated(
        stage, reason, error, bytes, bytes.length, sha256(bytes), maxBytes, source, failedAt);
  }

  /**
   * A dead letter for a payload of which only {@code prefix} was kept (e.g. a line too long to
   * read), marked as truncated with the original's length and SHA-256.
   */
  public static DeadLetter truncated(
      String stage,
      Reason reason,
      String error,
      byte[] prefix,
      long originalLength,
      String originalSha256,
      int maxBytes,
      String source,
      Instant failedAt) {
    int keep = (int) Math.min(maxBytes, prefix.length);
    // Cut at a character boundary, so a UTF-8 payload stays text.
    while (keep > 0 && keep < prefix.length && (prefix[keep] & 0xC0) == 0x80) {
      keep--;
    }
    byte[] kept = java.util.Arrays.copyOf(prefix, keep);
    String marked =
        error
            + " "
            + TRUNCATED_MARKER
            + "first "
            + keep
            + " of "
            + originalLength
            + " bytes, SHA-256 "
            + originalSha256
            + " of the original]";
    return ofBytes(stage, reason, marked, kept, source, failedAt);
  }

  /** Lower-case hex SHA-256 of {@code bytes}. */
  public static String sha256(byte[] bytes) {
    try {
      return java.util.HexFormat.of()
          .formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The original payload bytes. */
  public byte[] payloadBytes() {
    return payload != null
        ? payload.getBytes(StandardCharsets.UTF_8)
        : Base64.getDecoder().decode(payloadBase64);
  }

  /** Strictly decodes UTF-8; {@code null} when the bytes are not valid UTF-8. */
  public static String decodeUtf8OrNull(byte[] bytes) {
    try {
      return StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes))
          .toString();
    } catch (CharacterCodingException e) {
      return null;
    }
  }

  public String toJson() {
    return JsonSupport.writeObject(
        gen -> {
          gen.writeStringField("stage", stage);
          gen.writeStringField("reason", reason.name());
          gen.writeStringField("error", error);
          if (payload != null) {
            gen.writeStringField("payload", payload);
          } else {
            gen.writeStringField("payload_base64", payloadBase64);
          }
          if (source != null) {
            gen.writeStringField("source", source);
          }
          JsonSupport.writeInstant(gen, "failed_at", failedAt);
        });
  }

  /** Reads a dead letter written by {@link #toJson()}. */
  public static DeadLetter fromJson(String json) {
    JsonNode node = JsonSupport.readTree(json);
    return new DeadLetter(
        JsonSupport.text(node, "stage"),
        Reason.valueOf(JsonSupport.text(node, "reason")),
        JsonSupport.text(node, "error"),
        JsonSupport.optionalText(node, "payload"),
        JsonSupport.optionalText(node, "payload_base64"),
        JsonSupport.optionalText(node, "source"),
        JsonSupport.instant(node, "failed_at"));
  }

  /** Deterministic coder for {@link DeadLetter}. */
  public static final class DeadLetterCoder extends DeterministicCoder<DeadLetter> {
    private static final DeadLetterCoder INSTANCE = new DeadLetterCoder();

    /** Used by {@code @DefaultCoder}. */
    public static CoderProvider getCoderProvider() {
      return CoderProviders.forCoder(TypeDescriptor.of(DeadLetter.class), INSTANCE);
    }

    public static DeadLetterCoder of() {
      return INSTANCE;
    }

    @Override
    public void encode(DeadLetter d, OutputStream out) throws IOException {
      CoderSupport.writeString(d.stage, out);
      CoderSupport.writeEnum(d.reason, out);
      CoderSupport.writeString(d.error, out);
      CoderSupport.writeNullableString(d.payload, out);
      CoderSupport.writeNullableString(d.payloadBase64, out);
      CoderSupport.writeNullableString(d.source, out);
      CoderSupport.writeInstant(d.failedAt, out);
    }

    @Override
    public DeadLetter decode(InputStream in) throws IOException {
      return new DeadLetter(
          CoderSupport.readString(in),
          CoderSupport.readEnum(Reason.class, in),
          CoderSupport.readString(in),
          CoderSupport.readNullableString(in),
          CoderSupport.readNullableString(in),
          CoderSupport.readNullableString(in),
          CoderSupport.readInstant(in));
    }

    @Override
    public boolean consistentWithEquals() {
      return true;
    }
  }
}

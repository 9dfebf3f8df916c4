package dev.sluice.model;

import org.apache.beam.sdk.coders.CustomCoder;

/**
 * Base of Sluice's hand-written coders: stateless singletons whose encodings are deterministic (a
 * fixed field order, doubles by their bits, maps in key order, enums by name), so they can encode
 * keys and state. Two instances of the same coder class are equal.
 *
 * @param <T> the encoded type
 */
public abstract class DeterministicCoder<T> extends CustomCoder<T> {

  @Override
  public final void verifyDeterministic() {
    // Deterministic by construction; see the class comment.
  }

  @Override
  public boolean equals(Object other) {
    return other != null && other.getClass() == getClass();
  }

  @Override
  public int hashCode() {
    return getClass().hashCode();
  }
}

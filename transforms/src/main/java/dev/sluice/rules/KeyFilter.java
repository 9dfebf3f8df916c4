package dev.sluice.rules;

import java.io.Serializable;
import java.util.regex.Pattern;

/**
 * Which keys a rule applies to: an exact key ({@code sensor-7}) or a glob where {@code *} matches
 * any run of characters and {@code ?} one character ({@code sensor-*}, {@code eu-??-*}). {@code *}
 * alone matches every key.
 */
public record KeyFilter(String pattern) implements Serializable {
  public static final KeyFilter ALL = new KeyFilter("*");

  public KeyFilter {
    if (pattern == null || pattern.isEmpty()) {
      throw new IllegalArgumentException("keys must not be empty; use * for every key");
    }
    if (pattern.length() > 500) {
      throw new IllegalArgumentException("keys must be at most 500 characters");
    }
  }

  public boolean isGlob() {
    return pattern.indexOf('*') >= 0 || pattern.indexOf('?') >= 0;
  }

  public boolean matches(String key) {
    if (!isGlob()) {
      return pattern.equals(key);
    }
    if (pattern.equals("*")) {
      return true;
    }
    return compiled().matcher(key).matches();
  }

  private Pattern compiled() {
    // Judged for every window of every key: compile each glob once per JVM. Rules are few, so
    // the cache stays small; if something floods it, it is simply dropped and refilled.
    Pattern cached = COMPILED.get(pattern);
    if (cached != null) {
      return cached;
    }
    if (COMPILED.size() > 10_000) {
      COMPILED.clear();
    }
    Pattern compiled = compile(pattern);
    COMPILED.put(pattern, compiled);
    return compiled;
  }

  private static final java.util.concurrent.ConcurrentHashMap<String, Pattern> COMPILED =
      new java.util.concurrent.ConcurrentHashMap<>();

  private static Pattern compile(String pattern) {
    StringBuilder regex = new StringBuilder();
    StringBuilder literal = new StringBuilder();
    for (char c : pattern.toCharArray()) {
      if (c == '*' || c == '?') {
        if (literal.length() > 0) {
          regex.append(Pattern.quote(literal.toString()));
          literal.setLength(0);
        }
        regex.append(c == '*' ? ".*" : ".");
      } else {
        literal.append(c);
      }
    }
    if (literal.length() > 0) {
      regex.append(Pattern.quote(literal.toString()));
    }
    return Pattern.compile(regex.toString(), Pattern.DOTALL);
  }

  @Override
  public String toString() {
    return pattern;
  }
}

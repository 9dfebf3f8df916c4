package dev.sluice.rules;

/** How a rule compares a value with its threshold. */
public enum Comparison {
  GT(">"),
  GE(">="),
  LT("<"),
  LE("<=");

  private final String symbol;

  Comparison(String symbol) {
    this.symbol = symbol;
  }

  public String symbol() {
    return symbol;
  }

  public boolean holds(double value, double threshold) {
    switch (this) {
      case GT:
        return value > threshold;
      case GE:
        return value >= threshold;
      case LT:
        return value < threshold;
      case LE:
        return value <= threshold;
      default:
        throw new AssertionError(this);
    }
  }

  static Comparison parse(String symbol) {
    for (Comparison c : values()) {
      if (c.symbol.equals(symbol)) {
        return c;
      }
    }
    throw new IllegalArgumentException("unknown comparison '" + symbol + "'; use >, >=, <, <=");
  }
}

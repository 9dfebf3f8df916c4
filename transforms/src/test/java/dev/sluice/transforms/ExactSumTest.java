package dev.sluice.transforms;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigDecimal;
import java.math.MathContext;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ExactSumTest {

  private static double sumOf(List<Double> values) {
    ExactSum sum = new ExactSum();
    values.forEach(sum::add);
    return sum.value();
  }

  private static double exactlyRounded(List<Double> values) {
    BigDecimal exact = BigDecimal.ZERO;
    for (double value : values) {
      exact = exact.add(new BigDecimal(value));
    }
    return exact.round(MathContext.DECIMAL128).doubleValue();
  }

  @Test
  void keepsWhatAPlainDoubleSumLoses() {
    List<Double> values = List.of(1e100, 1.0, -1e100, 1e-30);
    assertThat(values.stream().mapToDouble(Double::doubleValue).sum()).isNotEqualTo(1.0 + 1e-30);
    assertThat(sumOf(values)).isEqualTo(1.0 + 1e-30);
  }

  @Test
  void resultIsTheCorrectlyRoundedSumWhateverTheOrderOrSplit() {
    Random random = new Random(11);
    List<Double> values = new ArrayList<>();
    for (int i = 0; i < 5_000; i++) {
      values.add((random.nextDouble() - 0.5) * Math.pow(10, random.nextInt(30) - 10));
    }
    double expected = exactlyRounded(values);
    for (int round = 0; round < 20; round++) {
      Collections.shuffle(values, random);
      assertThat(sumOf(values)).isEqualTo(expected);
      int cut = random.nextInt(values.size());
      ExactSum left = new ExactSum();
      values.subList(0, cut).forEach(left::add);
      ExactSum right = new ExactSum();
      values.subList(cut, values.size()).forEach(right::add);
      right.addAll(left);
      assertThat(right.value()).isEqualTo(expected);
      assertThat(ExactSum.ofPartials(right.partials()).value()).isEqualTo(expected);
    }
  }

  @Test
  void productsAreAddedExactly() {
    double a = 0.1;
    double b = 0.3;
    ExactSum sum = new ExactSum();
    sum.addProduct(a, b);
    BigDecimal exact = new BigDecimal(a).multiply(new BigDecimal(b));
    BigDecimal kept = BigDecimal.ZERO;
    for (double partial : sum.partials()) {
      kept = kept.add(new BigDecimal(partial));
    }
    assertThat(kept).isEqualByComparingTo(exact);
  }

  @Test
  void emptySumIsZero() {
    assertThat(new ExactSum().value()).isEqualTo(0.0);
  }
}

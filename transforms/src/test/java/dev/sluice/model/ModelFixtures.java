package dev.sluice.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import org.joda.time.Instant;

/**
 * Fixtures for tests of the model and of everything built on it; exported in the test-jar of {@code
 * sluice-transforms}.
 */
public final class ModelFixtures {
  /** A minute-aligned instant all test data starts from. */
  public static final Instant T0 = JsonSupport.parseInstant("2026-01-01T00:00:00Z");

  private static final ObjectMapper MAPPER = new ObjectMapper();

  /** The WindowStats contract's field names, in the order they are written. */
  public static final List<String> WINDOW_STATS_FIELDS =
      List.of(
          "key",
          "metric",
          "window_start",
          "window_end",
          "count",
          "sum",
          "min",
          "max",
          "mean",
          "stddev",
          "p50",
          "p95",
          "p99",
          "distinct",
          "pane",
          "pane_index",
          "final");

  /** {@link #WINDOW_STATS_FIELDS} without the given (not computed) fields. */
  public static List<String> windowStatsFieldsWithout(String... omitted) {
    List<String> fields = new ArrayList<>(WINDOW_STATS_FIELDS);
    fields.removeAll(List.of(omitted));
    return fields;
  }

  private ModelFixtures() {}

  /**
   * The single on-time, final pane of one 1-minute window starting {@code minute} minutes after
   * {@link #T0}; {@code mean} is {@code sum / count}, quantiles and distinct are not computed.
   */
  public static WindowStats onTimeMinute(
      String key,
      String metric,
      int minute,
      long count,
      double sum,
      double min,
      double max,
      double stddev) {
    Instant start = T0.plus(minute * 60_000L);
    return new WindowStats(
        key,
        metric,
        start,
        start.plus(60_000),
        count,
        sum,
        min,
        max,
        sum / count,
        stddev,
        null,
        null,
        null,
        null,
        PaneTiming.ON_TIME,
        0,
        true);
  }

  /** A copy of {@code stats} with the given quantiles. */
  public static WindowStats withQuantiles(WindowStats stats, double p50, double p95, double p99) {
    return new WindowStats(
        stats.key(),
        stats.metric(),
        stats.windowStart(),
        stats.windowEnd(),
        stats.count(),
        stats.sum(),
        stats.min(),
        stats.max(),
        stats.mean(),
        stats.stddev(),
        p50,
        p95,
        p99,
        stats.distinct(),
        stats.pane(),
        stats.paneIndex(),
        stats.finalPane());
  }

  /** Top-level field names of a JSON object, in the order written. */
  public static List<String> fieldNames(String json) {
    List<String> names = new ArrayList<>();
    try {
      MAPPER.readTree(json).fieldNames().forEachRemaining(names::add);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return names;
  }
}

package dev.sluice.pipelines;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * The IoT example's one-minute windows computed without Sluice, Beam or CEL: plain Java over the
 * JSON lines, with the spec's filter, key, derived metric and mapping written out by hand. The
 * reference the pipeline's stats are checked against.
 */
final class IndependentIot {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private IndependentIot() {}

  /** Every window as {@link #row}, sorted. */
  static SortedSet<String> windows(Path dir) throws IOException {
    Map<String, double[]> acc = new TreeMap<>(); // count, min, max
    Map<String, BigDecimal> sums = new TreeMap<>();
    List<Path> files;
    try (Stream<Path> list = Files.list(dir)) {
      files = list.filter(p -> p.toString().endsWith(".jsonl")).sorted().toList();
    }
    for (Path file : files) {
      for (String line : Files.readAllLines(file)) {
        JsonNode r;
        try {
          r = MAPPER.readTree(line);
        } catch (IOException e) {
          continue; // malformed: a dead letter
        }
        JsonNode site = r.path("meta").path("site");
        JsonNode t = r.path("temperature");
        JsonNode h = r.path("humidity");
        if (site.asText().equals("lab") || (t.isNumber() && t.asDouble() <= -50.0)) {
          continue; // the filter
        }
        if (!r.path("device").isTextual() || !t.isNumber() || !h.isNumber()) {
          continue; // a dead letter
        }
        String key = site.asText() + "/" + r.get("device").asText();
        String minute =
            Instant.parse(r.get("ts").asText()).truncatedTo(ChronoUnit.MINUTES).toString();
        double temperature = t.asDouble();
        add(acc, sums, key + "|temperature|" + minute, temperature);
        add(acc, sums, key + "|humidity|" + minute, h.asDouble());
        add(acc, sums, key + "|temperature_f|" + minute, temperature * 9.0 / 5.0 + 32.0);
      }
    }
    SortedSet<String> rows = new TreeSet<>();
    for (Map.Entry<String, double[]> e : acc.entrySet()) {
      String[] k = e.getKey().split("\\|");
      double[] a = e.getValue();
      rows.add(row(k[0], k[1], k[2], (long) a[0], a[1], a[2], sums.get(e.getKey()).doubleValue()));
    }
    return rows;
  }

  private static void add(
      Map<String, double[]> acc, Map<String, BigDecimal> sums, String window, double value) {
    double[] a =
        acc.computeIfAbsent(
            window, w -> new double[] {0, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY});
    a[0]++;
    a[1] = Math.min(a[1], value);
    a[2] = Math.max(a[2], value);
    sums.merge(window, new BigDecimal(value), BigDecimal::add);
  }

  /** One window, its time normalised to ISO seconds, its sum to 9 significant digits. */
  static String row(
      String key, String metric, String start, long count, double min, double max, double sum) {
    return String.format(
        Locale.ROOT,
        "%s %s %s %d %s %s %.9g",
        key,
        metric,
        Instant.parse(start).truncatedTo(ChronoUnit.SECONDS),
        count,
        min,
        max,
        sum);
  }
}

package dev.sluice.benchmarks.compare;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Paint;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.text.DecimalFormat;
import java.text.DecimalFormatSymbols;
import java.text.NumberFormat;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.annotations.CategoryTextAnnotation;
import org.jfree.chart.axis.AxisLocation;
import org.jfree.chart.axis.CategoryAnchor;
import org.jfree.chart.axis.CategoryAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.block.BlockBorder;
import org.jfree.chart.labels.ItemLabelAnchor;
import org.jfree.chart.labels.ItemLabelPosition;
import org.jfree.chart.labels.StandardCategoryItemLabelGenerator;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.plot.DatasetRenderingOrder;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.ValueMarker;
import org.jfree.chart.renderer.category.BarRenderer;
import org.jfree.chart.renderer.category.LineAndShapeRenderer;
import org.jfree.chart.renderer.category.StandardBarPainter;
import org.jfree.chart.title.LegendTitle;
import org.jfree.chart.title.TextTitle;
import org.jfree.chart.ui.HorizontalAlignment;
import org.jfree.chart.ui.RectangleEdge;
import org.jfree.chart.ui.RectangleInsets;
import org.jfree.chart.ui.TextAnchor;
import org.jfree.data.category.DefaultCategoryDataset;

/**
 * Draws a benchmark's results file as a PNG chart: the throughput of every implementation from a
 * {@code compare} report, the latency percentiles from a {@code latency} report. {@link Compare}
 * and {@link LatencyBenchmark} call it after writing their JSON; {@link #main} redraws a chart from
 * a results file alone, so the README's images can be regenerated without rerunning anything.
 *
 * <pre>{@code
 * benchmarks/run chart benchmarks/results/2026-12-01.json           # writes 2026-12-01.png
 * benchmarks/run chart benchmarks/results/2026-12-01-latency.json   # writes 2026-12-01-latency.png
 *
 * Charts.write(report, Paths.get("benchmarks/results/2026-12-01.png"));  // from Java
 * }</pre>
 *
 * <p>Every figure drawn is read from the report; nothing is computed but medians' ratios that the
 * report already holds. Rendering is headless (no display is needed or used).
 */
public final class Charts {
  /** Wide enough for the longest variant names and the ratio labels beside the bars. */
  static final int WIDTH = 1200;

  static {
    // Must be set before AWT initializes; benchmarks/run also passes -Djava.awt.headless=true.
    if (System.getProperty("java.awt.headless") == null) {
      System.setProperty("java.awt.headless", "true");
    }
  }

  private static final Color[] SERIES_COLORS = {
    new Color(0x1f77b4), new Color(0xff7f0e), new Color(0x2ca02c), new Color(0xd62728)
  };
  private static final Color INVALID = new Color(0x999999);
  private static final Font TITLE_FONT = new Font(Font.SANS_SERIF, Font.BOLD, 20);
  private static final Font SUBTITLE_FONT = new Font(Font.SANS_SERIF, Font.PLAIN, 13);
  private static final Font LABEL_FONT = new Font(Font.SANS_SERIF, Font.PLAIN, 14);

  private Charts() {}

  /** Redraws the chart of every results file named, next to it with the extension {@code .png}. */
  public static void main(String[] args) throws IOException {
    if (args.length == 0) {
      System.err.println("usage: benchmarks/run chart RESULTS.json [RESULTS.json ...]");
      System.exit(2);
    }
    ObjectMapper mapper = new ObjectMapper();
    for (String arg : args) {
      Path json = Paths.get(arg);
      Path png = pngBeside(json);
      write(mapper.readTree(json.toFile()), png);
      System.out.println("Written: " + png);
    }
  }

  /** {@code dir/name.json} becomes {@code dir/name.png}. */
  static Path pngBeside(Path json) {
    String name = json.getFileName().toString();
    String base = name.endsWith(".json") ? name.substring(0, name.length() - 5) : name;
    return json.resolveSibling(base + ".png");
  }

  /** Writes the chart of a compare or latency report, whichever {@code report} is. */
  public static Path write(JsonNode report, Path png) throws IOException {
    if (report.has("results")) {
      return save(compareChart(report), png, compareHeight(report));
    }
    if (report.has("alert_ms_after_window_end")) {
      return save(latencyChart(report), png, LATENCY_HEIGHT);
    }
    throw new IllegalArgumentException(
        "not a compare or latency results file (no 'results' and no 'alert_ms_after_window_end')");
  }

  /** The image height of a compare chart: one bar per implementation, titles above and below. */
  static int compareHeight(JsonNode report) {
    int optionLines = 0;
    for (JsonNode row : report.get("results")) {
      // A line each; the long ones (checkpoint settings) wrap once.
      optionLines += row.get("options").asText().isEmpty() ? 0 : 1;
      optionLines += row.get("options").asText().length() > 140 ? 1 : 0;
    }
    return 320 + 64 * report.get("results").size() + 18 * optionLines;
  }

  static final int LATENCY_HEIGHT = 700;

  private static Path save(JFreeChart chart, Path png, int height) throws IOException {
    Path parent = png.toAbsolutePath().getParent();
    if (parent != null) {
      Files.createDirectories(parent);
    }
    ChartUtils.saveChartAsPNG(png.toFile(), chart, WIDTH, height);
    return png;
  }

  /**
   * Horizontal bars, the median events/s of every implementation, labelled with the figure and its
   * ratio to native Flink (or to plain Java when native Flink was not run); a dashed line at the
   * native-Flink median makes the ratio visible; a dot per repetition shows the spread.
   */
  static JFreeChart compareChart(JsonNode report) {
    JsonNode results = report.get("results");
    long events = report.get("events").asLong();
    int reps = report.get("repetitions").asInt();
    DefaultCategoryDataset medians = new DefaultCategoryDataset();
    DefaultCategoryDataset each = new DefaultCategoryDataset();
    List<String> categories = new ArrayList<>();
    List<Boolean> valid = new ArrayList<>();
    String medianSeries = reps > 1 ? "median of " + reps + " repetitions" : "1 repetition";
    for (JsonNode row : results) {
      String category = row.get("name").asText();
      if (row.get("events").asLong() != events) {
        // The Direct runner gets a smaller input; the label must say so next to its bar.
        category += String.format(Locale.ROOT, " (%,d events)", row.get("events").asLong());
      }
      if (!row.get("valid").asBoolean()) {
        category += " OUTPUT DIFFERS";
      }
      categories.add(category);
      valid.add(row.get("valid").asBoolean());
      medians.addValue(row.get("median_events_per_second").asDouble(), medianSeries, category);
      if (reps > 1) {
        int k = 1;
        for (JsonNode run : row.get("runs")) {
          each.addValue(run.get("events_per_second").asDouble(), "repetition " + k++, category);
        }
      }
    }
    String baseline = Compare.medianOf(results, "native-flink") > 0 ? "native-flink" : "plain-java";
    String ratioField = baseline.equals("native-flink") ? "to_native_flink" : "to_plain_java";
    double baselineRate = Compare.medianOf(results, baseline);

    NumberAxis rateAxis =
        new NumberAxis("events per second (higher is better; the clock includes job start-up)");
    rateAxis.setNumberFormatOverride(grouped());
    // Room on the right of the longest bar for its label.
    rateAxis.setUpperMargin(0.42);
    rateAxis.setLabelFont(LABEL_FONT);
    CategoryAxis implAxis = new CategoryAxis(null);
    implAxis.setTickLabelFont(LABEL_FONT);
    implAxis.setMaximumCategoryLabelWidthRatio(0.4f);

    BarRenderer bars =
        new BarRenderer() {
          @Override
          public Paint getItemPaint(int row, int column) {
            return valid.get(column) ? SERIES_COLORS[0] : INVALID;
          }
        };
    styleBars(bars);
    bars.setSeriesPaint(0, SERIES_COLORS[0]);
    bars.setMaximumBarWidth(0.7);
    // Item labels would start at the bar's end, under the dots of faster repetitions: the
    // labels are annotations that start right of the farthest mark of their row instead.
    bars.setDefaultItemLabelsVisible(false);

    CategoryPlot plot = new CategoryPlot(medians, implAxis, rateAxis, bars);
    plot.setOrientation(PlotOrientation.HORIZONTAL);
    if (reps > 1) {
      LineAndShapeRenderer dots = new LineAndShapeRenderer(false, true);
      for (int k = 0; k < reps; k++) {
        dots.setSeriesPaint(k, Color.BLACK);
        dots.setSeriesShape(k, new java.awt.geom.Ellipse2D.Double(-4, -4, 8, 8));
        // One legend entry for all repetitions: they are one kind of mark.
        dots.setSeriesVisibleInLegend(k, k == 0);
      }
      dots.setLegendItemLabelGenerator((dataset, series) -> "each repetition");
      plot.setDataset(1, each);
      plot.setRenderer(1, dots);
      // Datasets drawn in index order: the dots on top of the bars.
      plot.setDatasetRenderingOrder(DatasetRenderingOrder.FORWARD);
    }
    for (int column = 0; column < results.size(); column++) {
      JsonNode r = results.get(column);
      JsonNode ratio = report.path("ratios").path(r.get("name").asText()).path(ratioField);
      double median = r.get("median_events_per_second").asDouble();
      String label = "  " + grouped().format(median) + " events/s";
      if (ratio.isNumber()) {
        label += String.format(Locale.ROOT, "   %.2f× %s", ratio.asDouble(), pretty(baseline));
      }
      CategoryTextAnnotation text =
          new CategoryTextAnnotation(
              label,
              categories.get(column),
              Math.max(median, reps > 1 ? r.get("max_events_per_second").asDouble() : 0));
      text.setFont(LABEL_FONT);
      text.setTextAnchor(TextAnchor.CENTER_LEFT);
      text.setCategoryAnchor(CategoryAnchor.MIDDLE);
      plot.addAnnotation(text);
    }
    plot.setRangeAxisLocation(AxisLocation.BOTTOM_OR_LEFT);
    if (baselineRate > 0) {
      ValueMarker marker = new ValueMarker(baselineRate);
      marker.setPaint(Color.DARK_GRAY);
      marker.setStroke(
          new BasicStroke(
              1.5f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[] {6f, 4f}, 0f));
      marker.setLabel(pretty(baseline) + " = 1.00×");
      marker.setLabelFont(SUBTITLE_FONT);
      marker.setLabelBackgroundColor(Color.WHITE);
      marker.setLabelAnchor(org.jfree.chart.ui.RectangleAnchor.TOP_RIGHT);
      marker.setLabelTextAnchor(TextAnchor.TOP_LEFT);
      marker.setLabelOffset(new RectangleInsets(2, 4, 2, 4));
      plot.addRangeMarker(marker);
    }
    stylePlot(plot);

    JFreeChart chart =
        new JFreeChart(
            "Throughput of the reference workload, per implementation", TITLE_FONT, plot, reps > 1);
    chart.addSubtitle(
        subtitle(report.get("command").asText() + "   ·   " + report.get("date").asText()));
    chart.addSubtitle(
        subtitle(
            String.format(
                Locale.ROOT,
                "%,d events, %d repetition%s   ·   %s   ·   %s",
                events,
                reps,
                reps == 1 ? "" : "s",
                checkpointing(results),
                machine(report.get("machine")))));
    chart.addSubtitle(subtitle("Workload: " + report.get("workload").asText()));
    StringBuilder options = new StringBuilder();
    for (JsonNode row : results) {
      if (!row.get("options").asText().isEmpty()) {
        options.append(options.length() == 0 ? "Runner options:" : "").append("\n");
        options.append(row.get("name").asText()).append(" ").append(row.get("options").asText());
      }
    }
    if (options.length() > 0) {
      TextTitle bottom = subtitle(options.toString());
      bottom.setPosition(RectangleEdge.BOTTOM);
      chart.addSubtitle(bottom);
    }
    styleChart(chart);
    return chart;
  }

  /**
   * Grouped bars: p50, p90, p99 and max of the time from a window's end until its alert could be
   * read on the alerts topic and until its stats rows were visible in PostgreSQL, with the 1-second
   * target as a line. Percentiles a report does not hold (older reports have no p90) are left out.
   */
  static JFreeChart latencyChart(JsonNode report) {
    DefaultCategoryDataset data = new DefaultCategoryDataset();
    JsonNode alerts = report.get("alert_ms_after_window_end");
    JsonNode rows = report.get("stats_row_ms_after_window_end");
    String alertSeries =
        String.format(
            Locale.ROOT, "alert readable on the alerts topic (n = %,d)", alerts.get("n").asLong());
    String rowSeries =
        String.format(
            Locale.ROOT, "stats row visible in PostgreSQL (n = %,d)", rows.get("n").asLong());
    for (String p : List.of("p50", "p90", "p99", "max")) {
      if (!alerts.has(p) && !rows.has(p)) {
        continue;
      }
      // -1 (no sample at all) is drawn as no bar, not as a negative latency.
      data.addValue(msOrNull(alerts.get(p)), alertSeries, p);
      data.addValue(msOrNull(rows.get(p)), rowSeries, p);
    }
    NumberAxis msAxis = new NumberAxis("milliseconds from the window's end (lower is better)");
    msAxis.setNumberFormatOverride(grouped());
    msAxis.setUpperMargin(0.12);
    msAxis.setLabelFont(LABEL_FONT);
    CategoryAxis pAxis = new CategoryAxis("percentile over all measured windows");
    pAxis.setTickLabelFont(LABEL_FONT);
    pAxis.setLabelFont(LABEL_FONT);
    BarRenderer bars = new BarRenderer();
    styleBars(bars);
    bars.setSeriesPaint(0, SERIES_COLORS[1]);
    bars.setSeriesPaint(1, SERIES_COLORS[0]);
    bars.setItemMargin(0.05);
    bars.setDefaultItemLabelGenerator(new StandardCategoryItemLabelGenerator("{2} ms", grouped()));
    bars.setDefaultPositiveItemLabelPosition(
        new ItemLabelPosition(ItemLabelAnchor.OUTSIDE12, TextAnchor.BOTTOM_CENTER));
    CategoryPlot plot = new CategoryPlot(data, pAxis, msAxis, bars);
    ValueMarker target = new ValueMarker(1000);
    target.setPaint(new Color(0xd62728));
    target.setStroke(
        new BasicStroke(
            1.5f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[] {6f, 4f}, 0f));
    target.setLabel("target: p99 < 1,000 ms");
    target.setLabelFont(SUBTITLE_FONT);
    target.setLabelBackgroundColor(Color.WHITE);
    target.setLabelPaint(new Color(0xd62728));
    target.setLabelAnchor(org.jfree.chart.ui.RectangleAnchor.TOP_LEFT);
    target.setLabelTextAnchor(TextAnchor.BOTTOM_LEFT);
    plot.addRangeMarker(target);
    stylePlot(plot);

    JFreeChart chart =
        new JFreeChart(
            "Latency beyond the window close: Kafka → Sluice on Flink → PostgreSQL and Kafka",
            TITLE_FONT,
            plot,
            true);
    chart.addSubtitle(
        subtitle(
            String.format(
                Locale.ROOT,
                "%s   ·   %s%s%nproduced at %,d events/s (sustainable: %,d events/s)   ·   %d"
                    + " window%s measured after %d warm-up window(s)   ·   %,d events produced",
                report.get("command").asText(),
                report.get("date").asText(),
                report.has("machine") ? "   ·   " + machine(report.get("machine")) : "",
                report.get("rate_events_per_second").asLong(),
                report.get("sustainable_events_per_second").asLong(),
                report.get("windows_measured").asInt(),
                report.get("windows_measured").asInt() == 1 ? "" : "s",
                report.get("warmup_windows").asInt(),
                report.get("events_produced").asLong())));
    JsonNode complete = report.path("window_complete_ms_after_window_end");
    if (complete.size() > 0) {
      List<String> seconds = new ArrayList<>();
      Iterator<Map.Entry<String, JsonNode>> it = complete.fields();
      while (it.hasNext()) {
        seconds.add(String.format(Locale.ROOT, "%.1f s", it.next().getValue().asLong() / 1000.0));
      }
      chart.addSubtitle(
          subtitle(
              "Each measured window's last stats row was visible "
                  + String.join(", ", seconds)
                  + " after its end (1-minute tumbling windows, 30,000 series each)"));
    }
    TextTitle pipeline = subtitle(report.get("pipeline").asText());
    pipeline.setPosition(RectangleEdge.BOTTOM);
    chart.addSubtitle(pipeline);
    styleChart(chart);
    return chart;
  }

  private static Number msOrNull(JsonNode value) {
    return value == null || value.asLong() < 0 ? null : value.asLong();
  }

  /** "no checkpoints" unless a variant checkpoints (the launcher's settings or its own options). */
  private static String checkpointing(JsonNode results) {
    for (JsonNode row : results) {
      if (row.get("options").asText().contains("--checkpointingInterval")
          || row.get("options").asText().contains(Compare.CHECKPOINTING)) {
        return "checkpoints as in each variant's options (below)";
      }
    }
    return "no checkpoints";
  }

  private static String machine(JsonNode m) {
    if (m == null || m.isMissingNode()) {
      return "";
    }
    return m.has("cpu")
        ? String.format(Locale.ROOT, "%d cores (%s)", m.get("cores").asInt(), m.get("cpu").asText())
        : m.get("cores").asInt() + " cores";
  }

  private static String pretty(String name) {
    return name.equals("native-flink") ? "native Flink" : "plain Java";
  }

  private static NumberFormat grouped() {
    return new DecimalFormat("#,##0", DecimalFormatSymbols.getInstance(Locale.ROOT));
  }

  private static TextTitle subtitle(String text) {
    TextTitle t = new TextTitle(text, SUBTITLE_FONT);
    t.setPaint(Color.DARK_GRAY);
    t.setMargin(2, 20, 2, 20);
    return t;
  }

  private static void styleBars(BarRenderer bars) {
    // Flat bars: the default gradient and shadow make values harder to read off the axis.
    bars.setBarPainter(new StandardBarPainter());
    bars.setShadowVisible(false);
    bars.setDrawBarOutline(false);
    bars.setDefaultItemLabelsVisible(true);
    bars.setDefaultItemLabelFont(LABEL_FONT);
    bars.setDefaultItemLabelPaint(Color.BLACK);
  }

  private static void stylePlot(CategoryPlot plot) {
    plot.setBackgroundPaint(Color.WHITE);
    plot.setRangeGridlinePaint(new Color(0xcccccc));
    plot.setRangeGridlineStroke(new BasicStroke(1f));
    plot.setOutlineVisible(false);
    plot.getRangeAxis().setTickLabelFont(SUBTITLE_FONT);
  }

  private static void styleChart(JFreeChart chart) {
    chart.setBackgroundPaint(Color.WHITE);
    chart.setPadding(new RectangleInsets(12, 12, 12, 24));
    chart.getTitle().setHorizontalAlignment(HorizontalAlignment.CENTER);
    LegendTitle legend = chart.getLegend();
    if (legend != null) {
      legend.setItemFont(LABEL_FONT);
      legend.setFrame(BlockBorder.NONE);
      legend.setPosition(RectangleEdge.TOP);
    }
  }
}

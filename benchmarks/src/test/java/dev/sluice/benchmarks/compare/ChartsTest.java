package dev.sluice.benchmarks.compare;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChartsTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;

  /** A compare report as {@link Compare} writes it, three implementations, two repetitions. */
  private static JsonNode compareReport(boolean allValid) throws IOException {
    return JSON.readTree(
        ("{'date':'2026-12-01','command':'benchmarks/run compare --events=1000 --reps=2',"
                + "'workload':'1000 events, 10 keys x 3 metrics','events':1000,'warmup_events':100,"
                + "'repetitions':2,'machine':{'cores':2,'cpu':'Test CPU','memory_gib':1.0,"
                + "'os':'Linux','jvm':'JVM','jvm_flags':'-Xmx1g'},"
                + "'reference_sha256':{'1000':'ab'},'results':["
                + row("sluice-flink", 1000, 300, 320, true, "--objectReuse=true")
                + ","
                + row("native-flink", 1000, 600, 640, true, "")
                + ","
                + row("sluice-direct", 500, 50, 55, allValid, "")
                + "],'ratios':{'sluice-flink':{'to_native_flink':0.5},"
                + "'native-flink':{'to_native_flink':1.0},'sluice-direct':{'to_native_flink':0.08}}}")
            .replace('\'', '"'));
  }

  private static String row(
      String name, long events, double r1, double r2, boolean valid, String options) {
    return String.format(
        java.util.Locale.ROOT,
        "{'name':'%s','description':'d','options':'%s','events':%d,'valid':%b,"
            + "'median_events_per_second':%f,'min_events_per_second':%f,"
            + "'max_events_per_second':%f,'median_seconds':1.0,'stats_lines':3,'alert_lines':1,"
            + "'other_lines':0,'runs':[{'events_per_second':%f},{'events_per_second':%f}]}",
        name,
        options,
        events,
        valid,
        (r1 + r2) / 2,
        r1,
        r2,
        r1,
        r2);
  }

  private static JsonNode latencyReport(boolean withP90) throws IOException {
    return JSON.readTree(
        ("{'date':'2026-12-01','command':'benchmarks/run latency --windows=1',"
                + "'pipeline':'Kafka -> Sluice -> PostgreSQL','sustainable_events_per_second':60000,"
                + "'rate_events_per_second':30000,'events_produced':1000000,'windows_measured':1,"
                + "'warmup_windows':0,'windows_complete':1,'machine':{'cores':2,'cpu':'Test CPU'},"
                + "'alert_ms_after_window_end':{'n':10,'p50':700,"
                + (withP90 ? "'p90':900," : "")
                + "'p99':1500,'max':1600},"
                + "'stats_row_ms_after_window_end':{'n':0,'p50':-1,"
                + (withP90 ? "'p90':-1," : "")
                + "'p99':-1,'max':-1},"
                + "'window_complete_ms_after_window_end':{'1795584300000':6677},"
                + "'target_met':false}")
            .replace('\'', '"'));
  }

  private static BufferedImage decode(Path png) throws IOException {
    assertThat(png).exists();
    BufferedImage image = ImageIO.read(png.toFile());
    assertThat(image).as("a PNG ImageIO can decode").isNotNull();
    return image;
  }

  /** A chart that only drew its white background would still decode: look for ink. */
  private static void assertNotBlank(BufferedImage image) {
    long dark = 0;
    for (int y = 0; y < image.getHeight(); y += 2) {
      for (int x = 0; x < image.getWidth(); x += 2) {
        int rgb = image.getRGB(x, y);
        if (((rgb >> 16) & 0xff) + ((rgb >> 8) & 0xff) + (rgb & 0xff) < 384) {
          dark++;
        }
      }
    }
    assertThat(dark).as("dark pixels (text, bars)").isGreaterThan(1000);
  }

  @Test
  void compareChartIsAPngOfTheDocumentedSize() throws IOException {
    JsonNode report = compareReport(true);
    Path png = Charts.write(report, dir.resolve("compare.png"));

    BufferedImage image = decode(png);
    assertThat(image.getWidth()).isEqualTo(Charts.WIDTH);
    assertThat(image.getHeight()).isEqualTo(Charts.compareHeight(report));
    // One more line for sluice-flink's runner options.
    assertThat(Charts.compareHeight(report)).isEqualTo(320 + 64 * 3 + 18);
    assertNotBlank(image);
  }

  @Test
  void compareChartWithAnInvalidRunAndOneRepetitionIsDrawn() throws IOException {
    JsonNode report = compareReport(false);
    ((com.fasterxml.jackson.databind.node.ObjectNode) report).put("repetitions", 1);
    BufferedImage image = decode(Charts.write(report, dir.resolve("invalid.png")));
    assertThat(image.getWidth()).isEqualTo(Charts.WIDTH);
  }

  @Test
  void latencyChartIsAPngOfTheDocumentedSize() throws IOException {
    BufferedImage image = decode(Charts.write(latencyReport(true), dir.resolve("latency.png")));
    assertThat(image.getWidth()).isEqualTo(Charts.WIDTH);
    assertThat(image.getHeight()).isEqualTo(Charts.LATENCY_HEIGHT);
    assertNotBlank(image);
  }

  @Test
  void latencyReportWithoutP90IsDrawnWithTheOtherPercentiles() throws IOException {
    JsonNode report = latencyReport(false);
    assertThat(Charts.latencyChart(report).getCategoryPlot().getDataset().getColumnKeys())
        .containsExactly("p50", "p99", "max");
    assertThat(
            Charts.latencyChart(latencyReport(true)).getCategoryPlot().getDataset().getColumnKeys())
        .containsExactly("p50", "p90", "p99", "max");
    decode(Charts.write(report, dir.resolve("old-latency.png")));
  }

  @Test
  void mainRedrawsTheChartBesideTheResultsFile() throws IOException {
    Path json = dir.resolve("2026-12-01.json");
    Files.writeString(json, compareReport(true).toString());

    Charts.main(new String[] {json.toString()});

    assertThat(decode(dir.resolve("2026-12-01.png")).getWidth()).isEqualTo(Charts.WIDTH);
  }

  @Test
  void aFileThatIsNeitherReportIsRefusedWithItsReason() throws IOException {
    assertThatThrownBy(() -> Charts.write(JSON.readTree("{\"date\":\"x\"}"), dir.resolve("x.png")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("not a compare or latency results file");
  }

  /** The committed results files are what the README's images are redrawn from. */
  @Test
  void everyCommittedResultsFileCanBeRedrawn() throws IOException {
    Path results = Paths.get("results");
    List<Path> files;
    try (Stream<Path> list = Files.list(results)) {
      files = list.filter(p -> p.toString().endsWith(".json")).sorted().toList();
    }
    assertThat(files).isNotEmpty();
    for (Path json : files) {
      Path png = dir.resolve(json.getFileName() + ".png");
      Charts.write(JSON.readTree(json.toFile()), png);
      assertThat(decode(png).getWidth()).as(json.toString()).isEqualTo(Charts.WIDTH);
    }
  }
}

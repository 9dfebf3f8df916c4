package dev.sluice.benchmarks.compare;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Locale;

/** The Markdown table of a comparison report. */
final class Report {
  private Report() {}

  static String markdown(JsonNode report) {
    JsonNode m = report.get("machine");
    StringBuilder md = new StringBuilder();
    md.append("Workload: ").append(report.get("workload").asText()).append(".\n");
    md.append(
        String.format(
            Locale.ROOT,
            "Machine: %d cores (%s), %.1f GiB, %s, %s; each run a fresh JVM with %s.%n",
            m.get("cores").asInt(),
            m.get("cpu").asText(),
            m.get("memory_gib").asDouble(),
            m.get("os").asText(),
            m.get("jvm").asText(),
            m.get("jvm_flags").asText()));
    md.append(
        String.format(
            Locale.ROOT,
            "Command: `%s` (%s); %d measured repetitions, interleaved, each in a fresh JVM after a"
                + " warm-up run on a tenth of its input (at most %,d events).%n%n",
            report.get("command").asText(),
            report.get("date").asText(),
            report.get("repetitions").asInt(),
            report.get("warmup_events").asLong()));
    md.append(
        "| implementation | events | median events/s | min – max events/s | median s"
            + " | × native Flink | × plain Java | to the last result: s, events/s, × native Flink"
            + " | output |\n");
    md.append("|---|---:|---:|---:|---:|---:|---:|---:|---|\n");
    for (JsonNode row : report.get("results")) {
      JsonNode ratio = report.get("ratios").get(row.get("name").asText());
      md.append(
          String.format(
              Locale.ROOT,
              "| %s%s | %,d | %,.0f | %,.0f – %,.0f | %.1f | %s | %s | %s | %s |%n",
              row.get("name").asText(),
              row.get("options").asText().isEmpty()
                  ? ""
                  : " (`" + row.get("options").asText() + "`)",
              row.get("events").asLong(),
              row.get("median_events_per_second").asDouble(),
              row.get("min_events_per_second").asDouble(),
              row.get("max_events_per_second").asDouble(),
              row.get("median_seconds").asDouble(),
              ratio.has("to_native_flink")
                  ? String.format(Locale.ROOT, "%.2f", ratio.get("to_native_flink").asDouble())
                  : "–",
              ratio.has("to_plain_java")
                  ? String.format(Locale.ROOT, "%.2f", ratio.get("to_plain_java").asDouble())
                  : "–",
              toLastResult(row, ratio),
              (row.get("valid").asBoolean()
                      ? String.format(
                          Locale.ROOT,
                          "same (%,d stats, %,d alerts)",
                          row.get("stats_lines").asLong(),
                          row.get("alert_lines").asLong())
                      : "**DIFFERS: invalid**")
                  + checkpoints(row)));
    }
    md.append(
        "\nOutput check: \"same\" means every run's stats and alert lines, sorted, have the SHA-256"
            + " of the plain-Java output for the same input:");
    report
        .get("reference_sha256")
        .fields()
        .forEachRemaining(
            e ->
                md.append(
                    String.format(
                        Locale.ROOT,
                        " %,d events → %s…",
                        Long.parseLong(e.getKey()),
                        e.getValue().asText().substring(0, 16))));
    md.append(".\n");
    return md.toString();
  }

  /** The median time to the run's last result, its rate and that rate's ratio to native Flink's. */
  private static String toLastResult(JsonNode row, JsonNode ratio) {
    if (!row.has("median_seconds_to_last_result")) {
      return "–"; // a report from before this measure
    }
    return String.format(
        Locale.ROOT,
        "%.1f s, %,.0f, %s",
        row.get("median_seconds_to_last_result").asDouble(),
        row.get("median_events_per_second_to_last_result").asDouble(),
        ratio.has("to_native_flink_to_last_result")
            ? String.format(
                Locale.ROOT, "**%.2f**", ratio.get("to_native_flink_to_last_result").asDouble())
            : "–");
  }

  /** E.g. {@code ; checkpoints 3, 3, 4} for a checkpointing variant (per repetition). */
  private static String checkpoints(JsonNode row) {
    if (!row.has("checkpoints")) {
      return "";
    }
    StringBuilder out = new StringBuilder("; checkpoints ");
    for (JsonNode n : row.get("checkpoints")) {
      out.append(out.length() > 14 ? ", " : "").append(n.asInt());
    }
    return out.toString();
  }
}

package dev.sluice.pipelines.metrics;

import dev.sluice.io.AlertmanagerIO;
import dev.sluice.io.EventFilesIO;
import dev.sluice.io.JsonLinesIO;
import dev.sluice.io.KafkaJsonIO;
import dev.sluice.io.LogIO;
import dev.sluice.io.PostgresIO;
import dev.sluice.io.ReferenceTableIO;
import dev.sluice.io.WebhookIO;
import dev.sluice.transforms.CountDeadLetters;
import dev.sluice.transforms.Deduplicate;
import dev.sluice.transforms.EvaluateRules;
import dev.sluice.transforms.ParseEvents;
import dev.sluice.transforms.WindowedAggregate;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Sluice's Prometheus metrics: which Beam metric (namespace and name, as Sluice's transforms and
 * IOs keep them) becomes which Prometheus metric family and labels, and the snapshot of one scrape.
 * One vocabulary for every runner: the Direct runner's live Beam metrics ({@link MetricsEndpoint})
 * and the Flink TaskManagers' metrics (Sluice's Flink reporter in {@code runners-config}) both feed
 * {@link #snapshots}.
 *
 * <pre>{@code
 * List<SluiceMetrics.Reading> readings = List.of(
 *     SluiceMetrics.Reading.counter("sluice.parse", "payloads_read", 1000));
 * MetricSnapshots snapshots = SluiceMetrics.snapshots(readings, System.currentTimeMillis());
 * // sluice_events_read_total 1000.0
 * }</pre>
 *
 * <p>Counters are summed over steps, subtasks and workers; gauges take the largest value. Names
 * follow Prometheus' conventions: {@code sluice_} prefix, {@code snake_case}, {@code _total} on
 * counters (added by the exposition format), base units (seconds, records).
 */
public final class SluiceMetrics {
  private SluiceMetrics() {}

  /** What a Beam metric is: a counter (summed) or a gauge (largest value). */
  public enum Kind {
    COUNTER,
    GAUGE
  }

  /** One value read from a runner: a Beam metric's namespace and name, its kind, its value. */
  public record Reading(String namespace, String name, Kind kind, double value) {
    public static Reading counter(String namespace, String name, double value) {
      return new Reading(namespace, name, Kind.COUNTER, value);
    }

    public static Reading gauge(String namespace, String name, double value) {
      return new Reading(namespace, name, Kind.GAUGE, value);
    }
  }

  /** A Prometheus metric family: its name (without {@code _total}), kind, help and label names. */
  public record Family(String name, Kind kind, String help, List<String> labelNames) {}

  private record Sample(Family family, Labels labels, double scale) {}

  // --- The families (the README lists them; keep the two in step) -----------------------------
  static final Family EVENTS_READ =
      counter("sluice_events_read", "Payloads read from the source (before parsing).");
  static final Family EVENTS_PARSED = counter("sluice_events_parsed", "Events parsed.");
  static final Family EVENTS_FILTERED =
      counter("sluice_events_filtered", "Events the spec's filter expression left out.");
  static final Family EVENTS_DEDUPLICATED =
      counter("sluice_events_deduplicated", "Duplicate events dropped by event id.");
  static final Family DEAD_LETTERS =
      counter("sluice_dead_letters", "Dead letters, by stage and reason code.", "stage", "reason");
  static final Family LATE_EVENTS =
      counter("sluice_late_events", "Events that arrived after their window closed (late output).");
  static final Family WINDOWS_EMITTED =
      counter(
          "sluice_windows_emitted",
          "Window results (stats rows) emitted, by pane timing: early, on_time, late.",
          "timing");
  static final Family ALERT_TRANSITIONS =
      counter(
          "sluice_alert_transitions",
          "Alert transitions emitted, by rule, status (firing, resolved) and transition (fired,"
              + " resolved, renotified, sent_after_silence).",
          "rule",
          "status",
          "transition");
  static final Family ALERTS_SILENCED =
      counter("sluice_alerts_silenced", "Alert transitions stored but not sent (silenced).");
  static final Family RULE_UPDATES =
      counter(
          "sluice_rule_updates",
          "Rule and silence updates received at run time, by result (applied, rejected,"
              + " duplicate).",
          "result");
  static final Family SINK_WRITES =
      counter(
          "sluice_sink_writes",
          "Records written (or delivered) by sink type: postgres rows, webhook and alertmanager"
              + " deliveries, kafka records, jsonl lines, log lines.",
          "sink");
  static final Family SINK_RETRIES =
      counter("sluice_sink_retries", "Write attempts retried by a sink, by sink type.", "sink");
  static final Family SINK_REJECTS =
      counter(
          "sluice_sink_rejects",
          "Records a sink refused for good (they become SINK_REJECTED dead letters).",
          "sink");
  static final Family FILE_LINES_READ =
      counter("sluice_file_lines_read", "Lines read by the file source.");
  static final Family REFERENCE_LOADS =
      counter("sluice_reference_loads", "Reference table loads (enrichment).");
  static final Family REFERENCE_REFRESH_FAILURES =
      counter(
          "sluice_reference_refresh_failures",
          "Reference table refreshes that failed (the previous table stays in use).");
  static final Family WATERMARK =
      gauge(
          "sluice_watermark_timestamp_seconds",
          "Event-time watermark as the windowing step sees it (the end of the newest window"
              + " closed on time), in Unix seconds.");
  static final Family WATERMARK_LAG =
      gauge(
          "sluice_watermark_lag_seconds",
          "How far the event-time watermark is behind the wall clock at scrape time, in seconds.");
  static final Family KAFKA_LAG =
      gauge(
          "sluice_kafka_consumer_lag_records",
          "Records in a Kafka partition not yet read by the job (latest offset minus next"
              + " offset to read).",
          "topic",
          "partition");

  /** Every family, in the order a scrape lists them. */
  public static final List<Family> FAMILIES =
      List.of(
          EVENTS_READ,
          EVENTS_PARSED,
          EVENTS_FILTERED,
          EVENTS_DEDUPLICATED,
          DEAD_LETTERS,
          LATE_EVENTS,
          WINDOWS_EMITTED,
          ALERT_TRANSITIONS,
          ALERTS_SILENCED,
          RULE_UPDATES,
          SINK_WRITES,
          SINK_RETRIES,
          SINK_REJECTS,
          FILE_LINES_READ,
          REFERENCE_LOADS,
          REFERENCE_REFRESH_FAILURES,
          WATERMARK,
          WATERMARK_LAG,
          KAFKA_LAG);

  /** Unlabelled counters a scrape always shows (at zero before the first event), for rate(). */
  private static final List<Family> ALWAYS =
      List.of(
          EVENTS_READ,
          EVENTS_PARSED,
          EVENTS_FILTERED,
          EVENTS_DEDUPLICATED,
          LATE_EVENTS,
          ALERTS_SILENCED);

  private static Family counter(String name, String help, String... labels) {
    return new Family(name, Kind.COUNTER, help, List.of(labels));
  }

  private static Family gauge(String name, String help, String... labels) {
    return new Family(name, Kind.GAUGE, help, List.of(labels));
  }

  /** True for the Beam metric namespaces Sluice keeps ({@code sluice.*}). */
  public static boolean isSluiceNamespace(String namespace) {
    return namespace.startsWith("sluice.");
  }

  /**
   * The family and labels of a Beam metric, or null for a metric that is not exported (e.g. an
   * internal counter such as {@code windows_emitted}, which the per-timing counters add up to).
   */
  private static Sample sample(String namespace, String name) {
    switch (namespace) {
      case ParseEvents.METRICS_NAMESPACE:
        if (name.equals(ParseEvents.PAYLOADS_READ)) {
          return plain(EVENTS_READ);
        }
        if (name.equals(ParseEvents.EVENTS_PARSED)) {
          return plain(EVENTS_PARSED);
        }
        if (name.equals(ParseEvents.FILTERED_OUT)) {
          return plain(EVENTS_FILTERED);
        }
        return null; // per-reason counters: CountDeadLetters has them with their stage
      case Deduplicate.METRICS_NAMESPACE:
        return name.equals(Deduplicate.DUPLICATES_DROPPED) ? plain(EVENTS_DEDUPLICATED) : null;
      case CountDeadLetters.METRICS_NAMESPACE:
        if (name.startsWith(CountDeadLetters.PREFIX)) {
          String rest = name.substring(CountDeadLetters.PREFIX.length());
          int colon = rest.indexOf(':');
          if (colon > 0) {
            return labelled(
                DEAD_LETTERS,
                "stage",
                rest.substring(colon + 1),
                "reason",
                rest.substring(0, colon));
          }
        }
        return null;
      case WindowedAggregate.METRICS_NAMESPACE:
        if (name.equals(WindowedAggregate.LATE_EVENTS)) {
          return plain(LATE_EVENTS);
        }
        if (name.startsWith(WindowedAggregate.WINDOWS_EMITTED_BY_TIMING)) {
          String timing = name.substring(WindowedAggregate.WINDOWS_EMITTED_BY_TIMING.length());
          return labelled(WINDOWS_EMITTED, "timing", timing.toLowerCase(Locale.ROOT));
        }
        if (name.equals(WindowedAggregate.WATERMARK_MILLIS)) {
          return new Sample(WATERMARK, Labels.EMPTY, 1e-3);
        }
        return null;
      case EvaluateRules.METRICS_NAMESPACE:
        return rules(name);
      case PostgresIO.METRICS_NAMESPACE:
        return sink("postgres", name, "rows_written", "retries", "rows_rejected");
      case WebhookIO.METRICS_NAMESPACE:
        return sink("webhook", name, WebhookIO.DELIVERED, WebhookIO.RETRIES, WebhookIO.REJECTED);
      case AlertmanagerIO.METRICS_NAMESPACE:
        return sink(
            "alertmanager",
            name,
            AlertmanagerIO.DELIVERED,
            AlertmanagerIO.RETRIES,
            AlertmanagerIO.REJECTED);
      case LogIO.METRICS_NAMESPACE:
        return sink("log", name, LogIO.LOGGED, null, null);
      case JsonLinesIO.METRICS_NAMESPACE:
        return sink("jsonl", name, JsonLinesIO.LINES_WRITTEN, null, null);
      case KafkaJsonIO.METRICS_NAMESPACE:
        if (name.startsWith(KafkaJsonIO.CONSUMER_LAG_RECORDS)) {
          String rest = name.substring(KafkaJsonIO.CONSUMER_LAG_RECORDS.length());
          int colon = rest.indexOf(':');
          if (colon > 0) {
            return labelled(
                KAFKA_LAG,
                "topic",
                rest.substring(colon + 1),
                "partition",
                rest.substring(0, colon));
          }
          return null;
        }
        return sink("kafka", name, KafkaJsonIO.RECORDS_WRITTEN, null, null);
      case EventFilesIO.METRICS_NAMESPACE:
        return name.equals(EventFilesIO.LINES_READ) ? plain(FILE_LINES_READ) : null;
      case ReferenceTableIO.METRICS_NAMESPACE:
        if (name.equals(ReferenceTableIO.LOADS)) {
          return plain(REFERENCE_LOADS);
        }
        return name.equals(ReferenceTableIO.REFRESH_FAILURES)
            ? plain(REFERENCE_REFRESH_FAILURES)
            : null;
      default:
        return null;
    }
  }

  private static Sample rules(String name) {
    if (name.startsWith(EvaluateRules.ALERT_TRANSITIONS)) {
      String[] parts = name.substring(EvaluateRules.ALERT_TRANSITIONS.length()).split(":", 3);
      if (parts.length == 3) {
        return labelled(
            ALERT_TRANSITIONS,
            "rule",
            parts[2],
            "status",
            parts[0].toLowerCase(Locale.ROOT),
            "transition",
            parts[1].toLowerCase(Locale.ROOT));
      }
      return null;
    }
    return switch (name) {
      case EvaluateRules.ALERTS_SILENCED -> plain(ALERTS_SILENCED);
      case EvaluateRules.RULE_UPDATES_APPLIED, EvaluateRules.SILENCE_UPDATES_APPLIED ->
          labelled(RULE_UPDATES, "result", "applied");
      case EvaluateRules.RULE_UPDATES_REJECTED -> labelled(RULE_UPDATES, "result", "rejected");
      case EvaluateRules.RULE_UPDATES_DUPLICATE -> labelled(RULE_UPDATES, "result", "duplicate");
      default -> null;
    };
  }

  private static Sample sink(
      String sink, String name, String written, String retried, String rejected) {
    if (name.equals(written)) {
      return labelled(SINK_WRITES, "sink", sink);
    }
    if (name.equals(retried)) {
      return labelled(SINK_RETRIES, "sink", sink);
    }
    if (name.equals(rejected)) {
      return labelled(SINK_REJECTS, "sink", sink);
    }
    return null;
  }

  private static Sample plain(Family family) {
    return new Sample(family, Labels.EMPTY, 1);
  }

  private static Sample labelled(Family family, String... namesAndValues) {
    return new Sample(family, Labels.of(namesAndValues), 1);
  }

  /**
   * The snapshot of one scrape: {@code readings} mapped to families (counters summed, gauges
   * largest), the watermark lag computed against {@code nowMillis}.
   */
  public static MetricSnapshots snapshots(Iterable<Reading> readings, long nowMillis) {
    Map<Family, Map<Labels, Double>> values = new LinkedHashMap<>();
    for (Family family : ALWAYS) {
      values.computeIfAbsent(family, f -> new TreeMap<>()).put(Labels.EMPTY, 0.0);
    }
    for (Reading reading : readings) {
      Sample sample = sample(reading.namespace(), reading.name());
      if (sample == null) {
        continue;
      }
      double value = reading.value() * sample.scale();
      Map<Labels, Double> points = values.computeIfAbsent(sample.family(), f -> new TreeMap<>());
      if (sample.family().kind() == Kind.COUNTER) {
        points.merge(sample.labels(), value, Double::sum);
      } else {
        points.merge(sample.labels(), value, Math::max);
      }
    }
    Map<Labels, Double> watermark = values.get(WATERMARK);
    if (watermark != null && watermark.containsKey(Labels.EMPTY)) {
      double lag = nowMillis / 1e3 - watermark.get(Labels.EMPTY);
      values.computeIfAbsent(WATERMARK_LAG, f -> new TreeMap<>()).put(Labels.EMPTY, lag);
    }
    List<MetricSnapshot> snapshots = new ArrayList<>();
    for (Family family : FAMILIES) {
      Map<Labels, Double> points = values.get(family);
      if (points == null) {
        continue;
      }
      if (family.kind() == Kind.COUNTER) {
        CounterSnapshot.Builder builder =
            CounterSnapshot.builder().name(family.name()).help(family.help());
        points.forEach(
            (labels, value) ->
                builder.dataPoint(
                    CounterSnapshot.CounterDataPointSnapshot.builder()
                        .labels(labels)
                        .value(value)
                        .build()));
        snapshots.add(builder.build());
      } else {
        GaugeSnapshot.Builder builder =
            GaugeSnapshot.builder().name(family.name()).help(family.help());
        points.forEach(
            (labels, value) ->
                builder.dataPoint(
                    GaugeSnapshot.GaugeDataPointSnapshot.builder()
                        .labels(labels)
                        .value(value)
                        .build()));
        snapshots.add(builder.build());
      }
    }
    return new MetricSnapshots(snapshots);
  }
}

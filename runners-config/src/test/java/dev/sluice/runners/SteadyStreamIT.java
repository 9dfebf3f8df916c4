package dev.sluice.runners;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.model.Alert;
import dev.sluice.pipelines.spec.PipelineSpec;
import dev.sluice.pipelines.spec.SpecPipeline;
import dev.sluice.pipelines.spec.SpecReader;
import dev.sluice.testing.KafkaBroker;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Windows close while events keep flowing: a Kafka topic fed without a pause at 10,000 events/s,
 * read by the {@link RunnerPreset#FLINK} preset on embedded Flink, gives alerts within seconds of
 * each 2-second window's end, long before the stream stops. (With bundles of 5,000 elements or 100
 * ms, Beam's Flink operators held the watermark for as long as the stream ran: a bundle that ended
 * on its time limit never let the watermark out before the next element opened another.)
 */
class SteadyStreamIT {
  private static final Duration WINDOW = Duration.ofSeconds(2);
  private static final int EVENTS_PER_SECOND = 10_000;
  private static final Duration PRODUCING = Duration.ofSeconds(60);

  @Test
  void alertsOfEachWindowComeWhileTheStreamStillFlows(@TempDir Path dir) throws Exception {
    try (KafkaBroker kafka = KafkaBroker.start(dir.resolve("kafka"))) {
      kafka.createTopic("readings", 2);
      kafka.createTopic("alerts", 1);
      PipelineSpec spec =
          SpecReader.parse(
              "steady.yaml",
              String.join(
                  "\n",
                  "name: steady",
                  "source:",
                  "  type: kafka",
                  "  bootstrap_servers: " + kafka.bootstrapServers(),
                  "  topics: [readings]",
                  "  max_out_of_order: 500ms",
                  "windows: [{type: tumbling, size: 2s}]",
                  "rules: [{id: hot, condition: mean(temperature) > 50}]",
                  "sinks:",
                  "  alerts: [{type: kafka, topic: alerts}]",
                  ""));
      Pipeline pipeline =
          Pipeline.create(
              PipelineOptionsFactory.fromArgs(
                      RunnerPreset.FLINK
                          .mergeWith(List.of("--streaming=true", "--attachedMode=false"))
                          .toArray(new String[0]))
                  .create());
      SpecPipeline.build(pipeline, spec);
      PipelineResult result = pipeline.run();
      AtomicBoolean producing = new AtomicBoolean(true);
      Thread producer = new Thread(() -> produce(kafka, producing), "steady-producer");
      List<Duration> alertDelays = new CopyOnWriteArrayList<>();
      AtomicBoolean consuming = new AtomicBoolean(true);
      Thread consumer = new Thread(() -> consume(kafka, alertDelays, consuming), "alerts");
      try {
        producer.start();
        consumer.start();
        // Every window flips the four keys between hot and cool: each closed window is a
        // transition per key. Ten of them, each read within 10 s of its window's end, while the
        // producer still runs: windows close on a stream that never pauses (the first ones wait
        // for the job to start).
        await("alerts within 10 s of their window's end while the stream flows")
            .atMost(PRODUCING.minusSeconds(5))
            .pollInterval(Duration.ofMillis(200))
            .until(() -> prompt(alertDelays) >= 10 || !producer.isAlive());
        assertThat(producer.isAlive())
            .as("the producer still ran when 10 prompt alerts had come (delays: %s)", alertDelays)
            .isTrue();
      } finally {
        producing.set(false);
        consuming.set(false);
        producer.join();
        consumer.join();
        result.cancel();
      }
    }
  }

  /** Four keys, hot (80) in even windows and cool (20) in odd ones, with the wall clock as time. */
  private static void produce(KafkaBroker kafka, AtomicBoolean producing) {
    Properties props = new Properties();
    props.put("bootstrap.servers", kafka.bootstrapServers());
    props.put("key.serializer", StringSerializer.class.getName());
    props.put("value.serializer", StringSerializer.class.getName());
    props.put("linger.ms", "5");
    long start = System.nanoTime();
    long end = start + PRODUCING.toNanos();
    long sent = 0;
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(props)) {
      while (producing.get() && System.nanoTime() < end) {
        long due = (System.nanoTime() - start) * EVENTS_PER_SECOND / 1_000_000_000L;
        for (; sent < due; sent++) {
          Instant now = Instant.now();
          boolean hot = (now.toEpochMilli() / WINDOW.toMillis()) % 2 == 0;
          String value =
              String.format(
                  "{\"event_id\":\"e-%d\",\"key\":\"k%d\",\"metric\":\"temperature\","
                      + "\"value\":%d,\"event_time\":\"%s\"}",
                  sent, sent % 4, hot ? 80 : 20, now);
          producer.send(new ProducerRecord<>("readings", (int) (sent % 2), null, value));
        }
        // Paced in 2-ms steps, as a steady source is: records are always waiting to be read.
        java.util.concurrent.locks.LockSupport.parkNanos(2_000_000L);
      }
    }
  }

  private static long prompt(List<Duration> delays) {
    return delays.stream().filter(d -> d.compareTo(Duration.ofSeconds(10)) <= 0).count();
  }

  /** For each alert read: how long after its window's end it was read. */
  private static void consume(
      KafkaBroker kafka, List<Duration> alertDelays, AtomicBoolean consuming) {
    Properties props = new Properties();
    props.put("bootstrap.servers", kafka.bootstrapServers());
    props.put("group.id", "steady-alerts");
    props.put("auto.offset.reset", "earliest");
    props.put("key.deserializer", StringDeserializer.class.getName());
    props.put("value.deserializer", StringDeserializer.class.getName());
    try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(props)) {
      consumer.subscribe(List.of("alerts"));
      while (consuming.get()) {
        for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(100))) {
          Instant windowEnd =
              Instant.ofEpochMilli(Alert.fromJson(record.value()).windowEnd().getMillis());
          alertDelays.add(Duration.between(windowEnd, Instant.now()));
        }
      }
    }
  }
}

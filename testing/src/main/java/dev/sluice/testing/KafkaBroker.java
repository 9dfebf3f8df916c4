package dev.sluice.testing;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.awaitility.Awaitility.await;

import dev.sluice.local.ChildJvm;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Pattern;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.awaitility.core.ConditionTimeoutException;

/**
 * A real Apache Kafka 3.9 broker for integration tests: one combined broker-and-controller node in
 * KRaft mode (no ZooKeeper, no Docker) running as a child JVM on this JVM's test classpath, with
 * listeners on free ports of 127.0.0.1. It does not depend on any test framework.
 *
 * <p>Usage, e.g. once per test class:
 *
 * <pre>{@code
 * try (KafkaBroker kafka = KafkaBroker.start(tempDir)) {
 *   kafka.createTopic("events", 3);
 *   Properties props = new Properties();
 *   props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
 *   // ... produce, run the pipeline, consume ...
 * }
 * }</pre>
 *
 * <p>The work directory receives the broker's configuration ({@code server.properties}), its data
 * ({@code kafka-data/}) and its console output ({@link #logFile()}); give each broker a fresh
 * directory. Topics are not created automatically ({@code auto.create.topics.enable=false}); use
 * {@link #createTopic}. If {@link #close()} is never called, a JVM shutdown hook kills the child.
 * The child is a {@link ChildJvm}, as the processes of the local Flink session cluster are.
 */
public final class KafkaBroker implements AutoCloseable {
  private static final Duration FORMAT_TIMEOUT = Duration.ofSeconds(60);
  private static final Duration READY_TIMEOUT = Duration.ofSeconds(90);
  private static final Duration GRACEFUL_STOP = Duration.ofSeconds(20);
  private static final Duration ADMIN_TIMEOUT = Duration.ofSeconds(60);
  private static final Pattern USER_NAME = Pattern.compile("[A-Za-z0-9_.-]+");

  private final ChildJvm process;
  private final Path logFile;
  private final int plaintextPort;
  private final int saslPort; // -1 without a SASL_PLAINTEXT listener
  private final String secret; // only to redact it from log excerpts; null without SASL
  private final Thread shutdownHook;
  private boolean closed;

  private KafkaBroker(
      ChildJvm process, Path logFile, int plaintextPort, int saslPort, String secret) {
    this.process = process;
    this.logFile = logFile;
    this.plaintextPort = plaintextPort;
    this.saslPort = saslPort;
    this.secret = secret;
    this.shutdownHook = new Thread(process::killNow, "kafka-broker-kill-" + plaintextPort);
    Runtime.getRuntime().addShutdownHook(shutdownHook);
  }

  /**
   * Starts a broker with a single PLAINTEXT client listener and waits until it serves requests (at
   * most 90 s).
   *
   * @param workDir a fresh directory for the broker's configuration, data and log (created if
   *     missing)
   * @throws IllegalStateException if the broker exits or does not become ready in time; the message
   *     includes the exit code and the end of the broker's log
   */
  public static KafkaBroker start(Path workDir) {
    return launch(workDir, null, null);
  }

  /**
   * Starts a broker with a PLAINTEXT listener and, in addition, a SASL_PLAINTEXT listener that
   * accepts the mechanism PLAIN for exactly one user. Inter-broker and controller traffic stay on
   * PLAINTEXT. Clients connect to {@link #saslBootstrapServers()} with {@code
   * security.protocol=SASL_PLAINTEXT}, {@code sasl.mechanism=PLAIN} and a {@code sasl.jaas.config}
   * of {@code org.apache.kafka.common.security.plain.PlainLoginModule required username="..."
   * password="...";}.
   *
   * @param workDir a fresh directory for the broker's configuration, data and log (created if
   *     missing); note that its {@code server.properties} contains the password
   * @param user the user name, of letters, digits, {@code _}, {@code .} and {@code -}
   * @param password the user's password, not empty; never logged nor put into exception messages
   */
  public static KafkaBroker startWithSaslPlain(Path workDir, String user, String password) {
    if (user == null || !USER_NAME.matcher(user).matches()) {
      throw new IllegalArgumentException(
          "SASL user name must match " + USER_NAME.pattern() + ": " + user);
    }
    if (password == null || password.isEmpty()) {
      throw new IllegalArgumentException("SASL password must not be empty");
    }
    return launch(workDir, user, password);
  }

  /** {@code 127.0.0.1:port} of the PLAINTEXT listener, for {@code bootstrap.servers}. */
  public String bootstrapServers() {
    return "127.0.0.1:" + plaintextPort;
  }

  /**
   * {@code 127.0.0.1:port} of the SASL_PLAINTEXT listener, for {@code bootstrap.servers}.
   *
   * @throws IllegalStateException if the broker was not started with {@link #startWithSaslPlain}
   */
  public String saslBootstrapServers() {
    if (saslPort < 0) {
      throw new IllegalStateException(
          "Kafka broker " + bootstrapServers() + " has no SASL listener: use startWithSaslPlain");
    }
    return "127.0.0.1:" + saslPort;
  }

  /**
   * Creates a topic with replication factor 1 and waits (at most 60 s, then 30 s) until it exists
   * and every partition has a leader.
   *
   * @throws IllegalStateException if the broker refuses or does not answer in time, e.g. when the
   *     topic already exists (the Kafka exception is the cause)
   */
  public void createTopic(String name, int partitions) {
    try (Admin admin = Admin.create(adminConfig(ADMIN_TIMEOUT))) {
      admin
          .createTopics(List.of(new NewTopic(name, partitions, (short) 1)))
          .all()
          .get(ADMIN_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      await("leaders for all partitions of topic " + name + " on " + bootstrapServers())
          .atMost(Duration.ofSeconds(30))
          .pollDelay(Duration.ZERO)
          .pollInterval(Duration.ofMillis(100))
          .until(() -> hasAllLeaders(admin, name, partitions));
    } catch (ExecutionException e) {
      throw new IllegalStateException(
          "Could not create topic " + name + " on Kafka broker " + bootstrapServers(),
          e.getCause());
    } catch (TimeoutException e) {
      throw new IllegalStateException(
          "Creating topic " + name + " on Kafka broker " + bootstrapServers() + " timed out", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("Interrupted while creating topic " + name, e);
    }
  }

  /**
   * Appends {@code values} (UTF-8 strings, no key) to one partition of {@code topic}, in order, and
   * returns their offsets once the broker acknowledged all of them.
   */
  public List<Long> send(String topic, int partition, List<String> values) {
    Properties props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    List<Long> offsets = new ArrayList<>();
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(props)) {
      List<java.util.concurrent.Future<RecordMetadata>> sent = new ArrayList<>();
      for (String value : values) {
        sent.add(producer.send(new ProducerRecord<>(topic, partition, null, value)));
      }
      producer.flush();
      for (java.util.concurrent.Future<RecordMetadata> f : sent) {
        offsets.add(f.get(ADMIN_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS).offset());
      }
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException("Could not produce to " + topic + "/" + partition, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("Interrupted while producing to " + topic, e);
    }
    return offsets;
  }

  /**
   * Reads {@code topic} from the beginning until at least {@code atLeast} records arrived (or the
   * deadline passes: then the assertion error names how many did), and returns all read.
   */
  public List<ConsumerRecord<String, String>> readAll(
      String topic, int atLeast, Duration deadline) {
    return read(topic, atLeast, deadline, "read_uncommitted");
  }

  /**
   * Like {@link #readAll}, as a {@code read_committed} consumer: records of open or aborted
   * transactions are not returned.
   */
  public List<ConsumerRecord<String, String>> readCommitted(
      String topic, int atLeast, Duration deadline) {
    return read(topic, atLeast, deadline, "read_committed");
  }

  private List<ConsumerRecord<String, String>> read(
      String topic, int atLeast, Duration deadline, String isolationLevel) {
    Properties props = new Properties();
    props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolationLevel);
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    List<ConsumerRecord<String, String>> records = new ArrayList<>();
    try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(props)) {
      List<org.apache.kafka.common.TopicPartition> partitions = new ArrayList<>();
      consumer
          .partitionsFor(topic, ADMIN_TIMEOUT)
          .forEach(
              p ->
                  partitions.add(new org.apache.kafka.common.TopicPartition(topic, p.partition())));
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      await("at least " + atLeast + " records on topic " + topic)
          .atMost(deadline)
          .pollDelay(Duration.ZERO)
          .pollInterval(Duration.ofMillis(10))
          .until(
              () -> {
                consumer.poll(Duration.ofMillis(200)).forEach(records::add);
                return records.size() >= atLeast;
              });
      // Anything already there beyond the expected count is returned too, so tests see extras.
      consumer.poll(Duration.ofMillis(500)).forEach(records::add);
    }
    return records;
  }

  /** The offsets committed by consumer group {@code groupId}, by partition of {@code topic}. */
  public Map<Integer, Long> committedOffsets(String groupId, String topic) {
    try (Admin admin = Admin.create(adminConfig(ADMIN_TIMEOUT))) {
      Map<Integer, Long> offsets = new java.util.TreeMap<>();
      admin
          .listConsumerGroupOffsets(groupId)
          .partitionsToOffsetAndMetadata()
          .get(ADMIN_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
          .forEach(
              (partition, offset) -> {
                if (partition.topic().equals(topic) && offset != null) {
                  offsets.put(partition.partition(), offset.offset());
                }
              });
      return offsets;
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException("Could not list the offsets of group " + groupId, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("Interrupted while listing offsets of " + groupId, e);
    }
  }

  /** The file that receives the broker's standard output and standard error. */
  public Path logFile() {
    return logFile;
  }

  /**
   * Stops the broker: asks it to shut down (SIGTERM), kills it (SIGKILL) if it has not exited after
   * 20 s, and waits for it to exit. Calling it again has no effect.
   */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      Runtime.getRuntime().removeShutdownHook(shutdownHook);
    } catch (IllegalStateException e) {
      // The JVM is shutting down; the hook kills the child anyway.
    }
    if (!process.stop(GRACEFUL_STOP)) {
      throw new IllegalStateException(
          "Kafka broker " + bootstrapServers() + " (pid " + process.pid() + ") did not exit");
    }
  }

  /** SIGKILL of the broker, as a crash: nothing is flushed or handed over. */
  public synchronized void kill() {
    closed = true;
    try {
      Runtime.getRuntime().removeShutdownHook(shutdownHook);
    } catch (IllegalStateException e) {
      // The JVM is shutting down; the hook kills the child anyway.
    }
    process.kill();
  }

  /**
   * Starts the broker again after {@link #kill} or {@link #close}: the same work directory, data
   * and ports, so clients reconnect to the same address. Waits until it serves requests.
   */
  public KafkaBroker restart() {
    if (process.isAlive()) {
      throw new IllegalStateException("the broker " + this + " is still running");
    }
    Path dir = logFile.getParent();
    Path configFile = dir.resolve("server.properties");
    Path argFile = dir.resolve("kafka-jvm.args");
    try {
      KafkaBroker broker =
          new KafkaBroker(
              startBroker(dir, argFile, configFile, logFile, true, secret),
              logFile,
              plaintextPort,
              saslPort,
              secret);
      broker.awaitReady();
      return broker;
    } catch (IOException e) {
      throw new UncheckedIOException("Could not restart the Kafka broker in " + dir, e);
    }
  }

  @Override
  public String toString() {
    return "KafkaBroker[" + bootstrapServers() + (saslPort < 0 ? "" : ", sasl " + saslPort) + "]";
  }

  private static KafkaBroker launch(Path workDir, String user, String password) {
    boolean sasl = user != null;
    Path dir = workDir.toAbsolutePath();
    Path dataDir = dir.resolve("kafka-data");
    Path configFile = dir.resolve("server.properties");
    Path argFile = dir.resolve("kafka-jvm.args");
    Path logFile = dir.resolve("kafka.log");
    try {
      Files.createDirectories(dir);
      if (Files.exists(dataDir)) {
        throw new IllegalStateException(
            dataDir + " already exists: give each Kafka broker a fresh work directory");
      }
      int[] ports = ChildJvm.freePorts(sasl ? 3 : 2);
      int plaintextPort = ports[0];
      int controllerPort = ports[1];
      int saslPort = sasl ? ports[2] : -1;
      Properties config =
          serverConfig(dataDir, plaintextPort, controllerPort, saslPort, user, password);
      try (Writer out = Files.newBufferedWriter(configFile, UTF_8)) {
        config.store(out, "Kafka broker started by " + KafkaBroker.class.getName());
      }
      ChildJvm.writeClassPathArgFile(argFile, ChildJvm.classPath());

      format(dir, argFile, configFile, password);

      KafkaBroker broker =
          new KafkaBroker(
              startBroker(dir, argFile, configFile, logFile, false, password),
              logFile,
              plaintextPort,
              saslPort,
              password);
      try {
        broker.awaitReady();
      } catch (RuntimeException | Error e) {
        try {
          broker.close();
        } catch (RuntimeException suppressed) {
          e.addSuppressed(suppressed);
        }
        throw e;
      }
      return broker;
    } catch (IOException e) {
      throw new UncheckedIOException("Could not start a Kafka broker in " + dir, e);
    }
  }

  private static Properties serverConfig(
      Path dataDir,
      int plaintextPort,
      int controllerPort,
      int saslPort,
      String user,
      String password) {
    boolean sasl = saslPort >= 0;
    String plaintext = "PLAINTEXT://127.0.0.1:" + plaintextPort;
    String saslListener = "SASL_PLAINTEXT://127.0.0.1:" + saslPort;
    Properties config = new Properties();
    config.setProperty("process.roles", "broker,controller");
    config.setProperty("node.id", "1");
    config.setProperty("controller.quorum.voters", "1@127.0.0.1:" + controllerPort);
    config.setProperty(
        "listeners",
        plaintext + ",CONTROLLER://127.0.0.1:" + controllerPort + (sasl ? "," + saslListener : ""));
    config.setProperty("advertised.listeners", plaintext + (sasl ? "," + saslListener : ""));
    config.setProperty(
        "listener.security.protocol.map",
        "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
            + (sasl ? ",SASL_PLAINTEXT:SASL_PLAINTEXT" : ""));
    config.setProperty("controller.listener.names", "CONTROLLER");
    config.setProperty("inter.broker.listener.name", "PLAINTEXT");
    config.setProperty("log.dirs", dataDir.toString());
    config.setProperty("num.partitions", "1");
    config.setProperty("default.replication.factor", "1");
    config.setProperty("min.insync.replicas", "1");
    config.setProperty("offsets.topic.replication.factor", "1");
    config.setProperty("offsets.topic.num.partitions", "5");
    config.setProperty("transaction.state.log.replication.factor", "1");
    config.setProperty("transaction.state.log.min.isr", "1");
    config.setProperty("transaction.state.log.num.partitions", "5");
    config.setProperty("group.initial.rebalance.delay.ms", "0");
    config.setProperty("auto.create.topics.enable", "false");
    // The default 128 MiB would take a quarter of the child's heap for compaction bookkeeping.
    config.setProperty("log.cleaner.dedupe.buffer.size", String.valueOf(32 * 1024 * 1024));
    if (sasl) {
      config.setProperty("sasl.enabled.mechanisms", "PLAIN");
      config.setProperty("listener.name.sasl_plaintext.sasl.enabled.mechanisms", "PLAIN");
      config.setProperty(
          "listener.name.sasl_plaintext.plain.sasl.jaas.config",
          "org.apache.kafka.common.security.plain.PlainLoginModule required user_"
              + user
              + "=\""
              + password.replace("\\", "\\\\").replace("\"", "\\\"")
              + "\";");
    }
    return config;
  }

  /** Formats the data directory with a new cluster id, as {@code kafka-storage.sh format} does. */
  private static void format(Path dir, Path argFile, Path configFile, String secret)
      throws IOException {
    Path output = dir.resolve("kafka-format.log");
    ChildJvm format =
        ChildJvm.start(
            dir,
            argFile,
            jvmOptions("-Xmx256m"),
            "kafka.tools.StorageTool",
            List.of("format", "-t", Uuid.randomUuid().toString(), "-c", configFile.toString()),
            output,
            false,
            secret);
    boolean exited;
    try {
      exited = format.waitFor(FORMAT_TIMEOUT);
    } catch (InterruptedException e) {
      format.killNow();
      Thread.currentThread().interrupt();
      throw new IllegalStateException("Interrupted while formatting Kafka storage in " + dir, e);
    }
    if (!exited) {
      format.kill();
      throw new IllegalStateException(
          "Formatting Kafka storage did not finish within "
              + FORMAT_TIMEOUT.toSeconds()
              + " s; output:\n"
              + format.tail());
    }
    if (format.exitValue() != 0) {
      throw new IllegalStateException(
          "Formatting Kafka storage failed with exit code "
              + format.exitValue()
              + "; output:\n"
              + format.tail());
    }
  }

  /** Starts {@code kafka.Kafka server.properties}; a restart appends to the same log. */
  private static ChildJvm startBroker(
      Path dir, Path argFile, Path configFile, Path logFile, boolean append, String secret)
      throws IOException {
    return ChildJvm.start(
        dir,
        argFile,
        jvmOptions("-Xmx512m"),
        "kafka.Kafka",
        List.of(configFile.toString()),
        logFile,
        append,
        secret);
  }

  private static List<String> jvmOptions(String heap) {
    return List.of(
        heap,
        "-XX:+UseSerialGC",
        "-XX:TieredStopAtLevel=1",
        "-Djava.awt.headless=true",
        "-Dorg.slf4j.simpleLogger.showDateTime=true",
        "-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS");
  }

  private void awaitReady() {
    AtomicReference<Admin> admin = new AtomicReference<>();
    try {
      await("Kafka broker " + bootstrapServers() + " ready")
          .atMost(READY_TIMEOUT)
          .pollDelay(Duration.ZERO)
          .pollInterval(Duration.ofMillis(250))
          .until(() -> isReady(admin));
    } catch (ConditionTimeoutException e) {
      throw new IllegalStateException(
          "Kafka broker "
              + bootstrapServers()
              + " was not ready within "
              + READY_TIMEOUT.toSeconds()
              + " s; last lines of "
              + logFile
              + ":\n"
              + process.tail(),
          e);
    } finally {
      Admin client = admin.get();
      if (client != null) {
        client.close(Duration.ofSeconds(5));
      }
    }
  }

  /** Whether the broker answers with at least one live (unfenced) node; fails if it exited. */
  private boolean isReady(AtomicReference<Admin> admin) throws InterruptedException {
    process.checkAlive("Kafka broker " + bootstrapServers());
    if (!ChildJvm.accepts(plaintextPort)) {
      return false;
    }
    if (admin.get() == null) {
      admin.set(Admin.create(adminConfig(Duration.ofSeconds(5))));
    }
    try {
      return !admin
          .get()
          .describeCluster(new DescribeClusterOptions().timeoutMs(3000))
          .nodes()
          .get(5, TimeUnit.SECONDS)
          .isEmpty();
    } catch (ExecutionException | TimeoutException e) {
      return false;
    }
  }

  private static boolean hasAllLeaders(Admin admin, String topic, int partitions)
      throws InterruptedException {
    try {
      Map<String, TopicDescription> topics =
          admin.describeTopics(List.of(topic)).allTopicNames().get(10, TimeUnit.SECONDS);
      List<TopicPartitionInfo> infos = topics.get(topic).partitions();
      if (infos.size() != partitions) {
        return false;
      }
      for (TopicPartitionInfo info : infos) {
        Node leader = info.leader();
        if (leader == null || leader.isEmpty()) {
          return false;
        }
      }
      return true;
    } catch (ExecutionException | TimeoutException e) {
      return false; // e.g. UnknownTopicOrPartitionException until the metadata has caught up
    }
  }

  private Map<String, Object> adminConfig(Duration apiTimeout) {
    return Map.of(
        AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
        bootstrapServers(),
        AdminClientConfig.CLIENT_ID_CONFIG,
        "kafka-broker-fixture",
        AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG,
        5000,
        AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG,
        (int) apiTimeout.toMillis(),
        AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG,
        500);
  }
}

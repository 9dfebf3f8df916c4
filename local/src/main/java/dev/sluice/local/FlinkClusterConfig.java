package dev.sluice.local;

import static java.nio.charset.StandardCharsets.UTF_8;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The session cluster's Flink configuration: the classpath resource {@value #CONFIG_RESOURCE} with
 * the ports and directories of one work directory set ({@link #write}), read back as flat {@code
 * key -> value} strings ({@link #read}; nested mappings become dotted keys, as Flink reads them),
 * and the JVM flags Flink's start scripts would compute from its memory sizes.
 */
final class FlinkClusterConfig {
  static final String CONFIG_RESOURCE = "flink/config.yaml";

  private static final long MIB = 1024L * 1024;
  private static final Pattern MEMORY_SIZE = Pattern.compile("(\\d+)\\s*([a-z]*)");
  private static final List<String> TASK_MANAGER_REQUIRED_KEYS =
      List.of(
          "taskmanager.cpu.cores",
          "taskmanager.numberOfTaskSlots",
          "taskmanager.memory.framework.heap.size",
          "taskmanager.memory.task.heap.size",
          "taskmanager.memory.managed.size",
          "taskmanager.memory.framework.off-heap.size",
          "taskmanager.memory.task.off-heap.size",
          "taskmanager.memory.network.min",
          "taskmanager.memory.network.max",
          "taskmanager.memory.jvm-metaspace.size",
          "taskmanager.memory.jvm-overhead.min",
          "taskmanager.memory.jvm-overhead.max");

  private static final YAMLMapper YAML =
      YAMLMapper.builder(
              YAMLFactory.builder()
                  .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
                  .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
                  .disable(YAMLGenerator.Feature.SPLIT_LINES)
                  .build())
          .build();

  private FlinkClusterConfig() {}

  /**
   * Writes the resource with {@code overrides} (flat keys; new ones are appended) to {@code file}
   * and returns the result as {@link #read} sees it.
   */
  static Map<String, String> write(Path file, Map<String, ?> overrides) {
    ObjectNode config = flatten(parse(readResource(), CONFIG_RESOURCE));
    overrides.forEach((key, value) -> config.set(key, YAML.valueToTree(value)));
    try {
      Files.writeString(
          file,
          "# Written by "
              + FlinkSessionCluster.class.getSimpleName()
              + ": the classpath resource "
              + CONFIG_RESOURCE
              + " (see it for comments) with this work directory's ports and directories\n"
              + YAML.writeValueAsString(config),
          UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("Could not write " + file, e);
    }
    return read(file);
  }

  /** The configuration in {@code file} as flat {@code key -> value} strings, in file order. */
  static Map<String, String> read(Path file) {
    String text;
    try {
      text = Files.readString(file, UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("Could not read " + file, e);
    }
    Map<String, String> config = new LinkedHashMap<>();
    flatten(parse(text, file.toString()))
        .fields()
        .forEachRemaining(
            field ->
                config.put(
                    field.getKey(), field.getValue().isNull() ? "" : field.getValue().asText()));
    return config;
  }

  /** The REST port in the work directory's {@code conf/config.yaml} (Flink's default: 8081). */
  static int restPort(Path configFile) {
    return Integer.parseInt(read(configFile).getOrDefault("rest.port", "8081"));
  }

  private static ObjectNode parse(String yaml, String source) {
    JsonNode tree;
    try {
      tree = YAML.readTree(yaml);
    } catch (IOException e) {
      throw new IllegalStateException(source + " is not valid YAML: " + e.getMessage(), e);
    }
    if (tree == null || tree.isMissingNode() || tree.isNull()) {
      return JsonNodeFactory.instance.objectNode();
    }
    if (!tree.isObject()) {
      throw new IllegalStateException(source + " must be a mapping of configuration keys");
    }
    return (ObjectNode) tree;
  }

  /** Nested mappings as dotted keys; lists are refused (no option this cluster sets is one). */
  private static ObjectNode flatten(ObjectNode tree) {
    ObjectNode flat = JsonNodeFactory.instance.objectNode();
    flatten("", tree, flat);
    return flat;
  }

  private static void flatten(String prefix, JsonNode node, ObjectNode flat) {
    node.fields()
        .forEachRemaining(
            field -> {
              String key = prefix + field.getKey();
              JsonNode value = field.getValue();
              if (value.isObject()) {
                flatten(key + ".", value, flat);
              } else if (value.isArray()) {
                throw new IllegalStateException(
                    "only scalar values are supported, not the list under " + key);
              } else {
                flat.set(key, value);
              }
            });
  }

  private static String readResource() {
    try (InputStream in =
        FlinkClusterConfig.class.getClassLoader().getResourceAsStream(CONFIG_RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException("Classpath resource " + CONFIG_RESOURCE + " not found");
      }
      return new String(in.readAllBytes(), UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("Could not read " + CONFIG_RESOURCE, e);
    }
  }

  /** Heap and metaspace limits as Flink's scripts compute them for a JobManager. */
  static List<String> jobManagerJvmOptions(Map<String, String> config) {
    long heap = memory(config, "jobmanager.memory.heap.size");
    List<String> options = new ArrayList<>();
    options.add("-Xmx" + jvmSize(heap));
    options.add("-Xms" + jvmSize(heap));
    if (config.containsKey("jobmanager.memory.jvm-metaspace.size")) {
      options.add(
          "-XX:MaxMetaspaceSize="
              + jvmSize(memory(config, "jobmanager.memory.jvm-metaspace.size")));
    }
    options.addAll(splitOptions(config.get("env.java.opts.all")));
    options.addAll(splitOptions(config.get("env.java.opts.jobmanager")));
    return options;
  }

  /**
   * Heap, direct memory and metaspace limits as Flink's scripts compute them for a TaskManager:
   * heap = framework heap + task heap; direct = framework off-heap + task off-heap + network.
   */
  /**
   * The {@code -D} program arguments of TaskManager {@code index} (0 = the first) that install the
   * metrics reporter named by {@code sluice.taskmanager.metrics.reporter} on port {@code
   * sluice.taskmanager.metrics.port + index} (or a free port when that is 0); none without it.
   */
  static List<String> taskManagerProgramArgs(Map<String, String> config, int index) {
    String reporter = config.get("sluice.taskmanager.metrics.reporter");
    if (reporter == null || reporter.isBlank()) {
      return List.of();
    }
    int port = Integer.parseInt(config.getOrDefault("sluice.taskmanager.metrics.port", "0"));
    return List.of(
        "-Dmetrics.reporter.sluice.factory.class=" + reporter,
        "-Dmetrics.reporter.sluice.port=" + (port == 0 ? 0 : port + index),
        "-Dmetrics.reporter.sluice.host=localhost");
  }

  static List<String> taskManagerJvmOptions(Map<String, String> config) {
    for (String key : TASK_MANAGER_REQUIRED_KEYS) {
      if (!config.containsKey(key)) {
        throw new IllegalStateException(
            CONFIG_RESOURCE + " must set " + key + ": TaskManagerRunner does not derive it");
      }
    }
    long networkMin = memory(config, "taskmanager.memory.network.min");
    if (networkMin != memory(config, "taskmanager.memory.network.max")) {
      throw new IllegalStateException(
          CONFIG_RESOURCE
              + " must set taskmanager.memory.network.min equal to"
              + " taskmanager.memory.network.max: TaskManagerRunner needs a fixed network size");
    }
    long heap =
        memory(config, "taskmanager.memory.framework.heap.size")
            + memory(config, "taskmanager.memory.task.heap.size");
    long direct =
        memory(config, "taskmanager.memory.framework.off-heap.size")
            + memory(config, "taskmanager.memory.task.off-heap.size")
            + networkMin;
    List<String> options = new ArrayList<>();
    options.add("-Xmx" + jvmSize(heap));
    options.add("-Xms" + jvmSize(heap));
    options.add("-XX:MaxDirectMemorySize=" + jvmSize(direct));
    options.add(
        "-XX:MaxMetaspaceSize=" + jvmSize(memory(config, "taskmanager.memory.jvm-metaspace.size")));
    options.addAll(splitOptions(config.get("env.java.opts.all")));
    options.addAll(splitOptions(config.get("env.java.opts.taskmanager")));
    return options;
  }

  /** A memory size in Flink's notation ({@code 512m}, {@code 1 gb}, {@code 64mb}) in bytes. */
  static long memory(Map<String, String> config, String key) {
    String value = config.get(key);
    if (value == null) {
      throw new IllegalStateException(CONFIG_RESOURCE + " must set " + key);
    }
    Matcher size = MEMORY_SIZE.matcher(value.strip().toLowerCase(Locale.ROOT));
    if (!size.matches()) {
      throw new IllegalStateException(key + " is not a memory size: " + value);
    }
    long number = Long.parseLong(size.group(1));
    switch (size.group(2)) {
      case "":
      case "b":
      case "bytes":
        return number;
      case "k":
      case "kb":
      case "kibibytes":
        return number * 1024;
      case "m":
      case "mb":
      case "mebibytes":
        return number * MIB;
      case "g":
      case "gb":
      case "gibibytes":
        return number * MIB * 1024;
      default:
        throw new IllegalStateException(key + " has an unknown memory unit: " + value);
    }
  }

  private static String jvmSize(long bytes) {
    return bytes % MIB == 0 ? bytes / MIB + "m" : String.valueOf(bytes);
  }

  private static List<String> splitOptions(String options) {
    return options == null || options.isBlank()
        ? List.of()
        : List.of(options.strip().split("\\s+"));
  }
}

package dev.sluice.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FlinkClusterConfigTest {
  @TempDir Path dir;

  private Map<String, String> writeResource() throws Exception {
    Files.createDirectories(dir.resolve("conf"));
    Map<String, Object> overrides = new LinkedHashMap<>();
    overrides.put("rest.port", 18081);
    overrides.put("jobmanager.rpc.port", 16123);
    overrides.put("io.tmp.dirs", dir.resolve("tmp # not a comment").toString());
    overrides.put("state.checkpoints.dir", dir.resolve("checkpoints").toUri().toString());
    overrides.put("sluice.added", "a: b");
    return FlinkClusterConfig.write(dir.resolve("conf").resolve("config.yaml"), overrides);
  }

  @Test
  void theWrittenConfigurationIsTheResourceWithTheOverrides() throws Exception {
    Map<String, String> config = writeResource();

    assertThat(config)
        .containsEntry("rest.port", "18081")
        .containsEntry("jobmanager.rpc.port", "16123")
        .containsEntry("io.tmp.dirs", dir.resolve("tmp # not a comment").toString())
        .containsEntry("state.checkpoints.dir", dir.resolve("checkpoints").toUri().toString())
        .containsEntry("sluice.added", "a: b")
        .containsEntry("taskmanager.numberOfTaskSlots", "2")
        .containsEntry("jobmanager.rpc.address", "localhost")
        .containsEntry("restart-strategy.exponential-delay.initial-backoff", "1 s");
    // A plain scalar continued on indented lines is one value, joined with spaces.
    assertThat(config.get("env.java.opts.all"))
        .startsWith("--add-exports=java.base/sun.net.util=ALL-UNNAMED --add-exports=java.rmi/")
        .endsWith("--add-opens=java.base/java.math=ALL-UNNAMED")
        .doesNotContain("\n");
    assertThat(FlinkClusterConfig.restPort(dir.resolve("conf").resolve("config.yaml")))
        .isEqualTo(18081);
  }

  @Test
  void theJvmFlagsFollowTheMemorySizes() throws Exception {
    Map<String, String> config = writeResource();

    List<String> taskManager = FlinkClusterConfig.taskManagerJvmOptions(config);
    List<String> jobManager = FlinkClusterConfig.jobManagerJvmOptions(config);

    // heap = 128m framework + 256m task; direct = 128m framework off-heap + 0m + 128m network.
    assertThat(taskManager)
        .startsWith(
            "-Xmx384m", "-Xms384m", "-XX:MaxDirectMemorySize=256m", "-XX:MaxMetaspaceSize=192m")
        .contains("--add-opens=java.base/java.math=ALL-UNNAMED");
    assertThat(jobManager)
        .startsWith("-Xmx512m", "-Xms512m", "-XX:MaxMetaspaceSize=256m")
        .contains("--add-opens=java.base/java.lang=ALL-UNNAMED");
  }

  @Test
  void nestedMappingsAreDottedKeysAndListsAreRefused() throws Exception {
    Path nested = dir.resolve("nested.yaml");
    Files.writeString(
        nested, "rest:\n  port: 9000\n  address: localhost\nparallelism.default: 2\n");
    assertThat(FlinkClusterConfig.read(nested))
        .containsExactly(
            Map.entry("rest.port", "9000"),
            Map.entry("rest.address", "localhost"),
            Map.entry("parallelism.default", "2"));

    Path list = dir.resolve("list.yaml");
    Files.writeString(list, "env.java.opts.all:\n  - -Xss1m\n");
    assertThatThrownBy(() -> FlinkClusterConfig.read(list))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("env.java.opts.all");
  }

  @Test
  void memorySizesInFlinkNotation() {
    assertThat(FlinkClusterConfig.memory(Map.of("k", "512m"), "k")).isEqualTo(512L << 20);
    assertThat(FlinkClusterConfig.memory(Map.of("k", "1 gb"), "k")).isEqualTo(1L << 30);
    assertThat(FlinkClusterConfig.memory(Map.of("k", "64kb"), "k")).isEqualTo(64L << 10);
    assertThat(FlinkClusterConfig.memory(Map.of("k", "100"), "k")).isEqualTo(100L);
    assertThatThrownBy(() -> FlinkClusterConfig.memory(Map.of("k", "5 parsecs"), "k"))
        .hasMessageContaining("unknown memory unit");
    assertThatThrownBy(() -> FlinkClusterConfig.memory(Map.of(), "k"))
        .hasMessageContaining("must set k");
  }

  @Test
  void unequalNetworkSizesAreRefused() throws Exception {
    Map<String, String> config = new LinkedHashMap<>(writeResource());
    config.put("taskmanager.memory.network.max", "256m");
    assertThatThrownBy(() -> FlinkClusterConfig.taskManagerJvmOptions(config))
        .hasMessageContaining("network.min equal to");
  }
}

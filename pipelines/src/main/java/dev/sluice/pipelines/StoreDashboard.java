package dev.sluice.pipelines;

import dev.sluice.io.PostgresIO;
import dev.sluice.local.EmbeddedPostgresStore;
import dev.sluice.local.dashboard.Dashboard;
import dev.sluice.local.dashboard.StoreAccess;
import dev.sluice.pipelines.spec.PipelineSpec;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.stream.Stream;

/**
 * {@code ./sluice ui}: serves the read-only {@link Dashboard} of a job's store on localhost until
 * Ctrl-C. The store is the embedded one of an output directory (started on its data directory, as
 * {@code ./sluice query} does, and stopped on exit) or your own PostgreSQL with {@code --jdbcUrl}
 * (password from {@code SLUICE_JDBC_PASSWORD}).
 *
 * <pre>{@code
 * ./sluice run examples/iot.yaml && ./sluice ui          # the newest store under output/
 * ./sluice ui --outputDir=output/iot-sensors --port=9000
 * ./sluice ui --dataDir=/tmp/out/postgres --schema=sluice
 * SLUICE_JDBC_PASSWORD=... ./sluice ui --jdbcUrl=jdbc:postgresql://db:5432/metrics --jdbcUser=ro
 * }</pre>
 *
 * <p>Without {@code --dataDir}: the most recently used of {@code <outputDir>/postgres} (the main
 * job's) and {@code <outputDir>/<name>/postgres} (a spec's, e.g. {@code
 * output/iot-sensors/postgres}), so the store of the job run last; the others found are printed.
 * Exit status 2 for bad arguments or no store.
 */
public final class StoreDashboard {
  private static final String USAGE =
      "Usage: ./sluice ui [--outputDir=DIR | --dataDir=DIR | --jdbcUrl=URL [--jdbcUser=U]]"
          + " [--schema=sluice] [--host=127.0.0.1] [--port=8642] [--refreshSeconds=2]";

  private StoreDashboard() {}

  /** A dashboard and the store it started (if any); {@link #close} stops both. */
  public record Running(Dashboard dashboard, EmbeddedPostgresStore store) implements AutoCloseable {
    public String url() {
      return dashboard.url();
    }

    @Override
    public void close() {
      try {
        dashboard.close();
      } finally {
        if (store != null) {
          store.close();
        }
      }
    }
  }

  public static void main(String[] args) {
    if (List.of(args).contains("--help") || List.of(args).contains("-h")) {
      System.out.println(USAGE);
      System.out.println(
          "Serves a read-only dashboard of a job's store on localhost until Ctrl-C: window means"
              + " with p95/p99 and thresholds, alert episodes, dead letters, throughput and"
              + " watermark lag. --port=0 picks a free port; --host=0.0.0.0 listens on every"
              + " interface (anyone who reaches it can read the store).");
      System.exit(0);
      return;
    }
    Running running;
    try {
      running = start(args, System.out);
    } catch (IllegalArgumentException e) {
      System.err.println("Invalid arguments: " + e.getMessage());
      System.err.println(USAGE);
      System.exit(2);
      return;
    }
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  running.close();
                  stopped.countDown();
                },
                "sluice-ui-stop"));
    System.out.println("Press Ctrl-C to stop.");
    try {
      stopped.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Parses {@code args}, opens the store, starts serving; prints the URL to {@code out}. */
  public static Running start(String[] args, PrintStream out) {
    String outputDir = "output";
    String dataDir = null;
    String jdbcUrl = null;
    String user = null;
    String schema = "sluice";
    String host = "127.0.0.1";
    Integer port = null;
    int refresh = 2;
    for (String arg : args) {
      String[] option = arg.split("=", 2);
      if (!arg.startsWith("--") || option.length < 2) {
        throw new IllegalArgumentException("expected --name=value, got " + arg);
      }
      String value = option[1];
      switch (option[0]) {
        case "--outputDir" -> outputDir = value;
        case "--dataDir" -> dataDir = value;
        case "--jdbcUrl" -> jdbcUrl = value;
        case "--jdbcUser" -> user = value;
        case "--schema" -> schema = value;
        case "--host" -> host = value;
        case "--port" -> port = number("--port", value, 0, 65_535);
        case "--refreshSeconds" -> refresh = number("--refreshSeconds", value, 1, 3_600);
        default -> throw new IllegalArgumentException("unknown option " + option[0]);
      }
    }
    StoreAccess.Connector connector;
    EmbeddedPostgresStore store = null;
    String description;
    if (jdbcUrl != null) {
      Properties props = StoreQuery.connectionProperties(user);
      connector = StoreAccess.jdbc(jdbcUrl, props);
      description = "PostgreSQL at " + PostgresIO.database(jdbcUrl).displayUrl();
    } else {
      Path dir = dataDir != null ? Path.of(dataDir) : findStore(Path.of(outputDir), out);
      if (!Files.exists(dir.resolve("PG_VERSION"))) {
        throw new IllegalArgumentException(
            "no embedded store in " + dir + "; run a job first, or give --dataDir or --jdbcUrl");
      }
      store = startStore(dir);
      description = "embedded PostgreSQL, data in " + store.dataDirectory();
      try {
        connector = StoreAccess.embedded(store, schema);
      } catch (RuntimeException e) {
        store.close();
        throw e;
      }
    }
    Dashboard.Settings settings =
        new Dashboard.Settings(connector, schema, description)
            .withHost(host)
            .withPort(port == null ? Dashboard.DEFAULT_PORT : port)
            .withFallBackToFreePort(port == null)
            .withRefreshSeconds(refresh);
    Dashboard dashboard;
    try {
      dashboard = Dashboard.start(settings);
    } catch (RuntimeException e) {
      if (store != null) {
        store.close();
      }
      throw e instanceof UncheckedIOException ? new IllegalArgumentException(e.getMessage()) : e;
    }
    out.println("Sluice dashboard of the " + description + ", schema " + schema);
    out.println("  open " + dashboard.url() + " (read-only; refreshes every " + refresh + " s)");
    out.flush();
    return new Running(dashboard, store);
  }

  /**
   * The dashboard of a running job, on the store of {@code sink} that {@code servers} opened.
   * Returns what stops it.
   */
  static AutoCloseable forJob(
      PipelineSpec.Sink sink, SinkServers servers, String host, int port, PrintStream out) {
    StoreAccess.Connector connector;
    String description;
    if (sink.type().equals("embedded")) {
      Path dir = Path.of(sink.dataDir()).toAbsolutePath().normalize();
      EmbeddedPostgresStore store =
          servers.embedded().stream()
              .filter(s -> s.dataDirectory().equals(dir))
              .findFirst()
              .orElseThrow(() -> new IllegalStateException("no embedded store in " + dir));
      connector = StoreAccess.embedded(store, sink.schema());
      description = "embedded PostgreSQL, data in " + dir;
    } else {
      PostgresIO.Database db = servers.of(sink);
      connector = StoreAccess.readOnly(db::connect);
      description = "PostgreSQL at " + db.displayUrl();
    }
    Dashboard dashboard =
        Dashboard.start(
            new Dashboard.Settings(connector, sink.schema(), description)
                .withHost(host)
                .withPort(port)
                .withFallBackToFreePort(true));
    out.println(
        "  dashboard at "
            + dashboard.url()
            + " (read-only, live while the job runs"
            + (port != 0 && dashboard.port() != port ? "; port " + port + " was taken" : "")
            + "; afterwards: ./sluice ui"
            + (sink.type().equals("embedded") ? " --dataDir=" + sink.dataDir() : "")
            + ")");
    return dashboard;
  }

  private static EmbeddedPostgresStore startStore(Path dir) {
    try {
      return EmbeddedPostgresStore.start(dir);
    } catch (UncheckedIOException e) {
      if (String.valueOf(e.getMessage()).contains("in use by another running job")) {
        throw new IllegalArgumentException(
            e.getMessage() + "; while a job runs, open the dashboard URL it printed");
      }
      throw e;
    }
  }

  /**
   * The most recently used of {@code dir/postgres} (the main job's) and {@code dir/<name>/postgres}
   * (the specs'): the store of the job run last.
   */
  static Path findStore(Path dir, PrintStream out) {
    Path own = dir.resolve("postgres");
    List<Path> found = new ArrayList<>();
    if (Files.exists(own.resolve("PG_VERSION"))) {
      found.add(own);
    }
    if (Files.isDirectory(dir)) {
      try (Stream<Path> children = Files.list(dir)) {
        children
            .map(child -> child.resolve("postgres"))
            .filter(p -> Files.exists(p.resolve("PG_VERSION")))
            .forEach(found::add);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    if (found.isEmpty()) {
      throw new IllegalArgumentException(
          "no embedded store in "
              + own
              + " nor in "
              + dir.resolve("*").resolve("postgres")
              + "; run a job first (./sluice, ./sluice run SPEC), or give --dataDir or --jdbcUrl");
    }
    found.sort(Comparator.comparing(StoreDashboard::lastUsed).reversed());
    if (found.size() > 1) {
      out.println(
          "Stores found: "
              + found
              + "; showing the most recently used, "
              + found.get(0)
              + " (choose with --dataDir=DIR)");
    }
    return found.get(0);
  }

  /** When the server last wrote the data directory's control file (at checkpoints and stops). */
  private static FileTime lastUsed(Path dataDir) {
    try {
      Path control = dataDir.resolve("global").resolve("pg_control");
      return Files.getLastModifiedTime(Files.exists(control) ? control : dataDir);
    } catch (IOException e) {
      return FileTime.fromMillis(0);
    }
  }

  private static int number(String name, String value, int min, int max) {
    try {
      int n = Integer.parseInt(value);
      if (n >= min && n <= max) {
        return n;
      }
    } catch (NumberFormatException e) {
      // Reported below.
    }
    throw new IllegalArgumentException(
        name + " must be a whole number from " + min + " to " + max + ", got " + value);
  }
}

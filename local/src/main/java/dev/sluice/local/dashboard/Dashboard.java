package dev.sluice.local.dashboard;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A read-only web dashboard of a job's store, served on localhost: charts of the window means of a
 * key and metric with their p95/p99 band and the rule threshold, the alert episodes, dead letters
 * by reason with the newest payloads, throughput and watermark lag; the page refreshes itself.
 *
 * <pre>{@code
 * try (EmbeddedPostgresStore store = EmbeddedPostgresStore.start(Path.of("output/postgres"));
 *     Dashboard ui =
 *         Dashboard.start(
 *             new Dashboard.Settings(StoreAccess.embedded(store, "sluice"), "sluice", "my store")
 *                 .withPort(0))) {
 *   System.out.println("Dashboard at " + ui.url());
 * }
 * }</pre>
 *
 * <p>Security: it binds {@code 127.0.0.1} unless told otherwise and then answers only requests
 * whose {@code Host} names the loopback address (no DNS rebinding); it serves only GET and HEAD;
 * its database connections come from {@link StoreAccess}, read-only at the database level, and run
 * fixed queries; the page (HTML, script and styles, uPlot from its WebJar, all from this jar) loads
 * nothing from elsewhere, under a strict Content-Security-Policy ({@value #CSP}), and shows keys,
 * labels, messages and payloads as text only ({@code textContent}), never as markup.
 */
public final class Dashboard implements AutoCloseable {
  /** The Content-Security-Policy of every response. */
  public static final String CSP =
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
          + " connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

  /** The port a job's dashboard tries first. */
  public static final int DEFAULT_PORT = 8642;

  private static final String WEB = "/dev/sluice/local/dashboard/web/";
  private static final String UPLOT =
      "/META-INF/resources/webjars/uplot/" + uplotVersion() + "/dist/";
  private static final Map<String, String[]> FILES =
      Map.of(
          "/", new String[] {WEB + "index.html", "text/html; charset=utf-8"},
          "/index.html", new String[] {WEB + "index.html", "text/html; charset=utf-8"},
          "/app.js", new String[] {WEB + "app.js", "text/javascript; charset=utf-8"},
          "/app.css", new String[] {WEB + "app.css", "text/css; charset=utf-8"},
          "/vendor/uPlot.iife.min.js",
              new String[] {UPLOT + "uPlot.iife.min.js", "text/javascript; charset=utf-8"},
          "/vendor/uPlot.min.css",
              new String[] {UPLOT + "uPlot.min.css", "text/css; charset=utf-8"});
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final int IDLE_CONNECTIONS = 2;

  /**
   * What to serve: where the data comes from ({@code connector}, read-only), the schema, a line
   * describing the store for the page's header, where to listen, and how often the page refreshes.
   *
   * @param fallBackToFreePort when {@code port} is taken, listen on a free port instead of failing
   */
  public record Settings(
      StoreAccess.Connector connector,
      String schema,
      String store,
      String host,
      int port,
      boolean fallBackToFreePort,
      int refreshSeconds) {
    public Settings {
      Objects.requireNonNull(connector, "connector must not be null");
      StoreAccess.checkSchema(schema);
      Objects.requireNonNull(store, "store must not be null");
      Objects.requireNonNull(host, "host must not be null");
      if (port < 0 || port > 65_535) {
        throw new IllegalArgumentException("port must be between 0 and 65535, got " + port);
      }
      if (refreshSeconds < 1 || refreshSeconds > 3_600) {
        throw new IllegalArgumentException(
            "refreshSeconds must be between 1 and 3600, got " + refreshSeconds);
      }
    }

    /** On 127.0.0.1, a free port, refreshing every 2 s. */
    public Settings(StoreAccess.Connector connector, String schema, String store) {
      this(connector, schema, store, "127.0.0.1", 0, false, 2);
    }

    public Settings withHost(String value) {
      return new Settings(
          connector, schema, store, value, port, fallBackToFreePort, refreshSeconds);
    }

    public Settings withPort(int value) {
      return new Settings(
          connector, schema, store, host, value, fallBackToFreePort, refreshSeconds);
    }

    public Settings withFallBackToFreePort(boolean value) {
      return new Settings(connector, schema, store, host, port, value, refreshSeconds);
    }

    public Settings withRefreshSeconds(int value) {
      return new Settings(connector, schema, store, host, port, fallBackToFreePort, value);
    }
  }

  private final Settings settings;
  private final DashboardData data;
  private final DeadLetterData deadLetterData;
  private final HttpServer server;
  private final ExecutorService executor;
  private final boolean loopback;
  private final Deque<Connection> idle = new ArrayDeque<>();

  private Dashboard(Settings settings, HttpServer server, ExecutorService executor, boolean loop) {
    this.settings = settings;
    this.data = new DashboardData(settings.schema());
    this.deadLetterData = new DeadLetterData(settings.schema());
    this.server = server;
    this.executor = executor;
    this.loopback = loop;
  }

  /**
   * Starts serving; the database is first read when the page asks.
   *
   * @throws UncheckedIOException when the port is taken (and no fallback was asked for)
   */
  public static Dashboard start(Settings settings) {
    InetAddress address;
    try {
      address = InetAddress.getByName(settings.host());
    } catch (IOException e) {
      throw new IllegalArgumentException("host: cannot resolve '" + settings.host() + "'", e);
    }
    HttpServer server;
    try {
      server = HttpServer.create(new InetSocketAddress(address, settings.port()), 16);
    } catch (BindException e) {
      if (!settings.fallBackToFreePort() || settings.port() == 0) {
        throw new UncheckedIOException(
            "the dashboard cannot listen on " + settings.host() + ":" + settings.port(), e);
      }
      try {
        server = HttpServer.create(new InetSocketAddress(address, 0), 16);
      } catch (IOException again) {
        throw new UncheckedIOException(again);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    AtomicInteger threads = new AtomicInteger();
    ExecutorService executor =
        Executors.newFixedThreadPool(
            2,
            r -> {
              Thread thread = new Thread(r, "sluice-ui-" + threads.incrementAndGet());
              thread.setDaemon(true);
              return thread;
            });
    Dashboard dashboard = new Dashboard(settings, server, executor, address.isLoopbackAddress());
    server.createContext("/", dashboard::handle);
    server.setExecutor(executor);
    server.start();
    return dashboard;
  }

  /** {@code http://HOST:PORT/}, with the port actually bound. */
  public String url() {
    String host = settings.host().contains(":") ? "[" + settings.host() + "]" : settings.host();
    return "http://" + host + ":" + port() + "/";
  }

  /** The port actually bound. */
  public int port() {
    return server.getAddress().getPort();
  }

  private void handle(HttpExchange exchange) throws IOException {
    try (exchange) {
      Headers headers = exchange.getResponseHeaders();
      headers.set("Content-Security-Policy", CSP);
      headers.set("X-Content-Type-Options", "nosniff");
      headers.set("X-Frame-Options", "DENY");
      headers.set("Referrer-Policy", "no-referrer");
      headers.set("Cross-Origin-Resource-Policy", "same-origin");
      headers.set("Cache-Control", "no-store");
      String method = exchange.getRequestMethod();
      if (!method.equals("GET") && !method.equals("HEAD")) {
        headers.set("Allow", "GET, HEAD");
        send(exchange, 405, "text/plain; charset=utf-8", bytes("read-only: GET and HEAD only\n"));
        return;
      }
      if (loopback && !loopbackHost(exchange.getRequestHeaders().getFirst("Host"))) {
        send(exchange, 421, "text/plain; charset=utf-8", bytes("unexpected Host header\n"));
        return;
      }
      URI uri = exchange.getRequestURI();
      String path = uri.getPath();
      if (path.startsWith("/api/")) {
        api(exchange, path.substring("/api/".length()), query(uri.getRawQuery()));
        return;
      }
      String[] file = FILES.get(path);
      if (file == null) {
        send(exchange, 404, "text/plain; charset=utf-8", bytes("not found\n"));
        return;
      }
      try (InputStream in = Dashboard.class.getResourceAsStream(file[0])) {
        if (in == null) {
          send(exchange, 500, "text/plain; charset=utf-8", bytes("missing resource\n"));
          return;
        }
        send(exchange, 200, file[1], in.readAllBytes());
      }
    }
  }

  private void api(HttpExchange exchange, String endpoint, Map<String, String> params)
      throws IOException {
    ObjectNode body;
    int status = 200;
    try {
      body =
          switch (endpoint) {
            case "overview" -> withConnection(c -> overview(c));
            case "series" -> {
              String key = params.get("key");
              String metric = params.get("metric");
              if (key == null || metric == null) {
                throw new IllegalArgumentException("series needs key and metric");
              }
              Long size = size(params.get("size"));
              yield withConnection(c -> data.series(c, key, metric, size));
            }
            case "alerts" -> withConnection(data::alerts);
            case "dead-letters" -> withConnection(deadLetterData::deadLetters);
            case "throughput" -> {
              Long size = size(params.get("size"));
              yield withConnection(c -> data.throughput(c, size));
            }
            default -> null;
          };
      if (body == null) {
        status = 404;
        body = MAPPER.createObjectNode().put("error", "no such endpoint: " + endpoint);
      }
    } catch (IllegalArgumentException e) {
      status = 400;
      body = MAPPER.createObjectNode().put("error", e.getMessage());
    } catch (RuntimeException e) {
      status = 500;
      body = MAPPER.createObjectNode().put("error", "internal error: " + e);
    } catch (SQLException e) {
      status = 503;
      body =
          MAPPER
              .createObjectNode()
              .put("error", "the store cannot be read: " + e.getMessage())
              .put("sql_state", e.getSQLState());
    }
    send(exchange, status, "application/json; charset=utf-8", MAPPER.writeValueAsBytes(body));
  }

  private ObjectNode overview(Connection c) throws SQLException {
    ObjectNode out = data.overview(c);
    out.put("store", settings.store());
    out.put("refresh_seconds", settings.refreshSeconds());
    return out;
  }

  private static Long size(String value) {
    if (value == null || value.isEmpty()) {
      return null;
    }
    try {
      long size = Long.parseLong(value);
      if (size <= 0) {
        throw new NumberFormatException();
      }
      return size;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("size must be a positive number of seconds");
    }
  }

  @FunctionalInterface
  private interface Read {
    ObjectNode read(Connection c) throws SQLException;
  }

  /** One read-only, repeatable-read transaction (a consistent snapshot) on a pooled connection. */
  private ObjectNode withConnection(Read read) throws SQLException {
    Connection c;
    synchronized (idle) {
      c = idle.pollFirst();
    }
    if (c == null || !c.isValid(2)) {
      if (c != null) {
        c.close();
      }
      c = settings.connector().connect();
    }
    boolean healthy = false;
    try {
      c.setAutoCommit(false);
      c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
      ObjectNode result = read.read(c);
      c.rollback();
      healthy = true;
      return result;
    } finally {
      if (healthy) {
        synchronized (idle) {
          if (idle.size() < IDLE_CONNECTIONS) {
            idle.addFirst(c);
            c = null;
          }
        }
      } else {
        try {
          c.rollback();
        } catch (SQLException ignored) {
          // The connection is closed below either way.
        }
      }
      if (c != null) {
        c.close();
      }
    }
  }

  /** Whether {@code host} (a Host header) names the loopback address this server listens on. */
  static boolean loopbackHost(String host) {
    if (host == null) {
      return false;
    }
    String name = host.toLowerCase(Locale.ROOT);
    if (name.startsWith("[")) {
      int end = name.indexOf(']');
      name = end < 0 ? name : name.substring(1, end);
    } else if (name.indexOf(':') >= 0) {
      name = name.substring(0, name.indexOf(':'));
    }
    return Set.of("127.0.0.1", "localhost", "::1").contains(name);
  }

  private static Map<String, String> query(String raw) {
    Map<String, String> params = new LinkedHashMap<>();
    if (raw == null || raw.isEmpty()) {
      return params;
    }
    for (String pair : raw.split("&")) {
      int eq = pair.indexOf('=');
      String name = eq < 0 ? pair : pair.substring(0, eq);
      String value = eq < 0 ? "" : pair.substring(eq + 1);
      params.putIfAbsent(
          URLDecoder.decode(name, StandardCharsets.UTF_8),
          URLDecoder.decode(value, StandardCharsets.UTF_8));
    }
    return params;
  }

  private static void send(HttpExchange exchange, int status, String type, byte[] body)
      throws IOException {
    exchange.getResponseHeaders().set("Content-Type", type);
    boolean head = exchange.getRequestMethod().equals("HEAD");
    exchange.sendResponseHeaders(status, head ? -1 : body.length);
    if (!head) {
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    }
  }

  private static byte[] bytes(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  /** The uPlot WebJar's version, from its pom.properties on the classpath. */
  private static String uplotVersion() {
    try (InputStream in =
        Dashboard.class.getResourceAsStream(
            "/META-INF/maven/org.webjars.npm/uplot/pom.properties")) {
      if (in == null) {
        throw new IllegalStateException("uPlot's WebJar (org.webjars.npm:uplot) is missing");
      }
      java.util.Properties properties = new java.util.Properties();
      properties.load(in);
      return properties.getProperty("version");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Stops serving and closes the database connections. */
  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
    synchronized (idle) {
      for (Connection c : idle) {
        try {
          c.close();
        } catch (SQLException ignored) {
          // Closing anyway.
        }
      }
      idle.clear();
    }
  }
}

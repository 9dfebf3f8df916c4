package dev.sluice.local.dashboard;

import dev.sluice.local.EmbeddedPostgresStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HexFormat;
import java.util.List;
import java.util.Properties;
import java.util.regex.Pattern;

/**
 * Read-only connections to a job's store for the {@link Dashboard}: every connection it opens is
 * read-only at the database level, whatever the credentials it is given could do.
 *
 * <pre>{@code
 * StoreAccess.Connector ui = StoreAccess.embedded(store, "sluice");   // role sluice_ui, SELECT only
 * StoreAccess.Connector own = StoreAccess.jdbc("jdbc:postgresql://db/metrics", props);
 * }</pre>
 *
 * <ul>
 *   <li>Every connection: {@code default_transaction_read_only=on} as a startup option and again
 *       for the session, pgjdbc's {@code readOnly} with {@code readOnlyMode=always}, and a
 *       statement timeout. A write is refused with SQLState 25006.
 *   <li>The embedded store: the UI logs in as the role {@value #ROLE}, which may only {@code
 *       SELECT} from the schema's tables (no superuser, no create, no inherited rights) and whose
 *       own default is read-only: even a session that switched read-only off could not write. Its
 *       password is generated once per data directory and kept in {@value #PASSWORD_FILE} there
 *       (owner only), next to the superuser's.
 *   <li>Your own PostgreSQL: the connection is read-only as above; for a guarantee that does not
 *       depend on the session, give the UI a user that only has {@code SELECT} ({@code
 *       --jdbcUser}).
 * </ul>
 */
public final class StoreAccess {
  /** The embedded store's read-only role. */
  public static final String ROLE = "sluice_ui";

  /** The file in the data directory with the read-only role's password. */
  public static final String PASSWORD_FILE = "sluice-ui-password";

  private static final Pattern NAME = Pattern.compile("[a-z_][a-z0-9_]{0,62}");
  private static final int CONNECT_TIMEOUT_SECONDS = 10;
  private static final String STATEMENT_TIMEOUT = "15s";
  private static final long ROLE_LOCK = 0x51_75_1C_E0_1DL;

  private StoreAccess() {}

  /** Opens a connection; the dashboard closes it. */
  @FunctionalInterface
  public interface Connector {
    Connection connect() throws SQLException;
  }

  /**
   * Connections to the embedded {@code store} as the read-only role {@value #ROLE}, which this
   * creates or updates first (as the superuser): {@code SELECT} on the tables of {@code schema},
   * now and for the tables created later.
   */
  public static Connector embedded(EmbeddedPostgresStore store, String schema) {
    checkSchema(schema);
    String password;
    try (Connection admin = store.connect()) {
      admin.setAutoCommit(false);
      try (Statement s = admin.createStatement()) {
        // Two dashboards of one store (a job's and a test's) must not race on CREATE ROLE.
        s.execute("SELECT pg_advisory_xact_lock(" + ROLE_LOCK + ")");
        password = rolePassword(store.dataDirectory());
        boolean exists;
        try (PreparedStatement q =
            admin.prepareStatement("SELECT 1 FROM pg_roles WHERE rolname = ?")) {
          q.setString(1, ROLE);
          exists = q.executeQuery().next();
        }
        String attributes =
            " LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS"
                + " PASSWORD '"
                + password
                + "'";
        s.execute((exists ? "ALTER ROLE " : "CREATE ROLE ") + ROLE + attributes);
        s.execute("ALTER ROLE " + ROLE + " SET default_transaction_read_only = on");
        s.execute("CREATE SCHEMA IF NOT EXISTS " + schema);
        s.execute("GRANT USAGE ON SCHEMA " + schema + " TO " + ROLE);
        s.execute("GRANT SELECT ON ALL TABLES IN SCHEMA " + schema + " TO " + ROLE);
        s.execute(
            "ALTER DEFAULT PRIVILEGES FOR ROLE "
                + store.user()
                + " IN SCHEMA "
                + schema
                + " GRANT SELECT ON TABLES TO "
                + ROLE);
      }
      admin.commit();
    } catch (SQLException e) {
      throw new IllegalStateException(
          "cannot set up the read-only role " + ROLE + " in the embedded store: " + e.getMessage(),
          e);
    }
    String url = store.jdbcUrl().replace("user=" + store.user(), "user=" + ROLE);
    Properties properties = new Properties();
    properties.setProperty("user", ROLE);
    properties.setProperty("password", password);
    return jdbc(url, properties);
  }

  /**
   * Read-only connections to {@code jdbcUrl} with {@code properties} (user, password, ...): the
   * read-only settings are added to a copy.
   */
  public static Connector jdbc(String jdbcUrl, Properties properties) {
    if (jdbcUrl == null || !jdbcUrl.startsWith("jdbc:postgresql:")) {
      throw new IllegalArgumentException(
          "the dashboard reads PostgreSQL: the URL must start with jdbc:postgresql:");
    }
    Properties props = new Properties();
    props.putAll(properties);
    props.setProperty("options", "-c default_transaction_read_only=on");
    props.setProperty("readOnly", "true");
    props.setProperty("readOnlyMode", "always");
    props.setProperty("ApplicationName", "sluice-ui");
    props.setProperty("connectTimeout", String.valueOf(CONNECT_TIMEOUT_SECONDS));
    props.setProperty("loginTimeout", String.valueOf(CONNECT_TIMEOUT_SECONDS));
    return readOnly(() -> DriverManager.getConnection(jdbcUrl, props));
  }

  /**
   * Connections from {@code connector} made read-only for their session (a job's own writer
   * credentials, e.g.): {@code SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY}, a statement
   * timeout, and JDBC's read-only flag.
   */
  public static Connector readOnly(Connector connector) {
    return () -> {
      Connection c = connector.connect();
      try {
        try (Statement s = c.createStatement()) {
          s.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY");
          s.execute("SET statement_timeout = '" + STATEMENT_TIMEOUT + "'");
        }
        c.setReadOnly(true);
        return c;
      } catch (SQLException | RuntimeException e) {
        c.close();
        throw e;
      }
    };
  }

  static String checkSchema(String schema) {
    if (schema == null || !NAME.matcher(schema).matches()) {
      throw new IllegalArgumentException(
          "schema must match [a-z_][a-z0-9_]{0,62}, got '" + schema + "'");
    }
    return schema;
  }

  /** The role's password for this data directory: generated once, then read. */
  private static String rolePassword(Path dataDirectory) {
    Path file = dataDirectory.resolve(PASSWORD_FILE);
    try {
      if (Files.exists(file)) {
        List<String> lines = Files.readAllLines(file);
        if (!lines.isEmpty() && lines.get(0).strip().matches("[0-9a-f]{48}")) {
          return lines.get(0).strip();
        }
      }
      byte[] random = new byte[24];
      new SecureRandom().nextBytes(random);
      String password = HexFormat.of().formatHex(random);
      Path temp = Files.createTempFile(dataDirectory, PASSWORD_FILE, ".tmp");
      Files.setPosixFilePermissions(temp, PosixFilePermissions.fromString("rw-------"));
      Files.writeString(temp, password + "\n");
      Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      return password;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot keep the dashboard's password in " + file, e);
    }
  }
}

package dev.sluice.pipelines;

import dev.sluice.io.PostgresIO;
import dev.sluice.local.EmbeddedPostgresStore;

/**
 * The one bridge from the embedded store (local tooling, {@code sluice-local}) to {@link
 * PostgresIO}, which does not know it.
 *
 * <pre>{@code
 * try (EmbeddedPostgresStore store = EmbeddedPostgresStore.start(Path.of("output/postgres"))) {
 *   stats.apply("StoreStats", PostgresIO.writeStats().to(EmbeddedStores.database(store)));
 * }
 * }</pre>
 */
public final class EmbeddedStores {
  private EmbeddedStores() {}

  /**
   * The store's database for {@link PostgresIO} writes: its URL (which names the user) and its
   * password file, read where a connection is opened; the password itself is never serialized.
   */
  public static PostgresIO.Database database(EmbeddedPostgresStore store) {
    return PostgresIO.database(store.jdbcUrl()).withPasswordFile(store.passwordFile());
  }
}

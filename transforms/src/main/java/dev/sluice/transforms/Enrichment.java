package dev.sluice.transforms;

import com.google.auto.value.AutoValue;
import dev.sluice.model.ReferenceTable;
import java.io.Serializable;
import java.util.Collections;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import org.apache.beam.sdk.values.PCollectionView;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * Joins events and window stats, by key, with a reference table given as a side input (see {@code
 * ReferenceTableIO} in Sluice's io module, which reads a CSV file or a PostgreSQL table and
 * refreshes it): its columns are {@code ref.<column>} in expressions and rule conditions.
 *
 * <pre>{@code
 * PCollectionView<ReferenceTable> limits = pipeline.apply("ReadLimits",
 *     ReferenceTableIO.csv("limits.csv").withKeyColumn("sensor"));
 * Enrichment enrich = Enrichment.of(limits).withDefaults(Map.of("max_temperature", 50.0));
 * }</pre>
 *
 * <p><b>A key without a row</b>: by default ({@link #of}) it has no reference values: a rule that
 * compares with {@code ref.<column>} is skipped for that key (it neither fires nor resolves), and
 * an expression that reads {@code ref.<column>} fails for its events ({@code EXPRESSION_ERROR};
 * test with {@code has(ref.column)} to avoid that). With {@link #withDefaults}, such a key, and a
 * row without the column, takes the default values instead.
 */
@AutoValue
public abstract class Enrichment implements Serializable {

  public abstract PCollectionView<ReferenceTable> table();

  /** Values for keys without a row, and for columns a row lacks; null skips such keys. */
  public abstract @Nullable SortedMap<String, Object> defaults();

  /** Keys without a row are skipped by rules on {@code ref} columns (see the class comment). */
  public static Enrichment of(PCollectionView<ReferenceTable> table) {
    return new AutoValue_Enrichment(Checks.notNull("table", table), null);
  }

  /** Keys without a row, and rows without a column, take these values instead. */
  public Enrichment withDefaults(Map<String, ?> defaults) {
    Checks.notNull("defaults", defaults);
    // Checked the way a table's cells are: strings, finite numbers, booleans.
    SortedMap<String, Object> checked =
        ReferenceTable.of(Map.of("defaults", defaults), "defaults", org.joda.time.Instant.EPOCH)
            .row("defaults");
    return new AutoValue_Enrichment(table(), Collections.unmodifiableSortedMap(checked));
  }

  /**
   * The values of {@code key}: its row (over the defaults, if any), the defaults when it has no
   * row, or null when it has no row and there are no defaults.
   */
  public @Nullable Map<String, Object> rowFor(ReferenceTable table, String key) {
    SortedMap<String, Object> row = table.row(key);
    if (defaults() == null) {
      return row;
    }
    if (row == null) {
      return defaults();
    }
    TreeMap<String, Object> merged = new TreeMap<>(defaults());
    merged.putAll(row);
    return merged;
  }
}

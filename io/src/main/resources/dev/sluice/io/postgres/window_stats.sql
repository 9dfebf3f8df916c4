-- Per (key, metric, window) statistics; one row per window, the latest pane wins. written_at is
-- when the row's content was stored (set by the upsert, kept by a replay that changes nothing); a
-- table made before it existed gets the column, NULL (unknown) for the rows it already has.
-- {schema} and {table} are replaced by validated names ([a-z_][a-z0-9_]*) before this runs.
CREATE SCHEMA IF NOT EXISTS {schema};
CREATE TABLE IF NOT EXISTS {schema}.{table} (
  key            text             NOT NULL,
  metric         text             NOT NULL,
  window_start   timestamptz      NOT NULL,
  window_end     timestamptz      NOT NULL,
  count          bigint           NOT NULL,
  sum            double precision NOT NULL,
  min            double precision NOT NULL,
  max            double precision NOT NULL,
  mean           double precision NOT NULL,
  stddev         double precision,
  p50            double precision,
  p95            double precision,
  p99            double precision,
  distinct_count bigint,
  pane           text             NOT NULL,
  pane_index     bigint           NOT NULL,
  final          boolean          NOT NULL,
  written_at     timestamptz,
  PRIMARY KEY (key, metric, window_start, window_end)
);
ALTER TABLE {schema}.{table} ADD COLUMN IF NOT EXISTS written_at timestamptz;
CREATE INDEX IF NOT EXISTS {table}_window_end_idx ON {schema}.{table} (window_end);

-- Alert notifications: FIRING and RESOLVED of one episode share alert_id; a re-notification has a
-- later window_end. A replayed notification is the same row and is ignored. silenced marks a
-- transition a silence covered (stored, not sent); a table made before it existed gets the column.
-- {schema} and {table} are replaced by validated names ([a-z_][a-z0-9_]*) before this runs.
CREATE SCHEMA IF NOT EXISTS {schema};
CREATE TABLE IF NOT EXISTS {schema}.{table} (
  alert_id     text             NOT NULL,
  rule_id      text             NOT NULL,
  rule_version bigint           NOT NULL,
  key          text             NOT NULL,
  metric       text             NOT NULL,
  status       text             NOT NULL,
  severity     text             NOT NULL,
  value        double precision NOT NULL,
  threshold    double precision NOT NULL,
  window_start timestamptz      NOT NULL,
  window_end   timestamptz      NOT NULL,
  message      text             NOT NULL,
  emitted_at   timestamptz      NOT NULL,
  labels       jsonb            NOT NULL,
  silenced     boolean          NOT NULL DEFAULT false,
  PRIMARY KEY (alert_id, status, window_end)
);
ALTER TABLE {schema}.{table} ADD COLUMN IF NOT EXISTS silenced boolean NOT NULL DEFAULT false;
CREATE INDEX IF NOT EXISTS {table}_key_idx ON {schema}.{table} (key, window_end);

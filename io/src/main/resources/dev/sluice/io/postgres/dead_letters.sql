-- Rejected input with its original payload. dead_letter_id is a SHA-256 over stage, reason, source
-- and payload, so a replayed dead letter is the same row and is ignored.
-- {schema} and {table} are replaced by validated names ([a-z_][a-z0-9_]*) before this runs.
CREATE SCHEMA IF NOT EXISTS {schema};
CREATE TABLE IF NOT EXISTS {schema}.{table} (
  dead_letter_id text        NOT NULL PRIMARY KEY,
  stage          text        NOT NULL,
  reason         text        NOT NULL,
  error          text        NOT NULL,
  payload        text,
  payload_base64 text,
  source         text,
  failed_at      timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS {table}_reason_idx ON {schema}.{table} (reason);

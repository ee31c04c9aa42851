-- +goose Up
-- The delivery engine: endpoint secrets (sealed), endpoint health, and the
-- log of every attempt. The job queue (River) keeps its own tables.

ALTER TABLE related_services ADD COLUMN secret TEXT NOT NULL DEFAULT '';
ALTER TABLE related_services ADD COLUMN old_secret TEXT NOT NULL DEFAULT '';
ALTER TABLE related_services ADD COLUMN old_secret_until BIGINT NOT NULL DEFAULT 0;
ALTER TABLE related_services ADD COLUMN failing_since BIGINT NOT NULL DEFAULT 0;
ALTER TABLE related_services ADD COLUMN disabled_reason TEXT NOT NULL DEFAULT '';

ALTER TABLE deliveries ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE deliveries ADD COLUMN delivered_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE deliveries ADD COLUMN last_error TEXT NOT NULL DEFAULT '';

CREATE TABLE delivery_attempts (
    id             TEXT PRIMARY KEY,
    delivery_id    TEXT NOT NULL REFERENCES deliveries (id),
    service_id     TEXT NOT NULL,
    attempt        INTEGER NOT NULL,
    started_at     BIGINT NOT NULL,
    duration_us    BIGINT NOT NULL,
    status_code    INTEGER NOT NULL DEFAULT 0,
    response_body  TEXT NOT NULL DEFAULT '',
    error          TEXT NOT NULL DEFAULT ''
);
CREATE INDEX delivery_attempts_delivery ON delivery_attempts (delivery_id, id);
CREATE INDEX deliveries_status ON deliveries (status, id);

-- +goose Down
DROP INDEX deliveries_status;
DROP TABLE delivery_attempts;
ALTER TABLE deliveries DROP COLUMN last_error;
ALTER TABLE deliveries DROP COLUMN delivered_at;
ALTER TABLE deliveries DROP COLUMN attempts;
ALTER TABLE related_services DROP COLUMN disabled_reason;
ALTER TABLE related_services DROP COLUMN failing_since;
ALTER TABLE related_services DROP COLUMN old_secret_until;
ALTER TABLE related_services DROP COLUMN old_secret;
ALTER TABLE related_services DROP COLUMN secret;

-- +goose Up
-- The proposal engine's candidate index: one row per (service, currency,
-- merchant category) its policy covers ('' = every category), with the
-- threshold a user new to the service gets there. A completion finds the
-- services worth deciding on through it instead of reading every service.
-- The store rewrites a service's rows whenever its settings change, and on
-- open indexes services whose targets_version is older than the code's
-- (those registered before this table existed, for one).
CREATE TABLE service_targets (
    service_id  TEXT NOT NULL REFERENCES related_services (id),
    currency    TEXT NOT NULL,
    category    TEXT NOT NULL,
    threshold   BIGINT NOT NULL,
    PRIMARY KEY (service_id, currency, category)
);
CREATE INDEX service_targets_lookup ON service_targets (currency, category, threshold, service_id);
ALTER TABLE related_services ADD COLUMN targets_version INTEGER NOT NULL DEFAULT 0;

-- A user's links by service, revoked ones included: the proposal engine
-- asks "has this user ever linked this service" for every candidate.
CREATE INDEX links_user_service ON links (user_id, service_id);

-- +goose Down
DROP INDEX links_user_service;
ALTER TABLE related_services DROP COLUMN targets_version;
DROP TABLE service_targets;

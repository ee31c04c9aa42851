-- +goose Up
-- Related services, links, proposals, selections and the deliveries they
-- queue. Booleans are 0/1 integers and lists are JSON text, so the schema
-- stays one for both engines.

CREATE TABLE related_services (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    icon_url        TEXT NOT NULL DEFAULT '',
    icon_type       TEXT NOT NULL DEFAULT '',
    icon_data       TEXT NOT NULL DEFAULT '',
    description_ja  TEXT NOT NULL DEFAULT '',
    description_en  TEXT NOT NULL DEFAULT '',
    app_url         TEXT NOT NULL DEFAULT '',
    app_category    TEXT NOT NULL,
    webhook_url     TEXT NOT NULL,
    scopes          TEXT NOT NULL,
    input           TEXT NOT NULL,
    policy          TEXT NOT NULL,
    enabled         INTEGER NOT NULL DEFAULT 1,
    key_hash        TEXT NOT NULL UNIQUE,
    created_at      BIGINT NOT NULL
);

-- One pairwise pseudonymous id per (user, service), random and kept, so a
-- partner never learns the user's id and two partners cannot join theirs.
CREATE TABLE pseudonyms (
    user_id     TEXT NOT NULL REFERENCES users (id),
    service_id  TEXT NOT NULL REFERENCES related_services (id),
    pseudonym   TEXT NOT NULL UNIQUE,
    PRIMARY KEY (user_id, service_id)
);

CREATE TABLE links (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id),
    service_id  TEXT NOT NULL REFERENCES related_services (id),
    scopes      TEXT NOT NULL,
    auto        INTEGER NOT NULL DEFAULT 0,
    status      TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX links_one_active ON links (user_id, service_id) WHERE status = 'active';

-- The proposal engine's decisions for a payment are made once, on the
-- first view of its completion screen; completions marks that moment.
CREATE TABLE completions (
    payment_id  TEXT PRIMARY KEY REFERENCES payments (id),
    decided_at  BIGINT NOT NULL
);

CREATE TABLE proposals (
    id             TEXT PRIMARY KEY,
    payment_id     TEXT NOT NULL REFERENCES payments (id),
    user_id        TEXT NOT NULL REFERENCES users (id),
    service_id     TEXT NOT NULL REFERENCES related_services (id),
    rank           INTEGER NOT NULL DEFAULT 0,
    threshold      BIGINT NOT NULL DEFAULT 0,
    reason_code    TEXT NOT NULL,
    reason         TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('shown', 'selected', 'dismissed', 'skipped')),
    created_at     BIGINT NOT NULL,
    decided_at     BIGINT NOT NULL DEFAULT 0,
    UNIQUE (payment_id, service_id)
);
CREATE INDEX proposals_history ON proposals (user_id, service_id, created_at);

CREATE TABLE selections (
    id           TEXT PRIMARY KEY,
    proposal_id  TEXT NOT NULL UNIQUE REFERENCES proposals (id),
    payment_id   TEXT NOT NULL REFERENCES payments (id),
    user_id      TEXT NOT NULL REFERENCES users (id),
    service_id   TEXT NOT NULL REFERENCES related_services (id),
    memo         TEXT NOT NULL DEFAULT '',
    category     TEXT NOT NULL DEFAULT '',
    delivery_id  TEXT NOT NULL DEFAULT '',
    outcome      TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);

-- Sequence numbers per (user, service) stream, so partners can order.
CREATE TABLE streams (
    user_id     TEXT NOT NULL,
    service_id  TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    PRIMARY KEY (user_id, service_id)
);

-- The outbox: one row per message to one related service, written in the
-- transaction of its cause (a selection, an automatic link, a refund).
CREATE TABLE deliveries (
    id          TEXT PRIMARY KEY,
    service_id  TEXT NOT NULL REFERENCES related_services (id),
    user_id     TEXT NOT NULL REFERENCES users (id),
    payment_id  TEXT NOT NULL,
    type        TEXT NOT NULL,
    source      TEXT NOT NULL CHECK (source IN ('selection', 'link', 'statement')),
    sequence    BIGINT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('queued', 'delivered', 'failed', 'canceled')),
    body        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX deliveries_service ON deliveries (service_id, id);
CREATE INDEX deliveries_payment ON deliveries (payment_id, service_id);
CREATE INDEX deliveries_stream ON deliveries (user_id, service_id, status);

-- +goose Down
DROP TABLE deliveries;
DROP TABLE streams;
DROP TABLE selections;
DROP TABLE proposals;
DROP TABLE completions;
DROP TABLE links;
DROP TABLE pseudonyms;
DROP TABLE related_services;

-- +goose Up
-- One schema for SQLite and PostgreSQL: portable types only. Times are
-- microseconds since the Unix epoch (UTC), money is integer minor units.

CREATE TABLE users (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL
);

CREATE TABLE merchants (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    mcc         TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
    created_at  BIGINT NOT NULL
);

CREATE TABLE terminals (
    id           TEXT PRIMARY KEY,
    merchant_id  TEXT NOT NULL REFERENCES merchants (id),
    name         TEXT NOT NULL,
    key_hash     TEXT NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL
);
CREATE INDEX terminals_merchant ON terminals (merchant_id);

-- Ledger accounts: user wallets (never negative), merchant settlement
-- accounts and the system's funding account (the outside world; it goes
-- negative by every top-up).
CREATE TABLE accounts (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('wallet', 'merchant', 'funding')),
    owner_id    TEXT NOT NULL,
    currency    TEXT NOT NULL,
    balance     BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    UNIQUE (kind, owner_id, currency),
    CHECK (kind <> 'wallet' OR balance >= 0)
);

CREATE TABLE txns (
    id            TEXT PRIMARY KEY,
    kind          TEXT NOT NULL CHECK (kind IN ('topup', 'payment', 'refund')),
    ref_id        TEXT NOT NULL,
    counterparty  TEXT NOT NULL DEFAULT '',
    created_at    BIGINT NOT NULL
);
CREATE INDEX txns_ref ON txns (ref_id);

CREATE TABLE postings (
    id             TEXT PRIMARY KEY,
    txn_id         TEXT NOT NULL REFERENCES txns (id),
    account_id     TEXT NOT NULL REFERENCES accounts (id),
    amount         BIGINT NOT NULL CHECK (amount <> 0),
    currency       TEXT NOT NULL,
    balance_after  BIGINT NOT NULL,
    created_at     BIGINT NOT NULL
);
CREATE INDEX postings_account ON postings (account_id, id);
CREATE INDEX postings_txn ON postings (txn_id);

CREATE TABLE pay_codes (
    code_hash   TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id),
    currency    TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT NOT NULL DEFAULT 0,
    payment_id  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX pay_codes_expiry ON pay_codes (expires_at);

CREATE TABLE payments (
    id               TEXT PRIMARY KEY,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'completed', 'failed', 'expired', 'partially_refunded', 'refunded')),
    amount           BIGINT NOT NULL CHECK (amount > 0),
    currency         TEXT NOT NULL,
    amount_refunded  BIGINT NOT NULL DEFAULT 0,
    flow             TEXT NOT NULL,
    method           TEXT NOT NULL,
    user_id          TEXT REFERENCES users (id),
    merchant_id      TEXT NOT NULL REFERENCES merchants (id),
    terminal_id      TEXT NOT NULL REFERENCES terminals (id),
    failure_code     TEXT NOT NULL DEFAULT '',
    failure_message  TEXT NOT NULL DEFAULT '',
    qr_ref_hash      TEXT UNIQUE,
    qr_payload       TEXT NOT NULL DEFAULT '',
    created_at       BIGINT NOT NULL,
    completed_at     BIGINT NOT NULL DEFAULT 0,
    expires_at       BIGINT NOT NULL DEFAULT 0,
    CHECK (amount_refunded >= 0 AND amount_refunded <= amount)
);
CREATE INDEX payments_user ON payments (user_id, id);
CREATE INDEX payments_merchant ON payments (merchant_id, id);
CREATE INDEX payments_pending ON payments (status, expires_at);

CREATE TABLE refunds (
    id          TEXT PRIMARY KEY,
    payment_id  TEXT NOT NULL REFERENCES payments (id),
    amount      BIGINT NOT NULL CHECK (amount > 0),
    currency    TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL
);
CREATE INDEX refunds_payment ON refunds (payment_id);

-- The event log: immutable, written in the transaction of the change.
CREATE TABLE events (
    id           TEXT PRIMARY KEY,
    type         TEXT NOT NULL,
    object_id    TEXT NOT NULL,
    user_id      TEXT NOT NULL DEFAULT '',
    merchant_id  TEXT NOT NULL DEFAULT '',
    data         TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX events_object ON events (object_id, id);

-- Idempotency keys: the row is inserted in the transaction of the effect
-- and holds its result, so a key and its effect commit together.
CREATE TABLE idempotency_keys (
    scope         TEXT NOT NULL,
    idem_key      TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    result_kind   TEXT NOT NULL DEFAULT '',
    result        TEXT NOT NULL DEFAULT '',
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (scope, idem_key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- +goose Down
DROP TABLE idempotency_keys;
DROP TABLE events;
DROP TABLE refunds;
DROP TABLE payments;
DROP TABLE pay_codes;
DROP TABLE postings;
DROP TABLE txns;
DROP TABLE accounts;
DROP TABLE terminals;
DROP TABLE merchants;
DROP TABLE users;

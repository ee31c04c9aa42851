-- +goose Up
-- The payee side's statement feed (claim 9): each run closes a statement
-- per merchant over the payments completed since the last one.
CREATE TABLE statements (
    id            TEXT PRIMARY KEY,
    merchant_id   TEXT NOT NULL REFERENCES merchants (id),
    period_end    BIGINT NOT NULL,
    lines         INTEGER NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX statements_merchant ON statements (merchant_id, id);

ALTER TABLE payments ADD COLUMN statement_id TEXT NOT NULL DEFAULT '';
CREATE INDEX payments_unstated ON payments (merchant_id, statement_id, completed_at);

-- +goose Down
DROP INDEX payments_unstated;
ALTER TABLE payments DROP COLUMN statement_id;
DROP TABLE statements;

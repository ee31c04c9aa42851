-- +goose Up
-- A deleted related service keeps its row, so the messages and attempts
-- that name it stay readable for the audit trail; deleted_at (0 = not
-- deleted) hides it from lists, proposals, links and its partner key.
ALTER TABLE related_services ADD COLUMN deleted_at BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE related_services DROP COLUMN deleted_at;

-- +goose Up
-- Memos written after the fact: each edit of a payment's memo and
-- category by its payer, kept (the selection keeps what was typed at the
-- tap), and sent as payment.annotated to the services that received the
-- payment.

CREATE TABLE annotations (
    id          TEXT PRIMARY KEY,
    payment_id  TEXT NOT NULL REFERENCES payments (id),
    user_id     TEXT NOT NULL REFERENCES users (id),
    memo        TEXT NOT NULL DEFAULT '',
    category    TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL
);
CREATE INDEX annotations_payment ON annotations (payment_id, id);

-- +goose Down
DROP TABLE annotations;

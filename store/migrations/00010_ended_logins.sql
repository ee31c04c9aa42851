-- +goose Up
-- Browser logins ended by logging out. A login cookie carries a random id;
-- logging out records it here until the cookie would have expired anyway,
-- so a copy of the cookie taken before is refused on every node.
CREATE TABLE ended_logins (
    id          TEXT PRIMARY KEY,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX ended_logins_expiry ON ended_logins (expires_at);

-- +goose Down
DROP TABLE ended_logins;

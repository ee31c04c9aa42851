-- +goose Up
-- Consent that says what it covers (issue 11). A link's statement feed is
-- a consent of its own, off unless the user turns it on; before, every
-- link of a service that wanted the feed received it.
ALTER TABLE links ADD COLUMN statement INTEGER NOT NULL DEFAULT 0;

-- One row per consent a user gives on a link: when it was made and when
-- its settings changed. Rows are never updated; each is a consent receipt.
-- (Taps keep theirs in selections.)
CREATE TABLE link_consents (
    id          TEXT PRIMARY KEY,
    link_id     TEXT NOT NULL REFERENCES links (id),
    user_id     TEXT NOT NULL,
    service_id  TEXT NOT NULL,
    scopes      TEXT NOT NULL,
    auto        INTEGER NOT NULL,
    statement   INTEGER NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX link_consents_user ON link_consents (user_id, id);
CREATE INDEX link_consents_link ON link_consents (link_id, id);
-- Links made before this migration get the receipt of what they were
-- made with (the statement feed off, as the column now says).
INSERT INTO link_consents (id, link_id, user_id, service_id, scopes, auto, statement, created_at)
    SELECT 'cns_' || substr(id, 5), id, user_id, service_id, scopes, auto, 0, created_at FROM links;

-- The privacy center lists a user's messages, newest first.
CREATE INDEX deliveries_user ON deliveries (user_id, id);

-- +goose Down
DROP INDEX deliveries_user;
DROP TABLE link_consents;
ALTER TABLE links DROP COLUMN statement;

-- +goose Up
-- The time zone a user's pages show times in (an IANA name such as
-- Asia/Tokyo), whatever the page's language; '' means the server's
-- --time-zone. The API keeps answering UTC.
ALTER TABLE users ADD COLUMN time_zone TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE users DROP COLUMN time_zone;

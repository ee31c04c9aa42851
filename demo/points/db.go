package points

import (
	"database/sql"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" driver
)

// schema is the points programme: one row per payment with what was
// awarded and revoked for it, one per refund, and the moves that make up
// each user's balance. The CHECK keeps a payment's revocations within its
// award, whatever order messages arrive in. Times are Unix microseconds.
const schema = `
CREATE TABLE IF NOT EXISTS payments (
	payment_id        TEXT    PRIMARY KEY,
	user              TEXT    NOT NULL,
	amount            INTEGER,                    -- minor units; NULL until payment.completed (or without the amount scope)
	currency          TEXT    NOT NULL DEFAULT '',
	merchant_category TEXT    NOT NULL DEFAULT '',
	multiplier        INTEGER NOT NULL DEFAULT 1,
	awarded           INTEGER NOT NULL DEFAULT 0,
	award_known       INTEGER NOT NULL DEFAULT 0, -- 1 once payment.completed was processed
	refunded_amount   INTEGER NOT NULL DEFAULT 0,
	refunded_full     INTEGER NOT NULL DEFAULT 0, -- a refund of unknown amount counts as the whole payment
	revoked           INTEGER NOT NULL DEFAULT 0,
	completed_at      INTEGER,
	awarded_at        INTEGER,
	message_id        TEXT    NOT NULL DEFAULT '',
	CHECK (awarded >= 0 AND revoked >= 0 AND revoked <= awarded)
);
CREATE INDEX IF NOT EXISTS payments_user ON payments (user, awarded_at);
CREATE TABLE IF NOT EXISTS refunds (
	refund_id   TEXT    PRIMARY KEY,
	payment_id  TEXT    NOT NULL,
	amount      INTEGER,
	refunded_at INTEGER,
	received_at INTEGER NOT NULL,
	message_id  TEXT    NOT NULL
);
CREATE TABLE IF NOT EXISTS moves (
	id         INTEGER PRIMARY KEY,
	user       TEXT    NOT NULL,
	payment_id TEXT    NOT NULL,
	refund_id  TEXT    NOT NULL DEFAULT '',
	kind       TEXT    NOT NULL CHECK (kind IN ('award', 'revoke')),
	points     INTEGER NOT NULL,
	at         INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS moves_user ON moves (user, id);
CREATE INDEX IF NOT EXISTS moves_payment ON moves (payment_id, id);
PRAGMA user_version = 1;
`

// micros and fromMicros convert times to and from the database.
func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := time.UnixMicro(v.Int64).UTC()
	return &t
}

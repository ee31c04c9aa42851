package kakeibo

import (
	"database/sql"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" driver
)

// schema is the account book. An entry is a payment (empty refund_id) or the
// reversal of one refund; the unique keys make "one entry per payment, one
// reversal per refund" a property of the database, not only of the code.
// Times are Unix microseconds.
const schema = `
CREATE TABLE IF NOT EXISTS entries (
	id                INTEGER PRIMARY KEY,
	payment_id        TEXT    NOT NULL,
	refund_id         TEXT    NOT NULL DEFAULT '',
	user              TEXT    NOT NULL,
	amount            INTEGER,          -- minor units, negative for a reversal; NULL without the amount scope
	currency          TEXT    NOT NULL DEFAULT '',
	merchant          TEXT    NOT NULL DEFAULT '',
	merchant_category TEXT    NOT NULL DEFAULT '',
	memo              TEXT    NOT NULL DEFAULT '',
	category          TEXT    NOT NULL DEFAULT '',
	source            TEXT    NOT NULL CHECK (source IN ('realtime', 'statement')),
	completed_at      INTEGER,          -- the payment's (or refund's) own time, if the message says
	booked_at         INTEGER NOT NULL, -- the time the entry counts at: completed_at, else received_at
	received_at       INTEGER NOT NULL, -- when the first message of the entry arrived
	realtime_at       INTEGER,          -- when the real-time message arrived
	statement_at      INTEGER,          -- when the statement line arrived
	statement_id      TEXT    NOT NULL DEFAULT '',
	confirmed_at      INTEGER,          -- when the real-time message and the statement line were both in
	message_id        TEXT    NOT NULL, -- webhook-id of the message that booked it
	UNIQUE (payment_id, refund_id)
);
CREATE UNIQUE INDEX IF NOT EXISTS entries_refund ON entries (refund_id) WHERE refund_id <> '';
CREATE INDEX IF NOT EXISTS entries_booked ON entries (booked_at);
CREATE INDEX IF NOT EXISTS entries_user ON entries (user, booked_at);
-- The payer's latest memo edit per payment (payment.annotated), so an
-- older edit that arrives late does not undo a newer one.
CREATE TABLE IF NOT EXISTS memo_edits (
	payment_id  TEXT    PRIMARY KEY,
	sequence    INTEGER NOT NULL,
	edited_at   INTEGER NOT NULL,
	message_id  TEXT    NOT NULL
);
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

func nullTime(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMicro(), Valid: true}
}

func nullInt(v *int64) sql.NullInt64 {
	if v == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: *v, Valid: true}
}

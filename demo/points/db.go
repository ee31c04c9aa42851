package points

import (
	"context"
	"database/sql"
	"fmt"
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

// openDB opens the SQLite database at path: WAL with synchronous=FULL, so
// points that were acknowledged to Renkei survives a power loss;
// immediate transactions and a busy timeout, so that concurrent
// deliveries queue for the write lock instead of failing.
func openDB(ctx context.Context, path string) (*sql.DB, error) {
	dsn := "file:" + path + "?_txlock=immediate" +
		"&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("points: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(4)
	db.SetConnMaxIdleTime(time.Minute)
	if _, err := db.ExecContext(ctx, schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("points: create schema in %s: %w", path, err)
	}
	// Refuse to run on weaker durability than promised, e.g. on a file
	// system where WAL is not possible.
	var mode string
	var sync int
	if err := db.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
		db.Close()
		return nil, fmt.Errorf("points: read journal mode: %w", err)
	}
	if err := db.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&sync); err != nil {
		db.Close()
		return nil, fmt.Errorf("points: read synchronous: %w", err)
	}
	if mode != "wal" || sync != 2 {
		db.Close()
		return nil, fmt.Errorf("points: %s runs with journal_mode=%s synchronous=%d, want wal and 2 (FULL)", path, mode, sync)
	}
	return db, nil
}

// micros and fromMicros convert times to and from the database.
func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := time.UnixMicro(v.Int64).UTC()
	return &t
}

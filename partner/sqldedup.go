package partner

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// DedupTable is the table SQLDedup keeps message ids in. It is created in
// the connection's default schema (PostgreSQL's search_path).
const DedupTable = "renkei_webhook_messages"

// Dialects NewSQLDedup accepts.
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
)

// SQLDedup is a durable DedupStore in a SQL database (SQLite or
// PostgreSQL) through database/sql. An id committed here stays committed
// across restarts and is shared by every process using the database, so no
// callback runs twice for a committed id. A claim older than Lease, left by
// a worker that crashed, is taken over by the next delivery.
//
// For exactly-once effects, let the callback's own writes and the commit
// of the id share one transaction: RunTx (or CommitTx in your own
// transaction). Then a crash either keeps both or neither.
//
// On SQLite, open the database with a busy timeout and immediate
// transactions so that concurrent deliveries wait for each other instead
// of failing, e.g. with modernc.org/sqlite:
//
//	file:partner.db?_txlock=immediate&_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)
type SQLDedup struct {
	// Lease is how long a claim lives (DefaultLease when zero). Keep it
	// above the longest run of your callbacks (Handler.Timeout).
	Lease time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time

	db      *sql.DB
	dialect string
}

// NewSQLDedup returns a SQLDedup on db, creating its table if it is
// missing. dialect is DialectSQLite or DialectPostgres; it chooses the
// placeholders, the SQL is otherwise the same.
func NewSQLDedup(db *sql.DB, dialect string) (*SQLDedup, error) {
	if db == nil {
		return nil, errors.New("renkei dedup: nil database")
	}
	if dialect != DialectSQLite && dialect != DialectPostgres {
		return nil, fmt.Errorf("renkei dedup: dialect %q is not %q or %q", dialect, DialectSQLite, DialectPostgres)
	}
	d := &SQLDedup{db: db, dialect: dialect}
	ctx := context.Background()
	for _, q := range []string{
		`CREATE TABLE IF NOT EXISTS ` + DedupTable + ` (
			id TEXT PRIMARY KEY,
			state TEXT NOT NULL CHECK (state IN ('processing', 'done')),
			owner TEXT NOT NULL DEFAULT '',
			claimed_at BIGINT NOT NULL,
			done_at BIGINT
		)`,
		`CREATE INDEX IF NOT EXISTS ` + DedupTable + `_done_at ON ` + DedupTable + ` (done_at)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			// Two processes starting at once can race on PostgreSQL's
			// catalog; what counts is that the table is there now.
			if _, err2 := db.ExecContext(ctx, `SELECT 1 FROM `+DedupTable+` WHERE 1 = 0`); err2 != nil {
				return nil, fmt.Errorf("renkei dedup: create table %s: %w", DedupTable, err)
			}
		}
	}
	return d, nil
}

// execer is what a *sql.DB and a *sql.Tx share.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// bind rewrites ? placeholders for the dialect.
func (d *SQLDedup) bind(q string) string {
	if d.dialect != DialectPostgres {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (d *SQLDedup) now() int64 {
	if d.Now != nil {
		return d.Now().UnixMicro()
	}
	return time.Now().UnixMicro()
}

func (d *SQLDedup) lease() time.Duration {
	if d.Lease > 0 {
		return d.Lease
	}
	return DefaultLease
}

func (d *SQLDedup) exec(ctx context.Context, e execer, q string, args ...any) (int64, error) {
	res, err := e.ExecContext(ctx, d.bind(q), args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// Begin implements DedupStore. Each step is one statement, atomic on its
// own, so two processes racing for an id cannot both win it.
func (d *SQLDedup) Begin(ctx context.Context, id string) (bool, error) {
	owner, _ := claimOf(ctx)
	for range 3 {
		now := d.now()
		n, err := d.exec(ctx, d.db, `INSERT INTO `+DedupTable+` (id, state, owner, claimed_at) VALUES (?, 'processing', ?, ?)
			ON CONFLICT (id) DO NOTHING`, id, owner, now)
		if err != nil {
			return false, fmt.Errorf("renkei dedup: claim %s: %w", id, err)
		}
		if n == 1 {
			return false, nil
		}
		// Take over a claim whose holder let the lease run out.
		n, err = d.exec(ctx, d.db, `UPDATE `+DedupTable+` SET owner = ?, claimed_at = ?
			WHERE id = ? AND state = 'processing' AND claimed_at < ?`, owner, now, id, now-d.lease().Microseconds())
		if err != nil {
			return false, fmt.Errorf("renkei dedup: take over %s: %w", id, err)
		}
		if n == 1 {
			return false, nil
		}
		var state string
		err = d.db.QueryRowContext(ctx, d.bind(`SELECT state FROM `+DedupTable+` WHERE id = ?`), id).Scan(&state)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			continue // aborted between our statements: try again
		case err != nil:
			return false, fmt.Errorf("renkei dedup: read %s: %w", id, err)
		case state == "done":
			return true, nil
		default:
			return false, ErrInProgress
		}
	}
	return false, fmt.Errorf("renkei dedup: claim %s: the id kept changing hands, try again", id)
}

// Commit implements DedupStore. The id becomes done under the caller's
// claim token, so a worker that lost its claim can tell in CommitTx.
func (d *SQLDedup) Commit(ctx context.Context, id string) error {
	owner, _ := claimOf(ctx)
	if _, err := d.upsertDone(ctx, d.db, id, owner); err != nil {
		return fmt.Errorf("renkei dedup: commit %s: %w", id, err)
	}
	return nil
}

// upsertDone marks id done whatever its state, leaving an id that is
// already done untouched; it returns 0 in that case.
func (d *SQLDedup) upsertDone(ctx context.Context, e execer, id, owner string) (int64, error) {
	now := d.now()
	return d.exec(ctx, e, `INSERT INTO `+DedupTable+` (id, state, owner, claimed_at, done_at) VALUES (?, 'done', ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET state = 'done', owner = excluded.owner, done_at = excluded.done_at
		WHERE `+DedupTable+`.state <> 'done'`, id, owner, now, now)
}

// Abort implements DedupStore: it deletes the caller's own claim (any
// claim when ctx carries none, as outside a Handler) and never a done id.
func (d *SQLDedup) Abort(ctx context.Context, id string) error {
	q := `DELETE FROM ` + DedupTable + ` WHERE id = ? AND state = 'processing'`
	args := []any{id}
	if owner, ok := claimOf(ctx); ok {
		q += ` AND owner = ?`
		args = append(args, owner)
	}
	if _, err := d.exec(ctx, d.db, q, args...); err != nil {
		return fmt.Errorf("renkei dedup: release %s: %w", id, err)
	}
	return nil
}

// CommitTx marks id done inside the caller's transaction tx, which must be
// on the same database: the id is done if and only if tx commits, together
// with whatever else tx wrote (the booking of the payment). Pass the ctx
// the Handler gave your callback: it carries the claim, and CommitTx
// returns ErrClaimLost if another worker took the message over after this
// claim's lease ran out. Outside a Handler (no claim on ctx) it returns
// ErrAlreadyDone if the id was committed before. On any error, roll tx
// back.
func (d *SQLDedup) CommitTx(ctx context.Context, tx *sql.Tx, id string) error {
	owner, mine := claimOf(ctx)
	if !mine {
		n, err := d.upsertDone(ctx, tx, id, "")
		if err != nil {
			return fmt.Errorf("renkei dedup: commit %s in transaction: %w", id, err)
		}
		if n == 0 {
			return fmt.Errorf("renkei dedup: commit %s: %w", id, ErrAlreadyDone)
		}
		return nil
	}
	n, err := d.exec(ctx, tx, `UPDATE `+DedupTable+` SET state = 'done', done_at = ?
		WHERE id = ? AND state = 'processing' AND owner = ?`, d.now(), id, owner)
	if err != nil {
		return fmt.Errorf("renkei dedup: commit %s in transaction: %w", id, err)
	}
	if n == 1 {
		return nil
	}
	var state, holder string
	err = tx.QueryRowContext(ctx, d.bind(`SELECT state, owner FROM `+DedupTable+` WHERE id = ?`), id).Scan(&state, &holder)
	switch {
	case err != nil && !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("renkei dedup: commit %s in transaction: %w", id, err)
	case err == nil && state == "done" && holder == owner:
		return nil // committed earlier in this same transaction
	}
	return fmt.Errorf("renkei dedup: commit %s: %w", id, ErrClaimLost)
}

// RunTx runs fn in a new transaction on the store's database and commits
// id done in the same transaction, so the callback's writes and the
// dedup record commit together or not at all. Call it from a Handler
// callback with the ctx and Event.ID it was given:
//
//	return dedup.RunTx(ctx, ev.ID, func(tx *sql.Tx) error {
//		_, err := tx.ExecContext(ctx, `INSERT INTO entries …`, …)
//		return err
//	})
//
// The id is marked first, which on PostgreSQL locks its row, so a worker
// taking the message over after the lease waits for this transaction
// instead of racing it.
func (d *SQLDedup) RunTx(ctx context.Context, id string, fn func(tx *sql.Tx) error) error {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("renkei dedup: begin transaction for %s: %w", id, err)
	}
	defer tx.Rollback()
	if err := d.CommitTx(ctx, tx, id); err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("renkei dedup: commit transaction for %s: %w", id, err)
	}
	return nil
}

// Prune deletes ids committed before the given time and returns how many.
// Keep ids at least as long as Renkei may deliver them again: retries end
// after about 33 hours, but a replay can resend an old failed message, so
// a month or more is a safe choice.
func (d *SQLDedup) Prune(ctx context.Context, before time.Time) (int64, error) {
	n, err := d.exec(ctx, d.db, `DELETE FROM `+DedupTable+` WHERE state = 'done' AND done_at < ?`, before.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("renkei dedup: prune: %w", err)
	}
	return n, nil
}

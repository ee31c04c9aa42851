package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// pgTx is a PostgreSQL transaction that saves round trips. On loopback a
// small statement costs little to run and much more to send and wait for,
// so:
//
//   - BEGIN is not sent on its own: it goes with the transaction's first
//     batch, or just before its first single statement;
//   - statements queued with later go with the COMMIT, in one round trip;
//   - a transaction that did nothing sends nothing.
//
// It is also a pgx.Tx, so the job queue inserts its rows in it.
type pgTx struct {
	conn   *pgxpool.Conn
	begun  bool // BEGIN has been sent
	done   bool // committed or rolled back; the connection is released
	queued []stmt
	nested int // savepoints made so far, for their names
}

const pgBegin = "begin isolation level read committed"

var errTxDone = errors.New("store: transaction already committed or rolled back")

// --- the store's seam ---

func (t *pgTx) exec(ctx context.Context, q string, args ...any) (int64, error) {
	tag, err := t.Exec(ctx, rebind(q), args...)
	return tag.RowsAffected(), err
}

func (t *pgTx) query(ctx context.Context, q string, args ...any) (rows, error) {
	r, err := t.Query(ctx, rebind(q), args...)
	if err != nil {
		return nil, err
	}
	return r, nil
}

func (t *pgTx) queryRow(ctx context.Context, q string, args ...any) row {
	return t.QueryRow(ctx, rebind(q), args...)
}

func (t *pgTx) batch(ctx context.Context, stmts ...stmt) error {
	if t.done {
		return errTxDone
	}
	b := &pgx.Batch{}
	if !t.begun {
		b.Queue(pgBegin)
		t.begun = true // even if the batch fails: rollback must then be sent
	}
	for _, st := range stmts {
		q := b.Queue(rebind(st.q), st.args...)
		if scan := st.scan; scan != nil {
			q.QueryRow(func(r pgx.Row) error { return scan(r) })
		}
	}
	return t.conn.SendBatch(ctx, b).Close()
}

func (t *pgTx) later(stmts ...stmt) { t.queued = append(t.queued, stmts...) }

func (t *pgTx) commit(ctx context.Context) error { return t.Commit(ctx) }
func (t *pgTx) rollback(ctx context.Context) error {
	err := t.Rollback(ctx)
	if errors.Is(err, pgx.ErrTxClosed) {
		return nil // the usual deferred rollback after a commit
	}
	return err
}
func (t *pgTx) raw() any { return t }

// --- pgx.Tx ---

var _ pgx.Tx = (*pgTx)(nil)

// begin sends BEGIN if it has not gone yet.
func (t *pgTx) begin(ctx context.Context) error {
	if t.done {
		return errTxDone
	}
	if t.begun {
		return nil
	}
	t.begun = true
	_, err := t.conn.Exec(ctx, pgBegin)
	return err
}

// Begin makes a savepoint, as pgx's own transactions do.
func (t *pgTx) Begin(ctx context.Context) (pgx.Tx, error) {
	if err := t.begin(ctx); err != nil {
		return nil, err
	}
	t.nested++
	sp := &savepoint{parent: t, name: fmt.Sprintf("sp_%d", t.nested)}
	if _, err := t.conn.Exec(ctx, "savepoint "+sp.name); err != nil {
		return nil, err
	}
	return sp, nil
}

// Commit sends the queued statements and COMMIT in one round trip. If one
// of them fails the transaction is rolled back and the error returned.
func (t *pgTx) Commit(ctx context.Context) error {
	if t.done {
		return pgx.ErrTxClosed
	}
	if !t.begun && len(t.queued) == 0 {
		t.release()
		return nil // nothing was done
	}
	b := &pgx.Batch{}
	if !t.begun {
		b.Queue(pgBegin)
		t.begun = true
	}
	for _, st := range t.queued {
		b.Queue(rebind(st.q), st.args...)
	}
	t.queued = nil
	b.Queue("commit").Exec(func(tag pgconn.CommandTag) error {
		if tag.String() == "ROLLBACK" {
			return pgx.ErrTxCommitRollback // an earlier failure had aborted it
		}
		return nil
	})
	err := t.conn.SendBatch(ctx, b).Close()
	if err != nil && t.conn.Conn().PgConn().TxStatus() != 'I' {
		// A queued statement failed: the server skipped the COMMIT and
		// the transaction is aborted.
		_, _ = t.conn.Exec(context.WithoutCancel(ctx), "rollback")
	}
	t.release()
	return err
}

func (t *pgTx) Rollback(ctx context.Context) error {
	if t.done {
		return pgx.ErrTxClosed
	}
	var err error
	if t.begun {
		_, err = t.conn.Exec(ctx, "rollback")
	}
	t.release()
	return err
}

// release gives the connection back; the pool closes it instead if it is
// not idle (a failed rollback, a canceled query).
func (t *pgTx) release() {
	t.done = true
	t.conn.Release()
}

func (t *pgTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if err := t.begin(ctx); err != nil {
		return pgconn.CommandTag{}, err
	}
	return t.conn.Exec(ctx, sql, args...)
}

func (t *pgTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if err := t.begin(ctx); err != nil {
		return nil, err
	}
	return t.conn.Query(ctx, sql, args...)
}

func (t *pgTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if err := t.begin(ctx); err != nil {
		return errRow{err}
	}
	return t.conn.QueryRow(ctx, sql, args...)
}

func (t *pgTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	if err := t.begin(ctx); err != nil {
		return errBatch{err}
	}
	return t.conn.SendBatch(ctx, b)
}

func (t *pgTx) CopyFrom(ctx context.Context, table pgx.Identifier, cols []string, src pgx.CopyFromSource) (int64, error) {
	if err := t.begin(ctx); err != nil {
		return 0, err
	}
	return t.conn.CopyFrom(ctx, table, cols, src)
}

func (t *pgTx) Prepare(ctx context.Context, name, sql string) (*pgconn.StatementDescription, error) {
	return t.conn.Conn().Prepare(ctx, name, sql)
}

// LargeObjects is not supported: the store keeps none.
func (t *pgTx) LargeObjects() pgx.LargeObjects { return pgx.LargeObjects{} }

func (t *pgTx) Conn() *pgx.Conn { return t.conn.Conn() }

// savepoint is a transaction nested in a pgTx.
type savepoint struct {
	parent *pgTx
	name   string
	closed bool
}

var _ pgx.Tx = (*savepoint)(nil)

func (s *savepoint) Begin(ctx context.Context) (pgx.Tx, error) { return s.parent.Begin(ctx) }
func (s *savepoint) Commit(ctx context.Context) error {
	if s.closed {
		return pgx.ErrTxClosed
	}
	s.closed = true
	_, err := s.parent.conn.Exec(ctx, "release savepoint "+s.name)
	return err
}
func (s *savepoint) Rollback(ctx context.Context) error {
	if s.closed {
		return pgx.ErrTxClosed
	}
	s.closed = true
	_, err := s.parent.conn.Exec(ctx, "rollback to savepoint "+s.name)
	return err
}
func (s *savepoint) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return s.parent.Exec(ctx, sql, args...)
}
func (s *savepoint) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return s.parent.Query(ctx, sql, args...)
}
func (s *savepoint) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return s.parent.QueryRow(ctx, sql, args...)
}
func (s *savepoint) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	return s.parent.SendBatch(ctx, b)
}
func (s *savepoint) CopyFrom(ctx context.Context, table pgx.Identifier, cols []string, src pgx.CopyFromSource) (int64, error) {
	return s.parent.CopyFrom(ctx, table, cols, src)
}
func (s *savepoint) Prepare(ctx context.Context, name, sql string) (*pgconn.StatementDescription, error) {
	return s.parent.Prepare(ctx, name, sql)
}
func (s *savepoint) LargeObjects() pgx.LargeObjects { return pgx.LargeObjects{} }
func (s *savepoint) Conn() *pgx.Conn                { return s.parent.Conn() }

// errRow and errBatch carry an error where pgx wants a row or batch results.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

type errBatch struct{ err error }

func (b errBatch) Exec() (pgconn.CommandTag, error) { return pgconn.CommandTag{}, b.err }
func (b errBatch) Query() (pgx.Rows, error)         { return nil, b.err }
func (b errBatch) QueryRow() pgx.Row                { return errRow{b.err} }
func (b errBatch) Close() error                     { return b.err }
func (b errBatch) Tx() pgx.Tx                       { return nil }

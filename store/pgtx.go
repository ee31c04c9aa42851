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
	conn  *pgxpool.Conn
	begun bool // BEGIN has been sent (or is in pending)
	done  bool // committed or rolled back; the connection is released
	// pending is statements without results (BEGIN, the commit
	// pipeline's savepoints) that travel ahead of the next statement, in
	// its round trip.
	pending []string
	queued  []stmt
	nested  int // savepoints made so far, for their names
	// detach makes statements ignore the caller's cancellation: the
	// commit pipeline's transaction carries many callers' requests, and a
	// canceled query can cost pgx the connection and so all of them.
	detach bool
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
	ctx = t.ctx(ctx)
	b := &pgx.Batch{}
	t.prelude(b)
	for _, st := range stmts {
		q := b.Queue(rebind(st.q), st.args...)
		if each := st.each; each != nil {
			q.Query(func(rs pgx.Rows) error {
				for rs.Next() {
					if err := each(rs); err != nil {
						return err
					}
				}
				return rs.Err()
			})
		} else if scan := st.scan; scan != nil {
			q.QueryRow(func(r pgx.Row) error { return scan(r) })
		}
	}
	return t.conn.SendBatch(ctx, b).Close()
}

func (t *pgTx) later(stmts ...stmt) { t.queued = append(t.queued, stmts...) }

func (t *pgTx) commit(ctx context.Context) error { return t.Commit(ctx) }

// ctx is the context a statement runs under.
func (t *pgTx) ctx(ctx context.Context) context.Context {
	if t.detach {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

// prelude puts BEGIN, if not sent yet, and the pending statements at the
// head of b. Once b is sent they count as sent, even if it fails: a
// rollback must then be sent.
func (t *pgTx) prelude(b *pgx.Batch) {
	if !t.begun {
		b.Queue(pgBegin)
		t.begun = true
	}
	for _, q := range t.pending {
		b.Queue(q)
	}
	t.pending = nil
}

// ready says whether nothing waits to go ahead of the next statement.
func (t *pgTx) ready() bool { return t.begun && len(t.pending) == 0 }

func (t *pgTx) savepoint(_ context.Context, name string) error {
	t.pending = append(t.pending, "savepoint "+name)
	return nil
}

func (t *pgTx) release(_ context.Context, name string) error {
	t.pending = append(t.pending, "release savepoint "+name)
	return nil
}

func (t *pgTx) rollbackTo(ctx context.Context, name string) error {
	if t.done {
		return errTxDone
	}
	if n := len(t.pending); n > 0 && t.pending[n-1] == "savepoint "+name {
		t.pending = t.pending[:n-1] // the request sent nothing
		return nil
	}
	b := &pgx.Batch{}
	t.prelude(b)
	b.Queue("rollback to savepoint " + name)
	b.Queue("release savepoint " + name)
	return t.conn.SendBatch(context.WithoutCancel(ctx), b).Close()
}

// aborted says whether the server refuses statements until a rollback: a
// statement failed and its error was not passed on.
func (t *pgTx) aborted() bool {
	return !t.done && t.conn.Conn().PgConn().TxStatus() == 'E'
}
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

// begin sends BEGIN and the pending statements if they have not gone yet.
func (t *pgTx) begin(ctx context.Context) error {
	if t.done {
		return errTxDone
	}
	if t.ready() {
		return nil
	}
	b := &pgx.Batch{}
	t.prelude(b)
	return t.conn.SendBatch(t.ctx(ctx), b).Close()
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
		t.releaseConn()
		return nil // nothing was done
	}
	ctx = t.ctx(ctx)
	b := &pgx.Batch{}
	t.prelude(b)
	for _, st := range mergeRows(t.queued) {
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
	t.releaseConn()
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
	t.releaseConn()
	return err
}

// releaseConn gives the connection back; the pool closes it instead if it is
// not idle (a failed rollback, a canceled query).
func (t *pgTx) releaseConn() {
	t.done = true
	t.conn.Release()
}

// Exec sends what is pending (BEGIN, savepoints) with the statement, in
// one round trip, when the statement has arguments (so it is a single
// statement, which a batch requires).
func (t *pgTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if t.done {
		return pgconn.CommandTag{}, errTxDone
	}
	ctx = t.ctx(ctx)
	if !t.ready() && len(args) > 0 {
		var tag pgconn.CommandTag
		b := &pgx.Batch{}
		t.prelude(b)
		b.Queue(sql, args...).Exec(func(ct pgconn.CommandTag) error { tag = ct; return nil })
		return tag, t.conn.SendBatch(ctx, b).Close()
	}
	if err := t.begin(ctx); err != nil {
		return pgconn.CommandTag{}, err
	}
	return t.conn.Exec(ctx, sql, args...)
}

func (t *pgTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	ctx = t.ctx(ctx)
	if err := t.begin(ctx); err != nil {
		return nil, err
	}
	return t.conn.Query(ctx, sql, args...)
}

// QueryRow runs when its row is scanned, with what is pending in the same
// round trip.
func (t *pgTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if t.done {
		return errRow{errTxDone}
	}
	ctx = t.ctx(ctx)
	if t.ready() {
		return t.conn.QueryRow(ctx, sql, args...)
	}
	return &lazyRow{t: t, ctx: ctx, sql: sql, args: args}
}

// lazyRow is a QueryRow that waits for its Scan to be sent, so that it
// can carry BEGIN and the savepoints with it.
type lazyRow struct {
	t    *pgTx
	ctx  context.Context
	sql  string
	args []any
}

func (r *lazyRow) Scan(dest ...any) error {
	t := r.t
	if t.done {
		return errTxDone
	}
	if t.ready() {
		return t.conn.QueryRow(r.ctx, r.sql, r.args...).Scan(dest...)
	}
	b := &pgx.Batch{}
	t.prelude(b)
	var scanErr error
	b.Queue(r.sql, r.args...).QueryRow(func(row pgx.Row) error {
		scanErr = row.Scan(dest...)
		return nil
	})
	if err := t.conn.SendBatch(r.ctx, b).Close(); err != nil {
		return err
	}
	return scanErr
}

func (t *pgTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	ctx = t.ctx(ctx)
	if err := t.begin(ctx); err != nil {
		return errBatch{err}
	}
	return t.conn.SendBatch(ctx, b)
}

func (t *pgTx) CopyFrom(ctx context.Context, table pgx.Identifier, cols []string, src pgx.CopyFromSource) (int64, error) {
	ctx = t.ctx(ctx)
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

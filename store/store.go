// Package store keeps Renkei's state in SQLite (the embedded default) or
// PostgreSQL (for several nodes). Both engines share one schema and one set
// of queries; what differs between them sits behind the small engine seam
// in this file (placeholders, transactions, error codes).
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/renkei/renkei"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is Renkei's state on one engine. It implements the domain's
// service interfaces.
type Store struct {
	eng engine
	ids *renkei.IDGen

	// Now and Rand are injected so ledger rows and tests are deterministic.
	Now  func() time.Time
	Rand io.Reader
	// AdminKeyHash is the SHA-256 of the admin bearer token.
	AdminKeyHash string
	// Log receives only what an operator needs; never a secret.
	Log *slog.Logger
	// PayCode makes the one-time codes users show at shops, and ParsePayCode
	// normalises what a terminal submits; injected so the store does not
	// depend on the code format.
	PayCode      func(r io.Reader) (string, error)
	ParsePayCode func(s string) (string, error)
	// QR builds and reads merchant-presented QR payloads.
	QR QRCodec
	// Outbox, when set, is told of every queued delivery inside the
	// transaction that queues it (the delivery engine's job queue).
	Outbox Outbox
	// Secrets seals endpoint secrets at rest; NewSecret makes them.
	Secrets   SecretBox
	NewSecret func(r io.Reader) (string, error)
	// CheckEndpoint, when set, vets a webhook URL at registration (the
	// SSRF policy); the sender checks the dialed address again.
	CheckEndpoint func(url string) error
	// DisableAfter disables an endpoint that has failed every attempt for
	// this long (0: never).
	DisableAfter time.Duration
	// StatementBatch is the most payments one statement, and one
	// transaction of a statement run, takes (0: DefaultStatementBatch).
	StatementBatch int

	opened sync.Map // sealed secret → plain, see openSecret

	// pipe runs the write transactions, many requests to a commit.
	pipe *pipeline

	// afterDecide, when set (by tests), runs after a completion's
	// decision is made and before it is recorded.
	afterDecide func(paymentID string)
	// beforeCommit, when set (by tests), runs before the pipeline sends a
	// batch's COMMIT.
	beforeCommit func()
}

// Outbox is the seam to the delivery engine's job queue.
type Outbox interface {
	EnqueueTx(ctx context.Context, tx any, deliveryID string) error
}

// SecretBox encrypts secrets for storage.
type SecretBox interface {
	Seal(plain string) (string, error)
	Open(sealed string) (string, error)
}

// QRCodec is the seam to the EMVCo payload format.
type QRCodec interface {
	Encode(m *renkei.Merchant, amount int64, currency, reference string) (string, error)
	Reference(payload string) (string, error)
}

// Engine names.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// Open opens the database named by dsn and brings its schema up to date.
// A dsn starting with postgres:// or postgresql:// is PostgreSQL; anything
// else is a SQLite file path.
func Open(ctx context.Context, dsn string) (*Store, error) {
	var (
		eng engine
		err error
	)
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		eng, err = openPostgres(ctx, dsn)
	} else {
		eng, err = openSQLite(ctx, dsn)
	}
	if err != nil {
		return nil, err
	}
	if err := migrate(ctx, eng); err != nil {
		eng.close()
		return nil, err
	}
	ids := renkei.NewIDGen()
	s := &Store{eng: eng, ids: ids, Now: time.Now, Rand: ids.Rand, Log: slog.Default()}
	s.pipe = &pipeline{s: s, lanes: 1}
	if eng.name() == Postgres {
		s.pipe.lanes = pgLanes
	}
	ids.Now = func() time.Time { return s.Now() }
	if err := s.reindexServices(ctx); err != nil {
		eng.close()
		return nil, err
	}
	return s, nil
}

// Engine returns SQLite or Postgres.
func (s *Store) Engine() string { return s.eng.name() }

// Close releases the database.
func (s *Store) Close() error { return s.eng.close() }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	return s.eng.queryRow(ctx, "SELECT 1").Scan(&one)
}

// PgxPool returns the pool on PostgreSQL (nil on SQLite), for the job queue
// that must share transactions with the store.
func (s *Store) PgxPool() *pgxpool.Pool {
	if p, ok := s.eng.(*pgEngine); ok {
		return p.pool
	}
	return nil
}

// SQLDB returns the database/sql handle on SQLite (nil on PostgreSQL).
func (s *Store) SQLDB() *sql.DB {
	if e, ok := s.eng.(*sqliteEngine); ok {
		return e.db
	}
	return nil
}

func migrate(ctx context.Context, eng engine) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	db, dialect := eng.sqlDB()
	p, err := goose.NewProvider(dialect, db, sub)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// ---- the engine seam ----

// row is one result row; both engines' rows satisfy it.
type row interface{ Scan(dest ...any) error }

// rows is a result set.
type rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// querier is what the store's queries run on: the database or a transaction.
type querier interface {
	exec(ctx context.Context, q string, args ...any) (int64, error)
	query(ctx context.Context, q string, args ...any) (rows, error)
	queryRow(ctx context.Context, q string, args ...any) row
}

// tx is an open write transaction.
type tx interface {
	querier
	commit(ctx context.Context) error
	rollback(ctx context.Context) error
	// raw is the driver's own transaction (*sql.Tx or pgx.Tx), for the job
	// queue to insert into the same transaction.
	raw() any
	// batch runs statements in order. On PostgreSQL they travel in one
	// round trip, which is most of what a small statement costs; the first
	// failure stops the batch (and dooms the transaction).
	batch(ctx context.Context, stmts ...stmt) error
	// later queues statements whose results nobody reads, to run at commit
	// after everything else; on PostgreSQL they travel with the COMMIT. If
	// one fails, the commit fails.
	later(stmts ...stmt)
	// savepoint, release and rollbackTo bracket one request of the commit
	// pipeline's shared transaction. On PostgreSQL savepoint and release
	// travel with the next statement, so they cost no round trip.
	savepoint(ctx context.Context, name string) error
	release(ctx context.Context, name string) error
	rollbackTo(ctx context.Context, name string) error
	// aborted says whether a statement failed in a way that leaves the
	// transaction unusable until a rollback (PostgreSQL).
	aborted() bool
}

// stmt is one statement of a batch. When scan is set the statement
// returns one row and scan reads it; a statement that returns none hands
// scan a row whose Scan fails with a no-rows error (see isNoRows).
type stmt struct {
	q    string
	args []any
	scan func(r row) error
	// each, when set instead of scan, reads every row the statement
	// returns, one call per row.
	each func(r row) error
}

type engine interface {
	querier
	name() string
	begin(ctx context.Context) (tx, error)
	isUnique(err error) bool
	sqlDB() (*sql.DB, goose.Dialect)
	close() error
}

// errNoRows is what a queryRow's Scan returns when nothing matched, on
// either engine.
func isNoRows(err error) bool {
	return errors.Is(err, sql.ErrNoRows) || errors.Is(err, pgx.ErrNoRows)
}

// --- SQLite ---

type sqliteEngine struct {
	db *sql.DB
	// wmu queues this process's writers in Go instead of letting them spin
	// on SQLite's busy handler: one writer at a time is all SQLite allows.
	wmu sync.Mutex
	// stmts keeps each query prepared (query text → *sql.Stmt): parsing
	// SQL was a quarter of a payment's CPU time. database/sql prepares a
	// Stmt once per connection and reuses it, also inside transactions.
	stmts  sync.Map
	nstmts atomic.Int64
}

// maxStmts bounds the prepared-statement cache; our queries are a fixed
// set, so this is only a guard against a query built from data.
const maxStmts = 1000

// prepared returns the cached statement for q, or nil if it cannot be
// cached (the query is then run unprepared).
func (e *sqliteEngine) prepared(ctx context.Context, q string) *sql.Stmt {
	if v, ok := e.stmts.Load(q); ok {
		return v.(*sql.Stmt)
	}
	if e.nstmts.Load() >= maxStmts {
		return nil
	}
	st, err := e.db.PrepareContext(ctx, q)
	if err != nil {
		return nil // run unprepared, and let the error come from there
	}
	if v, loaded := e.stmts.LoadOrStore(q, st); loaded {
		st.Close()
		return v.(*sql.Stmt)
	}
	e.nstmts.Add(1)
	return st
}

func openSQLite(ctx context.Context, path string) (*sqliteEngine, error) {
	if err := ownerOnly(path); err != nil {
		return nil, err
	}
	// WAL with synchronous=FULL: what we acknowledged survives power loss.
	dsn := "file:" + path + "?_txlock=immediate" +
		"&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)" +
		"&_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)" +
		// The commit pipeline runs each request under a savepoint; with
		// temp_store=MEMORY SQLite keeps a savepoint's journal in memory
		// instead of opening, writing and closing a temporary file each
		// time (8% of a loaded payments bench's CPU before).
		"&_pragma=temp_store(MEMORY)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	// Keep every connection: database/sql keeps 2 idle by default, and a
	// reopened SQLite connection parses the whole schema again (a CPU
	// profile of the payments bench spent 18% of its time there) and
	// loses its prepared statements.
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	db.SetConnMaxIdleTime(time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return &sqliteEngine{db: db}, nil
}

// ownerOnly makes the SQLite file at path readable by its owner only, before
// SQLite opens it: the database holds balances and payments. SQLite creates
// the -wal and -shm files with the database file's permissions, so they
// follow; files left by an older, laxer start are tightened too.
func ownerOnly(path string) error {
	if path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil // not a plain file path: SQLite's own business
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open sqlite %s: %w", path, err)
	}
	f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("restrict sqlite file %s: %w", p, err)
		}
	}
	return nil
}

func (e *sqliteEngine) name() string { return SQLite }
func (e *sqliteEngine) close() error {
	e.stmts.Range(func(_, v any) bool { v.(*sql.Stmt).Close(); return true })
	return e.db.Close()
}
func (e *sqliteEngine) sqlDB() (*sql.DB, goose.Dialect) {
	return e.db, goose.DialectSQLite3
}

func (e *sqliteEngine) exec(ctx context.Context, q string, args ...any) (int64, error) {
	if st := e.prepared(ctx, q); st != nil {
		return sqlResult(st.ExecContext(ctx, args...))
	}
	return sqlExec(ctx, e.db, q, args...)
}
func (e *sqliteEngine) query(ctx context.Context, q string, args ...any) (rows, error) {
	if st := e.prepared(ctx, q); st != nil {
		return sqlRowsOf(st.QueryContext(ctx, args...))
	}
	return sqlQuery(ctx, e.db, q, args...)
}
func (e *sqliteEngine) queryRow(ctx context.Context, q string, args ...any) row {
	if st := e.prepared(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return e.db.QueryRowContext(ctx, q, args...)
}

func (e *sqliteEngine) begin(ctx context.Context) (tx, error) {
	e.wmu.Lock()
	t, err := e.db.BeginTx(ctx, nil)
	if err != nil {
		e.wmu.Unlock()
		return nil, err
	}
	return &sqliteTx{Tx: t, e: e, unlock: e.wmu.Unlock}, nil
}

func (e *sqliteEngine) isUnique(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code()
		return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// isCheckViolation says whether err is a CHECK constraint failure on
// either engine.
func isCheckViolation(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_CHECK
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23514"
}

// isSQLiteErr says whether err came from SQLite itself.
func isSQLiteErr(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se)
}

type sqliteTx struct {
	*sql.Tx
	e      *sqliteEngine
	unlock func()
	once   sync.Once
	queued []stmt
}

func (t *sqliteTx) done()    { t.once.Do(t.unlock) }
func (t *sqliteTx) raw() any { return t.Tx }

// stmt returns q prepared on the transaction's connection, reusing the
// engine's cached statement, or nil to run q unprepared.
func (t *sqliteTx) stmt(ctx context.Context, q string) *sql.Stmt {
	if st := t.e.prepared(ctx, q); st != nil {
		return t.Tx.StmtContext(ctx, st)
	}
	return nil
}

func (t *sqliteTx) exec(ctx context.Context, q string, args ...any) (int64, error) {
	if st := t.stmt(ctx, q); st != nil {
		return sqlResult(st.ExecContext(ctx, args...))
	}
	return sqlExec(ctx, t.Tx, q, args...)
}
func (t *sqliteTx) query(ctx context.Context, q string, args ...any) (rows, error) {
	if st := t.stmt(ctx, q); st != nil {
		return sqlRowsOf(st.QueryContext(ctx, args...))
	}
	return sqlQuery(ctx, t.Tx, q, args...)
}
func (t *sqliteTx) queryRow(ctx context.Context, q string, args ...any) row {
	if st := t.stmt(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return t.Tx.QueryRowContext(ctx, q, args...)
}
func (t *sqliteTx) batch(ctx context.Context, stmts ...stmt) error {
	for _, st := range stmts {
		if st.each != nil {
			if err := eachRow(t, ctx, st); err != nil {
				return err
			}
		} else if st.scan != nil {
			if err := st.scan(t.queryRow(ctx, st.q, st.args...)); err != nil {
				return err
			}
		} else if _, err := t.exec(ctx, st.q, st.args...); err != nil {
			return err
		}
	}
	return nil
}

// eachRow runs st's query in q and hands each row to st.each.
func eachRow(q querier, ctx context.Context, st stmt) error {
	r, err := q.query(ctx, st.q, st.args...)
	if err != nil {
		return err
	}
	defer r.Close()
	for r.Next() {
		if err := st.each(r); err != nil {
			return err
		}
	}
	return r.Err()
}

// The savepoint statements are prepared once, like the others: the
// pipeline names every request's savepoint the same.
func (t *sqliteTx) savepoint(ctx context.Context, name string) error {
	_, err := t.exec(ctx, "SAVEPOINT "+name)
	return err
}
func (t *sqliteTx) release(ctx context.Context, name string) error {
	_, err := t.exec(ctx, "RELEASE SAVEPOINT "+name)
	return err
}
func (t *sqliteTx) rollbackTo(ctx context.Context, name string) error {
	if _, err := t.exec(ctx, "ROLLBACK TO SAVEPOINT "+name); err != nil {
		return err
	}
	return t.release(ctx, name)
}
func (t *sqliteTx) aborted() bool       { return false }
func (t *sqliteTx) later(stmts ...stmt) { t.queued = append(t.queued, stmts...) }
func (t *sqliteTx) commit(ctx context.Context) error {
	defer t.done()
	if err := t.batch(ctx, mergeRows(t.queued)...); err != nil {
		return err
	}
	return t.Tx.Commit()
}
func (t *sqliteTx) rollback(context.Context) error {
	defer t.done()
	return t.Tx.Rollback()
}

type sqlConn interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

func sqlExec(ctx context.Context, c sqlConn, q string, args ...any) (int64, error) {
	return sqlResult(c.ExecContext(ctx, q, args...))
}

func sqlResult(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func sqlQuery(ctx context.Context, c sqlConn, q string, args ...any) (rows, error) {
	return sqlRowsOf(c.QueryContext(ctx, q, args...))
}

func sqlRowsOf(r *sql.Rows, err error) (rows, error) {
	if err != nil {
		return nil, err
	}
	return sqlRows{r}, nil
}

type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { r.Rows.Close() }

// --- PostgreSQL ---

type pgEngine struct {
	pool *pgxpool.Pool
	db   *sql.DB // for goose only
	rt   *roundTrips
}

// roundTrips counts what the pool sends to PostgreSQL and waits for: each
// statement, and each batch as one. It is how `renkei bench deliveries`
// shows what a selection costs.
type roundTrips struct{ n atomic.Int64 }

func (r *roundTrips) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	r.n.Add(1)
	return ctx
}
func (r *roundTrips) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (r *roundTrips) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	r.n.Add(1)
	return ctx
}
func (r *roundTrips) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (r *roundTrips) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}

// RoundTrips is how many statements and batches this store (and the job
// queue sharing its pool) has sent to PostgreSQL; 0 on SQLite.
func (s *Store) RoundTrips() int64 {
	if e, ok := s.eng.(*pgEngine); ok {
		return e.rt.n.Load()
	}
	return 0
}

func openPostgres(ctx context.Context, dsn string) (*pgEngine, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse postgres dsn: %w", err)
	}
	if !strings.Contains(dsn, "pool_max_conns") {
		// pgx's default (4 on two cores) queues API calls and delivery
		// workers behind each other; PostgreSQL takes many more.
		cfg.MaxConns = 16
	}
	// What we acknowledged we keep: never let a session turn this off.
	cfg.ConnConfig.RuntimeParams["synchronous_commit"] = "on"
	rt := &roundTrips{}
	cfg.ConnConfig.Tracer = rt
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	return &pgEngine{pool: pool, db: stdlib.OpenDBFromPool(pool), rt: rt}, nil
}

func (e *pgEngine) name() string { return Postgres }
func (e *pgEngine) close() error {
	err := e.db.Close()
	e.pool.Close()
	return err
}
func (e *pgEngine) sqlDB() (*sql.DB, goose.Dialect) { return e.db, goose.DialectPostgres }

func (e *pgEngine) exec(ctx context.Context, q string, args ...any) (int64, error) {
	tag, err := e.pool.Exec(ctx, rebind(q), args...)
	return tag.RowsAffected(), err
}
func (e *pgEngine) query(ctx context.Context, q string, args ...any) (rows, error) {
	r, err := e.pool.Query(ctx, rebind(q), args...)
	if err != nil {
		return nil, err
	}
	return r, nil
}
func (e *pgEngine) queryRow(ctx context.Context, q string, args ...any) row {
	return e.pool.QueryRow(ctx, rebind(q), args...)
}
func (e *pgEngine) begin(ctx context.Context) (tx, error) {
	c, err := e.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	return &pgTx{conn: c}, nil
}
func (e *pgEngine) isUnique(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

var rebound sync.Map // query text with ? → with $n

// rebind turns the ? placeholders of our shared queries into PostgreSQL's
// $1, $2…; our queries have no ? inside string literals.
func rebind(q string) string {
	if v, ok := rebound.Load(q); ok {
		return v.(string)
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	out := b.String()
	rebound.Store(q, out)
	return out
}

// ---- helpers shared by the services ----

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

func optTime(v int64) *time.Time {
	if v == 0 {
		return nil
	}
	t := fromMicros(v)
	return &t
}

// trimPage cuts a list read with one row too many (limit+1) to the page
// and says whether more follow.
func trimPage[T any](out []T, limit int) ([]T, bool) {
	if len(out) > limit {
		return out[:limit], true
	}
	return out, false
}

// inTx runs fn in a write transaction, through the commit pipeline, and
// commits its effect if fn succeeds.
func (s *Store) inTx(ctx context.Context, fn func(tx) error) error {
	return s.pipe.do(ctx, func(t *reqTx) (bool, error) {
		err := fn(t)
		return err == nil, err
	})
}

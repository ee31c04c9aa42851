package partner_test

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/renkei/renkei/partner"
)

// clock is a settable clock for leases.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC).UnixNano())
	return c
}
func (c *clock) now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *clock) add(d time.Duration) { c.ns.Add(int64(d)) }

// dedupStore is a DedupStore under test with a settable clock.
type dedupStore interface {
	partner.DedupStore
	Prune(ctx context.Context, before time.Time) (int64, error)
}

// stores returns constructors of a fresh store of each kind on a clock.
func stores() map[string]func(t *testing.T, clk *clock) dedupStore {
	return map[string]func(t *testing.T, clk *clock) dedupStore{
		"memory": func(t *testing.T, clk *clock) dedupStore {
			d := partner.NewMemoryDedup()
			d.Now = clk.now
			return d
		},
		partner.DialectSQLite: func(t *testing.T, clk *clock) dedupStore {
			_, d := freshDB(t, partner.DialectSQLite).dedup(t)
			d.Now = clk.now
			return d
		},
		partner.DialectPostgres: func(t *testing.T, clk *clock) dedupStore {
			_, d := freshDB(t, partner.DialectPostgres).dedup(t)
			d.Now = clk.now
			return d
		},
	}
}

// bg is a context without a claim, as outside a Handler. Claims held by
// a Handler's deliveries are tested through the Handler
// (TestClaimLostRollsBack).
var bg = context.Background()

func TestDedupConformance(t *testing.T) {
	t.Parallel()
	for name, open := range stores() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()

			t.Run("claim, commit, done", func(t *testing.T) {
				t.Parallel()
				d := open(t, newClock())
				if done, err := d.Begin(bg, "msg_1"); done || err != nil {
					t.Fatalf("first Begin = %v, %v; want claimed", done, err)
				}
				if _, err := d.Begin(bg, "msg_1"); !errors.Is(err, partner.ErrInProgress) {
					t.Fatalf("second Begin = %v; want ErrInProgress", err)
				}
				if err := d.Commit(bg, "msg_1"); err != nil {
					t.Fatal(err)
				}
				if err := d.Commit(bg, "msg_1"); err != nil {
					t.Fatalf("committing twice: %v", err)
				}
				if done, err := d.Begin(bg, "msg_1"); !done || err != nil {
					t.Fatalf("Begin after Commit = %v, %v; want done", done, err)
				}
				if err := d.Abort(bg, "msg_1"); err != nil {
					t.Fatal(err)
				}
				if done, _ := d.Begin(bg, "msg_1"); !done {
					t.Fatal("Abort undid a commit")
				}
				if done, err := d.Begin(bg, "msg_2"); done || err != nil {
					t.Fatalf("another id = %v, %v; want claimed", done, err)
				}
			})

			t.Run("abort releases", func(t *testing.T) {
				t.Parallel()
				d := open(t, newClock())
				d.Begin(bg, "msg_1")
				if err := d.Abort(bg, "msg_1"); err != nil {
					t.Fatal(err)
				}
				if done, err := d.Begin(bg, "msg_1"); done || err != nil {
					t.Fatalf("Begin after Abort = %v, %v; want claimed again", done, err)
				}
			})

			t.Run("expired claim is taken over", func(t *testing.T) {
				t.Parallel()
				clk := newClock()
				d := open(t, clk)
				d.Begin(bg, "msg_1")
				clk.add(partner.DefaultLease - time.Second)
				if _, err := d.Begin(bg, "msg_1"); !errors.Is(err, partner.ErrInProgress) {
					t.Fatalf("Begin within the lease = %v; want ErrInProgress", err)
				}
				clk.add(2 * time.Second)
				if done, err := d.Begin(bg, "msg_1"); done || err != nil {
					t.Fatalf("Begin after the lease = %v, %v; want taken over", done, err)
				}
				if _, err := d.Begin(bg, "msg_1"); !errors.Is(err, partner.ErrInProgress) {
					t.Fatalf("the takeover is a fresh claim; got %v", err)
				}
			})

			t.Run("commit without begin", func(t *testing.T) {
				t.Parallel()
				d := open(t, newClock())
				if err := d.Commit(bg, "msg_1"); err != nil {
					t.Fatal(err)
				}
				if done, _ := d.Begin(bg, "msg_1"); !done {
					t.Fatal("not done")
				}
			})

			t.Run("one winner among racers", func(t *testing.T) {
				t.Parallel()
				d := open(t, newClock())
				const n = 16
				var won, busy atomic.Int32
				var wg sync.WaitGroup
				for range n {
					wg.Go(func() {
						done, err := d.Begin(bg, "msg_race")
						switch {
						case err == nil && !done:
							won.Add(1)
						case errors.Is(err, partner.ErrInProgress):
							busy.Add(1)
						default:
							t.Errorf("Begin = %v, %v", done, err)
						}
					})
				}
				wg.Wait()
				if won.Load() != 1 || busy.Load() != n-1 {
					t.Fatalf("%d won, %d busy; want 1 and %d", won.Load(), busy.Load(), n-1)
				}
			})

			t.Run("prune", func(t *testing.T) {
				t.Parallel()
				clk := newClock()
				d := open(t, clk)
				d.Begin(bg, "msg_old")
				d.Commit(bg, "msg_old")
				clk.add(48 * time.Hour)
				d.Begin(bg, "msg_open") // in progress: never pruned
				d.Begin(bg, "msg_new")
				d.Commit(bg, "msg_new")
				n, err := d.Prune(bg, clk.now().Add(-24*time.Hour))
				if err != nil || n != 1 {
					t.Fatalf("Prune = %d, %v; want 1", n, err)
				}
				if done, err := d.Begin(bg, "msg_old"); done || err != nil {
					t.Errorf("pruned id: %v, %v; want forgotten", done, err)
				}
				if done, _ := d.Begin(bg, "msg_new"); !done {
					t.Error("recent id was pruned")
				}
				if _, err := d.Begin(bg, "msg_open"); err == nil {
					t.Error("an open claim was pruned")
				}
			})
		})
	}
}

func TestSQLDedupRejectsUnknownDialect(t *testing.T) {
	t.Parallel()
	db := freshDB(t, partner.DialectSQLite).open(t)
	if _, err := partner.NewSQLDedup(db, "mysql"); err == nil {
		t.Fatal("mysql accepted")
	}
	if _, err := partner.NewSQLDedup(nil, partner.DialectSQLite); err == nil {
		t.Fatal("nil db accepted")
	}
}

// TestSQLDedupSurvivesRestart: what was committed before a restart is done
// after it, on a new connection pool, a new store and a new Handler.
func TestSQLDedupSurvivesRestart(t *testing.T) {
	t.Parallel()
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			tdb := freshDB(t, engine)
			sec := newSecret(t)
			m := signed(t, completed, sec)

			db1 := tdb.open(t)
			d1, err := partner.NewSQLDedup(db1, engine)
			if err != nil {
				t.Fatal(err)
			}
			var before counter
			srv1, _ := serve(t, &partner.Handler{Secrets: []string{sec}, Dedup: d1, OnPaymentCompleted: before.onCompleted})
			post(t, srv1, m).want(t, http.StatusOK)
			d1.Begin(bg, "msg_left_open") // a crash leaves a claim
			srv1.Close()
			if err := db1.Close(); err != nil {
				t.Fatal(err)
			}

			db2 := tdb.open(t)
			d2, err := partner.NewSQLDedup(db2, engine) // the table exists: no error
			if err != nil {
				t.Fatal(err)
			}
			var after counter
			srv2, _ := serve(t, &partner.Handler{Secrets: []string{sec}, Dedup: d2, OnPaymentCompleted: after.onCompleted})
			retry := m
			retry.ts = time.Now()
			retry.sig = sign(t, retry.id, retry.ts, retry.body, sec)
			post(t, srv2, retry).want(t, http.StatusOK)
			if before.runs() != 1 || after.runs() != 0 {
				t.Fatalf("runs before %d after %d; want 1 and 0", before.runs(), after.runs())
			}
			if _, err := d2.Begin(bg, "msg_left_open"); !errors.Is(err, partner.ErrInProgress) {
				t.Fatalf("a claim left open by a crash should hold until its lease ends; got %v", err)
			}
		})
	}
}

// TestRunTxBooksAtomically is the household account book's pattern: the
// entry and the dedup record commit together or not at all.
func TestRunTxBooksAtomically(t *testing.T) {
	t.Parallel()
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			db, dedup := freshDB(t, engine).dedup(t)
			if _, err := db.Exec(`CREATE TABLE entries (payment_id TEXT PRIMARY KEY, amount BIGINT, memo TEXT)`); err != nil {
				t.Fatal(err)
			}
			insert := `INSERT INTO entries (payment_id, amount, memo) VALUES (?, ?, ?)`
			if engine == partner.DialectPostgres {
				insert = `INSERT INTO entries (payment_id, amount, memo) VALUES ($1, $2, $3)`
			}
			var fail atomic.Bool
			fail.Store(true)
			sec := newSecret(t)
			srv, _ := serve(t, &partner.Handler{Secrets: []string{sec}, Dedup: dedup,
				OnPaymentCompleted: func(ctx context.Context, ev *partner.Event, p *partner.PaymentCompleted) error {
					return dedup.RunTx(ctx, ev.ID, func(tx *sql.Tx) error {
						if _, err := tx.ExecContext(ctx, insert, p.PaymentID, *p.Amount, p.Input.Memo); err != nil {
							return err
						}
						if fail.Load() {
							return errors.New("crashed after booking") // as if the process died here
						}
						return nil
					})
				}})
			m := signed(t, completed, sec)
			post(t, srv, m).want(t, http.StatusInternalServerError)
			if n := count(t, db, "entries"); n != 0 {
				t.Fatalf("a failed run left %d entries", n)
			}
			fail.Store(false)
			post(t, srv, m).want(t, http.StatusOK)
			post(t, srv, m).want(t, http.StatusOK)
			if n := count(t, db, "entries"); n != 1 {
				t.Fatalf("%d entries, want 1", n)
			}
			var memo string
			db.QueryRow(`SELECT memo FROM entries`).Scan(&memo)
			if memo != "team lunch" {
				t.Errorf("memo %q", memo)
			}
		})
	}
}

// TestClaimLostRollsBack: a worker whose claim expired and was taken over
// cannot also book; its transaction rolls back with ErrClaimLost.
func TestClaimLostRollsBack(t *testing.T) {
	t.Parallel()
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			db, dedup := freshDB(t, engine).dedup(t)
			if _, err := db.Exec(`CREATE TABLE entries (payment_id TEXT, worker TEXT)`); err != nil {
				t.Fatal(err)
			}
			insert := `INSERT INTO entries (payment_id, worker) VALUES (?, ?)`
			if engine == partner.DialectPostgres {
				insert = `INSERT INTO entries (payment_id, worker) VALUES ($1, $2)`
			}
			clk := newClock()
			dedup.Now = clk.now
			sec := newSecret(t)
			entered, release := make(chan struct{}), make(chan struct{})
			slowErr := make(chan error, 1)
			var calls atomic.Int32
			srv, _ := serve(t, &partner.Handler{Secrets: []string{sec}, Dedup: dedup, Wait: -1,
				OnPaymentCompleted: func(ctx context.Context, ev *partner.Event, p *partner.PaymentCompleted) error {
					if calls.Add(1) == 1 { // the slow first worker
						close(entered)
						<-release
						err := dedup.RunTx(ctx, ev.ID, func(tx *sql.Tx) error {
							_, err := tx.ExecContext(ctx, insert, p.PaymentID, "slow")
							return err
						})
						slowErr <- err
						return err
					}
					return dedup.RunTx(ctx, ev.ID, func(tx *sql.Tx) error {
						_, err := tx.ExecContext(ctx, insert, p.PaymentID, "second")
						return err
					})
				}})
			m := signed(t, completed, sec)
			first := make(chan answer, 1)
			go func() { first <- send(srv, m) }()
			<-entered
			clk.add(partner.DefaultLease + time.Second)
			post(t, srv, m).want(t, http.StatusOK) // takes over and books
			close(release)
			(<-first).want(t, http.StatusInternalServerError)
			if err := <-slowErr; !errors.Is(err, partner.ErrClaimLost) {
				t.Fatalf("slow worker: %v, want ErrClaimLost", err)
			}
			var workers []string
			rows, err := db.Query(`SELECT worker FROM entries`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			for rows.Next() {
				var w string
				rows.Scan(&w)
				workers = append(workers, w)
			}
			if len(workers) != 1 || workers[0] != "second" {
				t.Fatalf("entries by %v, want only the second worker's", workers)
			}
			post(t, srv, m).want(t, http.StatusOK) // and it stays done
			if calls.Load() != 2 {
				t.Fatalf("callback ran %d times", calls.Load())
			}
		})
	}
}

// TestCommitTxOutsideHandler: a partner booking messages it fetched from
// the partner API (no claim) books each id once.
func TestCommitTxOutsideHandler(t *testing.T) {
	t.Parallel()
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			db, dedup := freshDB(t, engine).dedup(t)
			book := func() error {
				tx, err := db.Begin()
				if err != nil {
					t.Fatal(err)
				}
				defer tx.Rollback()
				if err := dedup.CommitTx(bg, tx, "msg_fetched"); err != nil {
					return err
				}
				return tx.Commit()
			}
			if err := book(); err != nil {
				t.Fatal(err)
			}
			if err := book(); !errors.Is(err, partner.ErrAlreadyDone) {
				t.Fatalf("second booking: %v, want ErrAlreadyDone", err)
			}
			// A rolled-back CommitTx leaves nothing behind.
			tx, _ := db.Begin()
			if err := dedup.CommitTx(bg, tx, "msg_rolled_back"); err != nil {
				t.Fatal(err)
			}
			tx.Rollback()
			if done, err := dedup.Begin(bg, "msg_rolled_back"); done || err != nil {
				t.Fatalf("rolled-back id: %v, %v; want unknown", done, err)
			}
		})
	}
}

func count(t *testing.T, db *sql.DB, table string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

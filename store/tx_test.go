package store

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/renkei/renkei/store/storetest"
)

// eachEngine runs fn as a subtest on every engine with a fresh store.
func eachEngine(t *testing.T, fn func(t *testing.T, s *Store)) {
	t.Helper()
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			s, err := Open(context.Background(), storetest.DSN(t, engine))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			fn(t, s)
		})
	}
}

// TestTxBatchAndLater checks the transaction seam on both engines: a
// batch reads its rows, statements queued with later run at commit, and a
// failing later statement fails the commit and undoes the whole
// transaction, leaving the store usable.
func TestTxBatchAndLater(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		count := func() int {
			var n int
			if err := s.eng.queryRow(ctx, `SELECT COUNT(*) FROM streams`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		ins := func(user string) stmt {
			return stmt{q: `INSERT INTO streams (user_id, service_id, seq) VALUES (?, 'rsv_x', 1)`, args: []any{user}}
		}

		// A transaction that does nothing commits.
		if err := s.inTx(ctx, func(tx) error { return nil }); err != nil {
			t.Fatalf("empty transaction: %v", err)
		}
		// A batch, then later statements: all of it lands.
		err := s.inTx(ctx, func(t2 tx) error {
			var seq int64
			var missing error
			if err := t2.batch(ctx, ins("usr_a"),
				stmt{q: `SELECT seq FROM streams WHERE user_id = ?`, args: []any{"usr_a"}, scan: func(r row) error { return r.Scan(&seq) }},
				stmt{q: `SELECT seq FROM streams WHERE user_id = ?`, args: []any{"usr_none"}, scan: func(r row) error { missing = r.Scan(&seq); return nil }},
			); err != nil {
				return err
			}
			if !isNoRows(missing) {
				t.Errorf("a batch row that matched nothing: %v, want no rows", missing)
			}
			t2.later(ins("usr_b"), ins("usr_c"))
			return nil
		})
		if err != nil || count() != 3 {
			t.Fatalf("batch and later: %v, %d rows, want 3", err, count())
		}
		// A later statement that fails (a duplicate key) fails the
		// commit; nothing of the transaction stays.
		err = s.inTx(ctx, func(t2 tx) error {
			if _, err := t2.exec(ctx, `INSERT INTO streams (user_id, service_id, seq) VALUES ('usr_d', 'rsv_x', 1)`); err != nil {
				return err
			}
			t2.later(ins("usr_e"), ins("usr_a"))
			return nil
		})
		if err == nil || !s.eng.isUnique(errors.Unwrap(err)) {
			t.Fatalf("commit with a failing later statement: %v, want a unique violation", err)
		}
		if n := count(); n != 3 {
			t.Fatalf("%d rows after the failed commit, want 3", n)
		}
		// The store still works (the connection was not left in a
		// failed transaction).
		for range 20 {
			if err := s.inTx(ctx, func(t2 tx) error { t2.later(ins("usr_f")); return nil }); err != nil {
				t.Fatal(err)
			}
			if _, err := s.eng.exec(ctx, `DELETE FROM streams WHERE user_id = 'usr_f'`); err != nil {
				t.Fatal(err)
			}
		}
		if s.eng.name() != Postgres {
			return
		}
		// On PostgreSQL the transaction is a pgx.Tx for the job queue,
		// savepoints included.
		err = s.inTx(ctx, func(t2 tx) error {
			px := t2.raw().(pgx.Tx)
			sp, err := px.Begin(ctx)
			if err != nil {
				return err
			}
			if _, err := sp.Exec(ctx, `INSERT INTO streams (user_id, service_id, seq) VALUES ('usr_g', 'rsv_x', 1)`); err != nil {
				return err
			}
			if err := sp.Rollback(ctx); err != nil {
				return err
			}
			_, err = px.Exec(ctx, `INSERT INTO streams (user_id, service_id, seq) VALUES ('usr_h', 'rsv_x', 1)`)
			return err
		})
		if err != nil || count() != 4 {
			t.Fatalf("savepoint rolled back, outer committed: %v, %d rows, want 4", err, count())
		}
	})
}

// TestStatementShapes: IN lists are padded to a power of two with their
// last value, and multi-row inserts are cut into power-of-two chunks, so a
// group of any size uses one of a few statement texts.
func TestStatementShapes(t *testing.T) {
	for n, want := range map[int][]int{1: {1}, 2: {2}, 3: {2, 1}, 13: {8, 4, 1}, 128: {128}, 0: nil} {
		got := powerChunks(n)
		sum := 0
		for _, k := range got {
			sum += k
		}
		if len(got) != len(want) || sum != n {
			t.Errorf("powerChunks(%d) = %v, want %v", n, got, want)
			continue
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("powerChunks(%d) = %v, want %v", n, got, want)
			}
		}
	}
	q, args := inList([]string{"a", "b", "c"})
	if q != "?, ?, ?, ?" || len(args) != 4 || args[2] != "c" || args[3] != "c" {
		t.Errorf("inList of 3: %q %v", q, args)
	}
	if q, args := inList([]string{"a"}); q != "?" || len(args) != 1 {
		t.Errorf("inList of 1: %q %v", q, args)
	}
}

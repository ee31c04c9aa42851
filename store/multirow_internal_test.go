package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/renkei/renkei/store/storetest"
)

// mergeRows merges each mergeable kind at its first place, cut into the
// fixed chunk sizes, with its rows' arguments in order; other statements
// keep their order.
func TestMergeRowsShape(t *testing.T) {
	kind := rowsStmt(`INSERT INTO merge_test_a (x, y) VALUES`, `(?, ?)`, ``)
	other := rowsStmt(`INSERT INTO merge_test_b (x) VALUES`, `(?)`, `ON CONFLICT DO NOTHING`)
	plain := stmt{q: `UPDATE somewhere SET x = ?`, args: []any{0}}
	var in []stmt
	in = append(in, plain)
	for i := range 11 {
		in = append(in, stmt{q: kind, args: []any{i, -i}})
		if i == 3 {
			in = append(in, stmt{q: other, args: []any{"b"}}, plain)
		}
	}
	out := mergeRows(in)
	var got []string
	var args []any
	for _, st := range out {
		got = append(got, fmt.Sprintf("%s|%d", st.q, len(st.args)))
		if st.q != plain.q && st.q != other {
			args = append(args, st.args...)
		}
	}
	a := func(n int) string {
		return fmt.Sprintf("%s|%d", (&rowsForm{head: `INSERT INTO merge_test_a (x, y) VALUES`, row: `(?, ?)`, cols: 2}).sql(n), 2*n)
	}
	want := []string{
		plain.q + "|1",
		a(8), a(2), a(1), // 11 rows at the place of the first
		`INSERT INTO merge_test_b (x) VALUES (?) ON CONFLICT DO NOTHING|1`,
		plain.q + "|1",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("merged:\n%q\nwant\n%q", got, want)
	}
	for i := range 11 {
		if args[2*i] != i || args[2*i+1] != -i {
			t.Fatalf("row %d has args %v, %v", i, args[2*i], args[2*i+1])
		}
	}
	if n := len(mergeRows(in[:1])); n != 1 {
		t.Fatalf("one statement became %d", n)
	}
}

// Every kind the store merges runs on both engines with any row count a
// batch may have: the rows a merged statement writes are those the single
// statements would have written, balances and balance_after included.
func TestMergedLedgerStatements(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		const accounts, perAccount = 3, 67 // 201 postings: every chunk size
		if err := s.inTx(ctx, func(t2 tx) error {
			for a := range accounts {
				if _, err := t2.exec(ctx, `INSERT INTO accounts (id, kind, owner_id, currency, balance, created_at) VALUES (?, 'merchant', ?, 'JPY', 1000, 0)`,
					fmt.Sprintf("acc_%d", a), fmt.Sprintf("mch_%d", a)); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		lb := &ledgerBatch{before: map[string]int64{}, net: map[string]int64{}}
		var txns []stmt
		want := map[string]int64{} // posting id → balance_after
		for a := range accounts {
			acc := fmt.Sprintf("acc_%d", a)
			bal := int64(1000)
			for i := range perAccount {
				amount := int64(i + 1 + a*1000)
				txn := fmt.Sprintf("txn_%d_%03d", a, i)
				id := fmt.Sprintf("pst_%d_%03d", a, i)
				txns = append(txns, stmt{q: insertTxn, args: []any{txn, "topup", "ref", "", int64(i)}})
				lb.posts = append(lb.posts, posting{id: id, txnID: txn, accountID: acc, amount: amount, currency: "JPY", at: int64(i)})
				lb.net[acc] += amount
				bal += amount
				want[id] = bal
			}
		}
		if err := s.inTx(ctx, func(t2 tx) error { t2.later(txns...); lb.flush(t2); return nil }); err != nil {
			t.Fatal(err)
		}
		rows, err := s.eng.query(ctx, `SELECT p.id, p.balance_after FROM postings p JOIN txns x ON x.id = p.txn_id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			var id string
			var after int64
			if err := rows.Scan(&id, &after); err != nil {
				t.Fatal(err)
			}
			if want[id] != after {
				t.Fatalf("%s: balance_after %d, want %d", id, after, want[id])
			}
			n++
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if n != accounts*perAccount {
			t.Fatalf("%d postings, want %d", n, accounts*perAccount)
		}
		for a := range accounts {
			var bal int64
			if err := s.eng.queryRow(ctx, `SELECT balance FROM accounts WHERE id = ?`, fmt.Sprintf("acc_%d", a)).Scan(&bal); err != nil {
				t.Fatal(err)
			}
			if w := 1000 + lb.net[fmt.Sprintf("acc_%d", a)]; bal != w {
				t.Fatalf("acc_%d balance %d, want %d", a, bal, w)
			}
		}
	})
}

// mergeRows may move a row ahead of statements queued before it, which is
// safe only for tables no other row refers to: every mergeable kind's table
// must be a leaf of the schema's foreign keys, but for txns and accounts,
// whose only referrer (postings) is merged too and queued after them by
// flush (which also needs the balance UPDATE before the postings).
func TestMergedKindsAreLeaves(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, storetest.DSN(t, "sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	referrers := map[string][]string{} // table → tables with a foreign key to it
	tables, err := s.eng.query(ctx, `SELECT name FROM sqlite_master WHERE type = 'table'`)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for tables.Next() {
		var n string
		if err := tables.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	tables.Close()
	for _, n := range names {
		fks, err := s.eng.query(ctx, `SELECT "table" FROM pragma_foreign_key_list(?)`, n)
		if err != nil {
			t.Fatal(err)
		}
		for fks.Next() {
			var to string
			if err := fks.Scan(&to); err != nil {
				t.Fatal(err)
			}
			referrers[to] = append(referrers[to], n)
		}
		fks.Close()
	}
	allowed := map[string][]string{"txns": {"postings"}, "accounts": {"postings"}}
	formsMu.RLock()
	defer formsMu.RUnlock()
	for q, f := range forms {
		var table string
		for _, w := range []string{"INSERT INTO ", "UPDATE "} {
			if strings.HasPrefix(f.head, w) {
				table = strings.Fields(f.head[len(w):])[0]
			}
		}
		if table == "" {
			t.Fatalf("cannot tell the table of %q", q)
		}
		if strings.HasPrefix(table, "merge_test_") {
			continue // TestMergeRowsShape's kinds
		}
		if got := referrers[table]; !slices.Equal(got, allowed[table]) {
			t.Errorf("mergeable kind on %s, which %v refer to (allowed: %v)", table, got, allowed[table])
		}
	}
}

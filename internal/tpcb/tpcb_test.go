package tpcb

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// TestLoopKeepsTheBooks runs the reference loop on a real SQLite file and
// checks that what it did is there: as many history rows as movements, and
// the branch, tellers and accounts each moved by the history's sum.
func TestLoopKeepsTheBooks(t *testing.T) {
	ctx := context.Background()
	db, err := OpenSQLite(ctx, filepath.Join(t.TempDir(), "tpcb.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	l, err := NewLoop(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	n, _, err := l.Run(ctx, time.Hour, 60, 3)
	if err != nil || n != 60 {
		t.Fatalf("run: %d movements, %v; want 60", n, err)
	}
	var rows, sum, b, tl, a int64
	for _, q := range []struct {
		q   string
		dst *int64
	}{
		{`SELECT COUNT(*) FROM pgbench_history`, &rows},
		{`SELECT COALESCE(SUM(delta), 0) FROM pgbench_history`, &sum},
		{`SELECT SUM(bbalance) FROM pgbench_branches`, &b},
		{`SELECT SUM(tbalance) FROM pgbench_tellers`, &tl},
		{`SELECT SUM(abalance) FROM pgbench_accounts`, &a},
	} {
		if err := db.QueryRowContext(ctx, q.q).Scan(q.dst); err != nil {
			t.Fatal(err)
		}
	}
	if rows != 60 || b != sum || tl != sum || a != sum {
		t.Fatalf("history %d rows summing to %d; branches %d, tellers %d, accounts %d", rows, sum, b, tl, a)
	}
}

// BenchmarkSQLiteTPCB is the reference loop, one movement per durable
// transaction: what `renkei bench payments --compare` sets Renkei's SQLite
// payments against.
func BenchmarkSQLiteTPCB(b *testing.B) {
	for _, perTx := range []int{1, 100} {
		name := "per_tx_1"
		if perTx == 100 {
			name = "per_tx_100"
		}
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			db, err := OpenSQLite(ctx, filepath.Join(b.TempDir(), "tpcb.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			l, err := NewLoop(ctx, db)
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			for b.Loop() {
				if err := l.Tx(ctx, perTx); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*perTx)/b.Elapsed().Seconds(), "movements/s")
		})
	}
}

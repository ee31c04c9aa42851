// Package tpcb is the reference that Renkei's payment benchmarks are
// measured against: pgbench's TPC-B-like transaction (three balance
// UPDATEs, a SELECT and a history INSERT), written straight against SQLite
// with the settings the store uses (WAL, synchronous=FULL), prepared
// statements and nothing else. It is what one durable money movement per
// transaction costs on this disk without any product around it.
package tpcb

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"time"

	_ "modernc.org/sqlite" // the driver the store uses
)

// Scale is the pgbench scale factor of the reference: one branch, ten
// tellers, 100,000 accounts.
const Scale = 1

// OpenSQLite creates the pgbench tables in a new SQLite file at path,
// with the store's durability settings, and fills them at Scale.
func OpenSQLite(ctx context.Context, path string) (*sql.DB, error) {
	dsn := "file:" + path + "?_txlock=immediate" +
		"&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1) // one writer, as SQLite allows
	schema := []string{
		`CREATE TABLE pgbench_branches (bid INTEGER PRIMARY KEY, bbalance INTEGER NOT NULL, filler TEXT)`,
		`CREATE TABLE pgbench_tellers (tid INTEGER PRIMARY KEY, bid INTEGER NOT NULL, tbalance INTEGER NOT NULL, filler TEXT)`,
		`CREATE TABLE pgbench_accounts (aid INTEGER PRIMARY KEY, bid INTEGER NOT NULL, abalance INTEGER NOT NULL, filler TEXT)`,
		`CREATE TABLE pgbench_history (tid INTEGER, bid INTEGER, aid INTEGER, delta INTEGER, mtime TEXT, filler TEXT)`,
	}
	for _, q := range schema {
		if _, err := db.ExecContext(ctx, q); err != nil {
			db.Close()
			return nil, fmt.Errorf("tpcb schema: %w", err)
		}
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		db.Close()
		return nil, err
	}
	defer tx.Rollback()
	fill := func(q string, n int) error {
		st, err := tx.PrepareContext(ctx, q)
		if err != nil {
			return err
		}
		defer st.Close()
		for i := 1; i <= n; i++ {
			if _, err := st.ExecContext(ctx, i, (i-1)/(n/Scale)+1); err != nil {
				return err
			}
		}
		return nil
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO pgbench_branches (bid, bbalance) VALUES (1, 0)`); err != nil {
		db.Close()
		return nil, err
	}
	if err := fill(`INSERT INTO pgbench_tellers (tid, bid, tbalance) VALUES (?, ?, 0)`, 10*Scale); err != nil {
		db.Close()
		return nil, fmt.Errorf("tpcb tellers: %w", err)
	}
	if err := fill(`INSERT INTO pgbench_accounts (aid, bid, abalance) VALUES (?, ?, 0)`, 100_000*Scale); err != nil {
		db.Close()
		return nil, fmt.Errorf("tpcb accounts: %w", err)
	}
	if err := tx.Commit(); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Loop is the reference transaction, its statements prepared once.
type Loop struct {
	db                        *sql.DB
	upA, selA, upT, upB, insH *sql.Stmt
	rnd                       *rand.Rand
}

// NewLoop prepares the transaction's statements on db.
func NewLoop(ctx context.Context, db *sql.DB) (*Loop, error) {
	l := &Loop{db: db, rnd: rand.New(rand.NewPCG(1, 2))}
	for _, p := range []struct {
		st **sql.Stmt
		q  string
	}{
		{&l.upA, `UPDATE pgbench_accounts SET abalance = abalance + ? WHERE aid = ?`},
		{&l.selA, `SELECT abalance FROM pgbench_accounts WHERE aid = ?`},
		{&l.upT, `UPDATE pgbench_tellers SET tbalance = tbalance + ? WHERE tid = ?`},
		{&l.upB, `UPDATE pgbench_branches SET bbalance = bbalance + ? WHERE bid = ?`},
		{&l.insH, `INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (?, ?, ?, ?, CURRENT_TIMESTAMP)`},
	} {
		st, err := db.PrepareContext(ctx, p.q)
		if err != nil {
			l.Close()
			return nil, err
		}
		*p.st = st
	}
	return l, nil
}

// Close releases the prepared statements.
func (l *Loop) Close() {
	for _, st := range []*sql.Stmt{l.upA, l.selA, l.upT, l.upB, l.insH} {
		if st != nil {
			st.Close()
		}
	}
}

// Tx runs one transaction of perTx TPC-B-like movements and commits it.
func (l *Loop) Tx(ctx context.Context, perTx int) error {
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for range perTx {
		aid := l.rnd.IntN(100_000*Scale) + 1
		tid := l.rnd.IntN(10*Scale) + 1
		bid := l.rnd.IntN(Scale) + 1
		delta := l.rnd.IntN(10001) - 5000
		if _, err := tx.StmtContext(ctx, l.upA).ExecContext(ctx, delta, aid); err != nil {
			return err
		}
		var bal int64
		if err := tx.StmtContext(ctx, l.selA).QueryRowContext(ctx, aid).Scan(&bal); err != nil {
			return err
		}
		if _, err := tx.StmtContext(ctx, l.upT).ExecContext(ctx, delta, tid); err != nil {
			return err
		}
		if _, err := tx.StmtContext(ctx, l.upB).ExecContext(ctx, delta, bid); err != nil {
			return err
		}
		if _, err := tx.StmtContext(ctx, l.insH).ExecContext(ctx, tid, bid, aid, delta); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// Run runs transactions of perTx movements for d, or until max movements
// (0: no limit), and returns how many movements it made and the time taken.
func (l *Loop) Run(ctx context.Context, d time.Duration, max, perTx int) (int, time.Duration, error) {
	start := time.Now()
	n := 0
	for time.Since(start) < d && (max == 0 || n < max) && ctx.Err() == nil {
		if err := l.Tx(ctx, perTx); err != nil {
			return n, time.Since(start), err
		}
		n += perTx
	}
	return n, time.Since(start), ctx.Err()
}

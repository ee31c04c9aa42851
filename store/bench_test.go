package store_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/renkei/renkei"
	"github.com/renkei/renkei/emvco"
	"github.com/renkei/renkei/store"
)

// BenchmarkChargeCode measures one consumer-presented payment on the store,
// without HTTP: a user's NewPayCode, then a terminal's ChargeCode, one
// after the other from a single goroutine.
func BenchmarkChargeCode(b *testing.B) {
	for _, engine := range []string{store.SQLite, store.Postgres} {
		b.Run(engine, func(b *testing.B) {
			ctx := context.Background()
			s := benchOpen(b, engine)
			f := benchFixture(b, s, 1)
			for b.Loop() {
				benchPay(b, ctx, s, f.users[0], f.terminals[0])
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "payments/s")
			benchCheckLedger(b, s)
		})
	}
}

// BenchmarkChargeCodeParallel is BenchmarkChargeCode from several
// goroutines at once, each paying as its own user at its own terminal, as
// concurrent shops do.
func BenchmarkChargeCodeParallel(b *testing.B) {
	const perProc = 4 // goroutines per GOMAXPROCS
	for _, engine := range []string{store.SQLite, store.Postgres} {
		b.Run(engine, func(b *testing.B) {
			ctx := context.Background()
			s := benchOpen(b, engine)
			f := benchFixture(b, s, perProc*runtime.GOMAXPROCS(0))
			var next atomic.Int64
			b.SetParallelism(perProc)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := int(next.Add(1)-1) % len(f.users)
				for pb.Next() {
					benchPay(b, ctx, s, f.users[i], f.terminals[i])
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "payments/s")
			benchCheckLedger(b, s)
		})
	}
}

// benchCheckLedger fails the benchmark if the payments left the ledger
// unbalanced: a fast wrong answer is no result.
func benchCheckLedger(b *testing.B, s *store.Store) {
	b.Helper()
	lc, err := s.CheckLedger(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	for _, p := range lc.Problems {
		b.Error(p)
	}
}

// benchOpen opens a fresh store on engine: a SQLite file in a temp dir, or
// a new schema in the database of RENKEI_TEST_POSTGRES.
func benchOpen(b *testing.B, engine string) *store.Store {
	b.Helper()
	ctx := context.Background()
	dsn := filepath.Join(b.TempDir(), "b.db")
	if engine == store.Postgres {
		dsn = benchPostgresDSN(b)
	}
	s, err := store.Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	s.PayCode = emvco.NewPayCode
	s.ParsePayCode = emvco.ParsePayCode
	s.QR = store.EMVCoQR{Country: "JP", City: "Tokyo"}
	return s
}

// benchPostgresDSN creates a schema of its own for one benchmark run and
// returns a DSN whose search_path is that schema; Cleanup drops it.
func benchPostgresDSN(b *testing.B) string {
	b.Helper()
	dsn := os.Getenv("RENKEI_TEST_POSTGRES")
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			b.Fatal("RENKEI_TEST_POSTGRES is not set; CI must benchmark on PostgreSQL too")
		}
		b.Skip("RENKEI_TEST_POSTGRES is not set; set it to a PostgreSQL DSN to benchmark on PostgreSQL")
	}
	u, err := url.Parse(dsn)
	if err != nil {
		b.Fatalf("RENKEI_TEST_POSTGRES: %v", err)
	}
	var rnd [6]byte
	rand.Read(rnd[:])
	schema := pgx.Identifier{"bench_" + hex.EncodeToString(rnd[:])}
	benchExec(b, dsn, "CREATE SCHEMA "+schema.Sanitize())
	b.Cleanup(func() { benchExec(b, dsn, "DROP SCHEMA "+schema.Sanitize()+" CASCADE") })
	q := u.Query()
	q.Set("search_path", schema[0])
	u.RawQuery = q.Encode()
	return u.String()
}

func benchExec(b *testing.B, dsn, sql string) {
	b.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		b.Fatalf("%s: %v", sql, err)
	}
}

type benchFixtures struct {
	users     []string
	terminals []string
}

// benchFixture makes n users, each with the largest top-up allowed, and n
// terminals of one merchant.
func benchFixture(b *testing.B, s *store.Store, n int) *benchFixtures {
	b.Helper()
	ctx := context.Background()
	m, err := s.CreateMerchant(ctx, renkei.CreateMerchant{Name: "Bench Mart", MCC: "5411"})
	if err != nil {
		b.Fatal(err)
	}
	f := &benchFixtures{}
	for i := range n {
		u, _, err := s.CreateUser(ctx, renkei.CreateUser{Name: fmt.Sprintf("bench user %d", i+1)})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.TopUp(ctx, renkei.TopUp{UserID: u.ID, Amount: renkei.MaxAmount, Currency: "JPY"}); err != nil {
			b.Fatal(err)
		}
		t, _, err := s.CreateTerminal(ctx, renkei.CreateTerminal{MerchantID: m.ID, Name: fmt.Sprintf("register %d", i+1)})
		if err != nil {
			b.Fatal(err)
		}
		f.users = append(f.users, u.ID)
		f.terminals = append(f.terminals, t.ID)
	}
	return f
}

// benchPay is one payment: issue a pay code, charge 100 yen on it. It may
// run on a RunParallel goroutine, so it reports with Error, not Fatal.
func benchPay(b *testing.B, ctx context.Context, s *store.Store, userID, terminalID string) {
	pc, err := s.NewPayCode(ctx, userID, "JPY")
	if err != nil {
		b.Error(err)
		return
	}
	p, err := s.ChargeCode(ctx, renkei.ChargeCode{TerminalID: terminalID, Code: pc.Code, Amount: 100, Currency: "JPY"})
	if err != nil {
		b.Error(err)
		return
	}
	if p.Status != renkei.PaymentCompleted {
		b.Errorf("payment %s is %s, want completed", p.ID, p.Status)
	}
}

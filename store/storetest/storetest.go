// Package storetest gives tests of any package a fresh database on each
// engine: a temp SQLite file, or a new PostgreSQL schema in the database
// named by RENKEI_TEST_POSTGRES.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
)

// Engines are the engine names in the order tests run them.
var Engines = []string{"sqlite", "postgres"}

// DSN returns a fresh, empty database for the engine. Without
// RENKEI_TEST_POSTGRES a PostgreSQL test skips and says why; with CI=true
// it fails instead, so CI never passes by skipping.
func DSN(t testing.TB, engine string) string {
	t.Helper()
	if engine == "sqlite" {
		return filepath.Join(t.TempDir(), "renkei.db")
	}
	return PostgresDSN(t)
}

// PostgresDSN creates a schema for one test, drops it when the test ends,
// and returns a DSN whose search_path is that schema.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv("RENKEI_TEST_POSTGRES")
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("RENKEI_TEST_POSTGRES is not set; CI must run the PostgreSQL tests")
		}
		t.Skip("RENKEI_TEST_POSTGRES is not set (a postgres:// DSN); skipping the PostgreSQL run")
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect RENKEI_TEST_POSTGRES: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), base)
		if err != nil {
			return
		}
		defer conn.Close(context.Background())
		conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse RENKEI_TEST_POSTGRES: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// SyncBuffer is an output (a log, a process's stdout) safe for concurrent
// writers, read back with String.
type SyncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

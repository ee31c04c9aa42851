package main

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func TestBenchPayments(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, db string }{
		{"sqlite", ""},
		{"postgres", os.Getenv("RENKEI_TEST_POSTGRES")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			report := runPaymentsBench(t, tc.name, tc.db, "--clients", "4", "--duration", "2s")
			if n := benchTestField(t, report, `completed\s+(\d+) payments`); n == 0 {
				t.Errorf("no payments completed:\n%s", report)
			}
			if n := benchTestField(t, report, `errors\s+(\d+)`); n != 0 {
				t.Errorf("%d errors:\n%s", n, report)
			}
			if !strings.Contains(report, "ledger check     ok") {
				t.Errorf("no passing ledger check in the report:\n%s", report)
			}
			if want := "engine           " + tc.name; !strings.Contains(report, want) {
				t.Errorf("report does not say %q:\n%s", want, report)
			}
		})
	}
}

// TestBenchCompare runs the engine's reference (pgbench on PostgreSQL,
// the raw SQLite loop on SQLite) before Renkei and checks that the report
// gives both rates, their ratio and the pipeline's commits.
func TestBenchCompare(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, db string }{
		{"sqlite", ""},
		{"postgres", os.Getenv("RENKEI_TEST_POSTGRES")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			report := runPaymentsBench(t, tc.name, tc.db, "--clients", "2", "--duration", "1s", "--compare")
			for _, want := range []string{`reference\s+\S.*: [0-9.]+/s`, `ratio\s+[0-9.]+ `, `write commits\s+[1-9]\d* for [1-9]\d* write requests`} {
				if !regexp.MustCompile(`(?m)^` + want).MatchString(report) {
					t.Errorf("no %q in the report:\n%s", want, report)
				}
			}
			if ref := benchTestFloat(t, report, `reference\s+.*: ([0-9.]+)/s`); ref <= 0 {
				t.Errorf("reference rate %v:\n%s", ref, report)
			}
		})
	}
}

func benchTestFloat(t *testing.T, report, pattern string) float64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + pattern).FindStringSubmatch(report)
	if m == nil {
		t.Fatalf("no %q in the report:\n%s", pattern, report)
	}
	f, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func benchTestField(t *testing.T, report, pattern string) int {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + pattern).FindStringSubmatch(report)
	if m == nil {
		t.Fatalf("no %q in the report:\n%s", pattern, report)
	}
	n, err := strconv.Atoi(m[1])
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestBenchBadArguments(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no benchmark", []string{"bench"}, "payments"},
		{"unknown benchmark", []string{"bench", "refunds"}, `unknown benchmark "refunds"`},
		{"url without admin key", []string{"bench", "payments", "--url", "http://127.0.0.1:1"}, "--admin-key"},
		{"no clients", []string{"bench", "payments", "--clients", "0"}, "--clients"},
		{"stray argument", []string{"bench", "payments", "now"}, `unexpected argument "now"`},
		{"compare a remote server", []string{"bench", "payments", "--url", "http://127.0.0.1:1", "--admin-key", "k", "--compare"}, "--compare"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var out, errOut bytes.Buffer
			err := run(context.Background(), tc.args, &out, &errOut)
			if err == nil {
				t.Fatalf("run %q: no error; stdout:\n%s", tc.args, &out)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("run %q: error %q does not mention %q", tc.args, err, tc.want)
			}
		})
	}
}

// runPaymentsBench runs `renkei bench payments` with flags on the engine
// (PostgreSQL at db, which must be set under CI) and returns its report.
func runPaymentsBench(t *testing.T, engine, db string, flags ...string) string {
	t.Helper()
	args := append([]string{"bench", "payments"}, flags...)
	if engine == "postgres" {
		if db == "" {
			if os.Getenv("CI") == "true" {
				t.Fatal("RENKEI_TEST_POSTGRES is not set; CI must run the PostgreSQL bench")
			}
			t.Skip("RENKEI_TEST_POSTGRES is not set; set it to a PostgreSQL DSN to bench on PostgreSQL")
		}
		args = append(args, "--db", db)
	}
	var out, errOut bytes.Buffer
	if err := run(t.Context(), args, &out, &errOut); err != nil {
		t.Fatalf("bench: %v\nstdout:\n%s\nstderr:\n%s", err, &out, &errOut)
	}
	return out.String()
}

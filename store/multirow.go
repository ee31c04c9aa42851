package store

import (
	"strings"
	"sync"
)

// Multi-row statements. A batch of the commit pipeline queues, with its
// COMMIT, one event row, one idempotency result and one ledger
// transaction per request; sent one statement per row, the database pays
// a statement's fixed cost (on PostgreSQL parse, bind, execute and a
// snapshot; on SQLite a VDBE run) for each. Statements made with rowsStmt
// are merged at commit into one statement per kind for many rows.
//
// Only rows of leaf tables are merged: a merged statement runs where its
// kind first appeared among the queued statements, so a later row moves
// ahead of statements queued between; no queued statement may depend on a
// row of a mergeable kind except one queued after that kind's first row
// (postings after txns, as ledgerBatch.flush queues them).

// rowsForm is a statement kind whose rows can be merged: head, then one
// "(?, …)" per row separated by commas, then tail.
type rowsForm struct {
	head, row, tail string
	cols            int
}

var (
	formsMu sync.RWMutex
	forms   = map[string]*rowsForm{} // single-row SQL → its form
)

// rowsStmt registers a mergeable kind and returns its single-row SQL.
// row is the text for one row with cols placeholders, e.g. "(?, ?)".
func rowsStmt(head, row, tail string) string {
	f := &rowsForm{head: head, row: row, tail: tail, cols: strings.Count(row, "?")}
	q := f.sql(1)
	formsMu.Lock()
	forms[q] = f
	formsMu.Unlock()
	return q
}

func (f *rowsForm) sql(n int) string {
	var b strings.Builder
	b.Grow(len(f.head) + n*(len(f.row)+2) + len(f.tail) + 2)
	b.WriteString(f.head)
	b.WriteByte(' ')
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(f.row)
	}
	if f.tail != "" {
		b.WriteByte(' ')
		b.WriteString(f.tail)
	}
	return b.String()
}

// mergeChunks are the row counts a merged statement has: a batch's rows
// are cut into these sizes, largest first, so each kind has a handful of
// distinct statements to prepare and cache, not one per row count.
var mergeChunks = []int{128, 64, 32, 16, 8, 4, 2, 1}

// mergeRows merges the rows of mergeable kinds in stmts; other statements
// keep their place and order.
func mergeRows(stmts []stmt) []stmt {
	if len(stmts) < 2 {
		return stmts
	}
	type group struct {
		f    *rowsForm
		args []any
		n    int
	}
	// items is stmts with each mergeable kind's statements gathered into
	// one group, at the place of its first.
	type item struct {
		st stmt
		g  *group
	}
	items := make([]item, 0, len(stmts))
	groups := map[string]*group{}
	formsMu.RLock()
	for _, st := range stmts {
		f := forms[st.q]
		if f == nil || st.scan != nil || st.each != nil || len(st.args) != f.cols {
			items = append(items, item{st: st})
			continue
		}
		g := groups[st.q]
		if g == nil {
			g = &group{f: f}
			groups[st.q] = g
			items = append(items, item{g: g})
		}
		g.args = append(g.args, st.args...)
		g.n++
	}
	formsMu.RUnlock()
	if len(groups) == 0 {
		return stmts
	}
	out := make([]stmt, 0, len(items)+len(groups))
	for _, it := range items {
		if it.g == nil {
			out = append(out, it.st)
			continue
		}
		args, n := it.g.args, it.g.n
		for _, c := range mergeChunks {
			for ; n >= c; n -= c {
				k := c * it.g.f.cols
				out = append(out, stmt{q: it.g.f.sql(c), args: args[:k:k]})
				args = args[k:]
			}
		}
	}
	return out
}

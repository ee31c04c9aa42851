package store

import (
	"context"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// TestPipelineRequestFailsAlone puts a request that panics, one that fails
// with an error after writing, and one that succeeds in one batch, on both
// engines: the first two are answered with their errors and leave nothing,
// the third commits, and the pipeline goes on serving.
func TestPipelineRequestFailsAlone(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		ins := func(t2 tx, user string) error {
			_, err := t2.exec(ctx, `INSERT INTO streams (user_id, service_id, seq) VALUES (?, 'rsv_x', 1)`, user)
			return err
		}
		reqs := []func(tx) error{
			func(t2 tx) error {
				if err := ins(t2, "usr_panic"); err != nil {
					return err
				}
				panic("boom")
			},
			func(t2 tx) error {
				if err := ins(t2, "usr_fail"); err != nil {
					return err
				}
				return ins(t2, "usr_fail") // a duplicate key
			},
			func(t2 tx) error { return ins(t2, "usr_ok") },
		}
		queued, release := HoldPipeline(s)
		errs := make([]error, len(reqs))
		var wg sync.WaitGroup
		for i, fn := range reqs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = s.inTx(ctx, fn)
			}()
			for queued() < i+1 {
				runtime.Gosched()
			}
		}
		commits0, _ := s.PipelineStats()
		release()
		wg.Wait()
		if errs[0] == nil || !strings.Contains(errs[0].Error(), "boom") {
			t.Errorf("panicking request: %v, want its panic as an error", errs[0])
		}
		if errs[1] == nil || !s.eng.isUnique(errs[1]) {
			t.Errorf("failing request: %v, want its duplicate-key error", errs[1])
		}
		if errs[2] != nil {
			t.Errorf("good request: %v", errs[2])
		}
		if c, _ := s.PipelineStats(); c-commits0 != 1 {
			t.Errorf("%d commits, want the batch's one", c-commits0)
		}
		var n int
		var user string
		if err := s.eng.queryRow(ctx, `SELECT COUNT(*), MIN(user_id) FROM streams`).Scan(&n, &user); err != nil {
			t.Fatal(err)
		}
		if n != 1 || user != "usr_ok" {
			t.Fatalf("streams hold %d rows (first %q), want only usr_ok", n, user)
		}
		if err := s.inTx(ctx, func(t2 tx) error { return ins(t2, "usr_after") }); err != nil {
			t.Fatalf("after the batch: %v", err)
		}
	})
}

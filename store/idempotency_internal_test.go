package store

import (
	"context"
	"sync"
	"testing"

	"github.com/renkei/renkei"
)

// A request that runs no statement of its own (it only queues statements
// for the COMMIT) still holds its idempotency key before its result is
// stored: under one key there is one effect, whether the calls come one
// after the other or together in one batch, and every caller gets it.
func TestIdempotencyWithoutStatements(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		call := func(key string) (string, error) {
			ictx := renkei.NewContextWithIdempotency(ctx, &renkei.Idempotency{Scope: "t", Key: key, RequestHash: "h"})
			return write(ictx, s, func(t tx) (string, error) {
				id := s.ids.New(renkei.PrefixEvent)
				return id, s.event(ctx, t, "test.only_later", id, "", "", map[string]string{"id": id})
			})
		}
		// One after the other.
		a, err := call("k1")
		if err != nil {
			t.Fatal(err)
		}
		b, err := call("k1")
		if err != nil {
			t.Fatal(err)
		}
		if a != b {
			t.Fatalf("the second call answered %s, the first %s", b, a)
		}
		// Together: 20 calls under one key, batched by the pipeline.
		var (
			wg  sync.WaitGroup
			mu  sync.Mutex
			got = map[string]int{}
		)
		for range 20 {
			wg.Go(func() {
				id, err := call("k2")
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					t.Errorf("call: %v", err)
					return
				}
				got[id]++
			})
		}
		wg.Wait()
		if len(got) != 1 {
			t.Fatalf("answers under one key: %v", got)
		}
		var n int
		if err := s.eng.queryRow(ctx, `SELECT COUNT(*) FROM events WHERE type = 'test.only_later'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 2 {
			t.Fatalf("%d events under 2 keys, want 2", n)
		}
	})
}

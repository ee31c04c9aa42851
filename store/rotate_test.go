package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/renkei/renkei"
	"github.com/renkei/renkei/store"
)

// TestRotateTokens: a rotated user token or terminal key stops
// authenticating at once and the new one works, on both engines.
func TestRotateTokens(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store, c *clock) {
		ctx := context.Background()
		u, oldTok, err := s.CreateUser(ctx, renkei.CreateUser{Name: "Aiko"})
		must(t, err)
		m, err := s.CreateMerchant(ctx, renkei.CreateMerchant{Name: "Cafe Hikari", MCC: "5814"})
		must(t, err)
		term, oldKey, err := s.CreateTerminal(ctx, renkei.CreateTerminal{MerchantID: m.ID, Name: "Register 1"})
		must(t, err)

		u2, newTok, err := s.RotateUserToken(ctx, u.ID)
		must(t, err)
		t2, newKey, err := s.RotateTerminalKey(ctx, term.ID)
		must(t, err)
		if u2.ID != u.ID || u2.Name != "Aiko" || t2.ID != term.ID || t2.MerchantID != m.ID || t2.Name != "Register 1" || !t2.CreatedAt.Equal(term.CreatedAt) {
			t.Fatalf("rotated: %+v %+v", u2, t2)
		}
		for _, old := range []string{oldTok, oldKey} {
			_, err := s.Authenticate(ctx, old)
			wantCode(t, err, renkei.EUNAUTHORIZED, "")
		}
		if p, err := s.Authenticate(ctx, newTok); err != nil || p.Kind != renkei.KindUser || p.ID != u.ID {
			t.Fatalf("new token: %+v %v", p, err)
		}
		if p, err := s.Authenticate(ctx, newKey); err != nil || p.Kind != renkei.KindTerminal || p.ID != term.ID || p.MerchantID != m.ID {
			t.Fatalf("new key: %+v %v", p, err)
		}
		_, _, err = s.RotateUserToken(ctx, "usr_nobody")
		wantCode(t, err, renkei.ENOTFOUND, "")
		_, _, err = s.RotateTerminalKey(ctx, "ter_nobody")
		wantCode(t, err, renkei.ENOTFOUND, "")
	})
}

// A logout ends a login id until its cookie's expiry, on every engine;
// ending it twice is fine, and the purge forgets only expired ones.
func TestEndedLogins(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store, c *clock) {
		ctx := context.Background()
		ended := func(id string) bool {
			t.Helper()
			ok, err := s.LoginEnded(ctx, id)
			must(t, err)
			return ok
		}
		if ended("a") {
			t.Fatal("a login no one ended is ended")
		}
		must(t, s.EndLogin(ctx, "a", c.now().Add(time.Hour)))
		must(t, s.EndLogin(ctx, "a", c.now().Add(time.Hour)))
		must(t, s.EndLogin(ctx, "b", c.now().Add(12*time.Hour)))
		if !ended("a") || !ended("b") || ended("c") {
			t.Fatal("ended logins not recorded")
		}
		c.advance(2 * time.Hour)
		n, err := s.PurgeEndedLogins(ctx)
		must(t, err)
		if n != 1 || ended("a") || !ended("b") {
			t.Fatalf("purge removed %d; a ended %v, b ended %v", n, ended("a"), ended("b"))
		}
		wantCode(t, s.EndLogin(ctx, "", c.now()), renkei.EINVALID, "")
	})
}

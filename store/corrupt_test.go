package store

import (
	"context"
	"testing"

	"github.com/renkei/renkei"
	"github.com/renkei/renkei/store/storetest"
)

// TestCorruptLinkScopes: a link whose stored scopes are not JSON is an
// error to whoever reads it, not a link that silently carries no scopes
// (which would read as "consented to nothing" and hide the damage).
func TestCorruptLinkScopes(t *testing.T) {
	t.Parallel()
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s, err := Open(ctx, storetest.DSN(t, engine))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			u, _, err := s.CreateUser(ctx, renkei.CreateUser{Name: "Aiko"})
			if err != nil {
				t.Fatal(err)
			}
			rs, _, err := s.CreateRelatedService(ctx, renkei.RelatedServiceInput{
				Name: "Kakeibo", AppCategory: "household_budget", WebhookURL: "https://kakeibo.example/hooks",
				Scopes: []string{renkei.ScopeAmount}, Policy: renkei.ServicePolicy{BaseThreshold: map[string]int64{"JPY": 1000}}, Enabled: true,
			})
			if err != nil {
				t.Fatal(err)
			}
			l, err := s.CreateLink(ctx, u.ID, renkei.LinkInput{ServiceID: rs.ID})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.eng.exec(ctx, `UPDATE links SET scopes = '["amount"' WHERE id = ?`, l.ID); err != nil {
				t.Fatal(err)
			}
			if got, err := s.ListLinks(ctx, u.ID); err == nil {
				t.Fatalf("ListLinks read a corrupt link without an error: %+v", got[0])
			}
			if _, err := s.RevokeLink(ctx, u.ID, l.ID); err == nil {
				t.Fatal("RevokeLink read a corrupt link without an error")
			}
		})
	}
}

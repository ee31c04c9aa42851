package store_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/renkei/renkei"
	"github.com/renkei/renkei/store"
)

func kakeiboInput() renkei.RelatedServiceInput {
	return renkei.RelatedServiceInput{
		Name:        "Kakeibo",
		Description: renkei.Localized{JA: "家計簿に記録", EN: "Record in your household account book"},
		AppURL:      "https://kakeibo.example/app",
		AppCategory: "household_budget",
		WebhookURL:  "https://kakeibo.example/hooks/renkei",
		Scopes:      []string{renkei.ScopeAmount, renkei.ScopeMerchantName, renkei.ScopeMerchantCategory, renkei.ScopeTime},
		Input:       renkei.InputFields{Memo: true, MemoMaxLen: 20, Categories: []string{"food", "daily", "hobby"}},
		Policy:      renkei.ServicePolicy{BaseThreshold: map[string]int64{"JPY": 1000}},
		Enabled:     true,
	}
}

func createService(t tb, s *store.Store, in renkei.RelatedServiceInput) *renkei.RelatedService {
	t.Helper()
	rs, _, err := s.CreateRelatedService(context.Background(), in)
	must(t, err)
	return rs
}

// message decodes a queued delivery's body.
func message(t tb, d *renkei.Delivery) store.Message {
	t.Helper()
	var m store.Message
	if err := json.Unmarshal([]byte(d.Body), &m); err != nil {
		t.Fatalf("delivery body %s: %v", d.Body, err)
	}
	return m
}

func deliveries(t tb, s *store.Store, f renkei.DeliveryFilter) []*renkei.Delivery {
	t.Helper()
	f.Page.Limit = 100
	ds, _, err := s.ListDeliveries(context.Background(), f)
	must(t, err)
	return ds
}

func TestRelatedServices(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store, c *clock) {
		ctx := context.Background()
		rs, key, err := s.CreateRelatedService(ctx, kakeiboInput())
		must(t, err)
		if !renkei.HasPrefix(rs.ID, renkei.PrefixRelatedService) || !strings.HasPrefix(key, "rk_rsv_") {
			t.Fatalf("service %s key %s", rs.ID, key)
		}
		p, err := s.Authenticate(ctx, key)
		must(t, err)
		if p.Kind != renkei.KindPartner || p.ID != rs.ID {
			t.Fatalf("partner principal %+v", p)
		}
		got, err := s.FindRelatedService(ctx, rs.ID)
		must(t, err)
		if got.Name != "Kakeibo" || got.Input.MemoMaxLen != 20 || got.Policy.BaseThreshold["JPY"] != 1000 || !got.Enabled {
			t.Fatalf("found %+v", got)
		}
		bad := []func(*renkei.RelatedServiceInput){
			func(in *renkei.RelatedServiceInput) { in.Name = " " },
			func(in *renkei.RelatedServiceInput) { in.Scopes = []string{"card_number"} },
			func(in *renkei.RelatedServiceInput) { in.Scopes = nil },
			func(in *renkei.RelatedServiceInput) { in.WebhookURL = "ftp://x" },
			func(in *renkei.RelatedServiceInput) { in.WebhookURL = "https://user:pw@x.example/" },
			func(in *renkei.RelatedServiceInput) { in.Policy.BaseThreshold = nil },
			func(in *renkei.RelatedServiceInput) { in.Policy.BaseThreshold = map[string]int64{"XYZ": 1} },
			func(in *renkei.RelatedServiceInput) { in.Policy.MerchantCategories = []string{"spaceships"} },
			func(in *renkei.RelatedServiceInput) { in.Input.MemoMaxLen = 501 },
		}
		for i, mod := range bad {
			in := kakeiboInput()
			mod(&in)
			if _, _, err := s.CreateRelatedService(ctx, in); renkei.ErrorCode(err) != renkei.EINVALID {
				t.Errorf("bad input %d: %v", i, err)
			}
		}
		in := kakeiboInput()
		in.Name, in.Enabled = "Kakeibo Plus", false
		up, err := s.UpdateRelatedService(ctx, rs.ID, in)
		must(t, err)
		if up.Name != "Kakeibo Plus" || up.Enabled {
			t.Fatalf("updated %+v", up)
		}
		_, err = s.SetServiceIcon(ctx, rs.ID, "image/svg+xml", []byte("<svg/>"))
		wantCode(t, err, renkei.EINVALID, "")
		png := []byte("\x89PNG\r\n\x1a\nfake")
		withIcon, err := s.SetServiceIcon(ctx, rs.ID, "image/png", png)
		must(t, err)
		typ, data, err := s.ServiceIcon(ctx, rs.ID)
		must(t, err)
		if typ != "image/png" || string(data) != string(png) || withIcon.IconURL != "/v1/related_services/"+rs.ID+"/icon" {
			t.Fatalf("icon %s %q %s", typ, data, withIcon.IconURL)
		}
		list, _, err := s.ListRelatedServices(ctx, renkei.Page{})
		must(t, err)
		if len(list) != 1 {
			t.Fatalf("%d services", len(list))
		}
	})
}

// TestAutoLinkAndRevoke: a link with auto sends every payment, in the
// payment's transaction, scoped and pseudonymous; a refund follows; an
// unlink cancels what is still queued and stops sending.
func TestAutoLinkAndRevoke(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store, c *clock) {
		ctx := context.Background()
		f := newFixture(t, s, 50_000)
		in := kakeiboInput()
		in.Scopes = []string{renkei.ScopeAmount, renkei.ScopeMerchantName}
		rs := createService(t, s, in)
		other := createService(t, s, kakeiboInput())

		l, err := s.CreateLink(ctx, f.user.ID, renkei.LinkInput{ServiceID: rs.ID, Auto: true})
		must(t, err)
		_, err = s.CreateLink(ctx, f.user.ID, renkei.LinkInput{ServiceID: rs.ID, Auto: false})
		wantCode(t, err, renkei.ECONFLICT, "")

		p, err := charge(t, s, f, 1200)
		must(t, err)
		ds := deliveries(t, s, renkei.DeliveryFilter{ServiceID: rs.ID})
		if len(ds) != 1 || ds[0].Source != renkei.SourceLink || ds[0].Status != renkei.DeliveryQueued || ds[0].Sequence != 1 {
			t.Fatalf("deliveries %+v", ds)
		}
		m := message(t, ds[0])
		if m.Type != "payment.completed" || m.Data.PaymentID != p.ID || *m.Data.Amount != 1200 || m.Data.Currency != "JPY" ||
			m.Data.Merchant == nil || m.Data.Merchant.Name != "Cafe Hikari" || m.Data.Merchant.Category != "" ||
			m.Data.CompletedAt != nil || m.Data.Method != "" || m.Data.Input != nil {
			t.Fatalf("scoped message %s", ds[0].Body)
		}
		if m.Data.User == "" || strings.Contains(ds[0].Body, f.user.ID) {
			t.Fatalf("user not pseudonymous: %s", ds[0].Body)
		}
		if len(deliveries(t, s, renkei.DeliveryFilter{ServiceID: other.ID})) != 0 {
			t.Fatal("an unlinked service got the payment")
		}

		_, err = s.CreateRefund(ctx, renkei.CreateRefund{PaymentID: p.ID, Amount: 200})
		must(t, err)
		ds = deliveries(t, s, renkei.DeliveryFilter{ServiceID: rs.ID})
		if len(ds) != 2 || ds[0].Type != "payment.refunded" || ds[0].Sequence != 2 {
			t.Fatalf("refund delivery %+v", ds[0])
		}
		if rm := message(t, ds[0]); *rm.Data.Amount != 200 || rm.Data.RefundID == "" || rm.Data.User != m.Data.User {
			t.Fatalf("refund message %s", ds[0].Body)
		}

		revoked, err := s.RevokeLink(ctx, f.user.ID, l.ID)
		must(t, err)
		if revoked.Status != renkei.LinkRevoked || revoked.RevokedAt == nil {
			t.Fatalf("revoked %+v", revoked)
		}
		// What stays queued is the link's last message: link.revoked, with
		// the same pseudonym, next in the stream.
		queued := deliveries(t, s, renkei.DeliveryFilter{ServiceID: rs.ID, Status: renkei.DeliveryQueued})
		if len(queued) != 1 || queued[0].Type != renkei.EventLinkRevoked || queued[0].Sequence != 3 || queued[0].PaymentID != "" {
			t.Fatalf("queued after unlink: %+v", queued)
		}
		if rm := message(t, queued[0]); rm.Data.User != m.Data.User || rm.Data.LinkID != l.ID || rm.Data.RevokedAt == nil ||
			strings.Contains(queued[0].Body, "payment_id") {
			t.Fatalf("link.revoked message %s", queued[0].Body)
		}
		if again, err := s.RevokeLink(ctx, f.user.ID, l.ID); err != nil || again.Status != renkei.LinkRevoked {
			t.Fatalf("second revoke: %+v %v", again, err)
		}
		p2, err := charge(t, s, f, 1500)
		must(t, err)
		_, err = s.CreateRefund(ctx, renkei.CreateRefund{PaymentID: p.ID, Amount: 100})
		must(t, err)
		if n := len(deliveries(t, s, renkei.DeliveryFilter{ServiceID: rs.ID})); n != 3 {
			t.Fatalf("sending went on after unlink: %d deliveries (payment %s)", n, p2.ID)
		}
		_, err = s.RevokeLink(ctx, "usr_someone_else", l.ID)
		wantCode(t, err, renkei.ENOTFOUND, "")

		// Relinking keeps the same pseudonym for this service.
		_, err = s.CreateLink(ctx, f.user.ID, renkei.LinkInput{ServiceID: rs.ID, Auto: true})
		must(t, err)
		_, err = charge(t, s, f, 900)
		must(t, err)
		ds = deliveries(t, s, renkei.DeliveryFilter{ServiceID: rs.ID})
		if m3 := message(t, ds[0]); m3.Data.User != m.Data.User || m3.Data.Sequence != 4 {
			t.Fatalf("after relink %s", ds[0].Body)
		}
		links, err := s.ListLinks(ctx, f.user.ID)
		must(t, err)
		if len(links) != 2 {
			t.Fatalf("%d links", len(links))
		}
	})
}

// TestCompletionAndSelection walks claims 2–8: proposals over the
// threshold only, the tap queues the payment with the memo, nothing else
// is sent, and every bad selection is refused with nothing queued.
func TestCompletionAndSelection(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store, c *clock) {
		ctx := context.Background()
		f := newFixture(t, s, 50_000)
		intruder := newFixture(t, s, 1000)
		rs := createService(t, s, kakeiboInput())
		pts := kakeiboInput()
		pts.Name, pts.Input = "Points", renkei.InputFields{}
		pts.Policy.MerchantCategories = []string{"groceries"}
		points := createService(t, s, pts)

		small, err := charge(t, s, f, 120)
		must(t, err)
		v, err := s.Completion(ctx, f.user.ID, small.ID, "en")
		must(t, err)
		if len(v.Proposals) != 0 {
			t.Fatalf("a ¥120 coffee got proposals: %+v", v.Proposals[0])
		}

		p, err := charge(t, s, f, 12_800)
		must(t, err)
		v, err = s.Completion(ctx, f.user.ID, p.ID, "en")
		must(t, err)
		if len(v.Proposals) != 1 || v.Proposals[0].ServiceID != rs.ID || v.Proposals[0].Service.Name != "Kakeibo" ||
			v.Proposals[0].Reason.Text == "" || v.Proposals[0].Status != renkei.ProposalShown {
			t.Fatalf("proposals %+v", v.Proposals)
		}
		if !strings.Contains(v.Proposals[0].Reason.Text, "12,800") {
			t.Fatalf("reason %q does not say the amount", v.Proposals[0].Reason.Text)
		}
		ja, err := s.Completion(ctx, f.user.ID, p.ID, "ja")
		must(t, err)
		if ja.Proposals[0].Reason.Text == v.Proposals[0].Reason.Text || ja.Proposals[0].Service.Description != "家計簿に記録" {
			t.Fatalf("ja view %+v", ja.Proposals[0])
		}
		if len(deliveries(t, s, renkei.DeliveryFilter{})) != 0 {
			t.Fatal("something was sent before any tap")
		}

		bad := []struct {
			user string
			in   renkei.SelectInput
			code string
		}{
			{intruder.user.ID, renkei.SelectInput{ServiceID: rs.ID}, renkei.ENOTFOUND},
			{f.user.ID, renkei.SelectInput{ServiceID: points.ID}, renkei.EINVALID},
			{f.user.ID, renkei.SelectInput{ServiceID: "rsv_nope"}, renkei.EINVALID},
			{f.user.ID, renkei.SelectInput{ServiceID: rs.ID, Memo: strings.Repeat("あ", 21)}, renkei.EINVALID},
			{f.user.ID, renkei.SelectInput{ServiceID: rs.ID, Category: "cars"}, renkei.EINVALID},
		}
		for i, b := range bad {
			_, err := s.Select(ctx, b.user, p.ID, b.in)
			if renkei.ErrorCode(err) != b.code {
				t.Errorf("bad selection %d: %v", i, err)
			}
		}
		if len(deliveries(t, s, renkei.DeliveryFilter{})) != 0 {
			t.Fatal("a refused selection queued something")
		}

		sel, err := s.Select(ctx, f.user.ID, p.ID, renkei.SelectInput{ServiceID: rs.ID, Memo: "team lunch", Category: "food"})
		must(t, err)
		if sel.Outcome != store.OutcomeQueued || sel.DeliveryID == "" {
			t.Fatalf("selection %+v", sel)
		}
		_, err = s.Select(ctx, f.user.ID, p.ID, renkei.SelectInput{ServiceID: rs.ID})
		wantCode(t, err, renkei.ECONFLICT, "")
		ds := deliveries(t, s, renkei.DeliveryFilter{PaymentID: p.ID})
		if len(ds) != 1 || ds[0].ID != sel.DeliveryID || ds[0].Source != renkei.SourceSelection {
			t.Fatalf("deliveries %+v", ds)
		}
		m := message(t, ds[0])
		if m.Data.Input == nil || m.Data.Input.Memo != "team lunch" || m.Data.Input.Category != "food" ||
			m.Data.Merchant.Category != "restaurants" || m.Data.CompletedAt == nil {
			t.Fatalf("message %s", ds[0].Body)
		}
		v, err = s.Completion(ctx, f.user.ID, p.ID, "en")
		must(t, err)
		if v.Proposals[0].Status != renkei.ProposalSelected || v.Proposals[0].Outcome != store.OutcomeQueued {
			t.Fatalf("after tap %+v", v.Proposals[0])
		}

		// Dismissals count against the service: the threshold backs off.
		// After the tap above (shown 1, selected 1) it is ¥470; one
		// dismissal doubles it and lowers r: ¥1,200; a second: ¥2,700, so
		// a third ¥1,500 payment gets no card (TestPersonalThreshold
		// walks the formula through time).
		for i, want := range []int64{470, 1200} {
			q, err := charge(t, s, f, 1500)
			must(t, err)
			v, err := s.Completion(ctx, f.user.ID, q.ID, "en")
			must(t, err)
			if len(v.Proposals) != 1 || v.Proposals[0].Threshold != want {
				t.Fatalf("dismissal %d: proposals %+v, want one at threshold %d", i, v.Proposals, want)
			}
			_, err = s.Dismiss(ctx, f.user.ID, q.ID, rs.ID)
			must(t, err)
		}
		q, err := charge(t, s, f, 1500)
		must(t, err)
		v, err = s.Completion(ctx, f.user.ID, q.ID, "en")
		must(t, err)
		if len(v.Proposals) != 0 {
			t.Fatalf("still proposed at ¥1,500 after two dismissals: %+v", v.Proposals[0])
		}
		_, err = s.Completion(ctx, intruder.user.ID, q.ID, "en")
		wantCode(t, err, renkei.ENOTFOUND, "")
	})
}

// TestConcurrentTaps: the same card tapped many times at once (a double
// tap, two devices) queues one message; every other tap is told the app
// was already chosen, and the stream's sequence has no gap.
func TestConcurrentTaps(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store, c *clock) {
		ctx := context.Background()
		f := newFixture(t, s, 50_000)
		rs := createService(t, s, kakeiboInput())
		for round := 1; round <= 3; round++ {
			p, err := charge(t, s, f, 12_800)
			must(t, err)
			_, err = s.Completion(ctx, f.user.ID, p.ID, "en")
			must(t, err)
			const taps = 8
			errs := make(chan error, taps)
			for range taps {
				go func() {
					_, err := s.Select(ctx, f.user.ID, p.ID, renkei.SelectInput{ServiceID: rs.ID, Memo: "lunch"})
					errs <- err
				}()
			}
			won := 0
			for range taps {
				err := <-errs
				if err == nil {
					won++
				} else if e := wantCode(t, err, renkei.ECONFLICT, ""); e.Message != "You already chose this app for this payment." {
					t.Fatalf("a losing tap: %v", err)
				}
			}
			ds := deliveries(t, s, renkei.DeliveryFilter{PaymentID: p.ID})
			if won != 1 || len(ds) != 1 || ds[0].Sequence != int64(round) {
				t.Fatalf("round %d: %d taps won, %d deliveries, sequence %v", round, won, len(ds), ds)
			}
		}
	})
}

package points_test

import (
	"database/sql"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/renkei/renkei/demo/points"
	"github.com/renkei/renkei/webhook"

	_ "modernc.org/sqlite"
)

func TestEarned(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		amount     int64
		currency   string
		category   string
		points     int64
		multiplier int64
	}{
		{1280, "JPY", "retail", 12, 1},
		{1280, "JPY", "restaurants", 24, 2},
		{2980, "JPY", "groceries", 58, 2},
		{1500, "JPY", "books", 30, 2},
		{150, "JPY", "groceries", 2, 2}, // 1 point, doubled: not 2% of ¥150
		{99, "JPY", "retail", 0, 1},
		{100, "JPY", "", 1, 1},
		{0, "JPY", "books", 0, 2},
		{-500, "JPY", "retail", 0, 1},
		{1280, "USD", "restaurants", 0, 2},
		{1280, "", "retail", 0, 1},
	} {
		p, m := points.Earned(c.amount, c.currency, c.category)
		if p != c.points || m != c.multiplier {
			t.Errorf("Earned(%d, %q, %q) = %d, ×%d; want %d, ×%d", c.amount, c.currency, c.category, p, m, c.points, c.multiplier)
		}
	}
}

func TestAwardsAndRetries(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	body := message("payment.completed", payment("pay_g", "pu_aiko", 2980, "groceries"))
	id := newID()
	f.MustDeliver(id, body)
	p := f.payment("pay_g")
	if p == nil || p.Awarded != 58 || p.Points != 58 || p.Multiplier != 2 || p.User != "pu_aiko" || *p.Amount != 2980 ||
		p.MerchantCategory != "groceries" || p.AwardedAt == nil || !p.AwardedAt.Equal(t0) || len(p.Moves) != 1 ||
		p.Moves[0].Kind != points.KindAward || p.Moves[0].Points != 58 {
		t.Fatalf("pay_g = %+v", p)
	}
	f.MustDeliver(newID(), message("payment.completed", payment("pay_r", "pu_aiko", 1280, "electronics")))
	if p := f.payment("pay_r"); p == nil || p.Awarded != 12 || p.Multiplier != 1 {
		t.Fatalf("pay_r = %+v", p)
	}

	// Renkei's retry of the same message, and a second message about the
	// same payment: no more points.
	f.Clock.Advance(5 * time.Second)
	if answer := f.MustDeliver(id, body); !strings.Contains(answer, "duplicate") {
		t.Errorf("retry answered %q", answer)
	}
	f.MustDeliver(newID(), body)
	if p := f.payment("pay_g"); p.Awarded != 58 || len(p.Moves) != 1 {
		t.Fatalf("after retries pay_g = %+v", p)
	}
	if b := f.balances()["pu_aiko"]; b.Points != 70 || b.Awarded != 70 || b.Revoked != 0 || b.Payments != 2 {
		t.Errorf("balance = %+v, want 70 from 2 payments", b)
	}
}

func TestRefundsRevokeProportionally(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.MustDeliver(newID(), message("payment.completed", payment("pay_big", "pu_aiko", 3000, "groceries")))
	steps := []struct {
		refundID string
		amount   int64
		revoked  int64 // in total after this refund
	}{
		{"ref_1", 1000, 20}, // ¥1,000 ×2
		{"ref_2", 150, 22},  // ¥1,150 refunded in all: 11 ×2
		{"ref_3", 1850, 60}, // all of it: everything back
		{"ref_4", 500, 60},  // more than was paid: never below zero
	}
	for _, s := range steps {
		id := newID()
		body := message("payment.refunded", refund("pay_big", s.refundID, "pu_aiko", s.amount))
		f.MustDeliver(id, body)
		f.MustDeliver(id, body)      // a retry
		f.MustDeliver(newID(), body) // another message of the same refund
		p := f.payment("pay_big")
		if p.Revoked != s.revoked || p.Points != 60-s.revoked {
			t.Fatalf("after %s: revoked %d, points %d; want %d, %d", s.refundID, p.Revoked, p.Points, s.revoked, 60-s.revoked)
		}
	}
	p := f.payment("pay_big")
	if p.RefundedAmount != 3500 || len(p.Moves) != 4 {
		t.Errorf("pay_big = %+v", p)
	}
	var sum int64
	for _, m := range p.Moves {
		sum += m.Points
	}
	if sum != 0 {
		t.Errorf("moves of a fully refunded payment sum to %d", sum)
	}

	// Two half refunds of ¥300 take back all 6 points, not 2 + 2.
	f.MustDeliver(newID(), message("payment.completed", payment("pay_small", "pu_ben", 300, "restaurants")))
	f.MustDeliver(newID(), message("payment.refunded", refund("pay_small", "ref_s1", "pu_ben", 150)))
	if p := f.payment("pay_small"); p.Points != 4 {
		t.Errorf("after half a refund: %d points, want 4", p.Points)
	}
	f.MustDeliver(newID(), message("payment.refunded", refund("pay_small", "ref_s2", "pu_ben", 150)))
	if p := f.payment("pay_small"); p.Points != 0 || p.Revoked != 6 {
		t.Errorf("after the whole refund: %+v", p)
	}
	if b := f.balances(); b["pu_aiko"].Points != 0 || b["pu_ben"].Points != 0 || b["pu_aiko"].Revoked != 60 {
		t.Errorf("balances = %+v", b)
	}
}

// A refund that overtakes its payment is held and settled when the
// payment arrives; a refund without an amount takes back everything.
func TestRefundOrderAndUnknownAmount(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.MustDeliver(newID(), message("payment.refunded", refund("pay_late", "ref_l", "pu_aiko", 1000)))
	if p := f.payment("pay_late"); p == nil || p.Awarded != 0 || p.Revoked != 0 || p.AwardedAt != nil || p.RefundedAmount != 1000 {
		t.Fatalf("refund before payment = %+v", p)
	}
	if b := f.balances()["pu_aiko"]; b.Points != 0 {
		t.Errorf("balance before the payment = %+v", b)
	}
	f.MustDeliver(newID(), message("payment.completed", payment("pay_late", "pu_aiko", 2500, "books")))
	p := f.payment("pay_late")
	if p.Awarded != 50 || p.Revoked != 20 || p.Points != 30 || len(p.Moves) != 2 || p.Moves[1].Points != -20 {
		t.Fatalf("after the payment = %+v", p)
	}

	f.MustDeliver(newID(), message("payment.completed", payment("pay_x", "pu_aiko", 1000, "retail")))
	r := refund("pay_x", "ref_x", "pu_aiko", 0)
	delete(r, "amount")
	delete(r, "currency")
	f.MustDeliver(newID(), message("payment.refunded", r))
	if p := f.payment("pay_x"); p.Points != 0 || p.Revoked != 10 {
		t.Errorf("refund of unknown amount = %+v", p)
	}
	if b := f.balances()["pu_aiko"]; b.Points != 30 {
		t.Errorf("balance = %+v, want 30", b)
	}
}

func TestStatementIgnored(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	line := message("statement.line", map[string]any{"payment_id": "pay_st", "statement_id": "stm_1", "amount": 5000,
		"currency": "JPY", "merchant": map[string]any{"category": "groceries"}, "user": "pu_aiko", "sequence": 1, "source": "statement"})
	if status, answer := f.Deliver(newID(), line); status != http.StatusOK {
		t.Fatalf("statement.line: %d %s", status, answer)
	}
	revoked := message("link.revoked", map[string]any{"user": "pu_aiko"})
	if status, answer := f.Deliver(newID(), revoked); status != http.StatusOK {
		t.Fatalf("link.revoked: %d %s", status, answer)
	}
	if p := f.payment("pay_st"); p != nil {
		t.Errorf("a statement line earned points: %+v", p)
	}
	if b := f.balances(); len(b) != 0 {
		t.Errorf("balances = %+v, want none", b)
	}
}

func TestBalances(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, p := range []map[string]any{
		payment("pay_1", "pu_aiko", 1000, "restaurants"), // 20
		payment("pay_2", "pu_aiko", 550, "retail"),       // 5
		payment("pay_3", "pu_ben", 4321, "books"),        // 86
		payment("pay_4", "pu_ben", 80, "groceries"),      // 0
	} {
		f.MustDeliver(newID(), message("payment.completed", p))
	}
	f.MustDeliver(newID(), message("payment.refunded", refund("pay_3", "ref_3", "pu_ben", 321))) // −6
	var l points.BalanceList
	f.getJSON("/api/balances", &l)
	want := []points.Balance{
		{User: "pu_aiko", Points: 25, Awarded: 25, Revoked: 0, Payments: 2},
		{User: "pu_ben", Points: 80, Awarded: 86, Revoked: 6, Payments: 2},
	}
	if len(l.Balances) != len(want) {
		t.Fatalf("balances = %+v", l.Balances)
	}
	for i := range want {
		if l.Balances[i] != want[i] {
			t.Errorf("balance %d = %+v, want %+v", i, l.Balances[i], want[i])
		}
	}
	var ben points.PaymentList
	f.getJSON("/api/points?user=pu_ben", &ben)
	if len(ben.Points) != 2 {
		t.Fatalf("pu_ben's payments = %+v", ben.Points)
	}
	var all points.PaymentList
	f.getJSON("/api/points", &all)
	var sum int64
	for _, p := range all.Points {
		sum += p.Points
	}
	if len(all.Points) != 4 || sum != 105 {
		t.Errorf("all payments: %d with %d points, want 4 with 105", len(all.Points), sum)
	}
}

func TestRestartKeepsPointsAndDedup(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	id := newID()
	body := message("payment.completed", payment("pay_k", "pu_aiko", 5000, "groceries"))
	f.MustDeliver(id, body)
	f.Restart()
	if p := f.payment("pay_k"); p == nil || p.Points != 100 {
		t.Fatalf("after restart: %+v", p)
	}
	f.Clock.Advance(time.Hour)
	if answer := f.MustDeliver(id, body); !strings.Contains(answer, "duplicate") {
		t.Errorf("replay after restart answered %q", answer)
	}
	if b := f.balances()["pu_aiko"]; b.Points != 100 {
		t.Errorf("balance after replay = %+v", b)
	}
}

func TestRejectsBadSignature(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	other, err := webhook.NewSecret(nil)
	if err != nil {
		t.Fatal(err)
	}
	body := message("payment.completed", payment("pay_f", "pu_mallory", 1000000, "groceries"))
	if status, _ := f.DeliverSigned(newID(), body, t0, other); status != http.StatusUnauthorized {
		t.Errorf("wrong secret: %d, want 401", status)
	}
	if status, _ := f.DeliverSigned(newID(), body, t0.Add(10*time.Minute), f.Secret); status != http.StatusUnauthorized {
		t.Errorf("signed in the future: %d, want 401", status)
	}
	if p := f.payment("pay_f"); p != nil {
		t.Errorf("forged payment earned %+v", p)
	}
}

func TestConcurrentRetries(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var wg sync.WaitGroup
	for i := range 6 {
		pid := "pay_c" + string(rune('a'+i))
		body := message("payment.completed", payment(pid, "pu_aiko", 1000, "restaurants"))
		rf := message("payment.refunded", refund(pid, "ref_"+pid, "pu_aiko", 500))
		id, rid := newID(), newID()
		for _, m := range []struct {
			id   string
			body []byte
		}{{id, body}, {id, body}, {newID(), body}, {rid, rf}, {rid, rf}} {
			wg.Go(func() {
				if status, answer := f.Deliver(m.id, m.body); status != http.StatusOK {
					t.Errorf("delivery: %d %s", status, answer)
				}
			})
		}
	}
	wg.Wait()
	// Whatever the order, each payment earned 20 and its refund took 10.
	if b := f.balances()["pu_aiko"]; b.Points != 60 || b.Awarded != 120 || b.Revoked != 60 || b.Payments != 6 {
		t.Errorf("balance = %+v", b)
	}
}

func TestHomePage(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if status, page := f.Get("/"); status != http.StatusOK || !strings.Contains(page, "No points yet.") {
		t.Fatalf("empty page: %d\n%s", status, page)
	}
	f.MustDeliver(newID(), message("payment.completed", payment("pay_h", "pu_aiko", 12800, "restaurants")))
	f.MustDeliver(newID(), message("payment.refunded", refund("pay_h", "ref_h", "pu_aiko", 800)))
	status, page := f.Get("/")
	if status != http.StatusOK {
		t.Fatalf("GET /: %d", status)
	}
	for _, want := range []string{"pu_aiko", "240 pt", "256 pt", "−16 pt", "¥12,800", "¥800", "restaurants", "×2", "1 payment",
		`name="viewport"`, "double at groceries"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if _, page := f.Get("/?lang=ja"); !strings.Contains(page, "ポイント") || !strings.Contains(page, "240 pt") {
		t.Errorf("Japanese page:\n%s", page)
	}
}

func TestNewChecksConfig(t *testing.T) {
	t.Parallel()
	if _, err := points.New(points.Config{DataDir: t.TempDir()}); err == nil {
		t.Error("New without a secret succeeded")
	}
	if _, err := points.New(points.Config{Secrets: []string{"whsec_x"}}); err == nil {
		t.Error("New without a data directory succeeded")
	}
}

// Points and the message id commit together: a failed award leaves no
// "done" id behind, so the retry awards.
func TestFailedAwardIsRetried(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	db, err := sql.Open("sqlite", "file:"+filepath.Join(f.Dir, points.DBFile)+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TRIGGER fail_award AFTER INSERT ON moves
		BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`); err != nil {
		t.Fatal(err)
	}
	id := newID()
	body := message("payment.completed", payment("pay_fail", "pu_aiko", 1000, "books"))
	if status, _ := f.Deliver(id, body); status != http.StatusInternalServerError {
		t.Fatalf("failing award answered %d, want 500", status)
	}
	if p := f.payment("pay_fail"); p != nil {
		t.Fatalf("failed award left %+v", p)
	}
	if _, err := db.Exec(`DROP TRIGGER fail_award`); err != nil {
		t.Fatal(err)
	}
	if answer := f.MustDeliver(id, body); strings.Contains(answer, "duplicate") {
		t.Fatalf("retry answered %q", answer)
	}
	if p := f.payment("pay_fail"); p == nil || p.Points != 20 {
		t.Fatalf("after the retry: %+v", p)
	}
}

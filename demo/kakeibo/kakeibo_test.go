package kakeibo_test

import (
	"database/sql"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/renkei/renkei/demo/internal/apptest"
	"github.com/renkei/renkei/demo/kakeibo"
	"github.com/renkei/renkei/webhook"

	_ "modernc.org/sqlite"
)

// The life of one payment: the real-time message with the memo, Renkei's
// retry of it, the statement line that confirms it, a second statement
// line, and a refund.
func TestRealtimeThenStatementThenRefund(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	paid := t0.Add(-250 * time.Millisecond)
	completed := message("payment.completed", payment("pay_lunch", 1280, paid, "Cafe Hikari", "restaurants", "team lunch", "food"))

	id := newID()
	f.MustDeliver(id, completed)
	got := f.entries("pay_lunch")
	if len(got) != 1 {
		t.Fatalf("after the real-time message: %d entries, want 1: %+v", len(got), got)
	}
	e := got[0]
	if e.Memo != "team lunch" || e.Category != "food" || e.Source != kakeibo.SourceRealtime || *e.Amount != 1280 ||
		e.Currency != "JPY" || e.Merchant != "Cafe Hikari" || e.MerchantCategory != "restaurants" || e.User != "pu_aiko" ||
		e.ConfirmedByStatement || e.StatementID != "" || e.ConfirmedAt != nil {
		t.Errorf("real-time entry = %+v", e)
	}
	if !e.ReceivedAt.Equal(t0) || !e.CompletedAt.Equal(paid) || !e.BookedAt.Equal(paid) {
		t.Errorf("times: received %v completed %v booked %v, want %v, %v, %v", e.ReceivedAt, e.CompletedAt, e.BookedAt, t0, paid, paid)
	}

	// Renkei retries (say our 200 was lost): the same id, signed afresh.
	f.Clock.Advance(5 * time.Second)
	if answer := f.MustDeliver(id, completed); !strings.Contains(answer, "duplicate") {
		t.Errorf("retry answered %q, want a duplicate", answer)
	}
	// A different message for the same payment books nothing either.
	f.MustDeliver(newID(), completed)
	if got := f.entries("pay_lunch"); len(got) != 1 {
		t.Fatalf("after retries: %d entries, want 1", len(got))
	}

	// Two days later the statement feed states it.
	f.Clock.Advance(48 * time.Hour)
	stated := f.Clock.Now()
	line := message("statement.line", statementLine("pay_lunch", 1280, paid, "Cafe Hikari", "restaurants"))
	lineID := newID()
	f.MustDeliver(lineID, line)
	got = f.entries("pay_lunch")
	if len(got) != 1 {
		t.Fatalf("after the statement line: %d entries, want 1: %+v", len(got), got)
	}
	e = got[0]
	if !e.ConfirmedByStatement || e.StatementID != "stm_pay_lunch" || e.ConfirmedAt == nil || !e.ConfirmedAt.Equal(stated) ||
		e.Memo != "team lunch" || e.Category != "food" || e.Source != kakeibo.SourceRealtime || !e.ReceivedAt.Equal(t0) {
		t.Errorf("confirmed entry = %+v", e)
	}

	// The same line again, as a retry and as a second message: nothing new.
	f.Clock.Advance(time.Minute)
	f.MustDeliver(lineID, line)
	f.MustDeliver(newID(), line)
	got = f.entries("pay_lunch")
	if len(got) != 1 || !got[0].ConfirmedAt.Equal(stated) {
		t.Fatalf("after a second statement line: %+v", got)
	}

	// A partial refund books a reversal in the payment's category.
	refunded := f.Clock.Now()
	rf := message("payment.refunded", refund("pay_lunch", "ref_1", 280, refunded))
	rfID := newID()
	f.MustDeliver(rfID, rf)
	f.MustDeliver(rfID, rf)
	f.MustDeliver(newID(), rf)
	got = f.entries("pay_lunch")
	if len(got) != 2 {
		t.Fatalf("after the refund: %d entries, want 2: %+v", len(got), got)
	}
	r := got[1]
	if r.RefundID != "ref_1" || r.PaymentID != "pay_lunch" || *r.Amount != -280 || r.Category != "food" ||
		r.Source != kakeibo.SourceRealtime || r.ConfirmedByStatement || !r.BookedAt.Equal(refunded) {
		t.Errorf("reversal = %+v", r)
	}
	if got[0].RefundID != "" || got[0].Memo != "team lunch" {
		t.Errorf("payment entry changed by the refund: %+v", got[0])
	}
}

// A payment the user never sent in real time is booked from the
// statement, without a memo; a real-time message that arrives after its
// statement line adds the memo to that entry.
func TestStatementOnly(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	paid := t0.Add(-time.Hour)
	line := message("statement.line", statementLine("pay_train", 220, paid, "JR East", "transit"))
	f.MustDeliver(newID(), line)
	got := f.entries("pay_train")
	if len(got) != 1 {
		t.Fatalf("%d entries, want 1", len(got))
	}
	e := got[0]
	if e.Source != kakeibo.SourceStatement || e.Memo != "" || e.Category != "" || *e.Amount != 220 ||
		e.StatementID != "stm_pay_train" || e.ConfirmedByStatement || e.StatementAt == nil || !e.BookedAt.Equal(paid) {
		t.Errorf("statement entry = %+v", e)
	}
	f.Clock.Advance(time.Minute)
	f.MustDeliver(newID(), line)
	if got := f.entries("pay_train"); len(got) != 1 || !got[0].ReceivedAt.Equal(t0) {
		t.Fatalf("after a second identical line: %+v", got)
	}

	// The real-time message, held up by retries, comes last.
	late := f.Clock.Now()
	f.MustDeliver(newID(), message("payment.completed", payment("pay_train", 220, paid, "JR East", "transit", "to the office", "transport")))
	got = f.entries("pay_train")
	if len(got) != 1 {
		t.Fatalf("after the late real-time message: %d entries, want 1", len(got))
	}
	e = got[0]
	if e.Source != kakeibo.SourceStatement || e.Memo != "to the office" || e.Category != "transport" ||
		!e.ConfirmedByStatement || !e.RealtimeAt.Equal(late) || !e.ConfirmedAt.Equal(late) {
		t.Errorf("entry after the late real-time message = %+v", e)
	}
}

// A refund that overtakes its payment is booked, and takes the payment's
// category once the payment arrives.
func TestRefundBeforePayment(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.MustDeliver(newID(), message("payment.refunded", refund("pay_book", "ref_b", 1500, t0)))
	f.MustDeliver(newID(), message("payment.completed", payment("pay_book", 1500, t0.Add(-time.Minute), "Kinokuniya", "books", "novel", "hobby")))
	got := f.entries("pay_book")
	if len(got) != 2 || got[0].RefundID != "" || got[1].RefundID != "ref_b" || got[1].Category != "hobby" || *got[1].Amount != -1500 {
		t.Fatalf("entries = %+v", got)
	}
	tot := f.month("2026-11").Totals
	if len(tot) != 1 || tot[0].Category != "hobby" || tot[0].Amount != 0 || tot[0].Count != 2 {
		t.Errorf("totals = %+v, want hobby nets to 0", tot)
	}
}

func TestMonthTotals(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	nov := time.Date(2026, 11, 10, 3, 0, 0, 0, time.UTC)
	for _, p := range []map[string]any{
		payment("pay_a", 1000, nov, "Cafe Hikari", "restaurants", "lunch", "food"),
		payment("pay_b", 2500, nov.Add(time.Hour), "Super Maru", "groceries", "", "food"),
		payment("pay_c", 800, nov.Add(2*time.Hour), "Daiso", "variety_stores", "sponges", "daily"),
		// 2026-11-30 23:30 in Japan is still November there.
		payment("pay_d", 300, time.Date(2026, 11, 30, 14, 30, 0, 0, time.UTC), "Lawson", "groceries", "late snack", "food"),
		// 2026-12-01 00:30 in Japan (still November 30 in UTC) is December.
		payment("pay_e", 5000, time.Date(2026, 11, 30, 15, 30, 0, 0, time.UTC), "Yodobashi", "electronics", "cable", "hobby"),
	} {
		f.MustDeliver(newID(), message("payment.completed", p))
	}
	f.MustDeliver(newID(), message("statement.line", statementLine("pay_f", 450, nov, "Matsuya", "restaurants")))
	f.MustDeliver(newID(), message("payment.refunded", refund("pay_a", "ref_a", 400, nov.Add(3*time.Hour))))
	other := payment("pay_g", 700, nov, "Cafe Hikari", "restaurants", "coffee", "food")
	other["user"] = "pu_ben"
	f.MustDeliver(newID(), message("payment.completed", other))

	l := f.month("2026-11")
	if len(l.Entries) != 7 {
		t.Fatalf("November has %d entries, want 7: %+v", len(l.Entries), l.Entries)
	}
	want := []kakeibo.Total{
		{Category: "food", Currency: "JPY", Amount: 1000 + 2500 + 300 - 400 + 700, Count: 5},
		{Category: "daily", Currency: "JPY", Amount: 800, Count: 1},
		{Category: "", Currency: "JPY", Amount: 450, Count: 1},
	}
	if len(l.Totals) != len(want) {
		t.Fatalf("totals = %+v, want %+v", l.Totals, want)
	}
	for i := range want {
		if l.Totals[i] != want[i] {
			t.Errorf("total %d = %+v, want %+v", i, l.Totals[i], want[i])
		}
	}
	for i := 1; i < len(l.Entries); i++ {
		if l.Entries[i].BookedAt.After(l.Entries[i-1].BookedAt) {
			t.Errorf("entries not newest first at %d", i)
		}
	}
	if dec := f.month("2026-12"); len(dec.Entries) != 1 || dec.Entries[0].PaymentID != "pay_e" {
		t.Errorf("December = %+v", dec.Entries)
	}
	ben := f.list(map[string][]string{"month": {"2026-11"}, "user": {"pu_ben"}})
	if len(ben.Entries) != 1 || ben.Totals[0].Amount != 700 || ben.User != "pu_ben" {
		t.Errorf("pu_ben's November = %+v", ben)
	}
	// Without ?month= the month is the clock's (November 25th).
	if def := f.list(nil); def.Month != "2026-11" || len(def.Entries) != 7 {
		t.Errorf("default month = %s with %d entries", def.Month, len(def.Entries))
	}
	if status, _ := f.Get("/api/entries?month=November"); status != http.StatusBadRequest {
		t.Errorf("bad month: %d, want 400", status)
	}
}

// Everything booked, and every message id processed, survives a restart.
func TestRestartKeepsBookAndDedup(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	completed := message("payment.completed", payment("pay_r", 3000, t0, "Super Maru", "groceries", "weekly shop", "food"))
	id := newID()
	f.MustDeliver(id, completed)
	lineID := newID()
	line := message("statement.line", statementLine("pay_r", 3000, t0, "Super Maru", "groceries"))
	f.MustDeliver(lineID, line)

	f.Restart()
	got := f.entries("pay_r")
	if len(got) != 1 || got[0].Memo != "weekly shop" || !got[0].ConfirmedByStatement {
		t.Fatalf("after restart: %+v", got)
	}
	// A replay of old messages (their ids are remembered) books nothing.
	f.Clock.Advance(24 * time.Hour)
	for _, m := range []struct {
		id   string
		body []byte
	}{{id, completed}, {lineID, line}} {
		if answer := f.MustDeliver(m.id, m.body); !strings.Contains(answer, "duplicate") {
			t.Errorf("replay of %s answered %q, want a duplicate", m.id, answer)
		}
	}
	if got := f.entries("pay_r"); len(got) != 1 {
		t.Fatalf("after replay: %d entries", len(got))
	}
	// New messages still book after the restart.
	f.MustDeliver(newID(), message("payment.refunded", refund("pay_r", "ref_r", 3000, f.Clock.Now())))
	if got := f.entries("pay_r"); len(got) != 2 {
		t.Fatalf("refund after restart: %d entries, want 2", len(got))
	}
}

// The database is durable as promised, and the message ids live next to
// the entries.
func TestDatabase(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	id := newID()
	f.MustDeliver(id, message("payment.completed", payment("pay_db", 100, t0, "Lawson", "groceries", "", "")))
	db, err := sql.Open("sqlite", "file:"+filepath.Join(f.Dir, kakeibo.DBFile)+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var mode, state string
	if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	if err := db.QueryRow(`SELECT state FROM renkei_webhook_messages WHERE id = ?`, id).Scan(&state); err != nil || state != "done" {
		t.Errorf("dedup state of %s = %q, %v; want done", id, state, err)
	}
}

// Only Renkei's signature, fresh, books anything.
func TestRejectsForgeriesAndReplays(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	body := message("payment.completed", payment("pay_forged", 99999, t0, "Evil", "retail", "free money", "other"))
	other, err := webhook.NewSecret(nil)
	if err != nil {
		t.Fatal(err)
	}
	if status, answer := f.DeliverSigned(newID(), body, t0, other); status != http.StatusUnauthorized {
		t.Errorf("wrong secret: %d %s, want 401", status, answer)
	}
	if status, answer := f.DeliverSigned(newID(), body, t0.Add(-time.Hour), f.Secret); status != http.StatusUnauthorized {
		t.Errorf("signed an hour ago: %d %s, want 401", status, answer)
	}
	// A body changed after signing.
	h, err := webhook.Headers("msg_tampered", t0, body, f.Secret)
	if err != nil {
		t.Fatal(err)
	}
	tampered := []byte(strings.Replace(string(body), "99999", "1", 1))
	req, _ := http.NewRequest(http.MethodPost, f.Srv.URL()+kakeibo.WebhookPath, strings.NewReader(string(tampered)))
	req.Header = h
	resp, err := f.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("tampered body: %d, want 401", resp.StatusCode)
	}
	if status, _ := f.Get(kakeibo.WebhookPath); status != http.StatusMethodNotAllowed {
		t.Errorf("GET of the webhook: %d, want 405", status)
	}
	if got := f.entries("pay_forged"); len(got) != 0 {
		t.Fatalf("forged messages booked %+v", got)
	}
	if l := f.month("2026-11"); len(l.Entries) != 0 {
		t.Fatalf("November has %d entries, want none", len(l.Entries))
	}
}

// Renkei may deliver a message again while the first attempt is still
// running, and the statement line may race the real-time message: each
// payment is still one entry.
func TestConcurrentDeliveries(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	const payments = 8
	var wg sync.WaitGroup
	errs := make(chan string, payments*4)
	for i := range payments {
		pid := "pay_c" + string(rune('a'+i))
		completed := message("payment.completed", payment(pid, 500, t0, "Lawson", "groceries", "memo "+pid, "food"))
		line := message("statement.line", statementLine(pid, 500, t0, "Lawson", "groceries"))
		id := newID()
		for _, m := range []struct {
			id   string
			body []byte
		}{{id, completed}, {id, completed}, {newID(), line}, {newID(), line}} {
			wg.Go(func() {
				if status, answer := f.Deliver(m.id, m.body); status != http.StatusOK {
					errs <- answer
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("a delivery failed: %s", e)
	}
	l := f.month("2026-11")
	if len(l.Entries) != payments {
		t.Fatalf("%d entries for %d payments", len(l.Entries), payments)
	}
	for _, e := range l.Entries {
		// Whichever came first, the memo is kept and both were seen.
		if e.Memo != "memo "+e.PaymentID || !e.ConfirmedByStatement {
			t.Errorf("entry = %+v", e)
		}
	}
}

func TestMonthPage(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.MustDeliver(newID(), message("payment.completed",
		payment("pay_p", 12800, t0.Add(-127*time.Millisecond), "Cafe Hikari", "restaurants", "team lunch <3", "food")))
	f.Clock.Advance(time.Hour)
	f.MustDeliver(newID(), message("statement.line", statementLine("pay_p", 12800, t0, "Cafe Hikari", "restaurants")))
	f.MustDeliver(newID(), message("statement.line", statementLine("pay_s", 640, t0, "Matsuya", "restaurants")))
	f.MustDeliver(newID(), message("payment.refunded", refund("pay_p", "ref_p", 800, f.Clock.Now())))

	status, page := f.Get("/?month=2026-11")
	if status != http.StatusOK {
		t.Fatalf("GET /: %d", status)
	}
	for _, want := range []string{
		"team lunch &lt;3", "Cafe Hikari", "¥12,800", "−¥800", "¥12,640", "food",
		"real time at 12:00:00.000 (0.127 s after payment)", "confirmed by statement at 11/25 13:00:00",
		"from statement at 11/25 13:00:00", "(no memo)", "uncategorized", "November 2026",
		`name="viewport"`, "pu_aiko",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	status, page = f.Get("/?month=2026-11", "Accept-Language", "ja-JP,ja;q=0.9,en;q=0.8")
	if status != http.StatusOK || !strings.Contains(page, "家計簿") || !strings.Contains(page, "2026年11月") ||
		!strings.Contains(page, "明細で照合済み") || !strings.Contains(page, "team lunch &lt;3") {
		t.Errorf("Japanese page: %d\n%s", status, page)
	}
	// The default month is the clock's; another user's filter hides her entries.
	if _, page := f.Get("/"); !strings.Contains(page, "team lunch") {
		t.Error("the default month does not show November's entry")
	}
	if _, page := f.Get("/?month=2026-11&user=pu_nobody"); strings.Contains(page, "team lunch") {
		t.Error("the user filter shows another user's entry")
	}
	if status, _ := f.Get("/?month=13"); status != http.StatusBadRequest {
		t.Errorf("bad month: %d, want 400", status)
	}
}

// TestMonthPageZone: the pages follow the zone Renkei gives them, in every
// language, and the month is cut in that zone. 2026-11-30 20:00 UTC is
// already December 1st in Japan but still November in UTC.
func TestMonthPageZone(t *testing.T) {
	t.Parallel()
	f := &fixture{apptest.NewInZone(t, kakeibo.New, time.UTC)}
	f.Clock.Advance(5*24*time.Hour + 17*time.Hour) // 2026-11-30 20:00 UTC
	f.MustDeliver(newID(), message("payment.completed",
		payment("pay_z", 500, f.Clock.Now(), "Cafe Hikari", "restaurants", "late tea", "food")))
	for _, lang := range []string{"en", "ja"} {
		_, page := f.Get("/?month=2026-11", "Accept-Language", lang)
		if !strings.Contains(page, "late tea") || !strings.Contains(page, "11/30 20:00") {
			t.Errorf("%s: November in UTC lacks the 20:00 entry:\n%s", lang, page)
		}
		if _, page := f.Get("/?month=2026-12", "Accept-Language", lang); strings.Contains(page, "late tea") {
			t.Errorf("%s: December in UTC shows a November entry", lang)
		}
	}
	// The default zone is Japan's: the same moment is December there.
	g := newFixture(t)
	g.Clock.Advance(5*24*time.Hour + 17*time.Hour)
	g.MustDeliver(newID(), message("payment.completed",
		payment("pay_z", 500, g.Clock.Now(), "Cafe Hikari", "restaurants", "late tea", "food")))
	if _, page := g.Get("/?month=2026-12"); !strings.Contains(page, "late tea") || !strings.Contains(page, "12/01 05:00") {
		t.Errorf("December in Japan lacks the 05:00 entry:\n%s", page)
	}
}

func TestNewChecksConfig(t *testing.T) {
	t.Parallel()
	if _, err := kakeibo.New(kakeibo.Config{DataDir: t.TempDir()}); err == nil {
		t.Error("New without a secret succeeded")
	}
	if _, err := kakeibo.New(kakeibo.Config{Secrets: []string{"whsec_x"}}); err == nil {
		t.Error("New without a data directory succeeded")
	}
	// Close without Open only closes the database, and twice is harmless.
	s, err := kakeibo.New(kakeibo.Config{DataDir: t.TempDir(), Secrets: []string{"whsec_x"}})
	if err != nil {
		t.Fatal(err)
	}
	if s.URL() != "" {
		t.Errorf("URL before Open = %q", s.URL())
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Open(); err == nil {
		t.Error("Open after Close succeeded")
	}
}

// The booking and the message id commit together: when the booking fails
// (here a trigger plays a full disk), the id is not marked done either, so
// Renkei's retry books the payment instead of being told "duplicate".
func TestFailedBookingIsRetried(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	db, err := sql.Open("sqlite", "file:"+filepath.Join(f.Dir, kakeibo.DBFile)+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TRIGGER fail_booking AFTER INSERT ON entries
		BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`); err != nil {
		t.Fatal(err)
	}
	id := newID()
	body := message("payment.completed", payment("pay_fail", 700, t0, "Lawson", "groceries", "onigiri", "food"))
	if status, answer := f.Deliver(id, body); status != http.StatusInternalServerError {
		t.Fatalf("failing booking answered %d %s, want 500 so Renkei retries", status, answer)
	}
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM renkei_webhook_messages WHERE id = ?`, id).Scan(&n); err != nil || n != 0 {
		t.Fatalf("the failed message's id is recorded (%d rows, %v)", n, err)
	}
	if got := f.entries("pay_fail"); len(got) != 0 {
		t.Fatalf("failed booking left %+v", got)
	}
	if _, err := db.Exec(`DROP TRIGGER fail_booking`); err != nil {
		t.Fatal(err)
	}
	f.Clock.Advance(5 * time.Second)
	if answer := f.MustDeliver(id, body); strings.Contains(answer, "duplicate") {
		t.Fatalf("retry answered %q", answer)
	}
	if got := f.entries("pay_fail"); len(got) != 1 || got[0].Memo != "onigiri" {
		t.Fatalf("after the retry: %+v", got)
	}
}

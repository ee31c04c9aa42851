package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// runDemo is `renkei demo`: the README's tour, scripted, in the terminal.
// It starts the whole product in-process on a fresh data folder, walks
// each step through the same API an app would use, checks that the step
// did what it says (in Renkei and in the demo partners), and fails on the
// first step that did not.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("renkei demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dsn := fs.String("db", envOr("RENKEI_DB", ""), "database (empty: SQLite in a temporary folder; postgres://… must be an empty database or schema)")
	dir := fs.String("data", "", "data folder (default: a temporary one, removed afterwards)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		tmp, err := os.MkdirTemp("", "renkei-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		*dir = tmp
	}
	m := NewMain(io.Discard, stderr)
	if err := m.ParseFlags([]string{"--demo", "--data", *dir, "--db", *dsn, "--addr", "127.0.0.1:0", "--log-level", "warn",
		"--kakeibo-addr", "127.0.0.1:0", "--points-addr", "127.0.0.1:0", "--statement-interval", "24h"}); err != nil {
		return err
	}
	if err := m.Run(ctx); err != nil {
		m.Close()
		return err
	}
	defer m.Close()
	t := &tour{m: m, out: stdout, api: m.Server.URL(), hc: &http.Client{Timeout: 10 * time.Second}}
	defer t.hc.CloseIdleConnections()
	if m.demo == nil || len(m.PartnerURLs) != 2 {
		return errors.New("demo: the data folder already holds other data; run with a fresh --data and --db")
	}
	for _, p := range m.PartnerURLs {
		t.partner = append(t.partner, p.URL)
	}
	return t.run(ctx)
}

type tour struct {
	m       *Main
	out     io.Writer
	api     string
	partner []string // Kakeibo, Points
	hc      *http.Client
	step    int
}

func (t *tour) say(format string, args ...any) {
	t.step++
	fmt.Fprintf(t.out, "%d. %s\n", t.step, fmt.Sprintf(format, args...))
}

func (t *tour) ok(format string, args ...any) {
	fmt.Fprintf(t.out, "   ✓ %s\n", fmt.Sprintf(format, args...))
}

func (t *tour) run(ctx context.Context) error {
	d := t.m.demo
	aiko, chika := d.Users[0], d.Users[2]
	cafe, mart := d.Terminals[0], d.Terminals[1]
	kakeibo := d.Services[0]
	fmt.Fprintf(t.out, "Renkei demo: payment server %s, Kakeibo %s, Points %s\n\n", t.api, t.partner[0], t.partner[1])

	t.say("%s shows a pay code; %s charges ¥1,280.", aiko.Name, cafe.Merchant)
	p1, err := t.pay(ctx, aiko.Token, cafe.APIKey, 1280)
	if err != nil {
		return err
	}
	t.ok("payment %s completed", p1)

	t.say("The payment-completion screen proposes related apps, each with its reason.")
	var view struct {
		Proposals []struct {
			ServiceID string `json:"service_id"`
			Service   struct{ Name string }
			Reason    struct{ Text string }
		}
	}
	if err := t.call(ctx, "GET", "/v1/payments/"+p1+"/completion?lang=en", aiko.Token, nil, &view); err != nil {
		return err
	}
	found := false
	for _, pr := range view.Proposals {
		t.ok("%s: %s", pr.Service.Name, pr.Reason.Text)
		found = found || pr.ServiceID == kakeibo.ID
	}
	if !found {
		return errors.New("Kakeibo was not proposed")
	}

	t.say("%s types the memo \"team lunch\", picks \"food\" and taps \"Record in Kakeibo\".", aiko.Name)
	tapped := time.Now()
	var sel struct{ Outcome string }
	if err := t.call(ctx, "POST", "/v1/payments/"+p1+"/selections", aiko.Token,
		map[string]any{"service_id": kakeibo.ID, "memo": "team lunch", "category": "food"}, &sel); err != nil {
		return err
	}
	t.ok("the tap is the consent; the message is %s", sel.Outcome)

	t.say("Kakeibo books it in real time, with the memo.")
	e1, err := t.waitEntries(ctx, p1, func(es []kakeiboEntry) bool { return len(es) == 1 })
	if err != nil {
		return err
	}
	if e1[0].Memo != "team lunch" || e1[0].Category != "food" || e1[0].Source != "realtime" {
		return fmt.Errorf("Kakeibo booked %+v", e1[0])
	}
	t.ok("booked %s after the tap: %s, memo %q, category %q", time.Since(tapped).Round(time.Millisecond), yen(*e1[0].Amount), e1[0].Memo, e1[0].Category)

	t.say("%s pays ¥860 at %s and does not tap anything.", aiko.Name, mart.Merchant)
	p2, err := t.pay(ctx, aiko.Token, mart.APIKey, 860)
	if err != nil {
		return err
	}
	time.Sleep(300 * time.Millisecond)
	if es, err := t.entries(ctx, p2); err != nil {
		return err
	} else if len(es) != 0 {
		return fmt.Errorf("Kakeibo got payment %s without a tap: %+v", p2, es)
	}
	t.ok("payment %s: nothing sent to Kakeibo", p2)

	t.say("The payee's statement feed runs (every 2 minutes in the demo; now, for the tour).")
	run, err := t.m.Store.RunStatements(ctx)
	if err != nil {
		return err
	}
	t.ok("%d statement lines sent", run.Messages)
	e2, err := t.waitEntries(ctx, p2, func(es []kakeiboEntry) bool { return len(es) == 1 })
	if err != nil {
		return err
	}
	if e2[0].Source != "statement" || e2[0].Memo != "" {
		return fmt.Errorf("the untapped payment was booked as %+v", e2[0])
	}
	t.ok("Kakeibo booked %s from the statement, without a memo", p2)
	e1, err = t.waitEntries(ctx, p1, func(es []kakeiboEntry) bool { return len(es) == 1 && es[0].ConfirmedByStatement })
	if err != nil {
		return err
	}
	if e1[0].Memo != "team lunch" {
		return fmt.Errorf("the statement lost the memo: %+v", e1[0])
	}
	t.ok("%s: confirmed by the statement, memo kept, booked once", p1)

	t.say("%s refunds ¥280 of the first payment.", cafe.Merchant)
	if err := t.call(ctx, "POST", "/v1/refunds", cafe.APIKey, map[string]any{"payment_id": p1, "amount": 280}, nil); err != nil {
		return err
	}
	e1, err = t.waitEntries(ctx, p1, func(es []kakeiboEntry) bool { return len(es) == 2 })
	if err != nil {
		return err
	}
	if *e1[1].Amount != -280 {
		return fmt.Errorf("the reversal is %+v", e1[1])
	}
	t.ok("Kakeibo booked a reversal of %s", yen(*e1[1].Amount))

	t.say("%s, whose Points link sends every payment automatically, pays ¥2,000 at %s.", chika.Name, mart.Merchant)
	p3, err := t.pay(ctx, chika.Token, mart.APIKey, 2000)
	if err != nil {
		return err
	}
	pts, err := t.waitPoints(ctx, p3, func(p pointsRow) bool { return p.Points == 40 })
	if err != nil {
		return err
	}
	t.ok("Points awarded %d points (1 per ¥100, double for groceries) without a tap", pts.Points)

	t.say("%s refunds ¥1,000 of it.", mart.Merchant)
	if err := t.call(ctx, "POST", "/v1/refunds", mart.APIKey, map[string]any{"payment_id": p3, "amount": 1000}, nil); err != nil {
		return err
	}
	pts, err = t.waitPoints(ctx, p3, func(p pointsRow) bool { return p.Points == 20 })
	if err != nil {
		return err
	}
	t.ok("Points revoked %d; %d left for that payment", pts.Revoked, pts.Points)

	fmt.Fprintf(t.out, "\nAll %d steps did what they say.\n", t.step)
	return nil
}

// pay is one consumer-presented payment through the API.
func (t *tour) pay(ctx context.Context, userToken, terminalKey string, amount int64) (string, error) {
	var pc struct{ Code string }
	if err := t.call(ctx, "POST", "/v1/pay_codes", userToken, map[string]any{}, &pc); err != nil {
		return "", err
	}
	var p struct{ ID, Status string }
	if err := t.call(ctx, "POST", "/v1/payments/charge", terminalKey, map[string]any{"code": pc.Code, "amount": amount}, &p); err != nil {
		return "", err
	}
	if p.Status != "completed" {
		return "", fmt.Errorf("payment %s is %s", p.ID, p.Status)
	}
	return p.ID, nil
}

func (t *tour) call(ctx context.Context, method, path, token string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, t.api+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return t.do(req, out)
}

func (t *tour) do(req *http.Request, out any) error {
	res, err := t.hc.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if res.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %d %s", req.Method, req.URL.Path, res.StatusCode, strings.TrimSpace(string(b)))
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

type kakeiboEntry struct {
	Amount               *int64 `json:"amount"`
	Memo                 string `json:"memo"`
	Category             string `json:"category"`
	Source               string `json:"source"`
	RefundID             string `json:"refund_id"`
	ConfirmedByStatement bool   `json:"confirmed_by_statement"`
}

func (t *tour) entries(ctx context.Context, paymentID string) ([]kakeiboEntry, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", t.partner[0]+"/api/entries?payment_id="+paymentID, nil)
	var out struct{ Entries []kakeiboEntry }
	err := t.do(req, &out)
	return out.Entries, err
}

func (t *tour) waitEntries(ctx context.Context, paymentID string, done func([]kakeiboEntry) bool) ([]kakeiboEntry, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		es, err := t.entries(ctx, paymentID)
		if err == nil && done(es) {
			return es, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("Kakeibo's entries for %s did not arrive in time (have %+v, err %v)", paymentID, es, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type pointsRow struct {
	Points  int64 `json:"points"`
	Awarded int64 `json:"awarded"`
	Revoked int64 `json:"revoked"`
}

func (t *tour) waitPoints(ctx context.Context, paymentID string, done func(pointsRow) bool) (pointsRow, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", t.partner[1]+"/api/points?payment_id="+paymentID, nil)
		var out struct{ Points []pointsRow }
		err := t.do(req, &out)
		if err == nil && len(out.Points) == 1 && done(out.Points[0]) {
			return out.Points[0], nil
		}
		if time.Now().After(deadline) {
			return pointsRow{}, fmt.Errorf("Points for %s did not arrive in time (have %+v, err %v)", paymentID, out.Points, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// yen formats whole yen with thousands separators: ¥1,280, −¥280.
func yen(v int64) string {
	sign := ""
	if v < 0 {
		sign, v = "−", -v
	}
	s := fmt.Sprint(v)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return sign + "¥" + s
}

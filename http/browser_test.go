package http_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/renkei/renkei/internal/browsertest"
)

// pagesArtifacts is test-artifacts/ at the repository root (the parent of
// this package's folder), where the screenshots go for people to look at.
func pagesArtifacts(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(filepath.Dir(wd), "test-artifacts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// pagesChrome starts a headless Chromium for one test and returns its
// first tab; it closes before the server stops.
func pagesChrome(t *testing.T) context.Context { return browsertest.Chrome(t) }

// pagesPhoneSize is a 360 × 740 phone at twice the pixels.
var pagesPhoneSize = chromedp.EmulateViewport(360, 740, chromedp.EmulateScale(2), chromedp.EmulateMobile)

// pagesStep runs actions in a tab and fails the test with what was being
// done.
func pagesStep(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// pagesTextOf reads the text of the first element matching sel.
func pagesTextOf(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// pagesFits checks that the page is no wider than the phone, then keeps a
// full-page screenshot of it in dir, if png is given.
func pagesFits(t *testing.T, ctx context.Context, dir, png string) {
	t.Helper()
	w, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
	if err != nil {
		t.Fatal(err)
	}
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	if w > 360 {
		t.Errorf("%s is %d px wide at 360 px: it scrolls sideways", loc, w)
	}
	if png == "" {
		return
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot of %s: %v", loc, err)
	}
	if err := os.WriteFile(filepath.Join(dir, png), shot, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestPagesBrowserPayAtTheTill pays with a pay code on a 360 px phone in
// real Chromium: the payer logs in with the demo button and shows the
// code, the shop terminal (a second tab) charges it, and the phone, by
// its own script, turns to the completion screen.
func TestPagesBrowserPayAtTheTill(t *testing.T) {
	t.Parallel()
	browser := pagesChrome(t)
	f := newPagesFixture(t)
	artifacts := pagesArtifacts(t)
	// One deadline for the whole story: a hung page fails, never blocks.
	phone, cancel := context.WithTimeout(browser, 60*time.Second)
	defer cancel()

	step := func(ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		pagesStep(t, ctx, what, actions...)
	}
	text := func(ctx context.Context, sel string) string {
		t.Helper()
		return pagesTextOf(t, ctx, sel)
	}
	fits := func(ctx context.Context, png string) {
		t.Helper()
		pagesFits(t, ctx, artifacts, png)
	}
	phoneSize := pagesPhoneSize

	// The payer, in Japanese: log in with the demo button.
	step(phone, "log in on the phone",
		phoneSize,
		chromedp.Navigate(f.url+"/app/login?lang=ja"),
		chromedp.WaitVisible(chromedp.CSS(`button[name="demo"]`)),
		chromedp.Click(chromedp.CSS(`button[name="demo"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.balance`)),
	)
	if got := text(phone, ".balance"); got != "¥10,000" {
		t.Fatalf("wallet shows balance %q, want ¥10,000", got)
	}
	if got := text(phone, "h1"); got != "ウォレット" {
		t.Fatalf("wallet heading %q", got)
	}
	fits(phone, "wallet-360.png")

	step(phone, "show the pay code",
		chromedp.Click(chromedp.CSS(`main a[href="/app/pay"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#paycode svg`)),
	)
	attr, err := chromedp.Run(phone, chromedp.AttributeValue(chromedp.ID("paycode"), "data-code"))
	if err != nil || !attr.Exists || len(attr.Value) != 20 {
		t.Fatalf("pay code %+v: %v", attr, err)
	}
	code := attr.Value
	fits(phone, "pay-360.png")

	// The shop terminal, in English, in a second tab of the same browser,
	// with cookies of its own: it is another device.
	tab, cancelTab := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	defer cancelTab()
	shop, cancelShop := context.WithTimeout(tab, 30*time.Second)
	defer cancelShop()
	step(shop, "charge the code at the till",
		phoneSize,
		chromedp.Navigate(f.url+"/shop/login?lang=en"),
		chromedp.WaitVisible(chromedp.CSS(`button[name="demo"]`)),
		chromedp.Click(chromedp.CSS(`button[name="demo"]`)),
		chromedp.WaitVisible(chromedp.ID("code")),
		chromedp.SendKeys(chromedp.ID("amount"), "1280"),
		chromedp.SendKeys(chromedp.ID("code"), code),
		chromedp.Click(chromedp.CSS(`form button[type="submit"].primary`)),
		chromedp.WaitVisible(chromedp.CSS(`.result h1`)),
	)
	if got := text(shop, ".result h1"); got != "Payment complete" {
		t.Fatalf("shop result heading %q", got)
	}
	if got := text(shop, "#amount"); got != "¥1,280" {
		t.Fatalf("shop result amount %q", got)
	}
	fits(shop, "shop-360.png")

	// Back on the phone, the pay page has noticed the payment by itself.
	step(phone, "wait for the completion screen", chromedp.WaitVisible(chromedp.CSS(`#completion h1`)))
	if got := text(phone, "#completion h1"); got != "支払いが完了しました" {
		t.Fatalf("completion heading %q", got)
	}
	if got := text(phone, "#amount"); got != "¥1,280" {
		t.Fatalf("completion amount %q", got)
	}
	if got := text(phone, ".merchant"); got != "カフェ ひかり" {
		t.Fatalf("completion merchant %q", got)
	}
	fits(phone, "completion-360.png")
	if f.balance(f.aiko) != 10_000-1_280 {
		t.Fatalf("balance %d after the payment", f.balance(f.aiko))
	}

	// The same screen in English.
	loc, _ := chromedp.Run(phone, chromedp.Location())
	step(phone, "switch to English",
		chromedp.Navigate(loc+"?lang=en"),
		chromedp.WaitVisible(chromedp.CSS(`#completion h1`)),
	)
	if got := text(phone, "#completion h1"); got != "Payment complete" {
		t.Fatalf("completion heading in English %q", got)
	}
	if got := text(phone, "#amount"); got != "¥1,280" {
		t.Fatalf("completion amount in English %q", got)
	}
	fits(phone, "completion-en-360.png")
}

// TestPagesBrowserCompletionProposal is the proposal card in real
// Chromium on a 360 px phone: after a payment the completion screen
// offers the household account book; the payer opens the reason, types a
// memo, picks a category and taps. The card's script sends the tap and
// shows the outcome without reloading the page, and the queued message
// holds the memo.
func TestPagesBrowserCompletionProposal(t *testing.T) {
	t.Parallel()
	browser := pagesChrome(t)
	f := newPagesFixture(t)
	artifacts := pagesArtifacts(t)
	phone, cancel := context.WithTimeout(browser, 60*time.Second)
	defer cancel()

	pagesStep(t, phone, "log in on the phone",
		pagesPhoneSize,
		chromedp.Navigate(f.url+"/app/login?lang=en"),
		chromedp.WaitVisible(chromedp.CSS(`button[name="demo"]`)),
		chromedp.Click(chromedp.CSS(`button[name="demo"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.balance`)),
	)
	id := f.pay(f.aiko, f.cafe, 1_280)
	card := "#card-" + f.kakeibo.ID
	pagesStep(t, phone, "open the completion screen",
		chromedp.Navigate(f.url+"/app/payments/"+id),
		chromedp.WaitVisible(chromedp.CSS(card+" h3")),
	)
	if got := pagesTextOf(t, phone, card+" h3"); got != "Kakeibo" {
		t.Fatalf("card names %q", got)
	}
	if got := pagesTextOf(t, phone, card+" button.primary"); got != "Record in Kakeibo" {
		t.Fatalf("card button %q", got)
	}
	// The reason is behind "Why this suggestion?", and opens on a tap.
	open := func() bool {
		t.Helper()
		v, err := chromedp.Run(phone, chromedp.Evaluate[bool](`document.querySelector("`+card+` details.why").open`))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if open() {
		t.Fatal("the reason is open before the tap")
	}
	pagesStep(t, phone, "open the reason",
		chromedp.Click(chromedp.CSS(card+" details.why summary")),
		chromedp.WaitVisible(chromedp.CSS(card+" details.why p")),
	)
	if reason := pagesTextOf(t, phone, card+" details.why p"); !open() || !strings.Contains(reason, "¥1,280") || !strings.Contains(reason, "Kakeibo") {
		t.Fatalf("reason %q (open %v)", reason, open())
	}
	pagesStep(t, phone, "type a memo and pick a category",
		chromedp.SendKeys(chromedp.CSS(card+` input[name="memo"]`), "team lunch"),
		chromedp.SetValue(chromedp.CSS(card+` select[name="category"]`), "food"),
	)
	if got := pagesTextOf(t, phone, card+" [data-counter]"); got != "10/20" {
		t.Fatalf("memo counter %q, want 10/20", got)
	}
	pagesFits(t, phone, artifacts, "completion-proposals-360.png")

	// The tap: a marker set on the page before it survives, so the page
	// was not reloaded; the outcome replaces the form and takes focus.
	before, _ := chromedp.Run(phone, chromedp.Location())
	pagesStep(t, phone, "tap the record button",
		chromedp.Evaluate[chromedp.Void](`window.renkeiMarker = "before the tap"; undefined`),
		chromedp.Click(chromedp.CSS(card+" button.primary")),
		chromedp.WaitVisible(chromedp.CSS(card+" [data-card-outcome] .outcome")),
	)
	if got := pagesTextOf(t, phone, card+" .outcome"); got != "Sending to Kakeibo…" {
		t.Fatalf("outcome %q", got)
	}
	state, err := chromedp.Run(phone, chromedp.Evaluate[map[string]any](`({
		marker: window.renkeiMarker || "",
		forms: document.querySelectorAll("`+card+` form").length,
		focused: document.activeElement.classList.contains("outcome"),
		link: !document.querySelector("`+card+` [data-app-link]").hidden
	})`))
	if err != nil {
		t.Fatal(err)
	}
	after, _ := chromedp.Run(phone, chromedp.Location())
	if state["marker"] != "before the tap" || after != before {
		t.Fatalf("the page reloaded: marker %v, location %s → %s", state["marker"], before, after)
	}
	if state["forms"] != float64(0) || state["focused"] != true || state["link"] != true {
		t.Fatalf("after the tap: %v", state)
	}
	ds := f.deliveries(id)
	if len(ds) != 1 {
		t.Fatalf("%d messages after the tap", len(ds))
	}
	if m := pagesMessage(t, ds[0]); m.Data.Input == nil || m.Data.Input.Memo != "team lunch" || m.Data.Input.Category != "food" {
		t.Fatalf("queued message %s", ds[0].Body)
	}
	pagesFits(t, phone, artifacts, "completion-selected-360.png")
}

package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/renkei/renkei/internal/browsertest"
)

// tourPhone is a 360 × 740 phone at one pixel per CSS pixel, which keeps
// the README's screenshots small.
var tourPhone = chromedp.EmulateViewport(360, 740, chromedp.EmulateScale(1), chromedp.EmulateMobile)

// tourKakeiboRow is one entry of Kakeibo's month page, as a person reads it.
type tourKakeiboRow struct {
	Memo   string `json:"memo"`
	NoMemo bool   `json:"noMemo"`
	Amount string `json:"amount"`
	Meta   string `json:"meta"`
	How    string `json:"how"`
	Stated bool   `json:"stated"`
}

const tourKakeiboRows = `Array.from(document.querySelectorAll("ul.entries li")).map(li => ({
	memo: li.querySelector(".memo").textContent.trim(),
	noMemo: li.querySelector(".memo").classList.contains("none"),
	amount: li.querySelector(".amount").textContent.trim(),
	meta: li.querySelector(".meta").textContent.trim(),
	how: li.querySelector(".how").textContent.trim(),
	stated: !!li.querySelector(".tag.ok"),
}))`

// tourHang bounds the whole tour and tourWait one wait for a partner's
// page to show a message: both only stop a hang, they do not measure.
const (
	tourHang = 5 * time.Minute
	tourWait = time.Minute
)

// TestBrowserTour walks the README's five-minute tour in real Chromium,
// by clicking, on the real program (Main, with Kakeibo and Points next to
// it), and keeps a screenshot of every step in docs/screenshots for the
// README: the payer's phone, the shop terminal (another browser context,
// so another device with cookies of its own) and a desk tab for the
// partners' pages and the admin.
func TestBrowserTour(t *testing.T) {
	browsertest.Find(t) // skip before starting anything
	started := time.Now()
	dir := t.TempDir()
	m, _ := startMain(t, dir, "")
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Error(err)
		}
	})
	if len(m.PartnerURLs) != 2 || m.PartnerURLs[0].Name != "Kakeibo" || m.PartnerURLs[1].Name != "Points" {
		t.Fatalf("demo partners %+v", m.PartnerURLs)
	}
	base, kakeiboURL, pointsURL := m.Server.URL(), m.PartnerURLs[0].URL, m.PartnerURLs[1].URL
	kakeibo := m.demo.Services[0]
	// Screenshots go to test-artifacts/; RENKEI_UPDATE_SCREENSHOTS=1 writes
	// them into docs/screenshots for the README instead, so a plain test
	// run leaves the tree clean.
	shots := filepath.Join("..", "..", "test-artifacts")
	if os.Getenv("RENKEI_UPDATE_SCREENSHOTS") == "1" {
		shots = filepath.Join("..", "..", "docs", "screenshots")
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}

	// The browser. Cleanups run last-in first-out: the tabs close, the
	// browser exits, then Main stops.
	browser := browsertest.Chrome(t, chromedp.Flag("lang", "en-US"))
	// One deadline for the whole tour: a hung page fails, never blocks. It
	// guards against a hang, not a slow machine, so it is generous.
	tour, cancelTour := context.WithTimeout(browser, tourHang)
	defer cancelTour()

	// The payer's phone is the browser's first tab; the shop terminal has
	// a browser context of its own; the desk is another tab for Kakeibo,
	// Points and the admin pages.
	phone := tour
	shopTab, cancelShop := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	defer cancelShop()
	shop, cancelShopTour := context.WithTimeout(shopTab, tourHang)
	defer cancelShopTour()
	deskTab, cancelDesk := chromedp.NewContext(browser)
	defer cancelDesk()
	desk, cancelDeskTour := context.WithTimeout(deskTab, tourHang)
	defer cancelDeskTour()

	step, text, eval, fits := browserHelpers(t)
	// shotTo checks the width and keeps a full-page screenshot for the
	// README, cut at the height (in CSS pixels) the script until answers,
	// if one is given: a long list is shown by its first screens.
	shotTo := func(ctx context.Context, name, until string) {
		t.Helper()
		fits(ctx)
		// From the top, after two frames: a page just scrolled to a field
		// can otherwise come out partly unpainted.
		settle := chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0);
			new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))`, chromedp.EvalAwaitPromise)
		if err := chromedp.Do(ctx, settle); err != nil {
			t.Fatalf("before screenshot %s: %v", name, err)
		}
		shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if until != "" {
			h, err := chromedp.Run(ctx, chromedp.Evaluate[float64](until))
			if err != nil {
				t.Fatalf("%s: %v", until, err)
			}
			if shot, err = tourCrop(shot, h/360); err != nil {
				t.Fatalf("crop %s: %v", name, err)
			}
		}
		if len(shot) > 250<<10 {
			t.Errorf("screenshot %s is %d KB, more than the README should carry", name, len(shot)>>10)
		}
		if err := os.WriteFile(filepath.Join(shots, name), shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	shot := func(ctx context.Context, name string) {
		t.Helper()
		shotTo(ctx, name, "")
	}
	// demoLogin taps the demo button "Log in as <name>" on a login page.
	demoLogin := func(ctx context.Context, area, name, then string) {
		t.Helper()
		button := chromedp.Search(`//button[@name="demo" and normalize-space()="Log in as ` + name + `"]`)
		step(ctx, "log in to /"+area+" as "+name,
			chromedp.Navigate(base+"/"+area+"/login?lang=en"),
			chromedp.WaitVisible(button),
		)
		fits(ctx)
		step(ctx, "tap the demo button for "+name,
			chromedp.Click(button),
			chromedp.WaitVisible(chromedp.CSS(then)),
		)
		if who := text(ctx, ".who"); !strings.Contains(who, name) {
			t.Errorf("logged in to /%s as %q, want %s", area, who, name)
		}
	}
	// showPayCode taps Pay in the header and reads the pay code's digits.
	showPayCode := func() string {
		t.Helper()
		step(phone, "show the pay code",
			chromedp.Click(chromedp.CSS(`header nav a[href="/app/pay"]`)),
			chromedp.WaitVisible(chromedp.CSS(`#paycode .qr svg`)),
		)
		attr, err := chromedp.Run(phone, chromedp.AttributeValue(chromedp.ID("paycode"), "data-code"))
		if err != nil || !attr.Exists || len(attr.Value) != 20 || !strings.HasPrefix(attr.Value, "88") {
			t.Fatalf("pay code %+v: %v", attr, err)
		}
		shown := strings.ReplaceAll(text(phone, "#paycode .code"), " ", "")
		if shown != attr.Value {
			t.Fatalf("the page shows the digits %q for the code %s", shown, attr.Value)
		}
		return attr.Value
	}
	// charge types the amount and the code on the shop terminal; the
	// screenshot, if named, is of the filled form before the tap.
	charge := func(amount, code, png string) {
		t.Helper()
		step(shop, "type "+amount+" and the code at the till",
			chromedp.Navigate(base+"/shop"),
			chromedp.WaitVisible(chromedp.ID("code")),
			chromedp.SendKeys(chromedp.ID("amount"), amount),
			chromedp.SendKeys(chromedp.ID("code"), code),
		)
		if png != "" {
			shot(shop, png)
		} else {
			fits(shop)
		}
		step(shop, "charge",
			chromedp.Click(chromedp.CSS(`form button[type="submit"].primary`)),
			chromedp.WaitVisible(chromedp.CSS(`.result h1`)),
		)
		if got := text(shop, ".result h1"); got != "Payment complete" {
			t.Fatalf("the till says %q after charging %s", got, amount)
		}
	}
	// completion waits for the phone's pay page to turn, by its own
	// script, to the completion screen of the payment.
	completion := func(amount, merchant string) string {
		t.Helper()
		step(phone, "wait for the completion screen", chromedp.WaitVisible(chromedp.CSS(`#completion h1`)))
		if got := text(phone, "#completion h1"); got != "Payment complete" {
			t.Fatalf("completion heading %q", got)
		}
		if got := text(phone, "#amount"); got != amount {
			t.Fatalf("completion amount %q, want %s", got, amount)
		}
		if got := text(phone, ".merchant"); got != merchant {
			t.Fatalf("completion merchant %q, want %s", got, merchant)
		}
		fits(phone)
		loc, _ := chromedp.Run(phone, chromedp.Location())
		return loc[strings.LastIndex(loc, "/")+1:]
	}
	// kakeiboUntil reloads Kakeibo's month page until its entries satisfy
	// ok, for a few seconds.
	kakeiboUntil := func(what string, ok func([]tourKakeiboRow) bool) []tourKakeiboRow {
		t.Helper()
		deadline := time.Now().Add(tourWait)
		for {
			step(desk, "open Kakeibo", chromedp.Navigate(kakeiboURL+"/?lang=en"), chromedp.WaitVisible(chromedp.CSS("main")))
			rows, err := chromedp.Run(desk, chromedp.Evaluate[[]tourKakeiboRow](tourKakeiboRows))
			if err != nil {
				t.Fatal(err)
			}
			if ok(rows) {
				return rows
			}
			if time.Now().After(deadline) {
				t.Fatalf("Kakeibo: %s did not show within %s; the page has %+v", what, tourWait, rows)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	// 1. The wallet: Aiko taps her demo login.
	step(phone, "set up the phone", tourPhone)
	step(shop, "set up the till", tourPhone)
	step(desk, "set up the desk", tourPhone)
	demoLogin(phone, "app", "Aiko", ".balance")
	if got := text(phone, ".balance"); got != "¥50,000" {
		t.Fatalf("Aiko's wallet shows %q, want ¥50,000", got)
	}
	if got := text(phone, "h1"); got != "Wallet" {
		t.Fatalf("wallet heading %q", got)
	}
	shot(phone, "tour-1-wallet.png")

	// 2. Pay: a one-time code, as a QR code and 20 digits.
	code := showPayCode()
	shot(phone, "tour-2-pay-code.png")

	// 3. The shop terminal, another device: Cafe Hikari charges ¥1,280.
	demoLogin(shop, "shop", "Cafe Hikari", "#code")
	charge("1280", code, "tour-3-shop-charge.png")
	if got := text(shop, "#amount"); got != "¥1,280" {
		t.Fatalf("the till charged %q", got)
	}
	shot(shop, "tour-3-shop-result.png")

	// 4. The phone turns to the completion screen by itself, with the
	// Kakeibo card and its reason behind "Why this suggestion?".
	first := completion("¥1,280", "Cafe Hikari")
	card := "#card-" + kakeibo.ID
	if got := text(phone, card+" h3"); got != "Kakeibo" {
		t.Fatalf("the card names %q", got)
	}
	if got := text(phone, card+" details.why summary"); got != "Why this suggestion?" {
		t.Fatalf("the card's reason is behind %q", got)
	}
	if got := text(phone, card+" button.primary"); got != "Record in Kakeibo" {
		t.Fatalf("the card's button says %q", got)
	}
	step(phone, "open the reason",
		chromedp.Click(chromedp.CSS(card+" details.why summary")),
		chromedp.WaitVisible(chromedp.CSS(card+" details.why p")),
	)
	if reason := text(phone, card+" details.why p"); !strings.Contains(reason, "¥1,280") || !strings.Contains(reason, "Kakeibo") {
		t.Fatalf("the reason says %q", reason)
	}
	shot(phone, "tour-4-completion.png")

	// 5. A memo, a category, the tap: the card shows the outcome in place.
	step(phone, "type the memo and pick the category",
		chromedp.SendKeys(chromedp.CSS(card+` input[name="memo"]`), "team lunch"),
		chromedp.SetValue(chromedp.CSS(card+` select[name="category"]`), "food"),
	)
	if got := text(phone, card+" [data-counter]"); got != "10/100" {
		t.Errorf("the memo counter says %q", got)
	}
	shot(phone, "tour-5-memo.png")
	step(phone, "tap Record in Kakeibo",
		chromedp.Evaluate[chromedp.Void](`window.tourMarker = "before the tap"; undefined`),
		chromedp.Click(chromedp.CSS(card+" button.primary")),
		chromedp.WaitVisible(chromedp.CSS(card+" [data-card-outcome] .outcome")),
	)
	if got := text(phone, card+" .outcome"); got != "Sending to Kakeibo…" && got != "Recorded in Kakeibo" {
		t.Fatalf("the card says %q after the tap", got)
	}
	if marker := eval(phone, `window.tourMarker || "reloaded"`); marker != "before the tap" {
		t.Fatal("the page reloaded on the tap")
	}
	if n := eval(phone, `String(document.querySelectorAll("`+card+` form").length)`); n != "0" {
		t.Fatalf("the card still has %s forms after the tap", n)
	}
	shot(phone, "tour-5-recorded.png")

	// 6. Kakeibo has the entry, with the memo, in real time.
	rows := kakeiboUntil(`the entry "team lunch"`, func(rows []tourKakeiboRow) bool {
		return len(rows) == 1 && rows[0].Memo == "team lunch"
	})
	if r := rows[0]; r.Amount != "¥1,280" || !strings.Contains(r.Meta, "Cafe Hikari") || !strings.Contains(r.Meta, "food") ||
		!strings.HasPrefix(r.How, "real time at ") || r.Stated {
		t.Fatalf("Kakeibo booked %+v", r)
	}
	shot(desk, "tour-6-kakeibo.png")

	// 7. Pay ¥860 at Midori Mart and tap nothing; the statement feed books
	// it later and confirms the first payment, memo kept.
	step(shop, "log the till out", chromedp.Navigate(base+"/shop/logout"), chromedp.WaitVisible(chromedp.CSS(`button[name="demo"]`)))
	code = showPayCode()
	demoLogin(shop, "shop", "Midori Mart", "#code")
	charge("860", code, "")
	second := completion("¥860", "Midori Mart")
	if second == first {
		t.Fatalf("both payments are %s", second)
	}
	rows = kakeiboUntil("only the tapped payment", func(rows []tourKakeiboRow) bool { return len(rows) == 1 })
	if rows[0].Memo != "team lunch" {
		t.Fatalf("Kakeibo before the statement: %+v", rows)
	}
	run, err := m.Store.RunStatements(tour)
	if err != nil {
		t.Fatal(err)
	}
	if run.Lines < 2 {
		t.Fatalf("the statement feed stated %d lines, want both payments", run.Lines)
	}
	// The ✓ marks a real-time entry the statement confirmed; an entry
	// booked from the statement itself has none.
	rows = kakeiboUntil("the statement", func(rows []tourKakeiboRow) bool {
		return len(rows) == 2 && (rows[0].Stated || rows[1].Stated)
	})
	byAmount := map[string]tourKakeiboRow{}
	for _, r := range rows {
		byAmount[r.Amount] = r
	}
	if r := byAmount["¥860"]; !r.NoMemo || r.Stated || !strings.Contains(r.Meta, "Midori Mart") || !strings.HasPrefix(r.How, "from statement at ") {
		t.Fatalf("the untapped payment is booked as %+v", r)
	}
	if r := byAmount["¥1,280"]; r.Memo != "team lunch" || !r.Stated || !strings.Contains(r.How, "real time at ") || !strings.Contains(r.How, "confirmed by statement at ") {
		t.Fatalf("the tapped payment is now %+v", r)
	}
	shot(desk, "tour-7-statement.png")

	// 8. Chika, whose Points link sends every payment, pays ¥2,000 at
	// Midori Mart; Points awards 40 points (double for groceries).
	step(phone, "log Aiko out", chromedp.Navigate(base+"/app/logout"), chromedp.WaitVisible(chromedp.CSS(`button[name="demo"]`)))
	demoLogin(phone, "app", "Chika", ".balance")
	if got := text(phone, ".balance"); got != "¥200,000" {
		t.Fatalf("Chika's wallet shows %q", got)
	}
	code = showPayCode()
	charge("2000", code, "")
	completion("¥2,000", "Midori Mart")
	deadline := time.Now().Add(tourWait)
	for {
		step(desk, "open Points", chromedp.Navigate(pointsURL+"/?lang=en"), chromedp.WaitVisible(chromedp.CSS("main")))
		got := eval(desk, `Array.from(document.querySelectorAll(".balance")).map(b => b.textContent.trim()).join("|")`)
		if got == "40 pt" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Points shows %q, want 40 pt", got)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := text(desk, ".count"); got != "1 payment" {
		t.Errorf("Points counts %q", got)
	}
	shot(desk, "tour-8-points.png")

	// 9. The admin, with the key from the data folder, sees every message.
	adminKey := strings.TrimSpace(string(mustRead(t, filepath.Join(dir, "admin.key"))))
	step(desk, "open the admin login", chromedp.Navigate(base+"/admin/login?lang=en"), chromedp.WaitVisible(chromedp.ID("token")))
	fits(desk)
	step(desk, "log in as the admin",
		chromedp.SendKeys(chromedp.ID("token"), adminKey),
		chromedp.Click(chromedp.CSS(`form button[type="submit"].primary`)),
		chromedp.WaitVisible(chromedp.CSS(`header nav a[href="/admin/deliveries"]`)),
	)
	fits(desk)
	type delivery struct {
		Service string `json:"service"`
		Status  string `json:"status"`
		Source  string `json:"source"`
	}
	var ds []delivery
	deadline = time.Now().Add(tourWait)
	for {
		step(desk, "open the deliveries",
			chromedp.Click(chromedp.CSS(`header nav a[href="/admin/deliveries"]`)),
			chromedp.WaitVisible(chromedp.CSS(`header nav a[href="/admin/deliveries"][aria-current="page"]`)),
		)
		ds, err = chromedp.Run(desk, chromedp.Evaluate[[]delivery](`Array.from(document.querySelectorAll("article.delivery")).map(a => ({
			service: a.querySelector("h2 .what").textContent.trim(),
			status: a.querySelector("h2 .badge").textContent.trim(),
			source: a.querySelector(".facts div:nth-child(4) dd").textContent.trim(),
		}))`))
		if err != nil {
			t.Fatal(err)
		}
		delivered := len(ds) == 4
		for _, d := range ds {
			delivered = delivered && d.Status == "Delivered"
		}
		if delivered {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the admin's deliveries: %+v, want 4 delivered", ds)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Newest first: Chika's automatic link, the two statement lines, the tap.
	want := []delivery{
		{"Points", "Delivered", "payment.completed · automatic link"},
		{"Kakeibo", "Delivered", "statement.line · statement feed"},
		{"Kakeibo", "Delivered", "statement.line · statement feed"},
		{"Kakeibo", "Delivered", "payment.completed · tap"},
	}
	for i, d := range ds {
		if d.Service != want[i].Service || d.Status != want[i].Status || !strings.HasPrefix(d.Source, want[i].Source+" · #") {
			t.Errorf("delivery %d is %+v, want %+v", i, d, want[i])
		}
	}
	// The page is long (each message with its body): the README shows it
	// down to the second message.
	shotTo(desk, "tour-9-admin-deliveries.png", `(() => {
		const r = document.querySelectorAll("article.delivery")[1].getBoundingClientRect();
		return Math.ceil(r.bottom + window.scrollY + 16);
	})()`)

	// How long the tour took is measured, never asserted: on a loaded
	// machine it varies, and speed is what the benchmarks are for.
	t.Logf("the tour took %s", time.Since(started).Round(time.Second))
}

// tourCrop keeps the top of a PNG screenshot: its width times ratio high.
func tourCrop(shot []byte, ratio float64) ([]byte, error) {
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		return nil, err
	}
	b := img.Bounds()
	h := int(math.Ceil(float64(b.Dx()) * ratio))
	if h <= 0 || h >= b.Dy() {
		return shot, nil
	}
	sub, ok := img.(interface {
		SubImage(image.Rectangle) image.Image
	})
	if !ok {
		return nil, fmt.Errorf("cannot crop a %T", img)
	}
	var out bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&out, sub.SubImage(image.Rect(b.Min.X, b.Min.Y, b.Max.X, b.Min.Y+h))); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

package http_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// pagesChromium finds a Chromium to drive. CI installs one (.ci/run), so
// there a missing browser fails the test instead of skipping it.
func pagesChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("Chromium not found: CI must install it (apt-get install chromium fonts-noto-cjk)")
	}
	t.Skip("Chromium not found; install the chromium package to run browser tests")
	return ""
}

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

// TestPagesBrowserPayAtTheTill pays with a pay code on a 360 px phone in
// real Chromium: the payer logs in with the demo button and shows the
// code, the shop terminal (a second tab) charges it, and the phone, by
// its own script, turns to the completion screen.
func TestPagesBrowserPayAtTheTill(t *testing.T) {
	t.Parallel()
	exe := pagesChromium(t)
	f := newPagesFixture(t)
	artifacts := pagesArtifacts(t)

	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(360, 740),
	)
	// Cleanups run last-in first-out: the tabs close, then the browser
	// exits (cancelAlloc waits for it), then the server stops.
	t.Cleanup(cancelAlloc)
	browser, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		chromedp.Cancel(browser)
		cancelBrowser()
	})
	if err := chromedp.Do(browser); err != nil { // starts Chromium, with no deadline
		t.Fatal(err)
	}
	// One deadline for the whole story: a hung page fails, never blocks.
	phone, cancel := context.WithTimeout(browser, 60*time.Second)
	defer cancel()

	step := func(ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(ctx context.Context, sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}
	// fits checks that the page is no wider than the phone, then keeps a
	// full-page screenshot of it.
	fits := func(ctx context.Context, png string) {
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
		if err := os.WriteFile(filepath.Join(artifacts, png), shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	phoneSize := chromedp.EmulateViewport(360, 740, chromedp.EmulateScale(2), chromedp.EmulateMobile)

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

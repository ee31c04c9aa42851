// Package browsertest starts the headless Chromium that Renkei's browser
// tests drive (the page tests in http/ and the README tour in cmd/renkei).
// Only tests import it.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"testing"

	"github.com/chromedp/chromedp"
)

// Find returns the path of a Chromium to drive. Without one the test is
// skipped, except under CI=true: CI installs Chromium (.ci/run), so there
// a missing browser fails the test instead.
func Find(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("Chromium not found: CI must install it (apt-get install chromium fonts-noto-cjk)")
	}
	t.Skip("Chromium not found; install the chromium package to run the browser tests")
	return ""
}

// Chrome starts a headless Chromium with a 360 × 740 window for one test,
// with any extra options, and returns its first tab. Its cleanups close the
// tabs and then wait for the browser to exit; cleanups registered before
// the call (a server, say) run after that.
func Chrome(t testing.TB, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	opts := append([]chromedp.ExecAllocatorOption{
		chromedp.ExecPath(Find(t)),
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
	}, extra...)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	browser, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		chromedp.Cancel(browser)
		cancelBrowser()
	})
	if err := chromedp.Do(browser); err != nil { // starts Chromium, with no deadline
		t.Fatal(err)
	}
	return browser
}

package http_test

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestPagesBrowserDocsOnAPhone opens /docs in Chromium at 360 px: the
// operation and problem tables fold into blocks, so nothing scrolls
// sideways and the longest path still shows whole.
func TestPagesBrowserDocsOnAPhone(t *testing.T) {
	t.Parallel()
	browser := pagesChrome(t)
	f := newPagesFixture(t)
	ctx, cancel := context.WithTimeout(browser, 60*time.Second)
	defer cancel()
	pagesStep(t, ctx, "open /docs", pagesPhoneSize,
		chromedp.Navigate(f.url+"/docs"),
		chromedp.WaitVisible(chromedp.CSS(`#problem-internal`)),
	)
	pagesFits(t, ctx, pagesArtifacts(t), "docs-360.png")
	w, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.clientWidth`))
	if err != nil || w > 360 || w < 300 {
		t.Fatalf("viewport %d px (%v), want a 360 px phone", w, err)
	}
	// Every table cell lies inside the viewport.
	over, err := chromedp.Run(ctx, chromedp.Evaluate[int](`[...document.querySelectorAll('td,code')].filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5).length`))
	if err != nil || over != 0 {
		t.Fatalf("%d cells of /docs reach past the right edge at 360 px (%v)", over, err)
	}
}

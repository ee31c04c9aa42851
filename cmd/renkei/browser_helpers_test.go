package main

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// browserHelpers gives a browser test its four small verbs, each failing
// the test with what it was doing: step runs actions, text reads an
// element's text, eval runs JavaScript for a string, fits checks that the
// page is no wider than the 360 px phone (nothing scrolls sideways).
func browserHelpers(t *testing.T) (
	step func(ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]),
	text func(ctx context.Context, sel string) string,
	eval func(ctx context.Context, js string) string,
	fits func(ctx context.Context),
) {
	step = func(ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text = func(ctx context.Context, sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}
	eval = func(ctx context.Context, js string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return s
	}
	fits = func(ctx context.Context) {
		t.Helper()
		w, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
		if err != nil {
			t.Fatal(err)
		}
		if w > 360 {
			loc, _ := chromedp.Run(ctx, chromedp.Location())
			t.Errorf("%s is %d px wide at 360 px: it scrolls sideways", loc, w)
		}
	}
	return step, text, eval, fits
}

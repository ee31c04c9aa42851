package http_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/renkei/renkei"
)

// TestPagesBrowserPrivacy: the privacy center in real Chromium on a 360 px
// phone, in English and in Japanese: it fits the screen, says what the
// link sends and what was sent, and ending the link from there stops the
// queued message and lists the link's end.
func TestPagesBrowserPrivacy(t *testing.T) {
	t.Parallel()
	browser := pagesChrome(t)
	f := newPagesFixture(t)
	artifacts := pagesArtifacts(t)
	ledger := f.feedService("Ledger")
	if _, err := f.st.CreateLink(context.Background(), f.aiko.id, renkei.LinkInput{ServiceID: ledger.ID, Auto: true, Statement: true}); err != nil {
		t.Fatal(err)
	}
	f.pay(f.aiko, f.cafe, 1_280)
	phone, cancel := context.WithTimeout(browser, 60*time.Second)
	defer cancel()
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		pagesStep(t, phone, what, actions...)
	}
	has := func(sel string, want ...string) {
		t.Helper()
		got := pagesTextOf(t, phone, sel)
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Fatalf("%s says %q, lacks %q", sel, got, w)
			}
		}
	}

	step("log in", pagesPhoneSize,
		chromedp.Navigate(f.url+"/app/login?lang=en"),
		chromedp.WaitVisible(chromedp.CSS(`button[name="demo"]`)),
		chromedp.Click(chromedp.CSS(`button[name="demo"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.balance`)),
	)
	step("open the privacy center from the menu",
		chromedp.Click(chromedp.CSS(`nav a[href="/app/privacy"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-provision]`)),
	)
	has("h1", "Privacy")
	has("[data-link]", "Ledger", "Real time: on.", "Statement feed: on.", "Consent receipt (JSON)")
	has("[data-provision]", "Ledger: a payment", "Why: your link sends every payment in real time", "amount paid", "Waiting to be sent")
	pagesFits(t, phone, artifacts, "privacy-en.png")

	step("unlink from the privacy center",
		chromedp.Click(chromedp.CSS(`[data-link] form[action$="/revoke"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`.notice`)),
	)
	has(".notice", "Unlinked Ledger.")
	has("#privacy-links-h + p", "No app is linked.")
	has(".provisions", "Ledger: the end of your link", "Stopped before it was sent")
	pagesFits(t, phone, artifacts, "")

	step("the same in Japanese",
		chromedp.Navigate(f.url+"/app/privacy?lang=ja"),
		chromedp.WaitVisible(chromedp.CSS(`[data-provision]`)),
	)
	has("h1", "プライバシー")
	has(".provisions", "Ledger: 連携の終了", "理由：連携を解除したため", "送信前に停止", "同意レシート")
	pagesFits(t, phone, artifacts, "privacy-ja.png")
}

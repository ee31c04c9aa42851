package http_test

import (
	"context"
	crand "crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/renkei/renkei"
	"github.com/renkei/renkei/webhook"
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

// TestPagesBrowserEdges drives, in Chromium on a 360 px phone, in
// Japanese and in English: the refund's confirmation step (nothing moves
// before it, the confirmed refund does), a field at fault shown in red
// and marked aria-invalid, and the copy buttons next to the secrets a new
// related service gets, shown once.
func TestPagesBrowserEdges(t *testing.T) {
	t.Parallel()
	browser := pagesChrome(t)
	f := newPagesFixture(t)
	key := make([]byte, webhook.KeySize)
	crand.Read(key)
	sealer, _ := webhook.NewSealer(key)
	f.st.Secrets, f.st.NewSecret = sealer, webhook.NewSecret // new services get a signing secret to show
	artifacts := pagesArtifacts(t)
	ctx, cancel := context.WithTimeout(browser, 120*time.Second)
	defer cancel()
	bg := context.Background()

	for _, lang := range []string{"ja", "en"} {
		words := map[string]map[string]string{
			"ja": {"confirm": "を返金しますか？", "done": "を返金しました。", "toolarge": "上限", "copied": "コピーしました", "created": "を登録しました"},
			"en": {"confirm": "?", "done": "Refunded ¥300.", "toolarge": "above the limit", "copied": "Copied", "created": "Registered"},
		}[lang]
		// A completed ¥2,000 payment of Aiko at the cafe.
		pc, err := f.st.NewPayCode(bg, f.aiko.id, "JPY")
		if err != nil {
			t.Fatal(err)
		}
		pay, err := f.st.ChargeCode(bg, renkei.ChargeCode{TerminalID: f.cafe.id, Code: pc.Code, Amount: 2000, Currency: "JPY"})
		if err != nil {
			t.Fatal(err)
		}
		before := f.balance(f.aiko)

		pagesStep(t, ctx, lang+": log in at the till", pagesPhoneSize,
			chromedp.Navigate(f.url+"/shop/logout"),
			chromedp.Navigate(f.url+"/shop/login?lang="+lang),
			chromedp.WaitVisible(chromedp.CSS(`button[name="demo"]`)),
			chromedp.Click(chromedp.CSS(`button[name="demo"]`)),
			chromedp.WaitVisible(chromedp.CSS(`#amount`)),
		)
		// The field at fault: an amount over the limit.
		pagesStep(t, ctx, lang+": charge too much",
			chromedp.SendKeys(chromedp.CSS(`#amount`), "100,000,000,001"),
			chromedp.SendKeys(chromedp.CSS(`#code`), "88"),
			chromedp.Submit(chromedp.CSS(`#amount`)),
			chromedp.WaitVisible(chromedp.CSS(`#form-error`)),
		)
		if got := pagesTextOf(t, ctx, "#form-error"); !strings.Contains(got, words["toolarge"]) {
			t.Fatalf("%s: error %q, want the too-large sentence", lang, got)
		}
		red, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#amount').getAttribute('aria-invalid') + ' ' + getComputedStyle(document.querySelector('#amount')).borderTopColor + ' ' + String(document.querySelector('#code').getAttribute('aria-invalid'))`))
		if err != nil || red != "true rgb(179, 38, 30) null" {
			t.Fatalf("%s: amount field aria-invalid, border, code field: %q (%v); want it marked and red, the code not", lang, red, err)
		}
		pagesFits(t, ctx, artifacts, "edges-invalid-"+lang+".png")

		// Refund ¥300: the first tap shows what will be refunded.
		pagesStep(t, ctx, lang+": ask for a refund",
			chromedp.Navigate(f.url+"/shop/payments/"+pay.ID),
			chromedp.WaitVisible(chromedp.CSS(`details.refund summary`)),
			chromedp.Click(chromedp.CSS(`details.refund summary`)),
			chromedp.WaitVisible(chromedp.CSS(`#refund-amount`)),
			chromedp.SendKeys(chromedp.CSS(`#refund-amount`), "300"),
			chromedp.Submit(chromedp.CSS(`#refund-amount`)),
			chromedp.WaitVisible(chromedp.CSS(`#refund-confirm`)),
		)
		if h := pagesTextOf(t, ctx, "h1"); !strings.Contains(h, "¥300") || !strings.Contains(h, words["confirm"]) {
			t.Fatalf("%s: confirmation heading %q", lang, h)
		}
		if will := pagesTextOf(t, ctx, "#refund-will"); !strings.HasPrefix(will, "¥300") {
			t.Fatalf("%s: the confirmation says it will refund %q", lang, will)
		}
		summary := pagesTextOf(t, ctx, ".refund-summary")
		for _, want := range []string{pay.ID, "¥2,000", "¥1,700"} {
			if !strings.Contains(summary, want) {
				t.Fatalf("%s: the confirmation lacks %q: %q", lang, want, summary)
			}
		}
		pagesFits(t, ctx, artifacts, "edges-refund-confirm-"+lang+".png")
		if got := f.balance(f.aiko); got != before {
			t.Fatalf("%s: balance %d on the confirmation page, want %d: the refund ran before the confirmation", lang, got, before)
		}
		pagesStep(t, ctx, lang+": confirm the refund",
			chromedp.Click(chromedp.CSS(`#refund-confirm`)),
			chromedp.WaitVisible(chromedp.CSS(`p.notice`)),
		)
		if got := pagesTextOf(t, ctx, "p.notice"); !strings.Contains(got, "¥300") {
			t.Fatalf("%s: after the confirmation: %q", lang, got)
		}
		if got := f.balance(f.aiko); got != before+300 {
			t.Fatalf("%s: balance %d after the confirmed refund, want %d", lang, got, before+300)
		}

		// A new related service: its API key and signing secret, each with
		// a copy button that copies.
		for i, a := range []chromedp.Action[chromedp.Void]{
			chromedp.Navigate(f.url + "/admin/logout"),
			chromedp.Navigate(f.url + "/admin/login?lang=" + lang),
			chromedp.WaitVisible(chromedp.CSS(`#token`)),
			chromedp.SendKeys(chromedp.CSS(`#token`), "admin"),
			chromedp.Submit(chromedp.CSS(`#token`)),
			chromedp.WaitVisible(chromedp.CSS(`header nav`)),
			chromedp.Navigate(f.url + "/admin/services/new"),
			chromedp.WaitVisible(chromedp.CSS(`#name`)),
			chromedp.SendKeys(chromedp.CSS(`#name`), "Savings "+lang),
			chromedp.SendKeys(chromedp.CSS(`#app_category`), "savings"),
			chromedp.SendKeys(chromedp.CSS(`#webhook_url`), "https://savings.example/hooks"),
			chromedp.Submit(chromedp.CSS(`#name`)),
			chromedp.WaitVisible(chromedp.CSS(`#api-key`)),
		} {
			sctx, c := context.WithTimeout(ctx, 10*time.Second)
			if err := chromedp.Do(sctx, a); err != nil {
				body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText`))
				t.Fatalf("%s: register a service, step %d: %v\n%s", lang, i, err, body)
			}
			c()
		}
		if got := pagesTextOf(t, ctx, "p.notice"); !strings.Contains(got, words["created"]) {
			t.Fatalf("%s: after registering: %q", lang, got)
		}
		for _, id := range []string{"api-key", "webhook-secret"} {
			pagesStep(t, ctx, lang+": copy "+id,
				chromedp.WaitVisible(chromedp.CSS(`button[data-copy="`+id+`"]`)),
				chromedp.Click(chromedp.CSS(`button[data-copy="`+id+`"]`)),
				chromedp.WaitVisible(chromedp.CSS(`#`+id+`-copied`)),
			)
			if got := pagesTextOf(t, ctx, "#"+id+"-copied"); !strings.Contains(got, words["copied"]) {
				t.Fatalf("%s: after copying %s the status says %q", lang, id, got)
			}
		}
		pagesFits(t, ctx, artifacts, "edges-copy-"+lang+".png")
	}
}

package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/renkei/renkei/demo/kakeibo"
	"github.com/renkei/renkei/internal/browsertest"
)

// TestBrowserWalletAfterThePayment walks, on a 360 px phone in English
// and in Japanese, the rough edges after a payment, on the real program
// (Main with Kakeibo next to it):
//
//   - a charge above the balance is declined; the pay page keeps the same
//     code up, says why, and offers a top-up; after the top-up, the shop
//     charges the same code again and it goes through;
//   - on the completion screen the tap's card turns from "Sending…" into
//     "Recorded in Kakeibo" by itself, without a reload;
//   - on the payment's page the payer changes the memo, and Kakeibo's
//     entry shows the new memo.
func TestBrowserWalletAfterThePayment(t *testing.T) {
	browsertest.Find(t) // skip before starting anything
	m, _ := startMain(t, t.TempDir(), "")
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Error(err)
		}
	})
	if !m.Demo || len(m.PartnerURLs) == 0 || m.PartnerURLs[0].Name != "Kakeibo" {
		t.Fatalf("want the demo with Kakeibo: demo %v, partners %+v", m.Demo, m.PartnerURLs)
	}
	base, kakeiboURL, kakeiboID := m.Server.URL(), m.PartnerURLs[0].URL, m.demo.Services[0].ID

	browser := browsertest.Chrome(t)
	shopTab, cancelShop := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	defer cancelShop()
	shop, cancelShopRun := context.WithTimeout(shopTab, 90*time.Second)
	defer cancelShopRun()
	step, text, eval, fits := browserHelpers(t)
	// The till, in English, for both phones.
	step(shop, "set up the till", tourPhone,
		chromedp.Navigate(base+"/shop/login?lang=en"),
		chromedp.WaitVisible(chromedp.Search(`//button[@name="demo" and contains(., "Cafe Hikari")]`)),
		chromedp.Click(chromedp.Search(`//button[@name="demo" and contains(., "Cafe Hikari")]`)),
		chromedp.WaitVisible(chromedp.ID("code")),
	)
	charge := func(amount, code string) string {
		t.Helper()
		step(shop, "charge "+amount,
			chromedp.Navigate(base+"/shop"),
			chromedp.WaitVisible(chromedp.ID("code")),
			chromedp.SendKeys(chromedp.ID("amount"), amount),
			chromedp.SendKeys(chromedp.ID("code"), code),
			chromedp.Click(chromedp.CSS(`form button[type="submit"].primary`)),
			// A completed charge shows its result; a declined one, the
			// form again with the reason.
			chromedp.WaitVisible(chromedp.CSS(`.result h1, main [role="alert"]`)),
		)
		return eval(shop, `(document.querySelector(".result h1") || document.querySelector('main [role="alert"]')).textContent.trim()`)
	}
	// kakeiboEntry asks Kakeibo's API for a payment's entry until ok says
	// it is as wanted, for a few seconds.
	kakeiboEntry := func(paymentID string, ok func(kakeibo.Entry) bool) kakeibo.Entry {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			var l kakeibo.EntryList
			res, err := http.Get(kakeiboURL + "/api/entries?payment_id=" + url.QueryEscape(paymentID))
			if err != nil {
				t.Fatal(err)
			}
			err = json.NewDecoder(res.Body).Decode(&l)
			res.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if len(l.Entries) == 1 && ok(l.Entries[0]) {
				return l.Entries[0]
			}
			if time.Now().After(deadline) {
				t.Fatalf("Kakeibo's entries of %s: %+v", paymentID, l.Entries)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	for _, tc := range []struct {
		lang, user, amount, declined, recorded, saved, complete string
	}{
		{"en", "Aiko", "60000", "balance was too low", "Recorded in Kakeibo", "Memo saved", "Payment complete"},
		{"ja", "Ben", "5000", "残高が足りませんでした", "Kakeiboに記録しました", "メモを保存しました", "支払いが完了しました"},
	} {
		// Each phone is a browser context of its own: its own cookies.
		tab, cancelTab := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
		phone, cancelPhone := context.WithTimeout(tab, 90*time.Second)
		login := chromedp.Search(`//button[@name="demo" and contains(., "` + tc.user + `")]`)
		step(phone, tc.lang+": log in as "+tc.user, tourPhone,
			chromedp.Navigate(base+"/app/login?lang="+tc.lang),
			chromedp.WaitVisible(login),
			chromedp.Click(login),
			chromedp.WaitVisible(chromedp.CSS(".balance")),
		)

		// 1. Declined, top up, the same code goes through.
		step(phone, tc.lang+": show the pay code",
			chromedp.Navigate(base+"/app/pay"),
			chromedp.WaitVisible(chromedp.CSS(`#paycode .qr svg`)),
			chromedp.Evaluate[chromedp.Void](`window.walletMarker = "no reload"; undefined`),
		)
		code := eval(phone, `document.getElementById("paycode").dataset.code`)
		if got := charge(tc.amount, code); !strings.Contains(got, "balance is too low") {
			t.Fatalf("%s: the till says %q for a charge above the balance", tc.lang, got)
		}
		step(phone, tc.lang+": the pay page tells of the decline", chromedp.WaitVisible(chromedp.ID("declined")))
		if got := text(phone, "#declined [data-reason]"); !strings.Contains(got, tc.declined) {
			t.Errorf("%s: the decline says %q", tc.lang, got)
		}
		if now := eval(phone, `document.getElementById("paycode").dataset.code + " " + location.pathname + " " + window.walletMarker`); now != code+" /app/pay no reload" {
			t.Fatalf("%s: after the decline the phone shows %q, want the same code on the same page", tc.lang, now)
		}
		fits(phone)
		step(phone, tc.lang+": top up from the pay page",
			chromedp.Click(chromedp.CSS(`#declined [data-topup] button`)),
			chromedp.WaitVisible(chromedp.CSS(`#declined [data-topped] .notice`)),
		)
		if got := eval(phone, `window.walletMarker + " " + document.getElementById("paycode").dataset.code`); got != "no reload "+code {
			t.Fatalf("%s: the top-up left the pay page: %q", tc.lang, got)
		}
		if got := charge(tc.amount, code); got != "Payment complete" {
			t.Fatalf("%s: the till says %q charging the same code after the top-up", tc.lang, got)
		}
		step(phone, tc.lang+": the phone turns to the completion screen", chromedp.WaitVisible(chromedp.CSS(`#completion h1`)))
		if got := text(phone, "#completion h1"); got != tc.complete {
			t.Fatalf("%s: completion heading %q", tc.lang, got)
		}
		loc := eval(phone, `location.pathname`)
		paymentID := loc[strings.LastIndex(loc, "/")+1:]

		// 2. The tap, and the card resolving by itself.
		card := "#card-" + kakeiboID
		step(phone, tc.lang+": tap Record in Kakeibo",
			chromedp.Evaluate[chromedp.Void](`window.walletMarker = "no reload"; undefined`),
			chromedp.SendKeys(chromedp.CSS(card+` input[name="memo"]`), "lunch"),
			chromedp.Click(chromedp.CSS(card+" button.primary")),
			chromedp.WaitVisible(chromedp.CSS(card+" .outcome-sent")),
		)
		if got := text(phone, card+" .outcome"); got != tc.recorded {
			t.Errorf("%s: the card says %q", tc.lang, got)
		}
		if got := eval(phone, `window.walletMarker || "reloaded"`); got != "no reload" {
			t.Fatalf("%s: the page reloaded to resolve the card", tc.lang)
		}
		fits(phone)
		kakeiboEntry(paymentID, func(e kakeibo.Entry) bool { return e.Memo == "lunch" })

		// 3. The memo, changed later on the payment's page, reaches Kakeibo.
		step(phone, tc.lang+": open the payment and change the memo",
			chromedp.Navigate(base+"/app/payments/"+paymentID),
			chromedp.WaitVisible(chromedp.ID("memo-text")),
		)
		if got := eval(phone, `document.getElementById("memo-text").value`); got != "lunch" {
			t.Errorf("%s: the memo field holds %q, want the memo of the tap", tc.lang, got)
		}
		if got := text(phone, card+" .outcome"); got != tc.recorded {
			t.Errorf("%s: after a reload the card says %q", tc.lang, got)
		}
		step(phone, tc.lang+": save the new memo",
			chromedp.Evaluate[chromedp.Void](`document.getElementById("memo-text").value = ""; undefined`),
			chromedp.SendKeys(chromedp.ID("memo-text"), "team lunch with Ben"),
			chromedp.SetValue(chromedp.ID("memo-category"), "hobby"),
			chromedp.Click(chromedp.CSS("#memo button.primary")),
			chromedp.WaitVisible(chromedp.CSS("#memo .notice")),
		)
		if got := text(phone, "#memo .notice"); !strings.HasPrefix(got, tc.saved) {
			t.Errorf("%s: after saving the memo the page says %q", tc.lang, got)
		}
		fits(phone)
		kakeiboEntry(paymentID, func(e kakeibo.Entry) bool { return e.Memo == "team lunch with Ben" && e.Category == "hobby" })
		cancelPhone()
		cancelTab()
	}
}

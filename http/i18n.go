package http

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/renkei/renkei"
)

// lang is the language of a page: English or Japanese. The pages know
// only these two; the domain's error sentences are English, so Japanese
// pages translate the ones a payer or a cashier meets and fall back to
// the English sentence for the rest.
type lang string

const (
	langEN lang = "en"
	langJA lang = "ja"
)

// langCookie remembers the choice made with ?lang=, which beats
// Accept-Language: a Japanese speaker on an English phone can switch once.
const langCookie = "renkei_lang"

// pageLang picks the language of a request: ?lang=, then the cookie, then
// Accept-Language, then English.
func pageLang(r *http.Request) lang {
	if l, ok := parseLang(r.URL.Query().Get("lang")); ok {
		return l
	}
	if c, err := r.Cookie(langCookie); err == nil {
		if l, ok := parseLang(c.Value); ok {
			return l
		}
	}
	return acceptLang(r.Header.Get("Accept-Language"))
}

func parseLang(s string) (lang, bool) {
	switch strings.ToLower(s) {
	case "ja":
		return langJA, true
	case "en":
		return langEN, true
	}
	return "", false
}

// acceptLang reads an Accept-Language header (RFC 9110 12.5.4) and returns
// the supported language the browser ranks highest.
func acceptLang(h string) lang {
	type choice struct {
		l lang
		q float64
		i int
	}
	var cs []choice
	for i, part := range strings.Split(h, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				continue
			}
			q = f
		}
		primary, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
		if l, ok := parseLang(primary); ok && q > 0 {
			cs = append(cs, choice{l, q, i})
		}
	}
	if len(cs) == 0 {
		return langEN
	}
	sort.SliceStable(cs, func(a, b int) bool { return cs[a].q > cs[b].q })
	return cs[0].l
}

// T returns the message key in the page's language, formatted with args.
// A missing key shows itself, so a gap is visible in review and in tests.
func (l lang) T(key string, args ...any) string {
	m, ok := pageMessages[key]
	if !ok {
		return key
	}
	s := m[0]
	if l == langJA && m[1] != "" {
		s = m[1]
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

// Other is the language a page offers to switch to.
func (l lang) Other() lang {
	if l == langJA {
		return langEN
	}
	return langJA
}

// Name is the language's name in itself, for the switch link.
func (l lang) Name() string {
	if l == langJA {
		return "日本語"
	}
	return "English"
}

// pageMessages holds every sentence of the pages: {English, Japanese}.
var pageMessages = map[string][2]string{
	"brand":            {"Renkei", "Renkei 連携"},
	"app.name":         {"Wallet", "ウォレット"},
	"shop.name":        {"Shop terminal", "店舗端末"},
	"nav.label":        {"Main", "メイン"},
	"nav.home":         {"Wallet", "ウォレット"},
	"nav.pay":          {"Pay", "支払う"},
	"nav.scan":         {"Scan", "読み取る"},
	"nav.payments":     {"Payments", "履歴"},
	"nav.logout":       {"Log out", "ログアウト"},
	"nav.charge":       {"Charge", "請求"},
	"nav.qr":           {"QR code", "QRコード"},
	"nav.shoppayments": {"Payments", "取引"},
	"nav.links":        {"Apps", "連携"},
	"nav.privacy":      {"Privacy", "プライバシー"},
	"nav.services":     {"Services", "サービス"},
	"nav.newservice":   {"Register", "新規登録"},
	"nav.deliveries":   {"Messages", "メッセージ"},
	"nav.settings":     {"Settings", "設定"},
	"partner.name":     {"Partner", "パートナー"},
	"admin.name":       {"Admin", "管理"},
	"admin.who":        {"Administrator", "管理者"},
	"skip":             {"Skip to content", "本文へ移動"},
	"lang.label":       {"Language", "言語"},

	"login.title.app":   {"Log in to your wallet", "ウォレットにログイン"},
	"login.title.shop":  {"Log in to the shop terminal", "店舗端末にログイン"},
	"login.title.admin": {"Log in as the administrator", "管理者としてログイン"},
	"login.token":       {"Access token", "アクセストークン"},
	"login.help.app":    {"Paste the user token (rk_usr_…) you were given.", "発行されたユーザートークン（rk_usr_…）を貼り付けてください。"},
	"login.help.shop":   {"Paste the terminal's API key (rk_ter_…).", "端末の API キー（rk_ter_…）を貼り付けてください。"},
	"login.help.admin":  {"Paste the admin key (rk_adm_…) that renkei serve printed or wrote to admin.key.", "renkei serve が表示した、または admin.key に書き出した管理者キー（rk_adm_…）を貼り付けてください。"},
	"login.submit":      {"Log in", "ログイン"},
	"login.demo":        {"Demo accounts", "デモアカウント"},
	"login.demo.as":     {"Log in as %s", "%s でログイン"},
	"login.bad":         {"This token is not valid. Check that you pasted all of it.", "このトークンは無効です。すべて貼り付けたか確認してください。"},
	"login.kind.app":    {"This is not a user token. Shop terminals log in at /shop/login.", "これはユーザーのトークンではありません。店舗端末は /shop/login からログインしてください。"},
	"login.kind.shop":   {"This is not a shop terminal's API key. Wallet users log in at /app/login.", "これは店舗端末の API キーではありません。ウォレットの利用者は /app/login からログインしてください。"},
	"login.kind.admin":  {"This is not the admin key. Wallet users log in at /app/login, shop terminals at /shop/login.", "これは管理者キーではありません。ウォレットは /app/login、店舗端末は /shop/login からログインしてください。"},
	"login.loggedout":   {"You are logged out.", "ログアウトしました。"},
	"login.expired":     {"Please log in again.", "もう一度ログインしてください。"},
	"login.ratelimited": {"Too many failed attempts from your address; wait a minute.", "失敗が続いたため、1分ほど待ってからお試しください。"},

	"wallet.title":         {"Wallet", "ウォレット"},
	"wallet.balances":      {"Balance", "残高"},
	"wallet.nobalance":     {"No wallet yet.", "ウォレットはまだありません。"},
	"wallet.pay":           {"Pay (show code)", "支払う（コードを表示）"},
	"wallet.scan":          {"Scan a shop's QR", "お店のQRコードを読み取る"},
	"wallet.topup":         {"Top up %s", "%s チャージ"},
	"wallet.topup.note":    {"Demo mode: top-ups add play money.", "デモモード：チャージは練習用のお金です。"},
	"wallet.toppedup":      {"Topped up. Your balance is now %s.", "チャージしました。残高は %s です。"},
	"wallet.history":       {"Recent activity", "最近の取引"},
	"wallet.history.empty": {"No activity yet.", "まだ取引はありません。"},
	"wallet.allpayments":   {"All payments", "すべての支払い"},
	"kind.topup":           {"Top-up", "チャージ"},
	"kind.payment":         {"Payment", "支払い"},
	"kind.refund":          {"Refund", "返金"},

	"pay.title":    {"Pay with a code", "コードで支払う"},
	"pay.lead":     {"Show this code at the register.", "レジでこのコードを見せてください。"},
	"pay.code":     {"Pay code", "支払いコード"},
	"pay.expires":  {"Valid until %s", "%s まで有効"},
	"pay.expired":  {"This code has expired. Get a new one.", "このコードは有効期限が切れました。新しいコードを表示してください。"},
	"pay.new":      {"New code", "新しいコード"},
	"pay.waiting":  {"This page shows the result when the shop has charged the code.", "お店が読み取ると、この画面に結果が表示されます。"},
	"pay.balance":  {"Balance: %s", "残高：%s"},
	"pay.payments": {"See my payments", "支払い履歴を見る"},
	"pay.qr":       {"QR code of your pay code", "支払いコードのQRコード"},
	"shop.qr.img":  {"QR code to pay %s", "%s を支払うためのQRコード"},

	"scan.title":       {"Pay a shop's QR code", "お店のQRコードで支払う"},
	"scan.payload":     {"QR code contents", "QRコードの内容"},
	"scan.help":        {"Paste the text of the shop's QR code, or scan it with the camera.", "お店のQRコードの文字列を貼り付けるか、カメラで読み取ってください。"},
	"scan.camera":      {"Scan with the camera", "カメラで読み取る"},
	"scan.camera.stop": {"Stop the camera", "カメラを止める"},
	"scan.camera.fail": {"The camera could not be started. Paste the code instead.", "カメラを起動できませんでした。文字列を貼り付けてください。"},
	"scan.next":        {"Next", "次へ"},
	"scan.empty":       {"Enter the contents of the QR code.", "QRコードの内容を入力してください。"},

	"confirm.title":  {"Confirm the payment", "支払い内容の確認"},
	"confirm.pay":    {"Pay %s", "%s を支払う"},
	"confirm.cancel": {"Cancel", "やめる"},
	"confirm.gone":   {"This payment request is no longer open.", "この支払いリクエストはすでに終了しています。"},

	"f.shop":                  {"Shop", "お店"},
	"f.amount":                {"Amount", "金額"},
	"f.category":              {"Category", "カテゴリ"},
	"f.time":                  {"Time", "日時"},
	"f.id":                    {"Payment ID", "支払いID"},
	"f.status":                {"Status", "状態"},
	"f.refunded":              {"Refunded", "返金額"},
	"f.method":                {"Paid with", "支払い方法"},
	"f.reason":                {"Reason", "理由"},
	"f.flow":                  {"How", "方法"},
	"method.wallet_balance":   {"Wallet balance", "ウォレット残高"},
	"flow.consumer_presented": {"Pay code", "支払いコード"},
	"flow.merchant_presented": {"Shop's QR code", "お店のQRコード"},

	"done.completed":          {"Payment complete", "支払いが完了しました"},
	"done.failed":             {"Payment failed", "支払いできませんでした"},
	"done.pending":            {"Waiting for payment", "支払い待ち"},
	"done.expired":            {"Payment request expired", "支払いリクエストの期限切れ"},
	"done.refunded":           {"Payment refunded", "返金済みの支払い"},
	"done.partially_refunded": {"Payment partly refunded", "一部返金済みの支払い"},
	"done.proposals":          {"Apps for this payment", "この支払いに使えるアプリ"},
	"done.back":               {"Back to the wallet", "ウォレットに戻る"},
	"done.balance":            {"Balance after payment: %s", "支払い後の残高：%s"},

	"prop.lead":               {"Send this payment to an app you use? An app you do not tap gets nothing from this screen.", "この支払いをアプリに送りますか？タップしないアプリには、この画面からは何も送られません。"},
	"prop.why":                {"Why this suggestion?", "なぜこの提案？"},
	"prop.receives":           {"If you tap, %s receives now: %s.", "タップすると %s に今すぐ送られる情報：%s。"},
	"prop.receives.statement": {"Later it also receives this payment's line of the shop's statement, so it can match the two.", "あとで、この支払いのお店の明細行も送られ、アプリが照合できます。"},
	"done.links":              {"Sent by your links", "連携による送信"},
	"done.links.auto":         {"%s: sent automatically by your link (%s).", "%s：連携により自動で送信（%s）。"},
	"done.links.statement":    {"%s: its statement line will be sent later, by your link's statement feed.", "%s：連携の明細フィードにより、明細行があとで送られます。"},
	"done.privacy":            {"Everything sent, and your consents: Privacy", "送信したすべての記録と同意：プライバシー"},
	"prop.receives.input":     {"your memo and category", "メモとカテゴリ"},
	"prop.memo":               {"Memo (optional)", "メモ（任意）"},
	"prop.memo.help":          {"Up to %d characters.", "%d文字まで。"},
	"prop.category":           {"Category", "カテゴリ"},
	"prop.nocategory":         {"No category", "カテゴリなし"},
	"prop.do.record":          {"Record in %s", "%sに記録"},
	"prop.do.send":            {"Send to %s", "%sに送る"},
	"prop.notnow":             {"Not now", "今回はしない"},
	"prop.queued":             {"Sending to %s…", "%sに送信中…"},
	"prop.sent.record":        {"Recorded in %s", "%sに記録しました"},
	"prop.sent.send":          {"Sent to %s", "%sに送信しました"},
	"prop.dismissed":          {"Not sent", "送信していません"},
	"prop.open":               {"Open %s", "%sを開く"},
	"prop.failed":             {"This did not go through. Check your connection and try again.", "送信できませんでした。接続を確認して、もう一度お試しください。"},

	"list.sep":                {", ", "、"},
	"scope.amount":            {"amount paid", "金額"},
	"scope.merchant_name":     {"shop name", "店名"},
	"scope.merchant_category": {"shop category", "店の業種"},
	"scope.time":              {"time of payment", "日時"},
	"scope.method":            {"payment method", "支払方法"},

	"privacy.title":                           {"Privacy", "プライバシー"},
	"privacy.lead":                            {"Everything of yours Renkei sent to an app, and the consents that allowed it. Each consent has a receipt you can download.", "Renkei があなたの情報をアプリに送ったすべての記録と、それを許した同意です。同意ごとにレシートをダウンロードできます。"},
	"privacy.links":                           {"Your links", "あなたの連携"},
	"privacy.links.none":                      {"No app is linked. An app gets a payment only when you tap it on the payment screen.", "連携しているアプリはありません。支払い画面でタップしたときだけ、そのアプリに支払いが送られます。"},
	"privacy.change":                          {"Change what it receives", "受け取る情報を変更"},
	"privacy.sent":                            {"What was sent", "送信の記録"},
	"privacy.sent.none":                       {"Nothing of yours has been sent to any app.", "あなたの情報はまだどのアプリにも送られていません。"},
	"privacy.payment":                         {"the payment", "支払い"},
	"privacy.why":                             {"Why: %s", "理由：%s"},
	"privacy.fields":                          {"Sent: %s", "送った情報：%s"},
	"privacy.consent":                         {"consent receipt", "同意レシート"},
	"privacy.type.payment.completed":          {"a payment", "支払い"},
	"privacy.type.payment.refunded":           {"a refund", "返金"},
	"privacy.type.payment.annotated":          {"your changed memo", "変更したメモ"},
	"privacy.type.statement.line":             {"a statement line", "明細行"},
	"privacy.type.link.revoked":               {"the end of your link", "連携の終了"},
	"privacy.why.selection.payment.completed": {"you tapped it on the payment screen", "支払い画面でタップしたため"},
	"privacy.why.selection.payment.refunded":  {"the app had the payment (your tap)", "アプリが支払いを受け取っていたため（タップ）"},
	"privacy.why.selection.payment.annotated": {"the app had the payment (your tap) and you changed the memo", "アプリが支払いを受け取っていて（タップ）、メモを変更したため"},
	"privacy.why.link.payment.completed":      {"your link sends every payment in real time", "連携のリアルタイム送信がオンのため"},
	"privacy.why.link.payment.refunded":       {"the app had the payment (your link)", "アプリが支払いを受け取っていたため（連携）"},
	"privacy.why.link.payment.annotated":      {"the app had the payment (your link) and you changed the memo", "アプリが支払いを受け取っていて（連携）、メモを変更したため"},
	"privacy.why.link.link.revoked":           {"you ended the link; the app is told so it stops", "連携を解除したため。アプリに通知して停止させます"},
	"privacy.why.statement.statement.line":    {"the shop's statement feed, which your link or your tap allowed", "お店の明細フィード（連携またはタップで許可）"},
	"privacy.status.queued":                   {"Waiting to be sent", "送信待ち"},
	"privacy.status.retrying":                 {"Not received yet; Renkei is retrying", "まだ届いていません。再送中です"},
	"privacy.status.delivered":                {"Received by the app at %s", "%sにアプリが受信"},
	"privacy.status.failed":                   {"Not received: sending gave up", "届きませんでした（送信を中止）"},
	"privacy.status.canceled":                 {"Stopped before it was sent", "送信前に停止"},
	"field.pseudonymous_id":                   {"your id for this app (not your name)", "このアプリ用のID（名前ではありません）"},
	"field.payment_id":                        {"payment number", "支払い番号"},
	"field.amount":                            {"amount paid", "金額"},
	"field.merchant_name":                     {"shop name", "店名"},
	"field.merchant_category":                 {"shop category", "店の業種"},
	"field.time":                              {"time of payment", "日時"},
	"field.method":                            {"payment method", "支払方法"},
	"field.memo":                              {"your memo", "メモ"},
	"field.category":                          {"your category", "カテゴリ"},

	"links.title":          {"Linked apps", "連携アプリ"},
	"links.lead":           {"A link sends only what you turn on: “real time” sends every payment the moment you pay; “statement feed” sends the shop's statement line of every payment later. With both off, an app gets a payment only when you tap it on the payment screen (and then that payment's statement line, so it can match the two).", "連携で送られるのは、オンにしたものだけです。「リアルタイム」はすべての支払いを支払った時点で送ります。「明細フィード」はすべての支払いのお店の明細行をあとで送ります。両方オフなら、支払い画面でタップしたときだけ、その支払い（と照合用のその明細行）が送られます。"},
	"links.receives":       {"Receives: %s", "受け取る情報：%s"},
	"links.since":          {"Linked since %s", "%sから連携中"},
	"links.auto.on":        {"Real time: on. Every payment is sent the moment you pay.", "リアルタイム：オン。すべての支払いを支払った時点で送信します。"},
	"links.auto.off":       {"Real time: off. A payment is sent only when you tap it on the payment screen.", "リアルタイム：オフ。支払い画面でタップした支払いだけを送信します。"},
	"links.statement.on":   {"Statement feed: on. The shop's statement line of every payment is sent later.", "明細フィード：オン。すべての支払いのお店の明細行をあとで送信します。"},
	"links.statement.off":  {"Statement feed: off. Only the lines of payments you tapped are sent, so the app can match them.", "明細フィード：オフ。タップした支払いの明細行だけを照合用に送信します。"},
	"links.statement.none": {"This app does not take the statement feed.", "このアプリは明細フィードを受け取りません。"},
	"links.auto":           {"Real time: send every payment automatically", "リアルタイム：すべての支払いを自動で送る"},
	"links.statement":      {"Statement feed: send the shop's statement line of every payment later", "明細フィード：すべての支払いのお店の明細行をあとで送る"},
	"links.save":           {"Save for %s", "%sの設定を保存"},
	"links.receipt":        {"Consent receipt (JSON)", "同意レシート（JSON）"},
	"links.done.changed":   {"Saved: %s now receives only what is shown.", "保存しました。%sには表示どおりの情報だけが送られます。"},
	"links.link":           {"Link %s", "%sと連携する"},
	"links.unlink":         {"Unlink %s", "%sの連携を解除"},
	"links.unlink.help":    {"Unlinking stops all sending to it at once: messages not yet sent are canceled, and the app is told the link ended.", "解除するとすぐに送信が止まります。未送信のメッセージは取り消され、アプリには連携の終了が通知されます。"},
	"links.done.linked":    {"Linked to %s.", "%sと連携しました。"},
	"links.done.unlinked":  {"Unlinked %s. It is told the link ended; nothing else is sent to it.", "%sとの連携を解除しました。連携の終了だけが通知され、ほかには何も送信されません。"},
	"links.empty":          {"No apps are available yet.", "利用できるアプリはまだありません。"},
	"links.unavailable":    {"Not available right now.", "現在は利用できません。"},
	"links.linked":         {"Linked", "連携中"},

	"status.completed":          {"Completed", "完了"},
	"status.failed":             {"Failed", "失敗"},
	"status.pending":            {"Waiting for payment", "支払い待ち"},
	"status.expired":            {"Expired", "期限切れ"},
	"status.refunded":           {"Refunded", "返金済み"},
	"status.partially_refunded": {"Partly refunded", "一部返金済み"},

	"payments.title": {"Your payments", "支払い履歴"},
	"payments.empty": {"No payments yet.", "まだ支払いはありません。"},
	"payments.older": {"Older payments", "さらに前の支払い"},

	"shop.charge.title":   {"Charge a pay code", "支払いコードで請求"},
	"shop.amount":         {"Amount (yen)", "金額（円）"},
	"shop.amount.help":    {"Whole yen, for example 1280 or 1,280.", "円単位の整数（例：1280 または 1,280）"},
	"shop.code":           {"Customer's pay code", "お客様の支払いコード"},
	"shop.code.help":      {"The 20 digits on the customer's screen; spaces are fine.", "お客様の画面に表示された20桁の数字（スペースがあっても構いません）"},
	"shop.charge.submit":  {"Charge", "請求する"},
	"shop.charged":        {"Payment complete", "決済が完了しました"},
	"shop.next":           {"Next customer", "次のお客様"},
	"shop.qr.title":       {"Show a QR code", "QRコードを表示"},
	"shop.qr.lead":        {"The customer scans this code with the wallet app.", "お客様にウォレットでこのコードを読み取ってもらいます。"},
	"shop.qr.submit":      {"Create QR code", "QRコードを作成"},
	"shop.qr.payload":     {"QR code contents (to copy in the demo)", "QRコードの内容（デモ用にコピーできます）"},
	"shop.qr.waiting":     {"Waiting for the customer to pay…", "お客様の支払いを待っています…"},
	"shop.qr.paid":        {"Paid by customer", "お客様の支払いが完了しました"},
	"shop.qr.expired":     {"This QR code has expired. Create a new one.", "このQRコードは期限切れです。新しく作成してください。"},
	"shop.qr.new":         {"New QR code", "新しいQRコード"},
	"shop.qr.valid":       {"Valid until %s", "%s まで有効"},
	"shop.payments.title": {"Recent payments", "最近の取引"},
	"shop.payments.empty": {"No payments yet.", "まだ取引はありません。"},
	"shop.payment.title":  {"Payment", "取引"},
	"shop.refund":         {"Refund", "返金する"},
	"shop.refund.amount":  {"Refund amount in yen (leave empty for the %s left)", "返金額（円）。空欄なら残りの %s 全額"},
	"shop.refund.title":   {"Refund this payment", "この取引を返金"},
	"shop.refunded":       {"Refunded %s.", "%s を返金しました。"},
	"shop.refunds":        {"Refunds", "返金"},
	"shop.refund.confirm": {"Refund %s?", "%s を返金しますか？"},
	"shop.refund.lead":    {"Check before you refund: the money goes back to the customer's wallet at once, and a refund cannot be undone.", "返金前に確認してください。お客様のウォレットにすぐ返金され、取り消すことはできません。"},
	"shop.refund.will":    {"To refund now", "今回の返金額"},
	"shop.refund.full":    {"all that is left", "残額すべて"},
	"shop.refund.partial": {"part of it", "一部返金"},
	"shop.refund.after":   {"Left to refund afterwards", "返金後に返金できる残り"},
	"shop.refund.do":      {"Refund %s", "%s を返金する"},
	"shop.refund.toomuch": {"At most %s is left to refund.", "返金できるのは %s までです。"},

	"admin.services.title":      {"Related services", "連携サービス"},
	"admin.created.again":       {"This form was already sent: %s is registered once. Its API key and signing secret were shown on the first answer only; rotate the secret below if it was lost.", "このフォームは送信済みです。%sは一度だけ登録されています。API キーと署名シークレットは最初の画面にだけ表示されました。シークレットを失った場合は下で再発行してください。"},
	"admin.delete.title":        {"Delete this service", "このサービスを削除"},
	"admin.delete.help":         {"It stops at once: no more proposals, its partner key stops working, every user's link is revoked and messages not sent yet are canceled. Messages already delivered or failed, with their attempts, are kept for the audit trail.", "すぐに停止します。提案を止め、パートナーキーを無効にし、利用者の連携をすべて解除し、未送信のメッセージを取り消します。送信済み・失敗したメッセージと送信記録は監査のために残ります。"},
	"admin.delete":              {"Delete %s", "%sを削除"},
	"admin.delete.confirm":      {"Delete %s? This cannot be undone.", "%sを削除しますか？元に戻せません。"},
	"admin.deleted":             {"Deleted %s. Its past messages stay listed under Messages.", "%sを削除しました。過去のメッセージは「メッセージ」に残っています。"},
	"admin.f.categories.help":   {"Comma-separated codes, each with its labels if you like: food=食費/Food, daily=日用品/Daily goods. Pages show the label in their language; the partner receives the code.", "カンマ区切りのコード。ラベルも付けられます：food=食費/Food, daily=日用品/Daily goods。画面には表示言語のラベルを、パートナーにはコードを送ります。"},
	"admin.services.empty":      {"No related services yet.", "連携サービスはまだありません。"},
	"admin.new":                 {"Register a related service", "連携サービスを登録"},
	"admin.edit":                {"Edit %s", "%sを編集"},
	"admin.editlink":            {"Edit %s", "%sを編集"},
	"admin.messagesof":          {"Messages to %s", "%sへのメッセージ"},
	"admin.enabled":             {"Enabled", "有効"},
	"admin.disabled":            {"Disabled", "無効"},
	"admin.threshold":           {"Threshold", "しきい値"},
	"admin.floor":               {"floor", "下限"},
	"admin.ceiling":             {"ceiling", "上限"},
	"admin.threshold.range":     {"floor %s, ceiling %s", "下限 %s・上限 %s"},
	"admin.scopes":              {"Receives", "受け取る情報"},
	"admin.provisions":          {"Record of provision (APPI art. 29)", "第三者提供の記録（個人情報保護法第29条）"},
	"admin.provisions.help":     {"Every message that gave a payer's data to this service: when, the payer, the payment, the fields, why, its status and consent. Leave the dates empty for all.", "このサービスに利用者のデータを提供したすべてのメッセージ：日時、利用者、支払い、項目、理由、状態、同意。日付を空にするとすべて。"},
	"admin.provisions.since":    {"From (UTC, inclusive)", "開始日（UTC、当日を含む）"},
	"admin.provisions.until":    {"To (UTC, inclusive)", "終了日（UTC、当日を含む）"},
	"admin.provisions.format":   {"Format", "形式"},
	"admin.provisions.download": {"Download the record", "記録をダウンロード"},
	"admin.provisions.baddate":  {"Give dates as YYYY-MM-DD.", "日付は YYYY-MM-DD の形式で入力してください。"},
	"admin.merchants":           {"Shop categories", "対象の業種"},
	"admin.merchants.all":       {"All", "すべて"},
	"admin.input":               {"Asks for", "入力項目"},
	"admin.input.memo":          {"memo (up to %d)", "メモ（%d文字まで）"},
	"admin.input.categories":    {"categories:", "カテゴリ："},
	"admin.input.none":          {"nothing", "なし"},
	"admin.f.name":              {"Name", "名前"},
	"admin.f.descja":            {"Description in Japanese", "説明（日本語）"},
	"admin.f.descen":            {"Description in English", "説明（英語）"},
	"admin.f.desc.help":         {"Shown on the proposal card; up to 280 characters.", "提案カードに表示されます（280文字まで）。"},
	"admin.f.appurl":            {"App URL (optional)", "アプリのURL（任意）"},
	"admin.f.appcategory":       {"App category", "アプリの種類"},
	"admin.f.appcategory.help":  {"household_budget and expenses cards say “Record in …”, the others “Send to …”.", "household_budget と expenses のカードは「…に記録」、その他は「…に送る」と表示します。"},
	"admin.f.webhook":           {"Webhook URL", "Webhook の URL"},
	"admin.f.scopes":            {"Data it may receive", "受け取れる情報"},
	"admin.f.input":             {"What the completion screen asks", "支払い完了画面での入力"},
	"admin.f.memo":              {"Ask for a memo", "メモを入力してもらう"},
	"admin.f.memomax":           {"Memo length limit (characters)", "メモの最大文字数"},
	"admin.f.categories":        {"Its categories, comma-separated (optional)", "カテゴリ（カンマ区切り・任意）"},
	"admin.f.policy":            {"When to propose it", "提案する条件"},
	"admin.f.base":              {"Base threshold (yen)", "基準しきい値（円）"},
	"admin.f.base.help":         {"Propose from this amount; each user's history moves it between the floor and the ceiling.", "この金額から提案します。利用者ごとの履歴で下限と上限の間を動きます。"},
	"admin.f.floor":             {"Floor (yen, optional; default a quarter of the base)", "下限（円・任意。既定は基準の1/4）"},
	"admin.f.ceiling":           {"Ceiling (yen, optional; default 32 × the base)", "上限（円・任意。既定は基準の32倍）"},
	"admin.f.merchants":         {"Shop categories it is about (none checked: all)", "対象の業種（未選択ならすべて）"},
	"admin.f.statement":         {"Receive the shops' later statement feed for linked users", "連携済みの利用者について、後日の明細フィードも受け取る"},
	"admin.f.enabled":           {"Enabled: proposed to users and receives messages", "有効（利用者に提案し、メッセージを受け取る）"},
	"admin.create":              {"Register", "登録する"},
	"admin.save":                {"Save", "保存する"},
	"admin.saved":               {"Saved.", "保存しました。"},
	"admin.created":             {"Registered %s.", "%sを登録しました。"},
	"admin.key":                 {"Partner API key", "パートナー API キー"},
	"admin.key.once":            {"Copy it now: it is shown only this once. The partner uses it as a bearer token to read its settings and messages.", "今すぐコピーしてください。このキーは今回しか表示されません。パートナーは Bearer トークンとして使い、設定とメッセージを読み出します。"},
	"admin.icon":                {"Icon", "アイコン"},
	"admin.icon.current":        {"Current icon", "現在のアイコン"},
	"admin.icon.file":           {"Icon image", "アイコン画像"},
	"admin.icon.help":           {"PNG, JPEG, WebP or GIF, at most 256 KiB; shown at 48 × 48 px.", "PNG・JPEG・WebP・GIF、256 KiB まで。48×48 px で表示されます。"},
	"admin.icon.upload":         {"Upload icon", "アイコンをアップロード"},
	"admin.icon.done":           {"Icon uploaded.", "アイコンを更新しました。"},
	"admin.icon.none":           {"Choose an image file to upload.", "アップロードする画像ファイルを選んでください。"},
	"admin.icon.big":            {"The file is too large: at most %d KiB can be uploaded here.", "ファイルが大きすぎます。ここでは %d KiB までアップロードできます。"},
	"admin.icon.type":           {"The file is not the %s image it claims to be. Upload a PNG, JPEG, WebP or GIF.", "ファイルの中身が %s 画像ではありません。PNG・JPEG・WebP・GIF をアップロードしてください。"},
	"admin.err.number":          {"%s: enter a whole number.", "%s：整数で入力してください。"},
	"admin.err.appcategory":     {"Give the app category, e.g. household_budget.", "アプリの種類を入力してください（例：household_budget）。"},
	"admin.err.floorceiling":    {"The floor must not be above the ceiling.", "下限は上限以下にしてください。"},
	"admin.deliveries.title":    {"Messages to related services", "連携サービスへのメッセージ"},
	"admin.deliveries.lead":     {"Each message as it is (or will be) sent, newest first.", "送信済み・送信予定のメッセージ（新しい順）。"},
	"admin.deliveries.empty":    {"No messages.", "メッセージはありません。"},
	"admin.filter.service":      {"Service", "サービス"},
	"admin.filter.status":       {"Status", "状態"},
	"admin.filter.all":          {"All", "すべて"},
	"admin.filter.apply":        {"Show", "表示"},
	"admin.d.payment":           {"Payment", "支払い"},
	"admin.d.source":            {"Kind", "種別"},
	"admin.d.seq":               {"Sequence", "連番"},
	"admin.older":               {"Older", "さらに前"},
	"dstatus.queued":            {"Queued", "送信待ち"},
	"dstatus.delivered":         {"Delivered", "送信済み"},
	"dstatus.failed":            {"Failed", "失敗"},
	"dstatus.canceled":          {"Canceled", "取消"},
	"source.selection":          {"tap", "タップ"},
	"source.link":               {"automatic link", "自動連携"},
	"source.statement":          {"statement feed", "明細フィード"},
	"admin.filter.payment":      {"Payment id", "支払いID"},
	"admin.endpoint":            {"Endpoint", "送信先"},
	"admin.secret":              {"Signing secret", "署名シークレット"},
	"admin.secret.help":         {"Renkei signs every message to this endpoint with its secret (whsec_…), so the partner can check that a message came from Renkei.", "Renkei はこの送信先へのメッセージをすべてシークレット（whsec_…）で署名します。パートナーはこれで Renkei からのメッセージであることを確認できます。"},
	"admin.secret.rotate":       {"Rotate signing secret", "署名シークレットを更新"},
	"admin.secret.rotate.help":  {"Makes a new secret. The old one stays valid for 24 hours, so the partner can switch without losing a message.", "新しいシークレットを発行します。古いシークレットも24時間は有効なので、パートナーはメッセージを失わずに切り替えられます。"},
	"admin.secret.rotated":      {"Made a new signing secret.", "新しい署名シークレットを発行しました。"},
	"admin.secret.once":         {"Copy it now and give it to the partner: it is shown only this once. The old secret stays valid for 24 hours, until %s; until then each message is signed with both.", "今すぐコピーしてパートナーに渡してください。今回しか表示されません。古いシークレットも24時間後の %s まで有効で、それまでは両方で署名します。"},
	"admin.secret.new":          {"Copy it now and give it to the partner: it is shown only this once. The partner checks each message's signature with it.", "今すぐコピーしてパートナーに渡してください。今回しか表示されません。パートナーはこれで各メッセージの署名を確認します。"},

	"health.failing":             {"Failing", "送信エラー"},
	"health.ok":                  {"Messages are being sent; no attempt is failing.", "メッセージを送信しています。失敗している送信はありません。"},
	"health.failing.text":        {"No attempt has succeeded since %s. Renkei keeps retrying, and turns the endpoint off if the failures go on.", "%s 以降、送信が一度も成功していません。再送を続けますが、失敗が続くと自動で無効になります。"},
	"health.failing.fix.admin":   {"Ask the partner to check its endpoint; each answer it gave is in the messages' attempts.", "パートナーに送信先の確認を依頼してください。各送信への応答はメッセージの送信記録で確認できます。"},
	"health.failing.fix.partner": {"Check that your endpoint answers with a 2xx status; each answer it gave is in the messages' attempts.", "送信先が 2xx のステータスで応答するか確認してください。各送信への応答はメッセージの送信記録で確認できます。"},
	"health.off":                 {"Turned off by the administrator: the service is not proposed to users and receives no messages.", "管理者が無効にしています。利用者への提案もメッセージの送信も行いません。"},
	"health.off.fix.admin":       {"To turn it on again, check “Enabled” in its settings and save.", "再開するには、設定で「有効」にチェックを入れて保存してください。"},
	"health.off.fix.partner":     {"Ask the Renkei administrator to turn it on again.", "再開するには Renkei の管理者に連絡してください。"},
	"health.gone":                {"Turned off automatically: the endpoint answered 410 Gone, which asks Renkei to stop sending.", "送信先が 410 Gone（送信停止の依頼）を返したため、自動で無効にしました。"},
	"health.failed":              {"Turned off automatically: every attempt failed from %s on, for too long.", "%s 以降の送信が長時間すべて失敗したため、自動で無効にしました。"},
	"health.auto":                {"Turned off automatically: %s", "自動で無効にしました（理由：%s）"},
	"health.last":                {"Last error: %s", "最後のエラー：%s"},
	"health.auto.fix.admin":      {"Once the endpoint works again, check “Enabled” in its settings and save, then resend its failed messages from Messages.", "送信先が復旧したら、設定で「有効」にチェックを入れて保存し、失敗したメッセージを「メッセージ」から再送してください。"},
	"health.auto.fix.partner":    {"Once your endpoint works again, ask the Renkei administrator to turn it on, then resend the failed messages from Messages.", "送信先が復旧したら Renkei の管理者に再開を依頼し、失敗したメッセージを「メッセージ」から再送してください。"},

	"login.title.partner": {"Log in as a partner", "パートナーとしてログイン"},
	"login.help.partner":  {"Paste your partner API key (rk_rsv_…), the one Renkei gave you when your service was registered.", "サービス登録時に Renkei から受け取ったパートナー API キー（rk_rsv_…）を貼り付けてください。"},
	"login.kind.partner":  {"This is not a partner API key (rk_rsv_…).", "これはパートナー API キー（rk_rsv_…）ではありません。"},

	"partner.title":     {"Your settings", "設定"},
	"partner.readonly":  {"Only the Renkei administrator can change these settings; ask them for a change.", "設定の変更は Renkei の管理者に依頼してください。"},
	"partner.endpoint":  {"Your endpoint", "送信先"},
	"partner.settings":  {"Settings of %s", "%sの設定"},
	"partner.statement": {"Statement feed", "明細フィード"},
	"partner.yes":       {"Received", "受け取る"},
	"partner.no":        {"Not received", "受け取らない"},
	"partner.created":   {"Registered", "登録日時"},
	"partner.messages":  {"See your messages", "メッセージを見る"},

	"deliveries.err.payment": {"A payment id starts with pay_, followed by 26 letters and digits.", "支払いIDは pay_ で始まり、英数字26文字が続きます。"},
	"page.next":              {"Next page", "次のページ"},
	"page.first":             {"First page", "最初のページ"},
	"delivery.title":         {"Message details", "メッセージの詳細"},
	"delivery.open":          {"Details and attempts", "詳細と送信記録"},
	"delivery.attempts":      {"Attempts", "送信回数"},
	"delivery.lasterror":     {"Last error", "最後のエラー"},
	"delivery.deliveredat":   {"Delivered at", "送信完了日時"},
	"delivery.body":          {"Message body", "メッセージ本文"},
	"delivery.log":           {"Attempts", "送信の記録"},
	"delivery.log.empty":     {"No attempt yet.", "まだ送信していません。"},
	"delivery.back":          {"All messages", "メッセージ一覧へ"},
	"att.n":                  {"#", "回"},
	"att.started":            {"Started", "開始"},
	"att.duration":           {"Duration (ms)", "所要時間（ミリ秒）"},
	"att.status":             {"HTTP status", "HTTPステータス"},
	"att.body":               {"Response (first bytes)", "応答（先頭部分）"},
	"att.error":              {"Error", "エラー"},
	"att.noanswer":           {"no answer", "応答なし"},
	"replay.button":          {"Send again", "再送する"},
	"replay.button.help":     {"It is sent with its original message id (webhook-id), so the endpoint can tell a repeat.", "元のメッセージID（webhook-id）のまま送るため、受信側で重複を判別できます。"},
	"replay.again":           {"Queued to be sent again, with its original message id.", "元のメッセージIDのまま再送を予約しました。"},
	"replay.notfailed":       {"Nothing was sent again: this message is “%s”, and only a failed message can be sent again.", "再送していません。このメッセージは「%s」です。再送できるのは失敗したメッセージだけです。"},
	"replay.since.title":     {"Resend failed messages", "失敗したメッセージの再送"},
	"replay.since.label":     {"Resend all failed since (%s)", "この日時以降の失敗をすべて再送（%s）"},
	"replay.since.help":      {"Every failed message created at or after this time is queued again, with its original message id.", "この日時以降に作成され、送信に失敗したメッセージを、元のメッセージIDのまま再送します。"},
	"replay.since.submit":    {"Resend failed messages", "失敗したメッセージを再送"},
	"replay.none":            {"No failed message was found since then; nothing was queued.", "該当する失敗したメッセージはなく、再送したものはありません。"},
	"replay.one":             {"Queued 1 failed message to be sent again.", "失敗したメッセージ 1 件を再送に回しました。"},
	"replay.many":            {"Queued %d failed messages to be sent again.", "失敗したメッセージ %d 件を再送に回しました。"},
	"replay.err.service":     {"Choose the service whose failed messages to resend.", "再送するサービスを選んでください。"},
	"replay.err.since":       {"Give the date and time to resend from.", "再送の起点となる日時を入力してください。"},
	"zone.name":              {"UTC", "日本時間"},

	"tz.title": {"Time zone", "タイムゾーン"},
	"tz.label": {"Show times in", "時刻の表示"},
	"tz.help":  {"Every page shows times in this zone, in either language. Now: %s.", "どの言語でも、すべての画面の時刻をこのタイムゾーンで表示します。現在：%s"},
	"tz.save":  {"Save time zone", "タイムゾーンを保存"},
	"tz.saved": {"Times are now shown in %s.", "時刻を %s で表示します。"},
	"tz.bad":   {"This is not a time zone Renkei knows. Choose one from the list.", "このタイムゾーンは使えません。一覧から選んでください。"},

	"copy":      {"Copy", "コピー"},
	"copy.done": {"Copied. It is not shown again.", "コピーしました。再表示はされません。"},
	"copy.fail": {"Could not copy: select the text and copy it.", "コピーできませんでした。文字列を選択してコピーしてください。"},

	"home.title":      {"Renkei", "Renkei"},
	"home.lead":       {"Pay with your phone, and send the payment to the apps you choose, the moment it completes.", "スマートフォンで支払い、その瞬間に、選んだアプリへ支払い情報を送れます。"},
	"home.app":        {"Wallet", "ウォレット"},
	"home.app.help":   {"for people who pay: balance, pay code, payments, linked apps", "支払う方へ：残高、支払いコード、支払い履歴、連携アプリ"},
	"home.shop":       {"Shop terminal", "店舗端末"},
	"home.shop.help":  {"for cashiers: charge a code, show a QR, refunds", "レジ担当の方へ：コードで請求、QR表示、返金"},
	"home.admin":      {"Admin", "管理"},
	"home.admin.help": {"for the operator: related services, deliveries", "運営者向け：連携サービス、配信状況"},
	"home.docs":       {"API", "API"},
	"home.docs.help":  {"for developers: the API reference (OpenAPI at /openapi.json)", "開発者向け：APIリファレンス（OpenAPI は /openapi.json）"},

	"err.title":         {"Something went wrong", "エラーが発生しました"},
	"err.notfound":      {"Page not found", "ページが見つかりません"},
	"err.notfound.body": {"There is nothing here, or it is not yours to see.", "ページが存在しないか、表示する権限がありません。"},
	"err.crosssite":     {"This form was sent from another site and was refused. Open the page again and retry.", "他のサイトから送信されたため受け付けませんでした。ページを開き直してもう一度お試しください。"},
	"err.form":          {"This form is out of date. Please try again.", "フォームの有効期限が切れています。もう一度お試しください。"},
	"err.internal":      {"Something went wrong on our side. Please try again later.", "システムでエラーが発生しました。しばらくしてからもう一度お試しください。"},
	"err.amount":        {"Enter the amount as a whole number of yen, at least 1 (1280 or 1,280).", "金額は1円以上の整数で入力してください（1280 または 1,280）。"},
	"err.amount.large":  {"This amount is above the limit of ¥100,000,000,000. Check the number of zeros.", "金額が上限（¥100,000,000,000）を超えています。桁数を確認してください。"},
	"err.home":          {"Go to the start page", "最初の画面へ"},
	"err.text":          {"The field “%s” holds something that is not text (a NUL character, or bytes that are not UTF-8). Remove it and try again.", "「%s」欄に文字として扱えないもの(NUL 文字や UTF-8 でないバイト)が含まれています。取り除いてからもう一度お試しください。"},
	"err.text.path":     {"The address of this page holds something that is not text (a NUL character, or bytes that are not UTF-8).", "このページのアドレスに文字として扱えないもの(NUL 文字や UTF-8 でないバイト)が含まれています。"},
}

// pageCategories names the merchant categories of renkei.MCCCategory.
var pageCategories = map[string][2]string{
	"groceries":         {"Groceries", "食料品"},
	"restaurants":       {"Restaurants", "飲食店"},
	"bars":              {"Bars", "バー・居酒屋"},
	"pharmacies":        {"Pharmacies", "薬局"},
	"sporting_goods":    {"Sporting goods", "スポーツ用品"},
	"books":             {"Books", "書籍"},
	"stationery":        {"Stationery", "文房具"},
	"retail":            {"Retail", "小売"},
	"department_stores": {"Department stores", "百貨店"},
	"variety_stores":    {"Variety stores", "雑貨店"},
	"clothing":          {"Clothing", "衣料品"},
	"electronics":       {"Electronics", "電子機器"},
	"transit":           {"Transit", "交通"},
	"taxis":             {"Taxis", "タクシー"},
	"airlines":          {"Airlines", "航空"},
	"fuel":              {"Fuel", "燃料"},
	"hotels":            {"Hotels", "宿泊"},
	"cinemas":           {"Cinemas", "映画館"},
	"hospitals":         {"Hospitals", "病院"},
	"home_supply":       {"Home supplies", "ホームセンター"},
	"appliances":        {"Appliances", "家電"},
	"cosmetics":         {"Cosmetics", "化粧品"},
	"beauty":            {"Beauty", "美容"},
	"education":         {"Education", "教育"},
	"utilities":         {"Utilities", "公共料金"},
}

// Category names a merchant category in the page's language.
func (l lang) Category(c string) string {
	if n, ok := pageCategories[c]; ok {
		if l == langJA {
			return n[1]
		}
		return n[0]
	}
	return strings.ReplaceAll(c, "_", " ")
}

// Scopes says a service's scopes in plain words, joined for the language.
func (l lang) Scopes(scopes []string) string {
	words := make([]string, 0, len(scopes))
	for _, s := range scopes {
		words = append(words, l.T("scope."+s))
	}
	return strings.Join(words, l.T("list.sep"))
}

// Status names a payment status.
func (l lang) Status(s string) string { return l.T("status." + s) }

// side says who reads an error: the payer or the cashier. Some Japanese
// sentences differ by reader, as the English ones from the store do.
type side int

const (
	sidePayer side = iota
	sideShop
)

// reasonText says one reason code in both languages, to the payer and
// to the cashier: en[side], ja[side]. A sentence names the error's Params
// as {name}; one the error does not carry makes the English fall back to
// the domain's Message and the Japanese to plain, which names none.
type reasonText struct {
	en, ja, plain [2]string
}

// both is the same sentence for the payer and the cashier.
func both(s string) [2]string { return [2]string{s, s} }

// reasonTexts is every reason code of renkei.Reasons in English and
// Japanese. Pages say a refused request from its code and parameters,
// never by recognising the English sentence.
var reasonTexts = map[string]reasonText{
	renkei.ReasonInsufficientBalance: {
		en: [2]string{"Your wallet balance is too low for this payment. Top up and scan again.", "The customer's wallet balance is too low for this payment."},
		ja: [2]string{"残高が足りません。チャージしてからもう一度お試しください。", "お客様のウォレット残高が足りません。"}},
	renkei.ReasonCodeExpired: {
		en: [2]string{"This pay code has expired. Show a new code.", "This pay code has expired. Ask the customer to show a fresh code."},
		ja: [2]string{"この支払いコードは有効期限が切れています。新しいコードを表示してください。", "この支払いコードは有効期限が切れています。お客様に新しいコードを表示してもらってください。"}},
	renkei.ReasonCodeUsed: {
		en: [2]string{"This pay code was already used. Show a new code.", "This pay code was already used. Ask the customer to show a fresh code."},
		ja: [2]string{"この支払いコードは使用済みです。新しいコードを表示してください。", "この支払いコードは使用済みです。お客様に新しいコードを表示してもらってください。"}},
	renkei.ReasonCurrencyMismatch: {
		en:    [2]string{"You have no {currency} wallet to pay this in.", "The customer's code pays in {wallet} but the charge is in {currency}."},
		ja:    [2]string{"{currency} のウォレットがありません。", "お客様のコードは {wallet}、請求は {currency} で、通貨が異なります。"},
		plain: [2]string{"この通貨のウォレットがありません。", "お客様のコードと請求の通貨が異なります。"}},
	renkei.ReasonMerchantDisabled: {
		en: both("The merchant {merchant} is disabled and cannot take payments."),
		ja: [2]string{"このお店は現在支払いを受け付けていません。", "この加盟店は現在支払いを受け付けできません。"}},
	renkei.ReasonRequestExpired: {
		en: [2]string{"This payment request has expired. Ask the shop for a new QR code.", "This payment request has expired. Create a new QR code."},
		ja: [2]string{"この支払いリクエストは期限切れです。お店に新しいQRコードを表示してもらってください。", "この支払いリクエストは期限切れです。新しいQRコードを作成してください。"}},
	renkei.ReasonAmountTooLarge: {
		en: both("The amount is above the limit of 100000000000 per payment, top-up or refund."),
		ja: both("金額が上限（¥100,000,000,000）を超えています。")},
	renkei.ReasonUnknownPayCode: {
		en: [2]string{"This pay code is not valid.", "This pay code is not valid. Ask the customer to show a fresh code."},
		ja: [2]string{"この支払いコードは無効です。", "この支払いコードは無効です。お客様に新しいコードを表示してもらってください。"}},
	renkei.ReasonIdempotencyKeyReused: {
		en: both("This form was already sent with other values. Open the page again."),
		ja: both("このフォームはすでに別の内容で送信されています。ページを開き直してください。")},
	renkei.ReasonNotProposed: {
		en: both("That app was not proposed for this payment."),
		ja: both("このアプリはこの支払いには提案されていません。")},
	renkei.ReasonAlreadySelected: {
		en: both("You already chose this app for this payment."),
		ja: both("この支払いでは、このアプリをすでに選んでいます。")},
	renkei.ReasonPaymentNotSendable: {
		en: both("Only a completed payment can be sent to an app."),
		ja: both("アプリに送れるのは完了した支払いだけです。")},
	renkei.ReasonServiceUnavailable: {
		en: both("{service} is not taking payments right now."),
		ja: both("{service}は現在受け付けていません。"), plain: both("このアプリは現在受け付けていません。")},
	renkei.ReasonAlreadySent: {
		en: both("{service} already has this payment."),
		ja: both("{service}にはこの支払いを送信済みです。"), plain: both("このアプリにはこの支払いを送信済みです。")},
	renkei.ReasonMemoNotAccepted: {
		en: both("{service} does not take a memo."),
		ja: both("{service}はメモを受け付けていません。"), plain: both("このアプリはメモを受け付けていません。")},
	renkei.ReasonMemoTooLong: {
		en: both("The memo has {length} characters; {service} takes at most {max}."),
		ja: both("メモは{max}文字までです（入力は{length}文字）。"), plain: both("メモが長すぎます。")},
	renkei.ReasonUnknownCategory: {
		en: both(`"{category}" is not one of {service}'s categories.`),
		ja: both("「{category}」は{service}のカテゴリにありません。一覧から選んでください。"), plain: both("カテゴリは一覧から選んでください。")},
	renkei.ReasonAlreadyLinked: {
		en: both("You are already linked to {service}; change or end that link instead."),
		ja: both("このアプリとはすでに連携しています。その連携を変更するか、解除してください。")},
	renkei.ReasonNotLinking: {
		en: both("{service} is not taking new links right now."),
		ja: both("このアプリは現在、新しい連携を受け付けていません。")},
}

// reasonSentence says e from its reason code and parameters in l, to
// who; ok is false for a reason without a sentence.
func (l lang) reasonSentence(e *renkei.Error, who side) (string, bool) {
	t, ok := reasonTexts[e.Reason]
	if !ok {
		return "", false
	}
	tmpl := t.en[who]
	if l == langJA {
		tmpl = t.ja[who]
	}
	if s, ok := fillParams(tmpl, e.Params); ok {
		return s, true
	}
	if l == langJA && t.plain[who] != "" {
		return t.plain[who], true
	}
	return e.Message, e.Message != ""
}

// fillParams puts params into the {name}s of tmpl; ok is false if one is
// missing.
func fillParams(tmpl string, params map[string]string) (string, bool) {
	var b strings.Builder
	for {
		i := strings.IndexByte(tmpl, '{')
		if i < 0 {
			b.WriteString(tmpl)
			return b.String(), true
		}
		j := strings.IndexByte(tmpl[i:], '}')
		if j < 0 {
			b.WriteString(tmpl)
			return b.String(), true
		}
		v, ok := params[tmpl[i+1:i+j]]
		if !ok {
			return "", false
		}
		b.WriteString(tmpl[:i])
		b.WriteString(v)
		tmpl = tmpl[i+j+1:]
	}
}

// ErrorText is the sentence a person sees for err, in l: a reason code's
// sentence with the error's parameters; otherwise renkei.ErrorMessage in
// English and, in Japanese, a sentence by error code and field.
func (l lang) ErrorText(err error, who side) string {
	var re *renkei.Error
	if errors.As(err, &re) && re.Code != renkei.EINTERNAL {
		if s, ok := l.reasonSentence(re, who); ok {
			return s
		}
	}
	if l == langJA {
		var e *renkei.Error
		if errors.As(err, &e) {
			switch e.Code {
			case renkei.ERATELIMIT:
				return "失敗が続いたため、1分ほど待ってからお試しください。"
			case renkei.EINTERNAL:
				return l.T("err.internal")
			}
			if e.Code == renkei.EINVALID && len(e.Fields) > 0 {
				switch e.Fields[0].Location {
				case "body.code":
					return "支払いコードが正しくありません。20桁の数字を確認して、もう一度入力してください。"
				case "body.qr_payload":
					return "RenkeiのQRコードではありません。お店のQRコードをもう一度読み取ってください。"
				case "body.amount":
					return "金額が正しくありません。返金額は返金できる残りの金額以下にしてください。"
				}
			}
			if e.Code == renkei.ECONFLICT && e.Reason == "" {
				if who == sidePayer {
					return "このQRコードは使用済みか期限切れです。お店に新しいQRコードを表示してもらってください。"
				}
				return "この取引は現在の状態では処理できません（全額返金済みなど）。"
			}
		} else {
			return l.T("err.internal")
		}
	}
	if renkei.ErrorCode(err) == renkei.EINTERNAL {
		return l.T("err.internal")
	}
	return renkei.ErrorMessage(err)
}

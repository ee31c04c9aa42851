package http

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/renkei/renkei"
)

// The memo after the fact: on a payment's page the payer can change the
// memo and category that the apps which received the payment keep. The
// edit goes to each of them as payment.annotated with the payment's id.

// noteMessages are the sentences of the memo form and of the completion
// card's delivery states; they join pageMessages at start.
var noteMessages = map[string][2]string{
	"note.title":    {"Memo", "メモ"},
	"note.lead":     {"Change the memo and category that %s keeps for this payment.", "%s に記録されたこの支払いのメモとカテゴリを変更できます。"},
	"note.memo":     {"Memo", "メモ"},
	"note.save":     {"Save memo", "メモを保存"},
	"note.saved":    {"Memo saved. It is on its way to %s.", "メモを保存しました。%s に送信しています。"},
	"note.notsent":  {"No app that takes a memo has received this payment.", "この支払いを受け取った、メモを使うアプリはありません。"},
	"note.memo.max": {"A memo has at most %d characters (this one has %d).", "メモは%d文字までです（入力は%d文字）。"},
	"note.category": {"“%s” is not a category you can choose here. Pick one from the list.", "「%s」は選べるカテゴリにありません。一覧から選んでください。"},

	"prop.retrying":  {"%s did not answer yet. Renkei tries again by itself; nothing for you to do.", "%s からまだ応答がありません。自動で再送するので、操作は不要です。"},
	"prop.failed.to": {"%s could not be reached after several tries, and Renkei has stopped trying. %s can have it sent again; your memo is kept.", "%s に何度か送りましたが届かず、自動の再送は終了しました。%s 側から再送できます（メモはそのまま残ります）。"},
	"prop.canceled":  {"Not sent: you unlinked %s before it went.", "%s との連携を解除したため送信していません。"},

	"pay.declined":    {"The payment did not go through.", "支払いできませんでした。"},
	"pay.stillvalid":  {"This code is still valid: the shop can charge it again.", "このコードはまだ有効です。お店でもう一度読み取ってもらえます。"},
	"pay.topup":       {"Top up %s", "%s チャージ"},
	"pay.toppedup":    {"Topped up. Your balance is now %s. Ask the shop to charge the code again.", "チャージしました。残高は %s です。お店でもう一度コードを読み取ってもらってください。"},
	"pay.topup.other": {"Top up at your bank or a store, then ask the shop to charge the code again.", "銀行やお店でチャージしてから、もう一度コードを読み取ってもらってください。"},
	"done.topup":      {"Top up and pay again", "チャージしてもう一度支払う"},
}

func init() {
	for k, v := range noteMessages {
		if _, dup := pageMessages[k]; dup {
			panic("http: message " + k + " defined twice")
		}
		pageMessages[k] = v
	}
}

// noteForm is the memo form on a payment's page.
type noteForm struct {
	Action   string
	Key      string
	Services string // the receiving apps' names, for the lead sentence
	// MemoMax is the memo limit (the smallest of the apps that take a
	// memo); 0 when none takes one.
	MemoMax    int
	Categories []string // the categories every app with categories has
	// Labels names those categories for the page: the first receiving
	// app's labels (the codes are what the apps receive).
	Labels     renkei.InputFields
	Memo       string
	Category   string
	Error      string
	ErrorField string // memo or category
	Saved      string // the sentence after a save
}

// noteForm makes the memo form of a payment, or nil when no app that
// takes a memo or a category has received it. ce carries a refused edit.
func (s *Server) noteForm(pr *pageReq, pay *renkei.Payment, ce *cardError) *noteForm {
	l := pr.view.L
	n, err := s.Services.PaymentNote(pr.ctx, pr.p.ID, pay.ID)
	if err != nil {
		s.Log.ErrorContext(pr.ctx, "payment page: read memo", "payment", pay.ID, "err", err)
		return nil
	}
	if len(n.Services) == 0 {
		return nil
	}
	f := &noteForm{Action: "/app/payments/" + pay.ID + "/memo", Key: newFormKey(), Memo: n.Memo, Category: n.Category}
	f.MemoMax, f.Categories = noteLimits(n)
	var names []string
	for _, sc := range n.Services {
		names = append(names, sc.Name)
		for code, label := range sc.Input.CategoryLabels {
			if _, ok := f.Labels.CategoryLabels[code]; !ok {
				if f.Labels.CategoryLabels == nil {
					f.Labels.CategoryLabels = map[string]renkei.Localized{}
				}
				f.Labels.CategoryLabels[code] = label
			}
		}
	}
	f.Services = strings.Join(names, l.T("list.sep"))
	if ce != nil && ce.Note {
		f.Memo, f.Category, f.Error, f.ErrorField = ce.Memo, ce.Category, ce.Message, ce.Field
	} else if pr.r.URL.Query().Get("memo") == "saved" {
		f.Saved = l.T("note.saved", f.Services)
	}
	return f
}

// noteLimits is what an edit may hold so that every receiving app takes
// it: the smallest memo limit of the apps that take a memo (0 if none
// does), and the categories common to the apps that have categories.
func noteLimits(n *renkei.PaymentNote) (memoMax int, cats []string) {
	first := true
	for _, sc := range n.Services {
		if sc.Input.Memo && (memoMax == 0 || sc.Input.MemoMaxLen < memoMax) {
			memoMax = sc.Input.MemoMaxLen
		}
		if len(sc.Input.Categories) == 0 {
			continue
		}
		if first {
			cats, first = slices.Clone(sc.Input.Categories), false
			continue
		}
		cats = slices.DeleteFunc(cats, func(c string) bool { return !slices.Contains(sc.Input.Categories, c) })
	}
	return memoMax, cats
}

// appNote saves the payer's memo edit under the form's idempotency key (a
// double tap or a reload sends it once) and shows the payment again.
func (s *Server) appNote(pr *pageReq) {
	id := pr.r.PathValue("id")
	in := renkei.AnnotateInput{Memo: strings.TrimSpace(pr.r.PostFormValue("memo")), Category: pr.r.PostFormValue("category")}
	if !renkei.HasPrefix(id, renkei.PrefixPayment) {
		pr.notFound(s)
		return
	}
	key, err := formKey(pr.r)
	if err == nil {
		var ctx = pr.ctx
		ctx, _, err = withIdempotency(ctx, pr.p, "page-annotate:"+id, key, in)
		if err == nil {
			_, err = s.Services.Annotate(ctx, pr.p.ID, id, in)
		}
	}
	switch {
	case err == nil:
		http.Redirect(pr.w, pr.r, "/app/payments/"+id+"?memo=saved#memo", http.StatusSeeOther)
	case errors.Is(err, errPageFormExpired):
		s.renderCompletion(pr, http.StatusUnprocessableEntity, id, &cardError{Note: true, Message: pr.view.L.T("err.form"),
			Memo: in.Memo, Category: in.Category})
	case renkei.ErrorCode(err) == renkei.ENOTFOUND:
		pr.notFound(s)
	default:
		memoMax := 0
		if n, nerr := s.Services.PaymentNote(pr.ctx, pr.p.ID, id); nerr == nil {
			memoMax, _ = noteLimits(n)
		}
		msg, field := noteErrorText(pr.view.L, err, in, memoMax)
		s.renderCompletion(pr, s.errStatus(pr.ctx, err), id, &cardError{Note: true, Message: msg, Field: field,
			Memo: in.Memo, Category: in.Category})
	}
}

// noteErrorText is the sentence for a refused edit and the field at
// fault, in the page's language.
func noteErrorText(l lang, err error, in renkei.AnnotateInput, memoMax int) (msg, field string) {
	var e *renkei.Error
	if !errors.As(err, &e) {
		return l.ErrorText(err, sidePayer), ""
	}
	loc := ""
	if len(e.Fields) > 0 {
		loc = e.Fields[0].Location
	}
	switch {
	case e.Reason == "not_received":
		return l.T("note.notsent"), ""
	case loc == "body.category":
		return l.T("note.category", in.Category), "category"
	case loc == "body.memo" && memoMax > 0 && len([]rune(in.Memo)) > memoMax:
		return l.T("note.memo.max", memoMax, len([]rune(in.Memo))), "memo"
	case loc == "body.memo":
		return e.Message, "memo"
	}
	return l.ErrorText(err, sidePayer), ""
}

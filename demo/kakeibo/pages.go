package kakeibo

import (
	"cmp"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/renkei/renkei/demo/internal/app"
)

//go:embed templates/*.html
var templateFS embed.FS

var pageTmpl = template.Must(template.ParseFS(templateFS, "templates/*.html"))

// messages are the page's words in English and Japanese.
var messages = map[string]map[string]string{
	"en": {
		"title": "Kakeibo", "tagline": "household account book", "totals": "By category",
		"total": "Total", "entries": "Entries", "none": "No entries this month.",
		"all_users": "all users", "prev": "‹ prev", "next": "next ›",
		"realtime": "real time at %s", "after": "%s s after payment",
		"statement": "from statement at %s", "confirmed": "confirmed by statement at %s",
		"late_memo": "real-time message (memo) arrived at %s", "refund": "refund", "refund_of": "Refund: %s",
		"stated": "confirmed by statement", "month": "January 2006", "no_memo": "(no memo)",
		"food": "food", "daily": "daily", "transport": "transport", "hobby": "hobby", "other": "other",
		"uncategorized": "uncategorized",
	},
	"ja": {
		"title": "家計簿", "tagline": "Kakeibo", "totals": "カテゴリ別",
		"total": "合計", "entries": "明細", "none": "この月の記録はありません。",
		"all_users": "全員", "prev": "‹ 前月", "next": "翌月 ›",
		"realtime": "リアルタイム受信 %s", "after": "決済から%s秒",
		"statement": "明細から記帳 %s", "confirmed": "明細で照合済み %s",
		"late_memo": "リアルタイム受信（メモ） %s", "refund": "返金", "refund_of": "返金：%s",
		"stated": "明細で照合済み", "month": "2006年1月", "no_memo": "（メモなし）",
		"food": "食費", "daily": "日用品", "transport": "交通費", "hobby": "趣味", "other": "その他",
		"uncategorized": "未分類",
	},
}

// monthPage is the data of the month view.
type monthPage struct {
	zone       *time.Location
	Lang       string
	Month      string
	MonthLabel string
	Prev, Next string
	User       string
	Users      []string
	Totals     []totalRow
	Sums       []string
	Entries    []entryRow
	words      map[string]string
}

// T returns the page's word for key.
func (p *monthPage) T(key string) string {
	if w, ok := p.words[key]; ok {
		return w
	}
	return key
}

type totalRow struct {
	Category string
	Amount   string
	Count    int
	Pct      int // share of the largest spending, for the bar
}

type entryRow struct {
	Date     string
	Memo     string
	Category string
	Merchant string
	MCat     string
	Amount   string
	Negative bool
	Reversal bool
	Stated   bool
	How      []string
}

// handleMonth renders GET /: one month of the book.
func (s *Server) handleMonth(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	month, err := parseMonth(q.Get("month"), s.Now(), s.Zone)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	user := q.Get("user")
	all, err := s.monthEntries(r.Context(), month, "")
	if err != nil {
		s.Log.Error("kakeibo: month page: " + err.Error())
		http.Error(w, "could not read the account book", http.StatusInternalServerError)
		return
	}
	l := app.Lang(r)
	p := &monthPage{Lang: l, words: messages[l], User: user, zone: s.Zone,
		Month: month.Format("2006-01"),
		Prev:  month.AddDate(0, -1, 0).Format("2006-01"), Next: month.AddDate(0, 1, 0).Format("2006-01")}
	p.MonthLabel = month.Format(p.T("month"))
	var entries []Entry
	for _, e := range all {
		if !slices.Contains(p.Users, e.User) {
			p.Users = append(p.Users, e.User)
		}
		if user == "" || e.User == user {
			entries = append(entries, e)
		}
	}
	slices.Sort(p.Users)
	p.fill(entries)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := pageTmpl.ExecuteTemplate(w, "month.html", p); err != nil {
		s.Log.Error("kakeibo: render month page: " + err.Error())
	}
}

// fill turns entries into the page's rows and totals.
func (p *monthPage) fill(entries []Entry) {
	ts := totals(entries)
	var largest int64
	sums := map[string]int64{}
	var currencies []string
	for _, t := range ts {
		largest = max(largest, t.Amount)
		if _, ok := sums[t.Currency]; !ok {
			currencies = append(currencies, t.Currency)
		}
		sums[t.Currency] += t.Amount
	}
	for _, t := range ts {
		row := totalRow{Category: p.category(t.Category), Amount: app.Money(t.Amount, t.Currency), Count: t.Count}
		if largest > 0 && t.Amount > 0 {
			row.Pct = int(t.Amount * 100 / largest)
		}
		p.Totals = append(p.Totals, row)
	}
	for _, c := range currencies {
		p.Sums = append(p.Sums, app.Money(sums[c], c))
	}
	memos := map[string]string{}
	for _, e := range entries {
		if e.RefundID == "" {
			memos[e.PaymentID] = e.Memo
		}
	}
	for _, e := range entries {
		row := entryRow{
			Date:     e.BookedAt.In(p.zone).Format("01/02 15:04"),
			Memo:     e.Memo,
			Category: p.category(e.Category),
			Merchant: e.Merchant,
			MCat:     e.MerchantCategory,
			Reversal: e.RefundID != "",
			Stated:   e.ConfirmedByStatement,
		}
		if row.Reversal {
			// A reversal has no memo of its own: name what it reverses.
			row.Memo = cmp.Or(memos[e.PaymentID], e.Merchant)
			if row.Memo != "" {
				row.Memo = fmt.Sprintf(p.T("refund_of"), row.Memo)
			} else {
				row.Memo = p.T("refund")
			}
		}
		if e.Amount != nil {
			row.Amount, row.Negative = app.Money(*e.Amount, e.Currency), *e.Amount < 0
		}
		row.How = p.how(e)
		p.Entries = append(p.Entries, row)
	}
}

// how says how an entry arrived: the heart of the demo (claims 1 and 9).
func (p *monthPage) how(e Entry) []string {
	var how []string
	switch e.Source {
	case SourceRealtime:
		s := fmt.Sprintf(p.T("realtime"), e.ReceivedAt.In(p.zone).Format("15:04:05.000"))
		if e.RefundID == "" && e.CompletedAt != nil && !e.ReceivedAt.Before(*e.CompletedAt) && e.ReceivedAt.Sub(*e.CompletedAt) < time.Hour {
			s += " (" + fmt.Sprintf(p.T("after"), strconv.FormatFloat(e.ReceivedAt.Sub(*e.CompletedAt).Seconds(), 'f', 3, 64)) + ")"
		}
		how = append(how, s)
		if e.StatementAt != nil {
			how = append(how, fmt.Sprintf(p.T("confirmed"), e.StatementAt.In(p.zone).Format("01/02 15:04:05")))
		}
	case SourceStatement:
		how = append(how, fmt.Sprintf(p.T("statement"), e.ReceivedAt.In(p.zone).Format("01/02 15:04:05")))
		if e.RealtimeAt != nil {
			how = append(how, fmt.Sprintf(p.T("late_memo"), e.RealtimeAt.In(p.zone).Format("01/02 15:04:05.000")))
		}
	}
	return how
}

// category is the label of a category; "" is uncategorized.
func (p *monthPage) category(c string) string {
	if c == "" {
		return p.T("uncategorized")
	}
	return p.T(c)
}

// handleEntries serves GET /api/entries?payment_id=… or ?month=…
// (&user=…) as an EntryList.
func (s *Server) handleEntries(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var list EntryList
	var err error
	if pid := q.Get("payment_id"); pid != "" {
		list.Entries, err = s.paymentEntries(r.Context(), pid)
	} else {
		month, perr := parseMonth(q.Get("month"), s.Now(), s.Zone)
		if perr != nil {
			app.WriteJSON(w, http.StatusBadRequest, app.Problem{Title: "Bad month", Status: http.StatusBadRequest, Detail: perr.Error()})
			return
		}
		list.Month, list.User = month.Format("2006-01"), q.Get("user")
		list.Entries, err = s.monthEntries(r.Context(), month, list.User)
		if err == nil {
			list.Totals = totals(list.Entries)
		}
	}
	if err != nil {
		s.Log.Error("kakeibo: api entries: " + err.Error())
		app.WriteJSON(w, http.StatusInternalServerError, app.Problem{Title: "Internal error", Status: http.StatusInternalServerError,
			Detail: "could not read the account book"})
		return
	}
	app.WriteJSON(w, http.StatusOK, list)
}

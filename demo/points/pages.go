package points

import (
	"database/sql"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/renkei/renkei/demo/internal/app"
)

//go:embed templates/*.html
var templateFS embed.FS

var pageTmpl = template.Must(template.ParseFS(templateFS, "templates/*.html"))

// recentPerUser is how many moves the page lists under each user.
const recentPerUser = 5

// messages are the page's words in English and Japanese.
var messages = map[string]map[string]string{
	"en": {
		"title": "Points", "rule": "1 point per ¥100; double at groceries, restaurants and books.",
		"balances": "Balances", "none": "No points yet.", "pt": "pt", "award": "earned", "revoke": "refund",
		"payments": "%d payments", "payments_one": "1 payment",
	},
	"ja": {
		"title": "ポイント", "rule": "100円ごとに1ポイント。食品・飲食店・書店は2倍。",
		"balances": "残高", "none": "まだポイントはありません。", "pt": "pt", "award": "獲得", "revoke": "返金",
		"payments": "%d件の決済", "payments_one": "1件の決済",
	},
}

// homePage is the data of GET /.
type homePage struct {
	Lang  string
	Users []userRow
	words map[string]string
}

// T returns the page's word for key.
func (p *homePage) T(key string) string {
	if w, ok := p.words[key]; ok {
		return w
	}
	return key
}

type userRow struct {
	User     string
	Points   string
	Payments string
	Recent   []moveRow
}

type moveRow struct {
	When     string
	Kind     string
	Points   string
	Negative bool
	Detail   string
}

// handleHome renders GET /: each user's balance and latest moves.
func (s *Server) handleHome(w http.ResponseWriter, r *http.Request) {
	l := app.Lang(r)
	p := &homePage{Lang: l, words: messages[l]}
	bals, err := s.balances(r.Context())
	if err == nil {
		err = p.fill(s, r, bals)
	}
	if err != nil {
		s.Log.Error("points: home page: " + err.Error())
		http.Error(w, "could not read the points", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := pageTmpl.ExecuteTemplate(w, "home.html", p); err != nil {
		s.Log.Error("points: render home page: " + err.Error())
	}
}

// fill adds a row per user with their latest moves.
func (p *homePage) fill(s *Server, r *http.Request, bals []Balance) error {
	for _, b := range bals {
		row := userRow{User: b.User, Points: app.Group(b.Points) + " " + p.T("pt"), Payments: fmt.Sprintf(p.T("payments"), b.Payments)}
		if b.Payments == 1 {
			row.Payments = p.T("payments_one")
		}
		// A revocation shows its refund's amount, an award its payment's.
		rows, err := s.DB.QueryContext(r.Context(), `SELECT m.kind, m.points, m.at, COALESCE(r.amount, p.amount), p.currency,
				p.merchant_category, p.multiplier
			FROM moves m JOIN payments p ON p.payment_id = m.payment_id
			LEFT JOIN refunds r ON r.refund_id = m.refund_id AND m.refund_id <> ''
			WHERE m.user = ? ORDER BY m.id DESC LIMIT ?`, b.User, recentPerUser)
		if err != nil {
			return fmt.Errorf("recent moves of %s: %w", b.User, err)
		}
		for rows.Next() {
			var (
				kind, currency, mcat string
				pts, at, mult        int64
				amount               sql.NullInt64
			)
			if err := rows.Scan(&kind, &pts, &at, &amount, &currency, &mcat, &mult); err != nil {
				rows.Close()
				return fmt.Errorf("recent moves of %s: %w", b.User, err)
			}
			mr := moveRow{When: time.UnixMicro(at).In(s.Zone).Format("01/02 15:04"), Kind: p.T(kind),
				Points: app.Group(pts) + " " + p.T("pt"), Negative: pts < 0}
			if pts >= 0 {
				mr.Points = "+" + mr.Points
			}
			var parts []string
			if amount.Valid {
				parts = append(parts, app.Money(amount.Int64, currency))
			}
			if mcat != "" {
				parts = append(parts, mcat)
			}
			if mult > 1 {
				parts = append(parts, "×"+strconv.FormatInt(mult, 10))
			}
			mr.Detail = strings.Join(parts, " · ")
			row.Recent = append(row.Recent, mr)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("recent moves of %s: %w", b.User, err)
		}
		p.Users = append(p.Users, row)
	}
	return nil
}

// maxList bounds GET /api/points without ?payment_id=.
const maxList = 100

// handlePoints serves GET /api/points?payment_id=… (that payment, or an
// empty list), ?user=… (that user's latest payments) or neither (the
// latest payments) as a PaymentList.
func (s *Server) handlePoints(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	pays, err := s.payments(r.Context(), q.Get("payment_id"), q.Get("user"), maxList)
	if err != nil {
		s.Log.Error("points: api points: " + err.Error())
		app.WriteJSON(w, http.StatusInternalServerError, app.Problem{Title: "Internal error", Status: http.StatusInternalServerError,
			Detail: "could not read the points"})
		return
	}
	app.WriteJSON(w, http.StatusOK, PaymentList{Points: pays})
}

// handleBalances serves GET /api/balances as a BalanceList.
func (s *Server) handleBalances(w http.ResponseWriter, r *http.Request) {
	bals, err := s.balances(r.Context())
	if err != nil {
		s.Log.Error("points: api balances: " + err.Error())
		app.WriteJSON(w, http.StatusInternalServerError, app.Problem{Title: "Internal error", Status: http.StatusInternalServerError,
			Detail: "could not read the balances"})
		return
	}
	app.WriteJSON(w, http.StatusOK, BalanceList{Balances: bals})
}

package app

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Lang picks "ja" or "en" for a page: ?lang= first, then the
// Accept-Language preference with the highest q.
func Lang(r *http.Request) string {
	if l := r.URL.Query().Get("lang"); l == "ja" || l == "en" {
		return l
	}
	best, bestQ := "en", 0.0
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		base, _, _ := strings.Cut(strings.ToLower(tag), "-")
		if (base == "ja" || base == "en") && q > bestQ {
			best, bestQ = base, q
		}
	}
	return best
}

// Money formats minor units with a real minus sign: ¥12,800 for yen,
// "KRW 12,800" for other zero-digit currencies, "USD 12.34" otherwise.
func Money(amount int64, currency string) string {
	sign := ""
	if amount < 0 {
		sign, amount = "−", -amount
	}
	switch currency {
	case "JPY":
		return sign + "¥" + Group(amount)
	case "KRW", "VND", "CLP", "ISK", "":
		return sign + currency + " " + Group(amount)
	}
	return fmt.Sprintf("%s%s %s.%02d", sign, currency, Group(amount/100), amount%100)
}

// Group writes n with thousands separators and a real minus sign.
func Group(n int64) string {
	sign := ""
	if n < 0 {
		sign, n = "−", -n
	}
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return sign + b.String()
}

// Problem is an RFC 9457 problem detail.
type Problem struct {
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
}

// WriteJSON answers with v as indented JSON (problem+json for a Problem).
func WriteJSON(w http.ResponseWriter, status int, v any) {
	if _, ok := v.(Problem); ok {
		w.Header().Set("Content-Type", "application/problem+json")
	} else {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

package policy_test

import (
	"fmt"
	"time"

	"github.com/renkei/renkei/policy"
)

// A ¥12,800 dinner and four related services: which apps does the
// completion screen offer, and why?
func ExampleDecide() {
	now := time.Date(2025, 6, 1, 20, 0, 0, 0, time.UTC)
	pay := policy.Payment{
		ID: "pay_01", Amount: 12800, Currency: "JPY", MerchantCategory: "restaurants",
		Fields: []string{"amount", "merchant_name", "merchant_category", "time", "method"},
	}
	yen := func(v int64) map[string]int64 { return map[string]int64{"JPY": v} }
	cands := []policy.Candidate{
		{ // a household account book the user records most payments in
			Service: policy.Service{ID: "rsv_kakeibo", Name: "Kakeibo", Enabled: true, BaseThreshold: yen(5000),
				RequiredFields: []string{"amount"}, Scopes: []string{"amount", "merchant_name", "time"}},
			History: policy.History{Shown: 20, Selected: 18, LastSelected: now.Add(-48 * time.Hour)},
		},
		{ // a restaurant points programme the user has never been shown
			Service: policy.Service{ID: "rsv_points", Name: "Gourmet Points", Enabled: true, BaseThreshold: yen(1000),
				Categories: []string{"restaurants", "cafes"}},
		},
		{ // an expense tool that already receives every payment
			Service: policy.Service{ID: "rsv_expense", Name: "Expensy", Enabled: true, BaseThreshold: yen(0)},
			Link:    &policy.Link{Active: true, Auto: true},
		},
		{ // an investment round-up the user dismissed five times in a row
			Service: policy.Service{ID: "rsv_roundup", Name: "Round-up", Enabled: true, BaseThreshold: yen(3000)},
			History: policy.History{Shown: 5, Dismissed: 5, DismissStreak: 5},
		},
	}
	ds := policy.Decide(pay, cands, policy.Options{Now: now})
	for _, d := range ds {
		fmt.Printf("%-12s rank %d  %-16s %s\n", d.ServiceID, d.Rank, d.Reason.Code, d.Reason.Text("en"))
	}
	fmt.Println(ds[0].Reason.Text("ja"))
	// Output:
	// rsv_kakeibo  rank 2  over_threshold   Suggested because ¥12,800 is over your ¥1,500 threshold for Kakeibo.
	// rsv_points   rank 1  first_time       Suggested because Gourmet Points is new to you and ¥12,800 is over its ¥600 threshold.
	// rsv_expense  rank 0  auto_link        Not suggested because Expensy already receives every payment automatically.
	// rsv_roundup  rank 0  below_threshold  Not suggested because ¥12,800 is under your ¥85,000 threshold for Round-up.
	// ¥12,800 が Kakeibo のあなたのしきい値 ¥1,500 以上なので提案しています。
}

// The worked table of the package documentation: a base of ¥1,000 moved
// by the user's history.
func ExampleThreshold() {
	s := policy.Service{ID: "rsv_kakeibo", BaseThreshold: map[string]int64{"JPY": 1000}}
	for _, h := range []policy.History{
		{},                        // new user
		{Shown: 20, Selected: 18}, // records most payments
		{Shown: 20, Selected: 20}, // records all: the floor, base/4
		{Shown: 12, Selected: 6, DismissStreak: 2}, // two misses in a row
		{Shown: 5, DismissStreak: 5},               // dismissed five times
	} {
		t, _ := policy.Threshold(s, h, "JPY")
		fmt.Printf("shown %2d selected %2d streak %d: ¥%d\n", h.Shown, h.Selected, h.DismissStreak, t)
	}
	_, ok := policy.Threshold(s, policy.History{}, "USD")
	fmt.Println("USD taken:", ok)
	// Output:
	// shown  0 selected  0 streak 0: ¥600
	// shown 20 selected 18 streak 0: ¥310
	// shown 20 selected 20 streak 0: ¥250
	// shown 12 selected  6 streak 2: ¥2400
	// shown  5 selected  0 streak 5: ¥28000
	// USD taken: false
}

package main

import (
	"bytes"
	"image"
	"image/color"
	"image/png"

	"github.com/renkei/renkei"
)

// The demo's related services listen next to the payment server; their
// webhook endpoints are on loopback.
const (
	kakeiboAddr = "127.0.0.1:8081"
	pointsAddr  = "127.0.0.1:8082"
)

type demoServiceInput struct {
	renkei.RelatedServiceInput
	color color.RGBA
}

// demoServices are the two related services of the demo: a household
// account book that wants most payments with a memo, and a points
// programme that wants only some merchant categories.
func demoServices() []demoServiceInput {
	return []demoServiceInput{{
		RelatedServiceInput: renkei.RelatedServiceInput{
			Name: "Kakeibo",
			Description: renkei.Localized{
				JA: "家計簿に自動で記録。メモとカテゴリも一緒に。",
				EN: "Records the payment in your household account book, with your memo and category.",
			},
			AppURL:      "http://" + kakeiboAddr + "/",
			AppCategory: "household_budget",
			WebhookURL:  "http://" + kakeiboAddr + "/webhooks/renkei",
			Scopes:      renkei.AllScopes,
			Input: renkei.InputFields{Memo: true, MemoMaxLen: 100, Categories: []string{"food", "daily", "transport", "hobby", "other"},
				CategoryLabels: map[string]renkei.Localized{"food": {JA: "食費", EN: "Food"}, "daily": {JA: "日用品", EN: "Daily goods"},
					"transport": {JA: "交通費", EN: "Transport"}, "hobby": {JA: "趣味", EN: "Hobbies"}, "other": {JA: "その他", EN: "Other"}}},
			Policy:  renkei.ServicePolicy{BaseThreshold: map[string]int64{"JPY": 1000}, WantsStatement: true},
			Enabled: true,
		},
		color: color.RGBA{0x2e, 0x7d, 0x32, 0xff},
	}, {
		RelatedServiceInput: renkei.RelatedServiceInput{
			Name: "Points",
			Description: renkei.Localized{
				JA: "1%をポイント還元。食品・飲食・書籍は2倍。",
				EN: "1% back in points; double for groceries, restaurants and books.",
			},
			AppURL:      "http://" + pointsAddr + "/",
			AppCategory: "points",
			WebhookURL:  "http://" + pointsAddr + "/webhooks/renkei",
			Scopes:      []string{renkei.ScopeAmount, renkei.ScopeMerchantCategory, renkei.ScopeTime},
			Policy: renkei.ServicePolicy{BaseThreshold: map[string]int64{"JPY": 500},
				MerchantCategories: []string{"groceries", "restaurants", "books"}},
			Enabled: true,
		},
		color: color.RGBA{0xf5, 0x7c, 0x00, 0xff},
	}}
}

// demoIcon draws a round icon of one colour: enough to tell the two demo
// apps apart on a card, and made here so the demo needs no files.
func demoIcon(c color.RGBA) []byte {
	const size = 64
	img := image.NewRGBA(image.Rect(0, 0, size, size))
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			dx, dy := x-size/2, y-size/2
			if dx*dx+dy*dy <= (size/2)*(size/2) {
				img.Set(x, y, c)
			}
		}
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}

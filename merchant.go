package renkei

import (
	"context"
	"time"
)

// Merchant statuses.
const (
	MerchantActive   = "active"
	MerchantDisabled = "disabled"
)

// Merchant is a payee with an ISO 18245 merchant category code.
type Merchant struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	MCC       string    `json:"category_code"`
	Category  string    `json:"category"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
}

// Terminal is a merchant's point of sale; it authenticates with its API key.
type Terminal struct {
	ID         string    `json:"id"`
	MerchantID string    `json:"merchant_id"`
	Name       string    `json:"name"`
	CreatedAt  time.Time `json:"created_at"`
}

// CreateMerchant asks for a new merchant.
type CreateMerchant struct {
	Name string `json:"name" minLength:"1" maxLength:"25" doc:"Shown on receipts and in QR codes."`
	MCC  string `json:"category_code" pattern:"^[0-9]{4}$" doc:"ISO 18245 merchant category code."`
}

// Validate checks a CreateMerchant request.
func (c *CreateMerchant) Validate() error {
	if c.Name == "" || len([]rune(c.Name)) > 25 {
		// 25 is the EMVCo QR limit for the merchant name.
		return Invalid("body.name", "A merchant needs a name of 1 to 25 characters.")
	}
	if _, ok := MCCCategory(c.MCC); !ok {
		return Invalid("body.category_code", "%q is not a merchant category code we know (four digits, ISO 18245).", c.MCC)
	}
	return nil
}

// CreateTerminal asks for a new shop terminal of a merchant.
type CreateTerminal struct {
	MerchantID string `json:"merchant_id" maxLength:"64"`
	Name       string `json:"name" minLength:"1" maxLength:"100"`
}

// Validate checks a CreateTerminal request.
func (c *CreateTerminal) Validate() error {
	if c.Name == "" || len(c.Name) > 100 {
		return Invalid("body.name", "A terminal needs a name of 1 to 100 characters.")
	}
	return nil
}

// MerchantService manages merchants and their shop terminals.
type MerchantService interface {
	CreateMerchant(ctx context.Context, req CreateMerchant) (*Merchant, error)
	FindMerchant(ctx context.Context, id string) (*Merchant, error)
	ListMerchants(ctx context.Context, page Page) ([]*Merchant, bool, error)
	SetMerchantStatus(ctx context.Context, id, status string) (*Merchant, error)
	CreateTerminal(ctx context.Context, req CreateTerminal) (*Terminal, string, error) // returns the API key once
	// RotateTerminalKey replaces a terminal's API key and returns the new
	// one, once; the old key (and every login built on it) stops working.
	RotateTerminalKey(ctx context.Context, id string) (*Terminal, string, error)
	Terminals(ctx context.Context, merchantID string) ([]*Terminal, error)
}

// mccCategories names the merchant category codes the demo and tests use,
// grouped as a household account book would group them. The names are
// ISO 18245's groups in short.
var mccCategories = map[string]string{
	"5411": "groceries",
	"5499": "groceries",
	"5812": "restaurants",
	"5813": "bars",
	"5814": "restaurants",
	"5912": "pharmacies",
	"5941": "sporting_goods",
	"5942": "books",
	"5943": "stationery",
	"5999": "retail",
	"5311": "department_stores",
	"5331": "variety_stores",
	"5651": "clothing",
	"5732": "electronics",
	"4111": "transit",
	"4121": "taxis",
	"4511": "airlines",
	"5541": "fuel",
	"7011": "hotels",
	"7832": "cinemas",
	"8062": "hospitals",
	"5200": "home_supply",
	"5722": "appliances",
	"5977": "cosmetics",
	"7230": "beauty",
	"8220": "education",
	"4900": "utilities",
}

// MCCCategory returns the category name of a merchant category code.
func MCCCategory(mcc string) (string, bool) {
	c, ok := mccCategories[mcc]
	return c, ok
}

package rules_test

import (
	"time"

	"github.com/shopspring/decimal"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/rules"
)

// Test fixtures stand for a consumer package's own types: rules never
// imports them.

type PartnerID string

type Tier uint8

const (
	TierUnspecified Tier = iota
	TierSilver
	TierGold
)

func (t Tier) MarshalText() ([]byte, error) {
	return []byte([...]string{"unspecified", "silver", "gold"}[t]), nil
}

func (t *Tier) UnmarshalText(b []byte) error {
	switch string(b) {
	case "silver":
		*t = TierSilver
	case "gold":
		*t = TierGold
	default:
		*t = TierUnspecified
	}
	return nil
}

type Line struct {
	ID       string          `json:"id"`
	Amount   ensemble.Money  `json:"amount"`
	Quantity decimal.Decimal `json:"quantity"`
	OfferID  string          `json:"offer_id"`
	ChargeID string          `json:"charge_id"`
	Date     time.Time       `json:"date"`
	Tags     []string        `json:"tags,omitempty"`
	Internal string          `json:"-"`
}

type Partner struct {
	ID         PartnerID         `json:"id"`
	Tier       Tier              `json:"tier"`
	Type       string            `json:"type"`
	Attributes map[string]string `json:"attributes,omitempty"`
	Parent     *Partner          `json:"parent,omitempty"`
}

type Order struct {
	ID      string   `json:"id"`
	Channel string   `json:"channel"`
	Lines   []Line   `json:"lines,omitempty"`
	Region  string   `json:"region"`
	Count   int      `json:"count"`
	Flags   []string `json:"flags,omitempty"`
}

type Route struct {
	Depth  int    `json:"depth"`
	Seller string `json:"seller"`
}

// newEnv declares the fixtures' variables, with the sizes of their lists as
// a consumer declares them (a test's own SizeHint overrides these).
func newEnv(opts ...rules.Option) (*rules.Env, error) {
	base := []rules.Option{
		rules.Var[Line]("line"),
		rules.Var[Partner]("partner"),
		rules.Var[Order]("order"),
		rules.Var[Route]("route"),
		rules.SizeHint("order.lines", fixtureListHint),
		rules.SizeHint("order.flags", fixtureListHint),
		rules.SizeHint("line.tags", fixtureListHint),
		rules.SizeHint("order.lines.@items.tags", fixtureListHint),
	}
	return rules.NewEnv(append(base, opts...)...)
}

// fixtureListHint is the largest list of the fixtures.
const fixtureListHint = 20

func mustEnv(opts ...rules.Option) *rules.Env {
	env, err := newEnv(opts...)
	if err != nil {
		panic(err)
	}
	return env
}

func sampleLine() *Line {
	return &Line{
		ID:       "L1",
		Amount:   ensemble.MustMoney("150.00", "EUR"),
		Quantity: decimal.RequireFromString("3"),
		OfferID:  "cloud-pro",
		ChargeID: "seat",
		Date:     time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC),
		Tags:     []string{"promo", "eu"},
	}
}

func samplePartner() *Partner {
	return &Partner{ID: "p-1", Tier: TierGold, Type: "reseller", Attributes: map[string]string{"uplift": "0.05"}}
}

func sampleFacts(env *rules.Env) *rules.Facts {
	f := env.NewFacts()
	must(f.Set("line", sampleLine()))
	must(f.Set("partner", samplePartner()))
	must(f.Set("order", &Order{ID: "o-1", Channel: "web", Region: "eu", Count: 2}))
	must(f.Set("route", &Route{Depth: 2, Seller: "p-1"}))
	return f
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

func doc(kind rules.Kind, expr string) rules.Document {
	return rules.Document{ID: "r", Version: 1, Kind: kind, EnvVersion: rules.Version1, Expression: expr}
}

// latestDoc is doc written for the latest environment version, which sees
// every function.
func latestDoc(kind rules.Kind, expr string) rules.Document {
	d := doc(kind, expr)
	d.EnvVersion = rules.LatestVersion
	return d
}

package rules_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/rules"
)

// A consumer package (settlement, say) declares its own structs; rules never
// imports them. Money and decimal fields appear in rules as money and
// decimal.
type InvoiceLine struct {
	ID       string          `json:"id"`
	Amount   ensemble.Money  `json:"amount"`
	Quantity decimal.Decimal `json:"quantity"`
	OfferID  string          `json:"offer_id"`
	Date     time.Time       `json:"date"`
}

type Seller struct {
	ID         string            `json:"id"`
	Tier       string            `json:"tier"`
	Attributes map[string]string `json:"attributes"`
}

func ExampleEnv_Compile_condition() {
	env, err := rules.NewEnv(rules.Var[InvoiceLine]("line"), rules.Var[Seller]("partner"))
	if err != nil {
		panic(err)
	}
	rule, err := env.Compile(rules.Document{
		ID: "big-gold-line", Version: 1, Kind: rules.Condition, EnvVersion: rules.Version1,
		Expression: `line.amount > money("100", "EUR") && partner.tier == "gold"`,
	})
	if err != nil {
		panic(err)
	}
	facts := env.NewFacts() // reuse one per goroutine across evaluations
	for _, amount := range []string{"99.99", "250.00"} {
		line := InvoiceLine{ID: "L1", Amount: ensemble.MustMoney(amount, "EUR")}
		_ = facts.Set("line", &line)
		_ = facts.Set("partner", &Seller{ID: "p-1", Tier: "gold"})
		ok, err := rule.Condition(context.Background(), facts)
		fmt.Println(amount, ok, err)
	}
	// Output:
	// 99.99 false <nil>
	// 250.00 true <nil>
}

func ExampleEnv_LoadRuleSet_share() {
	env, err := rules.NewEnv(rules.Var[InvoiceLine]("line"), rules.Var[Seller]("partner"))
	if err != nil {
		panic(err)
	}
	set, err := env.LoadRuleSet(rules.File{Name: "shares.yaml", Data: []byte(`
id: reseller-share
version: 1
kind: share
env_version: 1
effective_from: 2026-01-01T00:00:00Z
description: Gold resellers keep 12.5% of the line, others 10%, per unit, to 4 places.
expression: |
  (partner.tier == "gold" ? percent("12.5") : percent(10)).div(line.quantity, 4, "half_even")
tests:
  - name: gold, two units
    facts:
      partner: {tier: gold}
      line: {quantity: "2"}
    want: "0.0625"
`)})
	if err != nil {
		panic(err)
	}
	if err := set.RunTests(context.Background()); err != nil {
		panic(err)
	}
	line := InvoiceLine{Quantity: decimal.RequireFromString("3"), Date: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}
	rule, err := set.At("reseller-share", line.Date)
	if err != nil {
		panic(err)
	}
	facts := env.NewFacts()
	_ = facts.Set("line", &line)
	_ = facts.Set("partner", &Seller{Tier: "silver"})
	share, err := rule.Share(context.Background(), facts)
	fmt.Println(rule.Ref(), share, err)
	// Output:
	// rule:reseller-share@1 0.0333 <nil>
}

func ExampleRule_Policy() {
	env, err := rules.NewEnv(rules.Var[Seller]("partner"), rules.Var[InvoiceLine]("line"))
	if err != nil {
		panic(err)
	}
	rule, err := env.Compile(rules.Document{
		ID: "may-sell", Version: 1, Kind: rules.Policy, EnvVersion: rules.Version1,
		Expression:       `partner.tier in ["gold", "silver"] || line.offer_id != "enterprise"`,
		ReasonExpression: `"partner " + partner.id + " (" + partner.tier + ") may not sell " + line.offer_id`,
	})
	if err != nil {
		panic(err)
	}
	facts := env.NewFacts()
	_ = facts.Set("partner", &Seller{ID: "p-7", Tier: "bronze"})
	_ = facts.Set("line", &InvoiceLine{OfferID: "enterprise"})
	d, err := rule.Policy(context.Background(), facts)
	fmt.Printf("%+v, %v\n", d, err)
	// Output:
	// {Allowed:false Reason:partner p-7 (bronze) may not sell enterprise}, <nil>
}

func ExampleEnv_LoadRuleSet_errors() {
	env, err := rules.NewEnv(rules.Var[InvoiceLine]("line"))
	if err != nil {
		panic(err)
	}
	_, err = env.LoadRuleSet(rules.File{Name: "fees.yaml", Data: []byte(`
- id: fee
  version: 1
  kind: amount
  env_version: 1
  expression: line.amount * 0.029
- id: cap
  version: 1
  kind: amount
  env_version: 1
  expression: min(line.amount, money("10", "EURO"))
`)})
	fmt.Println(err)
	var ce *rules.CompileError
	fmt.Println(errors.As(err, &ce), ce.RuleID)
	// Output:
	// rules: 2 problems loading rules:
	// rules: fees.yaml:6:29: rule "fee" v1 expression 1:15: double literal 0.029 is not allowed: rules compute with exact decimals
	//  |   expression: line.amount * 0.029
	//  | ............................^
	//  hint: write dec("0.029")
	// rules: fees.yaml:11:44: rule "cap" v1 expression 1:30: invalid currency: ensemble: parse currency "EURO": want a three-letter ISO 4217 code, or a declared unit as "CODE:DIGITS"
	//  |   expression: min(line.amount, money("10", "EURO"))
	//  | ...........................................^
	// true fee
}

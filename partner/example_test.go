package partner_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/rules"
)

func ExampleLoadNetwork() {
	doc, _ := os.ReadFile("testdata/network.yaml")
	net, err := partner.LoadNetwork(doc)
	if err != nil {
		panic(err)
	}
	march := time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC)
	chain, _ := net.Chain("sub-utrecht", march)
	fmt.Println("chain:", chain)
	for _, at := range []time.Time{time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC), march} {
		s, _ := net.At("reseller-nl", at)
		fmt.Printf("reseller-nl on %s: %s, parent %s\n", at.Format("Jan 2"), s.Tier, s.Parent)
	}
	// Output:
	// chain: [sub-utrecht reseller-nl distri-eu]
	// reseller-nl on Jan 15: silver, parent distri-eu
	// reseller-nl on Mar 15: gold, parent distri-eu
}

func ExampleOnboarding_Decide() {
	o := partner.Onboarding{Partner: "reseller-fr"}
	day := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	var events []partner.Event
	for _, a := range []partner.Action{partner.ActionApply, partner.ActionVet, partner.ActionActivate, partner.ActionSuspend} {
		next, evs, err := o.Decide(partner.Command{Action: a, Actor: "ops-anna"}, day)
		if err != nil {
			panic(err)
		}
		o, events = next, append(events, evs...)
		day = day.AddDate(0, 0, 7)
	}
	_, _, err := o.Decide(partner.Command{Action: partner.ActionVet, Actor: "ops-anna"}, day)
	fmt.Println(o.Status, o.Status.CanTrade())
	fmt.Println(err)
	folded, _ := partner.Fold("reseller-fr", events)
	fmt.Println(folded == o)
	// Output:
	// suspended false
	// partner "reseller-fr": cannot vet when suspended at 2026-02-02T09:00:00Z: partner: invalid onboarding transition
	// true
}

func ExampleGovernance_CanSell() {
	doc, _ := os.ReadFile("testdata/network.yaml")
	net, _ := partner.LoadNetwork(doc)
	env, _ := partner.Env()
	ruleDoc, _ := os.ReadFile("testdata/rules.yaml")
	rs, err := env.LoadRuleSet(rules.File{Name: "rules.yaml", Data: ruleDoc})
	if err != nil {
		panic(err)
	}
	g, err := partner.NewGovernance(net, []partner.Program{{ID: "channel", SellPolicy: "channel-sell",
		ApprovalNeeded: "channel-approval-needed", Approver: "channel-approver"}}, env, rs)
	if err != nil {
		panic(err)
	}
	d, _ := g.CanSell(context.Background(), partner.Sale{
		Partner:  "sub-utrecht",
		Offer:    partner.Offer{ID: "cloud-backup", Category: "backup"},
		Customer: partner.Customer{ID: "acme", Country: "NL", Segment: "enterprise"},
		At:       time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC),
	})
	fmt.Println(d.Allowed, d.Reason, d.Rule)

	list, price := ensemble.MustMoney("100.00", "EUR"), ensemble.MustMoney("65.00", "EUR")
	discount, _ := partner.PriceDiscount(list, price)
	a, audit, _ := g.Submit(context.Background(), partner.Request{ID: "pe-7", Kind: partner.RequestPriceException,
		Partner: "reseller-nl", ListPrice: list, Price: price, Discount: discount, RequestedBy: "joe",
		RequestedAt: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)})
	fmt.Println(a.Status, audit[0].Rule)
	a, audit, _ = g.Decide(context.Background(), a, true, partner.Actor{ID: "eva", Roles: []string{"channel_manager"}}, "strategic deal",
		time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC))
	fmt.Println(a.Status, "by", audit[0].Actor, "under", audit[0].Rule)
	// Output:
	// false bronze partners sell to SMB customers only rule:channel-sell@1
	// requested rule:channel-approval-needed@1
	// approved by eva under rule:channel-approver@1
}

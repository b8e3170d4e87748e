package settlement_test

import (
	"context"
	"fmt"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/rules"
	"github.com/ensemble-commerce/ensemble/settlement"
)

const exampleNetwork = `
partners:
  - {id: distri-eu, name: EuroDistri, type: distributor, terms: [{from: 2025-01-01T00:00:00Z, tier: gold}]}
  - {id: reseller-nl, name: Lowlands IT, type: reseller, terms: [{from: 2025-01-01T00:00:00Z, tier: silver, parent: distri-eu}]}
  - {id: sub-utrecht, name: Utrecht Shop, type: sub_reseller, terms: [{from: 2025-01-01T00:00:00Z, parent: reseller-nl}]}
  - {id: referral-ams, name: Amsterdam Advisors, type: referral, terms: [{from: 2025-01-01T00:00:00Z}]}
`

const exampleRules = `
- id: distributor-share
  version: 1
  kind: share
  env_version: 1
  expression: 'partner.tier == "gold" ? percent(6) : percent(4)'
- id: referral-fee
  version: 1
  kind: amount
  env_version: 1
  expression: 'min(line.amount * percent(5), money("50", line.currency)).round(2)'
`

const examplePlan = `
id: channel
version: 1
routes: [partner]
root:
  id: root
  children:
    - {id: platform, party: platform, share: "20%", fallback: platform}
    - {id: referral, party: referrer, share: {rule: referral-fee}}
    - id: channel
      share: remaining
      children:
        - {id: distributor, party: distributor, share: {rule: distributor-share}}
        - {id: reseller, party: reseller, share: "10%"}
        - {id: seller, party: seller, share: remaining}
`

func exampleSettler() *settlement.Settler {
	net, err := partner.LoadNetwork([]byte(exampleNetwork))
	if err != nil {
		panic(err)
	}
	env, err := settlement.Env()
	if err != nil {
		panic(err)
	}
	rs, err := env.LoadRuleSet(rules.File{Name: "rules.yaml", Data: []byte(exampleRules)})
	if err != nil {
		panic(err)
	}
	plans, err := settlement.ParsePlans([]byte(examplePlan))
	if err != nil {
		panic(err)
	}
	s, err := settlement.New(settlement.Config{Plans: plans, Rules: rs, Network: net})
	if err != nil {
		panic(err)
	}
	return s
}

func exampleLine(id string, amount string) settlement.Line {
	return settlement.Line{
		ID:     settlement.LineID(id),
		Date:   time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC),
		Amount: ensemble.MustMoney(amount, "EUR"),
		Tax:    ensemble.MustMoney("0", "EUR"),
		Offer:  catalog.Pin{Offer: "cloud-backup", Version: 1},
		Route: partner.Route{Kind: partner.RoutePartner, Seller: "sub-utrecht",
			Chain:    []partner.ID{"sub-utrecht", "reseller-nl", "distri-eu"},
			Referrer: "referral-ams"},
		Trace: []ensemble.Ref{{Kind: "invoice_line", ID: "INV-7/" + id}},
	}
}

// Settle a partner-sold line through a 3-level chain with a referral fee
// and render it as a tree.
func ExampleSettler_Settle() {
	s := exampleSettler()
	res, err := s.Settle(context.Background(), settlement.State{}, []settlement.Line{exampleLine("L1", "1000.00")})
	if err != nil {
		panic(err)
	}
	for _, e := range res.Entries {
		fmt.Println(e.ID, e.Party, e.Amount)
	}
	tree, err := settlement.Explain("L1", res.Entries)
	if err != nil {
		panic(err)
	}
	fmt.Print(tree)
	// Output:
	// L1:root/platform platform EUR 200.00
	// L1:root/referral referral-ams EUR 50.00
	// L1:root/channel/distributor distri-eu EUR 45.00
	// L1:root/channel/reseller reseller-nl EUR 75.00
	// L1:root/channel/seller sub-utrecht EUR 630.00
	// line L1  EUR 1000.00  plan channel@1
	//   trace: invoice_line:INV-7/L1
	// └─ root  EUR 1000.00
	//    ├─ platform  EUR 200.00 -> platform, share 20%
	//    ├─ referral  EUR 50.00 -> referral-ams (referrer), share EUR 50.00 (rule referral-fee@1)
	//    └─ channel  EUR 750.00
	//       ├─ distributor  EUR 45.00 -> distri-eu (distributor), share 6% (rule distributor-share@1)
	//       ├─ reseller  EUR 75.00 -> reseller-nl (reseller), share 10%
	//       └─ seller  EUR 630.00 -> sub-utrecht (seller), share remaining
}

// A reseller co-sells 70/30 with a technology partner: the co_sellers node
// pays the seller and its co-sellers by their weights on the route, each
// entry naming its weight.
func ExampleSettler_Settle_coSell() {
	plans, err := settlement.ParsePlans([]byte(`{id: cosell, version: 1, routes: [co_sell], root: {id: root, children: [
  {id: platform, party: platform, share: "20%"}, {id: deal, party: co_sellers, share: remaining}]}}`))
	if err != nil {
		panic(err)
	}
	s, err := settlement.New(settlement.Config{Plans: plans})
	if err != nil {
		panic(err)
	}
	l := exampleLine("L1", "100.00")
	l.Route = partner.Route{Kind: partner.RouteCoSell, Seller: "reseller-nl", SellerWeight: ensemble.MustRatio("0.7"),
		Chain: []partner.ID{"reseller-nl", "distri-eu"}, CoSellers: []partner.CoSeller{{Partner: "tech-1", Weight: ensemble.MustRatio("0.3")}}}
	res, err := s.Settle(context.Background(), settlement.State{}, []settlement.Line{l})
	if err != nil {
		panic(err)
	}
	for _, e := range res.Entries {
		fmt.Printf("%s %s %s (%s)\n", e.ID, e.Party, e.Amount, e.Share)
	}
	// Output:
	// L1:root/platform platform EUR 20.00 (20%)
	// L1:root/deal/reseller-nl reseller-nl EUR 56.00 (remaining, co-sell weight 70%)
	// L1:root/deal/tech-1 tech-1 EUR 24.00 (remaining, co-sell weight 30%)
}

// A partial credit note reverses each party's entries in proportion to
// what it has unreversed.
func ExampleSettler_Settle_credit() {
	s := exampleSettler()
	res, err := s.Settle(context.Background(), settlement.State{}, []settlement.Line{exampleLine("L1", "1000.00")})
	if err != nil {
		panic(err)
	}
	cn := settlement.Line{ID: "CN1", Date: time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC),
		Amount: ensemble.MustMoney("-250.00", "EUR"), Credits: "L1"}
	back, err := s.Settle(context.Background(), res.State, []settlement.Line{cn})
	if err != nil {
		panic(err)
	}
	for _, e := range back.Entries {
		fmt.Println(e.ID, e.Kind, e.Party, e.Amount)
	}
	// Output:
	// CN1:root/platform#clawback clawback platform EUR -50.00
	// CN1:root/referral#clawback clawback referral-ams EUR -12.50
	// CN1:root/channel/distributor#clawback clawback distri-eu EUR -11.25
	// CN1:root/channel/reseller#clawback clawback reseller-nl EUR -18.75
	// CN1:root/channel/seller#clawback clawback sub-utrecht EUR -157.50
}

// ExplainEntry walks back from an entry to its node, rules, line and
// invoice line.
func ExampleExplainEntry() {
	s := exampleSettler()
	res, err := s.Settle(context.Background(), settlement.State{}, []settlement.Line{exampleLine("L1", "1000.00")})
	if err != nil {
		panic(err)
	}
	fmt.Print(settlement.ExplainEntry(res.Entries[2]))
	// Output:
	// entry L1:root/channel/distributor: earning EUR 45.00 to distri-eu
	//   <- node root/channel/distributor of plan channel@1 (role distributor), share 6% (rule distributor-share@1)
	//   <- rule distributor-share version 1
	//   <- line L1
	//   <- invoice_line:INV-7/L1
}

// Statements of two shards merge into the statements of the whole.
func ExampleMerge() {
	s := exampleSettler()
	a, _ := s.Settle(context.Background(), settlement.State{}, []settlement.Line{exampleLine("L1", "100.00")})
	b, _ := s.Settle(context.Background(), settlement.State{}, []settlement.Line{exampleLine("L2", "40.00")})
	opts := settlement.StatementOptions{
		Period:   ensemble.MustPeriod(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)),
		Minimums: []ensemble.Money{ensemble.MustMoney("10.00", "EUR")},
	}
	sa, _ := settlement.Statements(a.Entries, opts)
	sb, _ := settlement.Statements(b.Entries, opts)
	merged, err := settlement.Merge(opts.Minimums, sa, sb)
	if err != nil {
		panic(err)
	}
	for _, st := range merged {
		fmt.Printf("%-13s earned %-10s payable %-10s carried %s\n", st.Party, st.Earned, st.Payable, st.CarriedForward)
	}
	// Output:
	// distri-eu     earned EUR 6.30   payable EUR 0.00   carried EUR 6.30
	// platform      earned EUR 28.00  payable EUR 28.00  carried EUR 0.00
	// referral-ams  earned EUR 7.00   payable EUR 0.00   carried EUR 7.00
	// reseller-nl   earned EUR 10.50  payable EUR 10.50  carried EUR 0.00
	// sub-utrecht   earned EUR 88.20  payable EUR 88.20  carried EUR 0.00
}

// Metrics from entries: gross value, platform revenue and take rate.
func ExampleComputeMetrics() {
	s := exampleSettler()
	res, _ := s.Settle(context.Background(), settlement.State{}, []settlement.Line{exampleLine("L1", "1000.00"), exampleLine("L2", "500.00")})
	ms, err := settlement.ComputeMetrics(res.Entries, ensemble.MustPeriod(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)), "")
	if err != nil {
		panic(err)
	}
	m := ms[0]
	fmt.Println("gross", m.GrossValue, "platform", m.PlatformRevenue, "take rate", m.TakeRate.Percent())
	for _, r := range m.ByRoute {
		fmt.Println(r.Key, r.Amount)
	}
	// Output:
	// gross EUR 1500.00 platform EUR 300.00 take rate 20%
	// partner EUR 1500.00
}

// A balance under the minimum payout rolls forward until it is reached.
func ExampleStatements() {
	day := func(m, d int) time.Time { return time.Date(2026, time.Month(m), d, 0, 0, 0, 0, time.UTC) }
	earn := func(id string, amount string, at time.Time) settlement.Entry {
		return settlement.Entry{ID: settlement.EntryID(id), Kind: settlement.KindEarning, Party: "dev-1",
			Amount: ensemble.MustMoney(amount, "USD"), Date: at}
	}
	entries := []settlement.Entry{earn("a", "4.00", day(1, 10)), earn("b", "3.00", day(2, 10)), earn("c", "5.00", day(3, 10))}
	var prev []settlement.Statement
	for m := 1; m <= 3; m++ {
		st, err := settlement.Statements(entries, settlement.StatementOptions{
			Period:   ensemble.MustPeriod(day(m, 1), day(m+1, 1)),
			Minimums: []ensemble.Money{ensemble.MustMoney("10.00", "USD")},
			Previous: prev,
		})
		if err != nil {
			panic(err)
		}
		fmt.Printf("month %d: opening %s earned %s payable %s carried %s\n", m, st[0].Opening, st[0].Earned, st[0].Payable, st[0].CarriedForward)
		prev = st
	}
	// Output:
	// month 1: opening USD 0.00 earned USD 4.00 payable USD 0.00 carried USD 4.00
	// month 2: opening USD 4.00 earned USD 3.00 payable USD 0.00 carried USD 7.00
	// month 3: opening USD 7.00 earned USD 5.00 payable USD 12.00 carried USD 0.00
}

// Explaining a credit line shows what it clawed back from each party of the
// line it credits.
func ExampleExplain_creditLine() {
	s := exampleSettler()
	res, err := s.Settle(context.Background(), settlement.State{}, []settlement.Line{exampleLine("L1", "1000.00")})
	if err != nil {
		panic(err)
	}
	credit := exampleLine("CN1", "-100.00")
	credit.Credits = "L1"
	back, err := s.Settle(context.Background(), res.State, []settlement.Line{credit})
	if err != nil {
		panic(err)
	}
	text, err := settlement.Explain("CN1", append(res.Entries, back.Entries...))
	if err != nil {
		panic(err)
	}
	fmt.Print(text)
	// Output:
	// line CN1  EUR -100.00  credits line L1
	// ├─ root/platform  clawback EUR -20.00 -> platform (of entry L1:root/platform)
	// ├─ root/referral  clawback EUR -5.00 -> referral-ams (of entry L1:root/referral)
	// ├─ root/channel/distributor  clawback EUR -4.50 -> distri-eu (of entry L1:root/channel/distributor)
	// ├─ root/channel/reseller  clawback EUR -7.50 -> reseller-nl (of entry L1:root/channel/reseller)
	// └─ root/channel/seller  clawback EUR -63.00 -> sub-utrecht (of entry L1:root/channel/seller)
}

// A statement explains itself: every figure lists the entries behind it.
func ExampleExplainStatement() {
	s := exampleSettler()
	res, err := s.Settle(context.Background(), settlement.State{}, []settlement.Line{exampleLine("L1", "1000.00"), exampleLine("L2", "400.00")})
	if err != nil {
		panic(err)
	}
	cn := settlement.Line{ID: "CN1", Date: time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC),
		Amount: ensemble.MustMoney("-250.00", "EUR"), Credits: "L1", Trace: []ensemble.Ref{{Kind: "credit_note_line", ID: "CN-1/1"}}}
	back, err := s.Settle(context.Background(), res.State, []settlement.Line{cn})
	if err != nil {
		panic(err)
	}
	bonus, err := settlement.Adjust(settlement.Adjustment{ID: "q1-bonus", Party: "reseller-nl", Amount: ensemble.MustMoney("25.00", "EUR"),
		Date: time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC), Reason: "Q1 launch bonus", Approver: "finance@platform"})
	if err != nil {
		panic(err)
	}
	entries := append(append(res.Entries, back.Entries...), bonus)
	march := ensemble.MustPeriod(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC))
	sts, err := settlement.Statements(entries, settlement.StatementOptions{Period: march})
	if err != nil {
		panic(err)
	}
	for _, st := range sts {
		if st.Party != "reseller-nl" {
			continue
		}
		text, err := settlement.ExplainStatement(st, entries)
		if err != nil {
			panic(err)
		}
		fmt.Print(text)
	}
	// Output:
	// statement of reseller-nl in EUR, 2026-03-01 to 2026-03-31
	//   opening            0.00
	//   earned           105.00  (2 entries)
	//     2026-03-01         75.00  line L1, node root/channel/reseller of plan channel@1, share 10%
	//     2026-03-01         30.00  line L2, node root/channel/reseller of plan channel@1, share 10%
	//   reversed         -18.75  (1 entry)
	//     2026-03-09        -18.75  line CN1 (credits line L1), clawback, node root/channel/reseller of plan channel@1, on entry L1:root/channel/reseller, credit of L1 by CN1
	//   adjusted          25.00  (1 entry)
	//     2026-03-31         25.00  adjustment: Q1 launch bonus (approved by finance@platform)
	//   reserved           0.00
	//   released           0.00
	//   paid out           0.00
	//   closing          111.25
	//   payable          111.25
}

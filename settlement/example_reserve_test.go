package settlement_test

import (
	"context"
	"fmt"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// A rolling reserve holds 10% of what a reseller earns for 90 days; a
// refund within those days draws on it first, so what the reseller is
// paid falls only by the rest. Its statement lists the reserve, the draw
// and the release the draw lessened.
func ExamplePartyReserve() {
	plans, err := settlement.ParsePlans([]byte(`
id: resale
version: 1
routes: [partner]
reserves: [{party: reseller-nl, ratio: "10%", days: 90}]
root:
  id: root
  children:
    - {id: platform, party: platform, share: "20%"}
    - {id: reseller, party: "partner:reseller-nl", share: "30%"}
    - {id: seller, party: seller, share: remaining}
`))
	if err != nil {
		panic(err)
	}
	s, err := settlement.New(settlement.Config{Plans: plans})
	if err != nil {
		panic(err)
	}
	day := func(m time.Month, d int) time.Time { return time.Date(2026, m, d, 0, 0, 0, 0, time.UTC) }
	sale := settlement.Line{ID: "L1", Date: day(3, 1), Amount: ensemble.MustMoney("1000.00", "EUR"), Offer: catalog.Pin{Offer: "backup", Version: 1},
		Route: partner.Route{Kind: partner.RoutePartner, Seller: "sub-utrecht", Chain: []partner.ID{"sub-utrecht", "reseller-nl"}}}
	res, err := s.Settle(context.Background(), settlement.State{}, []settlement.Line{sale})
	if err != nil {
		panic(err)
	}
	refund := settlement.Line{ID: "C1", Date: day(3, 20), Amount: ensemble.MustMoney("-100.00", "EUR"), Credits: "L1"}
	back, err := s.Settle(context.Background(), res.State, []settlement.Line{refund})
	if err != nil {
		panic(err)
	}
	entries := append(res.Entries, back.Entries...)
	for _, period := range []ensemble.Period{ensemble.MustPeriod(day(3, 1), day(4, 1)), ensemble.MustPeriod(day(5, 1), day(6, 1))} {
		sts, err := settlement.Statements(entries, settlement.StatementOptions{Period: period})
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
	}
	// Output:
	// statement of reseller-nl in EUR, 2026-03-01 to 2026-03-31
	//   opening            0.00
	//   earned           300.00  (1 entry)
	//     2026-03-01        300.00  line L1, node root/reseller of plan resale@1, share 30%
	//   reversed         -30.00  (1 entry)
	//     2026-03-20        -30.00  line C1 (credits line L1), clawback, node root/reseller of plan resale@1, on entry L1:root/reseller, credit of L1 by C1
	//   adjusted           0.00
	//   reserved          30.00  (1 entry)
	//     2026-03-01         30.00  line L1, reserve, node root/reseller of plan resale@1, on entry L1:root/reseller, rolling reserve 10% of reseller-nl until 2026-05-30
	//   released          30.00  (1 entry)
	//     2026-03-20         30.00  line C1 (credits line L1), release, node root/reseller of plan resale@1, on entry L1:root/reseller#rolling, rolling reserve drawn to meet the clawback, credit of L1 by C1
	//   paid out           0.00
	//   closing          270.00
	//   payable          270.00
	// statement of reseller-nl in EUR, 2026-05-01 to 2026-05-31
	//   opening            0.00
	//   earned             0.00
	//   reversed           0.00
	//   adjusted           0.00
	//   reserved           0.00
	//   released           0.00  (2 entries)
	//     2026-05-30        -30.00  line C1 (credits line L1), release, node root/reseller of plan resale@1, on entry L1:root/reseller#rolling, scheduled release of the rolling reserve less the draw, credit of L1 by C1
	//     2026-05-30         30.00  line L1, release, node root/reseller of plan resale@1, on entry L1:root/reseller, rolling reserve released
	//   paid out           0.00
	//   closing            0.00
	//   payable            0.00
}

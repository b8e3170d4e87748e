package settlement_test

import (
	"context"
	"fmt"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// A marketplace pays the platform 25%, the referrer 15% and the seller the
// rest, only as the customer pays. The customer owes EUR 119.00 (100.00
// plus tax), pays 50.00, and the other 69.00 is written off.
func ExampleSettler_Collect() {
	net, err := partner.LoadNetwork([]byte(exampleNetwork))
	if err != nil {
		panic(err)
	}
	plans, err := settlement.ParsePlans([]byte(`
id: marketplace
version: 1
payable: on_collection
root:
  id: root
  children:
    - {id: platform, party: platform, share: "25%"}
    - {id: referrer, party: referrer, share: "15%"}
    - {id: seller, party: seller, share: remaining}
`))
	if err != nil {
		panic(err)
	}
	s, err := settlement.New(settlement.Config{Plans: plans, Network: net})
	if err != nil {
		panic(err)
	}
	line := exampleLine("L1", "100.00")
	line.Tax, line.Invoice = ensemble.MustMoney("19.00", "EUR"), "INV-7"
	res, err := s.Settle(context.Background(), settlement.State{}, []settlement.Line{line})
	if err != nil {
		panic(err)
	}
	paid, err := s.Collect(res.State, settlement.Collection{ID: "PAY-1", Date: time.Date(2026, 3, 20, 0, 0, 0, 0, time.UTC),
		Amount: ensemble.MustMoney("50.00", "EUR"), Invoice: "INV-7"})
	if err != nil {
		panic(err)
	}
	for _, e := range paid.Entries {
		fmt.Println(e.ID, e.Kind, e.Amount)
	}
	lost, err := s.WriteOff(paid.State, settlement.Collection{ID: "WO-1", Date: time.Date(2026, 4, 30, 0, 0, 0, 0, time.UTC),
		Amount: ensemble.MustMoney("69.00", "EUR"), Lines: []settlement.LineID{"L1"}})
	if err != nil {
		panic(err)
	}
	entries := append(append(res.Entries, paid.Entries...), lost.Entries...)
	sts, err := settlement.Statements(entries, settlement.StatementOptions{
		Period: ensemble.MustPeriod(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC))})
	if err != nil {
		panic(err)
	}
	for _, st := range sts {
		fmt.Printf("%s earned %s, reversed %s, collected %s, payable %s, awaiting %s\n",
			st.Party, st.Earned.AmountString(), st.Reversed.AmountString(), st.Collected.AmountString(), st.Payable.AmountString(), st.Awaiting.AmountString())
	}
	// Output:
	// L1:root/platform#collected.PAY-1 collected EUR 10.51
	// L1:root/referrer#collected.PAY-1 collected EUR 6.30
	// L1:root/seller#collected.PAY-1 collected EUR 25.21
	// platform earned 25.00, reversed -14.49, collected 10.51, payable 10.51, awaiting 0.00
	// referral-ams earned 15.00, reversed -8.70, collected 6.30, payable 6.30, awaiting 0.00
	// sub-utrecht earned 60.00, reversed -34.79, collected 25.21, payable 25.21, awaiting 0.00
}

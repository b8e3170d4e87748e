package settlement_test

import (
	"context"
	"fmt"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// exampleBundleLine is exampleLine with two suppliers owed 300.00 (gpu)
// and 200.00 (storage) before the plan splits the rest.
func exampleBundleLine(id string) settlement.Line {
	l := exampleLine(id, "1000.00")
	for _, c := range [][3]string{{"gpu", "gpuco", "300.00"}, {"storage", "storeco", "200.00"}} {
		l.SupplierCosts = append(l.SupplierCosts, catalog.SupplierCost{Supplier: c[1], Offer: catalog.OfferID(c[0]),
			Component: ensemble.Ref{Kind: catalog.RefComponent, ID: c[0], Version: "1"}, Cost: ensemble.MustMoney(c[2], "EUR")})
	}
	return l
}

// An SLA credit caused by the GPU supplier is borne by it alone: the other
// supplier, the platform and the channel keep what they earned.
func ExampleBearer() {
	s := exampleSettler()
	res, err := s.Settle(context.Background(), settlement.State{}, []settlement.Line{exampleBundleLine("L1")})
	if err != nil {
		panic(err)
	}
	sla := settlement.Line{ID: "CN1", Date: time.Date(2026, 3, 20, 0, 0, 0, 0, time.UTC), Credits: "L1",
		Amount: ensemble.MustMoney("-60.00", "EUR"), Bearer: settlement.Bearer{Component: "gpu"}}
	back, err := s.Settle(context.Background(), res.State, []settlement.Line{sla})
	if err != nil {
		panic(err)
	}
	for _, e := range back.Entries {
		fmt.Println(e.ID, e.Party, e.Amount, "|", e.Note)
	}
	// A bearer with less left than the credit is refused unless the credit
	// lets the others make up the rest.
	big := sla
	big.ID, big.Amount, big.Bearer = "CN2", ensemble.MustMoney("-250.00", "EUR"), settlement.Bearer{Component: "storage"}
	_, err = s.Settle(context.Background(), back.State, []settlement.Line{big})
	fmt.Println(err)
	// Output:
	// CN1:supplier_costs/gpu#clawback gpuco EUR -60.00 | credit of L1 by CN1, borne by supplier of component gpu
	// settlement: line "CN2" plan "channel": supplier of component storage has EUR 200.00 unreversed on line "L1", the credit takes EUR 250.00: EUR 50.00 short (shortfall: proportional takes the rest from the other parts; bearer_owes takes it all from the bearer, beyond its part)
}

// A dispute partly lost: 100.00 of the line is lost, borne by the seller,
// and the card network's fee is charged to it too.
func ExampleSettler_ResolveDisputeWith() {
	s := exampleSettler()
	res, err := s.Settle(context.Background(), settlement.State{}, []settlement.Line{exampleLine("L1", "1000.00")})
	if err != nil {
		panic(err)
	}
	d, err := s.Dispute(res.State, "L1", time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC))
	if err != nil {
		panic(err)
	}
	r, err := s.ResolveDisputeWith(d.State, "L1", settlement.DisputeOutcome{
		Lost:   ensemble.MustMoney("100.00", "EUR"),
		Bearer: settlement.Bearer{Role: "seller"},
		Fee:    settlement.DisputeFee{Party: "sub-utrecht", Amount: ensemble.MustMoney("15.00", "EUR")},
	}, time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		panic(err)
	}
	for _, e := range r.Entries {
		if e.Kind != settlement.KindRelease {
			fmt.Println(e.ID, e.Kind, e.Party, e.Amount, "|", e.Note)
		}
	}
	// Output:
	// L1#dispute.1:root/channel/seller#clawback clawback sub-utrecht EUR -100.00 | dispute 1 partly lost, borne by role seller
	// L1#dispute.1:fee fee sub-utrecht EUR -15.00 | dispute 1 fee, partly lost
}

package settlement_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/order"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// An early-termination fee reversed by a restart (invoice.EarlyTermination:
// a KindEarlyTermination line of the negated fee crediting the fee's line)
// settles as a credit of the fee: what each party earned on the fee is
// clawed back, so every party nets to zero, in a later settlement as in the
// same one.
func TestRestartReversesFeeEarnings(t *testing.T) {
	plan := `{id: p, version: 1, root: {id: root, children: [
		{id: reseller, party: seller, share: "20%"},
		{id: vendor, party: platform, share: remaining}]}}`
	s := planSettler(t, plan, loadNetwork(t))
	stop, restart := time.Date(2026, 6, 20, 0, 0, 0, 0, time.UTC), time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	o := order.Order{ID: "ord-1", Customer: order.Customer{ID: "acme", Country: "NL"},
		Route: partner.Route{Kind: partner.RoutePartner, Seller: "sub-utrecht", Chain: []partner.ID{"sub-utrecht", "reseller-nl", "distri-eu"}}}
	pin := catalog.Pin{Offer: "cloud-backup", Version: 1}
	fee := invoice.Line{ID: "s1/early_termination/20260101T000000Z/20260620T000000Z", Kind: invoice.KindEarlyTermination, Date: stop, Pin: pin,
		Net: ensemble.MustMoney("300.00", "EUR"), Tax: ensemble.MustMoney("0.00", "EUR")}
	reversal := invoice.Line{ID: fee.ID + "/restart", Kind: invoice.KindEarlyTermination, Date: restart, Pin: pin, Credits: fee.ID,
		Net: ensemble.MustMoney("-300.00", "EUR"), Tax: ensemble.MustMoney("0.00", "EUR")}
	lines, err := settlement.FromInvoice([]invoice.Line{fee, reversal}, o)
	require.NoError(t, err)
	net := func(entries []settlement.Entry, into map[partner.ID]ensemble.Money) {
		for _, e := range entries {
			sum, err := into[e.Party].Add(e.Amount)
			require.NoError(t, err)
			into[e.Party] = sum
		}
	}

	first, err := s.Settle(ctx, settlement.State{}, lines[:1])
	require.NoError(t, err)
	second, err := s.Settle(ctx, first.State, lines[1:])
	require.NoError(t, err)
	both, err := s.Settle(ctx, settlement.State{}, lines)
	require.NoError(t, err)
	for _, entries := range [][]settlement.Entry{append(first.Entries, second.Entries...), both.Entries} {
		sums := map[partner.ID]ensemble.Money{}
		net(entries, sums)
		require.Len(t, sums, 2, "the seller and the platform")
		for p, m := range sums {
			require.True(t, m.IsZero(), "%s nets %s", p, m)
		}
	}
	require.True(t, ensemble.MustMoney("-60.00", "EUR").Equal(feeSumOf(second.Entries, "sub-utrecht")), "the seller gives back its 20%")
}

func feeSumOf(entries []settlement.Entry, p partner.ID) ensemble.Money {
	var sum ensemble.Money
	for _, e := range entries {
		if e.Party == p {
			sum, _ = sum.Add(e.Amount)
		}
	}
	return sum
}

package settlement_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

func TestSettleHandChecked(t *testing.T) {
	s := newSettler(t)
	noRef := chainLine("L2", "1000.00", "2026-03-01")
	noRef.Route.Referrer = ""
	suspended := chainLine("L3", "100.00", "2026-05-01")
	suspended.Route.Seller, suspended.Route.Chain = "reseller-de", []partner.ID{"reseller-de", "distri-eu"}
	suspended.Route.Referrer = ""
	direct := chainLine("L4", "99.99", "2026-03-01")
	direct.Route = partner.Route{Kind: partner.RouteDirect}
	bundle := chainLine("L5", "100.00", "2026-03-01")
	bundle.Offer = catalog.Pin{Offer: "secure-backup", Version: 1}
	bundle.Route.Referrer = ""
	bundle.SupplierCosts = []catalog.SupplierCost{
		{Component: ensemble.Ref{Kind: catalog.RefComponent, ID: "secure-backup/backup/supplier-backup", Version: "1"}, Offer: "backup", Supplier: "supplier-backup", Cost: eur("30.00")},
		{Component: ensemble.Ref{Kind: catalog.RefComponent, ID: "secure-backup/firewall/supplier-secure", Version: "1"}, Offer: "firewall", Supplier: "supplier-secure", Cost: eur("20.00")},
	}
	tests := []struct {
		name string
		line settlement.Line
		want map[partner.ID]string
	}{
		{"three-level chain with referral fee", chainLine("L1", "1000.00", "2026-03-01"), map[partner.ID]string{
			// platform 20% = 200; referral min(5%, 50) = 50; channel 750:
			// distributor gold 6% = 45, reseller 10% = 75, seller the rest 630.
			"platform": "200.00", "referral-ams": "50.00", "distri-eu": "45.00", "reseller-nl": "75.00", "sub-utrecht": "630.00"}},
		{"no referrer: the fee stays in the channel", noRef, map[partner.ID]string{
			"platform": "200.00", "distri-eu": "48.00", "reseller-nl": "80.00", "sub-utrecht": "672.00"}},
		{"suspended seller: its share goes to the platform", suspended, map[partner.ID]string{
			// channel 80: distributor 6% = 4.80; reseller-de suspended gets
			// nothing (its 10% stays in the level), the seller slot is the
			// same suspended partner, so the remaining 75.20 goes to the platform.
			"platform": "95.20", "distri-eu": "4.80"}},
		{"direct sale", direct, map[partner.ID]string{"platform": "99.99"}},
		{"bundle pays suppliers first", bundle, map[partner.ID]string{
			// margin 50: platform 70% = 35, seller 15
			"supplier-backup": "30.00", "supplier-secure": "20.00", "platform": "35.00", "sub-utrecht": "15.00"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{tc.line})
			require.NoError(t, err)
			got := byParty(res.Entries, settlement.KindEarning, settlement.KindSupplierCost)
			require.Len(t, got, len(tc.want), "%v", got)
			for p, w := range tc.want {
				requireMoney(t, got[p], eur(w), p)
			}
			requireMoney(t, sumEntries(res.Entries, settlement.KindEarning, settlement.KindSupplierCost), tc.line.Amount)
			require.True(t, res.State.Has(tc.line.ID))
		})
	}
}

// TestResentLineIsToldFromAChangedOne: a sale sent again as it was settled
// is ErrAlreadySettled alone, so a retrying host may drop it; sent again
// with another amount, date or currency it is ErrLineConflict too, naming
// both (from a new user's trial, who could not tell them apart). Neither
// is settled again, in a later call or in the same one.
func TestResentLineIsToldFromAChangedOne(t *testing.T) {
	s := newSettler(t)
	l := chainLine("L1", "100.00", "2026-03-01")
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{l})
	require.NoError(t, err)

	_, err = s.Settle(ctx, res.State, []settlement.Line{l})
	requireRepeat(t, err)

	changed := l
	changed.Amount = eur("999.00")
	_, err = s.Settle(ctx, res.State, []settlement.Line{changed})
	require.ErrorIs(t, err, settlement.ErrAlreadySettled)
	require.ErrorIs(t, err, settlement.ErrLineConflict)
	require.ErrorContains(t, err, "as EUR 100.00 on 2026-03-01, not EUR 999.00 on 2026-03-01")

	later := l
	later.Date = date("2026-03-02")
	_, err = s.Settle(ctx, res.State, []settlement.Line{later})
	require.ErrorIs(t, err, settlement.ErrLineConflict)

	// Given twice in one call: the second is the same line, or not.
	_, err = s.Settle(ctx, settlement.State{}, []settlement.Line{l, l})
	requireRepeat(t, err)
	what, err := s.SettleWhatYouCan(ctx, res.State, []settlement.Line{l, chainLine("L2", "50.00", "2026-03-01")})
	require.NoError(t, err)
	require.Len(t, what.Rejections, 1)
	require.ErrorIs(t, what.Rejections[0].Err, settlement.ErrAlreadySettled)
	require.True(t, what.State.Has("L2"))

	// Credits: the same credit again is a repeat; another amount, another
	// credited line, or a sale's id is a conflict, and so is a sale
	// reusing a credit's id (found by review: it read as a repeat).
	cr := settlement.Line{ID: "C1", Credits: "L1", Date: date("2026-03-05"), Amount: eur("-10.00")}
	credited, err := s.Settle(ctx, what.State, []settlement.Line{cr})
	require.NoError(t, err)
	_, err = s.Settle(ctx, credited.State, []settlement.Line{cr})
	requireRepeat(t, err)
	more := cr
	more.Amount = eur("-20.00")
	other := cr
	other.Credits = "L2"
	saleID := cr
	saleID.ID = "L2"
	for _, c := range []settlement.Line{more, other, saleID, chainLine("C1", "10.00", "2026-03-05")} {
		_, err = s.Settle(ctx, credited.State, []settlement.Line{c})
		require.ErrorIs(t, err, settlement.ErrAlreadySettled, c.ID)
		require.ErrorIs(t, err, settlement.ErrLineConflict, "%s: %v", c.ID, err)
	}
}

// requireRepeat requires err to be a line sent again as settled:
// ErrAlreadySettled and no ErrLineConflict.
func requireRepeat(t *testing.T, err error) {
	t.Helper()
	require.ErrorIs(t, err, settlement.ErrAlreadySettled)
	require.NotErrorIs(t, err, settlement.ErrLineConflict)
}

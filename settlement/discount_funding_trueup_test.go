package settlement_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// trueUpPlan is a trial's marketplace contract: the marketplace takes 3%
// and the reseller 20% of the list price, and the vendor funds the
// private offer's discount.
const trueUpPlan = `{id: p, version: 1, discount_funding: [{discount: private-offer, node: vendor}], root: {id: root, children: [
	{id: listing, party: platform, share: "3%"},
	{id: reseller, party: seller, share: "20%"},
	{id: vendor, party: "partner:distri-eu", share: remaining}]}}`

// januaryLines are the trial's January: 624.00 of usage, 15% off funded
// by the vendor (530.40 billed), and the 1,469.60 true-up to the 2,000.00
// minimum, which bills back the 93.60 the discount took.
func januaryLines() (usage, trueUp settlement.Line) {
	usage = chainLine("U1", "530.40", "2026-02-01")
	usage.Kind = "usage"
	usage.Route = partner.Route{Kind: partner.RoutePartner, Seller: "sub-utrecht", Chain: []partner.ID{"sub-utrecht", "reseller-nl", "distri-eu"}}
	usage.Discounts = []settlement.Discount{{ID: "private-offer", Amount: eur("93.60")}}
	trueUp = chainLine("T1", "1469.60", "2026-02-01")
	trueUp.Kind = "commitment_true_up"
	trueUp.Route = usage.Route
	trueUp.Recouped = []settlement.Discount{{ID: "private-offer", Amount: eur("93.60")}}
	return usage, trueUp
}

// TestFundedDiscountRecoupedByATrueUpGoesBackToItsFunder: the customer
// pays the 2,000.00 no discount would have billed (530.40 of usage and the
// 1,469.60 true-up), so the discount lowered nothing and the vendor funds
// nothing: the marketplace gets its 3% and the reseller its 20% of
// 2,000.00 (60.00 and 400.00) and the vendor 1,540.00. The usage line pays
// 18.72, 124.80 and 386.88 (480.48 less the 93.60 it funds); the true-up's
// root splits 1,376.00 (41.28, 275.20, 1,059.52) and the vendor gets the
// 93.60 it bills back on top (1,153.12). Before, the root split the
// true-up as billed: 62.81, 418.72 and 1,518.47, the vendor bearing the
// 93.60 the customer paid back.
func TestFundedDiscountRecoupedByATrueUpGoesBackToItsFunder(t *testing.T) {
	s := planSettler(t, trueUpPlan, loadNetwork(t))
	usage, trueUp := januaryLines()
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{usage, trueUp})
	require.NoError(t, err)
	got := byParty(res.Entries, settlement.KindEarning)
	for party, want := range map[partner.ID]string{"platform": "60.00", "sub-utrecht": "400.00", "distri-eu": "1540.00"} {
		requireMoney(t, got[party], eur(want), string(party))
	}
	var notes []string
	for _, e := range res.Entries {
		if e.Line == "T1" {
			notes = append(notes, string(e.Party)+" "+e.Amount.AmountString())
			if e.Party == "distri-eu" {
				require.Contains(t, e.Note, "includes EUR 93.60 of discount private-offer, which it funds and the true-up bills back")
			}
		}
	}
	require.ElementsMatch(t, []string{"platform 41.28", "sub-utrecht 275.20", "distri-eu 1153.12"}, notes)

	// A true-up billing back no more than it bills: the minimum 540.00 is
	// met but for 9.60, all of it billed back; the vendor gets it all.
	trueUp.ID, trueUp.Amount = "T2", eur("9.60")
	trueUp.Recouped = []settlement.Discount{{ID: "private-offer", Amount: eur("9.60")}}
	res, err = s.Settle(ctx, settlement.State{}, []settlement.Line{trueUp})
	require.NoError(t, err)
	got = byParty(res.Entries, settlement.KindEarning)
	require.Len(t, got, 1)
	requireMoney(t, got["distri-eu"], eur("9.60"))
}

// TestRecoupedUnderAPlanFundingNoDiscount: a plan funding no discount
// splits a true-up as billed, whatever it bills back; so does a plan whose
// nodes fund other discounts than the ones it bills back.
func TestRecoupedUnderAPlanFundingNoDiscount(t *testing.T) {
	_, trueUp := januaryLines()
	plain := trueUp
	plain.Recouped = nil
	for _, plan := range []string{
		strings.Replace(trueUpPlan, `discount_funding: [{discount: private-offer, node: vendor}], `, "", 1),
		strings.Replace(trueUpPlan, `discount: private-offer`, `discount: launch`, 1),
	} {
		s := planSettler(t, plan, loadNetwork(t))
		res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{trueUp})
		require.NoError(t, err)
		want, err := s.Settle(ctx, settlement.State{}, []settlement.Line{plain})
		require.NoError(t, err)
		got, wantBy := byParty(res.Entries, settlement.KindEarning), byParty(want.Entries, settlement.KindEarning)
		require.Len(t, got, len(wantBy))
		for p, m := range wantBy {
			requireMoney(t, got[p], m, string(p))
		}
		requireMoney(t, got["platform"], eur("44.09"))
	}
}

// TestRecoupedFunderTakingNoPart: a true-up billing back a discount whose
// funding node takes no part of the line (its condition does not hold)
// fails it with ErrDiscountFunding, as the discount itself would: the
// others are not paid the funder's money.
func TestRecoupedFunderTakingNoPart(t *testing.T) {
	plan := strings.Replace(trueUpPlan, `share: remaining}`, `share: remaining, condition: b-never}`, 1)
	plan = strings.Replace(plan, `{id: reseller, party: seller, share: "20%"}`, `{id: reseller, party: seller, share: "20%"}, {id: house, party: platform, share: remaining}`, 1)
	plan = strings.Replace(plan, `{id: vendor, party: "partner:distri-eu", share: remaining, condition: b-never}`, `{id: vendor, party: "partner:distri-eu", share: "50%", condition: b-never}`, 1)
	s := planSettler(t, plan, loadNetwork(t), `
- id: b-never
  version: 1
  kind: condition
  env_version: 1
  expression: 'line.amount > money("1000000", line.currency)'
`)
	_, trueUp := januaryLines()
	_, err := s.Settle(ctx, settlement.State{}, []settlement.Line{trueUp})
	require.ErrorIs(t, err, settlement.ErrDiscountFunding)
	require.ErrorContains(t, err, `node "vendor" funds discount private-offer, of which the line bills back EUR 93.60, and takes no part of this line (its condition does not hold)`)
}

// TestRecoupedValidation: what a line bills back is named, once, not
// negative, at most its amount, and a line billing back lists no discount.
func TestRecoupedValidation(t *testing.T) {
	s := planSettler(t, trueUpPlan, loadNetwork(t))
	for _, c := range []struct {
		name     string
		recouped []settlement.Discount
		disc     []settlement.Discount
		want     string
	}{
		{"more than the line", []settlement.Discount{{ID: "private-offer", Amount: eur("1469.61")}}, nil, "more than the line's"},
		{"negative", []settlement.Discount{{ID: "private-offer", Amount: eur("-1.00")}}, nil, "negative"},
		{"twice", []settlement.Discount{{ID: "a", Amount: eur("1.00")}, {ID: "a", Amount: eur("1.00")}}, nil, "listed twice"},
		{"unnamed", []settlement.Discount{{Amount: eur("1.00")}}, nil, "empty discount id"},
		{"discounted", []settlement.Discount{{ID: "a", Amount: eur("1.00")}}, []settlement.Discount{{ID: "b", Amount: eur("1.00")}}, "lists no discounts"},
	} {
		_, trueUp := januaryLines()
		trueUp.Recouped, trueUp.Discounts = c.recouped, c.disc
		_, err := s.Settle(ctx, settlement.State{}, []settlement.Line{trueUp})
		require.ErrorIs(t, err, settlement.ErrInvalidLine, c.name)
		require.ErrorContains(t, err, c.want, c.name)
	}
}

// TestRecoupedIsAFactOfTheSale: under a plan funding discounts, a true-up
// sent again billing back another amount is ErrLineConflict; the same
// line again is the same sale (ErrAlreadySettled).
func TestRecoupedIsAFactOfTheSale(t *testing.T) {
	s := planSettler(t, trueUpPlan, loadNetwork(t))
	_, trueUp := januaryLines()
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{trueUp})
	require.NoError(t, err)
	_, err = s.Settle(ctx, res.State, []settlement.Line{trueUp})
	require.ErrorIs(t, err, settlement.ErrAlreadySettled)
	require.NotErrorIs(t, err, settlement.ErrLineConflict)
	other := trueUp
	other.Recouped = []settlement.Discount{{ID: "private-offer", Amount: eur("90.00")}}
	_, err = s.Settle(ctx, res.State, []settlement.Line{other})
	require.ErrorIs(t, err, settlement.ErrLineConflict)
}

// TestTrueUpCreditGivesBackRecoupedInProportion: late usage crediting
// 469.60 of the 1,469.60 true-up reverses each of its parts in proportion
// to what it was paid, the 93.60 the vendor got back included (the credit's
// Recouped, invoice's in-proportion share, is not read): 13.19, 87.94 and
// 368.47 (largest remainder).
func TestTrueUpCreditGivesBackRecoupedInProportion(t *testing.T) {
	s := planSettler(t, trueUpPlan, loadNetwork(t))
	_, trueUp := januaryLines()
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{trueUp})
	require.NoError(t, err)
	credit := chainLine("T1/late", "-469.60", "2026-03-01")
	credit.Kind, credit.Route, credit.Credits = "commitment_true_up", trueUp.Route, "T1"
	credit.Recouped = []settlement.Discount{{ID: "private-offer", Amount: eur("-29.91")}}
	res, err = s.Settle(ctx, res.State, []settlement.Line{credit})
	require.NoError(t, err)
	got := byParty(res.Entries)
	for party, want := range map[partner.ID]string{"platform": "-13.19", "sub-utrecht": "-87.94", "distri-eu": "-368.47"} {
		requireMoney(t, got[party], eur(want), string(party))
	}
}

// TestFromInvoiceCarriesRecouped: FromInvoice copies what a true-up bills
// back (invoice.Line.Recouped) to settlement's Line.Recouped.
func TestFromInvoiceCarriesRecouped(t *testing.T) {
	lines := prepaidLines()
	tu := invoice.Line{ID: "s1/commitment/2026-03-01", Kind: invoice.KindCommitmentTrueUp, Date: date("2026-04-01"), Pin: lines[3].Pin,
		Currency: eur("0").Currency(), Amount: eur("96.25"), Net: eur("96.25"), Discount: eur("0"),
		Recouped: []invoice.AppliedDiscount{{ID: "private-offer", Amount: eur("71.25")}}}
	sl, err := settlement.FromInvoice([]invoice.Line{tu}, prepaidOrder)
	require.NoError(t, err)
	require.Empty(t, sl[0].Discounts)
	require.Len(t, sl[0].Recouped, 1)
	require.Equal(t, "private-offer", sl[0].Recouped[0].ID)
	requireMoney(t, sl[0].Recouped[0].Amount, eur("71.25"))
}

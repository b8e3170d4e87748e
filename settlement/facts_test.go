package settlement_test

import (
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// factsPlan pays the platform 20%, a referrer 5% (the platform when the
// sale has none) and the seller the rest.
const factsPlan = `
- id: resale
  version: 1
  root:
    id: root
    children:
      - {id: platform, party: platform, share: "20%"}
      - {id: referral, party: referrer, share: "5%", fallback: platform}
      - {id: reseller, party: seller, share: remaining}
`

// factsLine is a EUR 1,000.00 sale by reseller-nl under distri-eu.
func factsLine(id string) settlement.Line {
	return settlement.Line{ID: settlement.LineID(id), Date: date("2026-03-02"), Amount: eur("1000.00"),
		Offer: catalog.Pin{Offer: "ai-suite", Version: 1}, Charge: "monthly", Quantity: decimal.NewFromInt(3),
		Customer: settlement.Customer{ID: "cust-1", Country: "NL"},
		Route:    partner.Route{Kind: partner.RoutePartner, Seller: "reseller-nl", Chain: []partner.ID{"reseller-nl", "distri-eu"}},
		Trace:    []ensemble.Ref{{Kind: "invoice_line", ID: "INV-1/1"}}}
}

// factEdits change one fact of a sale each: sent again under its id, the
// sale is ErrLineConflict, whose message says want.
var factEdits = []struct {
	name, want string
	edit       func(*settlement.Line)
}{
	{"a referrer", "route (chain, referrer, marketplace or co-sellers)", func(l *settlement.Line) { l.Route.Referrer = "referral-ams" }},
	{"a marketplace", "route (chain, referrer, marketplace or co-sellers)", func(l *settlement.Line) { l.Route.Marketplace = "reseller-de" }},
	{"a referrer and a customer", "route (chain, referrer, marketplace or co-sellers) and its customer", func(l *settlement.Line) {
		l.Route.Referrer, l.Customer.ID = "referral-ams", "cust-2"
	}},
	{"a co-seller", "not a co_sell sale", func(l *settlement.Line) {
		l.Route.Kind = partner.RouteCoSell
		l.Route.CoSellers = []partner.CoSeller{{Partner: "reseller-de"}}
	}},
	{"another seller", `as a partner sale by "reseller-nl", not a partner sale by "reseller-de"`, func(l *settlement.Line) {
		l.Route.Seller, l.Route.Chain = "reseller-de", []partner.ID{"reseller-de", "distri-eu"}
	}},
	{"another customer", "customer, charge, quantity", func(l *settlement.Line) { l.Customer.ID = "cust-2" }},
	{"another country", "customer, charge, quantity", func(l *settlement.Line) { l.Customer.Country = "BE" }},
	{"another charge", "customer, charge, quantity", func(l *settlement.Line) { l.Charge = "setup" }},
	{"another quantity", "customer, charge, quantity", func(l *settlement.Line) { l.Quantity = decimal.NewFromInt(4) }},
	{"tax", "customer, charge, quantity", func(l *settlement.Line) { l.Tax = eur("210.00") }},
	{"a supplier cost", "supplier costs", func(l *settlement.Line) {
		l.SupplierCosts = []catalog.SupplierCost{{Supplier: "supplier-backup", Offer: "backup",
			Component: ensemble.Ref{Kind: catalog.RefComponent, ID: "backup", Version: "1"}, Cost: eur("100.00")}}
	}},
	{"an invoice", "invoice", func(l *settlement.Line) { l.Invoice = "INV-9" }},
	{"another offer version", "as offer ai-suite@1, not ai-suite@2", func(l *settlement.Line) { l.Offer.Version = 2 }},
	{"a service period", "for service", func(l *settlement.Line) {
		l.Service = ensemble.Period{Start: date("2026-03-01"), End: date("2026-04-01")}
	}},
	{"a contract start", "invoice, contract start, discounts, attributed party, attributes or kind", func(l *settlement.Line) { l.ContractStart = date("2025-03-02") }},
	{"attributes", "attributed party, attributes or kind", func(l *settlement.Line) { l.Attributes = map[string]string{"registered_by": "reseller-nl"} }},
}

// TestResentSaleWithOtherFactsConflicts: a sale sent again under its id
// with another route, customer or any other fact than the one settled is
// ErrLineConflict (a host dropping ErrAlreadySettled alone would keep
// paying the first route), in a later call, in the same call, and after
// the state's JSON and binary round trips; a retry with the same facts,
// written alike or not (a quantity of 3.00, the date in another zone,
// another trace), is ErrAlreadySettled alone.
func TestResentSaleWithOtherFactsConflicts(t *testing.T) {
	s := planSettler(t, factsPlan, loadNetwork(t))
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{factsLine("L1")})
	require.NoError(t, err)
	requireParties(t, res.Entries, map[partner.ID]string{"platform": "250.00", "reseller-nl": "750.00"})
	blob, err := res.State.MarshalBinary()
	require.NoError(t, err)
	var fromBin, fromJSON settlement.State
	require.NoError(t, fromBin.UnmarshalBinary(blob))
	require.NoError(t, json.Unmarshal(mustJSON(t, res.State), &fromJSON))
	for _, tc := range factEdits {
		t.Run(tc.name, func(t *testing.T) {
			l := factsLine("L1")
			tc.edit(&l)
			for name, st := range map[string]settlement.State{"state": res.State, "from binary": fromBin, "from JSON": fromJSON} {
				_, err := s.Settle(ctx, st, []settlement.Line{l})
				require.ErrorIs(t, err, settlement.ErrLineConflict, name)
				require.ErrorIs(t, err, settlement.ErrAlreadySettled, name)
				require.ErrorContains(t, err, "line already settled with other facts", name)
				require.ErrorContains(t, err, tc.want, name)
			}
			// Given twice in one call: the first is settled, the second refused.
			_, err := s.Settle(ctx, settlement.State{}, []settlement.Line{factsLine("L1"), l})
			require.ErrorIs(t, err, settlement.ErrLineConflict)
		})
	}
	t.Run("the same facts", func(t *testing.T) {
		l := factsLine("L1")
		l.Quantity = decimal.RequireFromString("3.00")
		l.Date = l.Date.In(time.FixedZone("CET", 3600))
		l.Trace = []ensemble.Ref{{Kind: "invoice_line", ID: "INV-1/1", Version: "2"}}
		for _, st := range []settlement.State{res.State, fromBin, fromJSON} {
			_, err := s.Settle(ctx, st, []settlement.Line{l})
			require.ErrorIs(t, err, settlement.ErrAlreadySettled)
			require.NotErrorIs(t, err, settlement.ErrLineConflict)
		}
	})
}

// TestBinaryVersion2StillReads: a state written by version 2 of the binary
// form, whose lines kept no fingerprint of their facts (bundleLine sales
// L1 and L2 under bundlePlan), reads as the JSON written with it. Its
// lines are compared by what the ledger keeps alone: a sale sent again
// with another seller conflicts, one with a referrer added does not (the
// state cannot tell).
func TestBinaryVersion2StillReads(t *testing.T) {
	fromBin := versionedState(t, 2)
	ll, ok := fromBin.Line("L1")
	require.True(t, ok)
	require.Empty(t, ll.Facts)

	s := planSettler(t, bundlePlan, loadNetwork(t))
	l := bundleLine("L1")
	l.Route.Referrer = "referral-ams"
	_, err := s.Settle(ctx, fromBin, []settlement.Line{l})
	require.ErrorIs(t, err, settlement.ErrAlreadySettled)
	require.NotErrorIs(t, err, settlement.ErrLineConflict)
	l = bundleLine("L1")
	l.Route.Chain = []partner.ID{"reseller-de", "distri-eu"}
	_, err = s.Settle(ctx, fromBin, []settlement.Line{l})
	require.ErrorIs(t, err, settlement.ErrLineConflict)

	// Written again, the state is the current version, and its lines still have no
	// print; lines settled on it have one.
	res, err := s.Settle(ctx, fromBin, []settlement.Line{bundleLine("L3")})
	require.NoError(t, err)
	blob, err := res.State.MarshalBinary()
	require.NoError(t, err)
	require.Equal(t, byte(settlement.BinaryVersion), blob[1])
	var again settlement.State
	require.NoError(t, again.UnmarshalBinary(blob))
	ll, _ = again.Line("L1")
	require.Empty(t, ll.Facts)
	ll, _ = again.Line("L3")
	require.Len(t, ll.Facts, 16)
}

// TestStateFactsChecked: a state whose line's facts are not a print is
// refused, naming the field.
func TestStateFactsChecked(t *testing.T) {
	s := planSettler(t, factsPlan, loadNetwork(t))
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{factsLine("L1")})
	require.NoError(t, err)
	for _, bad := range []string{"xyz", "0000000000000000", "ABCDEF0123456789", "abcdef012345678", "abcdef01234567890"} {
		var doc map[string]any
		require.NoError(t, json.Unmarshal(mustJSON(t, res.State), &doc))
		doc["lines"].([]any)[0].(map[string]any)["facts"] = bad
		var st settlement.State
		err := json.Unmarshal(mustJSON(t, doc), &st)
		require.ErrorIs(t, err, settlement.ErrCorruptState, bad)
		require.ErrorContains(t, err, "lines[0].facts", bad)
	}
}

// TestLineFactsCovered: every field of Line is a fact the ledger keeps,
// one the fingerprint hashes, or no fact of a sale; a field added to Line
// fails here until it is given a place (and printFacts or the ledger
// covers it).
func TestLineFactsCovered(t *testing.T) {
	kept := []string{"Date", "Amount", "Offer", "Service"} // and Route.Kind, Route.Seller
	printed := []string{"Tax", "Charge", "Quantity", "PeriodQuantity", "Customer", "Route", "SupplierCosts", "Prepaid", "Invoice", "ContractStart", "Discounts", "Recouped", "Attributed", "Attributes"}
	notFacts := []string{"ID", "Credits", "Bearer", "Dispute", "Trace"} // a credit's fields; the trace decides no payout
	// The invoice line's kind, as its id: a line sent again is the same
	// invoice line, and its print is the one states kept before it existed.
	notFacts = append(notFacts, "Kind")
	names := func(rt reflect.Type) []string {
		var out []string
		for i := range rt.NumField() {
			out = append(out, rt.Field(i).Name)
		}
		return out
	}
	require.ElementsMatch(t, slices.Concat(kept, printed, notFacts), names(reflect.TypeFor[settlement.Line]()))
	require.ElementsMatch(t, []string{"Kind", "Seller", "SellerWeight", "Chain", "Marketplace", "Referrer", "CoSellers"},
		names(reflect.TypeFor[partner.Route]()))
	require.ElementsMatch(t, []string{"ID", "Country"}, names(reflect.TypeFor[settlement.Customer]()))
	require.ElementsMatch(t, []string{"Commitment", "Earning"}, names(reflect.TypeFor[settlement.PrepaidTerms]()))
	require.ElementsMatch(t, []string{"Component", "Offer", "Supplier", "Cost", "Ratio", "Fixed", "Per", "AppliesTo", "Source", "Rate", "Capped", "Shortfall"},
		names(reflect.TypeFor[catalog.SupplierCost]()))
}

// TestPropertyFactEditsChangeThePrint: any one fact of a random sale
// (what a true-up bills back of discounts too), changed, changes its print (its contract start given, taken away or
// moved by a second too); its trace, its quantity written with more zeros
// or its contract start in another zone does not.
func TestPropertyFactEditsChangeThePrint(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		ids := []partner.ID{"a", "bb", "reseller-nl", "distri-eu", "x-very-long-partner-identifier"}
		pick := func(label string) partner.ID { return rapid.SampledFrom(ids).Draw(t, label) }
		l := factsLine("L1")
		l.Route.Chain = []partner.ID{pick("seller"), pick("parent")}
		l.Route.Seller = l.Route.Chain[0]
		if rapid.Bool().Draw(t, "referred") {
			l.Route.Referrer = pick("referrer")
		}
		l.Customer.ID = rapid.StringMatching(`[a-z0-9-]{0,20}`).Draw(t, "customer")
		l.Quantity = decimal.New(rapid.Int64Range(0, 1e6).Draw(t, "qty"), -rapid.Int32Range(0, 3).Draw(t, "qty_exp"))
		if rapid.Bool().Draw(t, "contract") {
			l.ContractStart = l.Date.AddDate(0, -rapid.IntRange(0, 30).Draw(t, "contract_months"), 0)
		}
		if rapid.Bool().Draw(t, "attributed") {
			l.Attributed = string(pick("contractor"))
		}
		attrKeys := []string{"registered_by", "first_order", "campaign", "registered_at"}
		if rapid.Bool().Draw(t, "attributes") {
			l.Attributes = map[string]string{}
			for _, k := range rapid.SliceOfNDistinct(rapid.SampledFrom(attrKeys), 1, 4, rapid.ID[string]).Draw(t, "attribute_keys") {
				l.Attributes[k] = string(pick("attribute." + k))
			}
		}
		before := settlement.PrintFundedFacts(&l)
		require.Len(t, before, 16)

		same := l
		same.Trace = []ensemble.Ref{{Kind: "x", ID: rapid.String().Draw(t, "trace")}}
		same.ContractStart = l.ContractStart.In(time.FixedZone("CET", 3600)) // the same instant
		same.Quantity = decimal.NewFromBigInt(l.Quantity.Coefficient(), l.Quantity.Exponent()).Mul(decimal.New(100, 0)).Div(decimal.New(100, 0))
		if l.Attributes != nil { // the same attributes in another map: a map has no order
			same.Attributes = map[string]string{}
			for _, k := range slices.Backward(slices.Sorted(maps.Keys(l.Attributes))) {
				same.Attributes[k] = l.Attributes[k]
			}
		} else if rapid.Bool().Draw(t, "empty_attributes") { // none, empty or nil
			same.Attributes = map[string]string{}
		}
		require.Equal(t, before, settlement.PrintFundedFacts(&same))

		if rapid.Bool().Draw(t, "discounted") {
			l.Discounts = []settlement.Discount{{ID: "launch", Amount: ensemble.MustMoney("10.00", "EUR")}}
			before = settlement.PrintFundedFacts(&l)
		} else if rapid.Bool().Draw(t, "recouped") {
			l.Recouped = []settlement.Discount{{ID: "launch", Amount: ensemble.MustMoney("10.00", "EUR")}}
			before = settlement.PrintFundedFacts(&l)
		}
		// Under a plan funding no discount, its discounts are no fact.
		bare := l
		bare.Discounts, bare.Recouped = nil, nil
		require.Equal(t, settlement.PrintFacts(&bare), settlement.PrintFacts(&l))
		require.NotEqual(t, settlement.PrintFacts(&l), before, "a funded print is marked")

		edited := l
		edited.Route.Chain = slices.Clone(l.Route.Chain)
		switch rapid.IntRange(0, 14).Draw(t, "edit") {
		case 14: // attributes given or taken away, a value or a key changed, a key and its value swapped
			switch k := rapid.SampledFrom(attrKeys).Draw(t, "attribute_edit"); {
			case l.Attributes == nil:
				edited.Attributes = map[string]string{k: string(pick("attribute_edit.v"))}
			case rapid.IntRange(0, 3).Draw(t, "attribute_how") == 0:
				edited.Attributes = nil
			default:
				edited.Attributes = maps.Clone(l.Attributes)
				switch v, ok := l.Attributes[k]; {
				case !ok:
					edited.Attributes[k] = string(pick("attribute_edit.v"))
				case rapid.Bool().Draw(t, "attribute_swap") && v != k:
					delete(edited.Attributes, k)
					edited.Attributes[v] = k
				default:
					edited.Attributes[k] = v + "x"
				}
			}
		case 0:
			edited.Route.Chain[1] += "x"
		case 1:
			edited.Route.Referrer += "x"
		case 2:
			edited.Route.Chain = append(edited.Route.Chain, "top")
		case 3:
			edited.Customer.ID += "-"
		case 4:
			edited.Quantity = l.Quantity.Add(decimal.New(1, -3))
		case 5:
			edited.Invoice = "INV-" + rapid.StringMatching(`[0-9]{1,6}`).Draw(t, "invoice")
		case 6:
			edited.Route.CoSellers = []partner.CoSeller{{Partner: pick("co_seller")}}
		case 7: // a contract start given, taken away or moved by a second
			if l.ContractStart.IsZero() {
				edited.ContractStart = l.Date
			} else {
				edited.ContractStart = time.Time{}
			}
		case 8:
			edited.ContractStart = l.ContractStart.Add(time.Duration(rapid.SampledFrom([]int64{-1, 1}).Draw(t, "by")) * time.Second)
		case 9: // a discount given, taken away or renamed
			switch {
			case len(l.Discounts) == 0:
				edited.Discounts = []settlement.Discount{{ID: "launch", Amount: ensemble.MustMoney("0.00", "EUR")}}
			case rapid.Bool().Draw(t, "drop"):
				edited.Discounts = nil
			default:
				edited.Discounts = []settlement.Discount{{ID: "partner", Amount: l.Discounts[0].Amount}}
			}
		case 10: // a discount of another amount
			if len(l.Discounts) == 0 {
				edited.Discounts = []settlement.Discount{{ID: "launch", Amount: ensemble.MustMoney("0.01", "EUR")}}
			} else {
				edited.Discounts = []settlement.Discount{{ID: "launch", Amount: ensemble.MustMoney("10.01", "EUR")}}
			}
		case 11: // whose usage the line bills, given or another
			edited.Attributed = l.Attributed + "c" + string(pick("attributed"))
		case 12: // what a true-up bills back of discounts, given or taken away
			if len(l.Recouped) == 0 {
				edited.Recouped = []settlement.Discount{{ID: "launch", Amount: ensemble.MustMoney("0.00", "EUR")}}
			} else {
				edited.Recouped = nil
			}
		case 13: // billing back another amount, or another discount
			if rapid.Bool().Draw(t, "rename") {
				edited.Recouped = []settlement.Discount{{ID: "partner", Amount: ensemble.MustMoney("10.00", "EUR")}}
			} else {
				edited.Recouped = []settlement.Discount{{ID: "launch", Amount: ensemble.MustMoney("10.01", "EUR")}}
			}
		}
		require.NotEqual(t, before, settlement.PrintFundedFacts(&edited))
	})
}

// TestFactPrintCanonical: the print does not depend on how a fact is
// written: a quantity's exponent or the decimal package's formatting
// settings, the order co-sellers are listed in; a co-seller's weight does
// change it.
func TestFactPrintCanonical(t *testing.T) {
	l := factsLine("L1")
	l.Route.Kind = partner.RouteCoSell
	l.Route.SellerWeight = ensemble.MustRatio("0.5")
	l.Route.CoSellers = []partner.CoSeller{{Partner: "reseller-de", Weight: ensemble.MustRatio("0.3")}, {Partner: "dev-1", Weight: ensemble.MustRatio("0.2")}}
	l.Quantity = decimal.RequireFromString("3.00")
	want := settlement.PrintFacts(&l)

	trim := decimal.TrimTrailingZeros
	decimal.TrimTrailingZeros = false
	got := settlement.PrintFacts(&l)
	decimal.TrimTrailingZeros = trim
	require.Equal(t, want, got, "whatever decimal.TrimTrailingZeros says")

	same := l
	same.Quantity = decimal.New(30, -1)
	same.Route.CoSellers = []partner.CoSeller{l.Route.CoSellers[1], l.Route.CoSellers[0]}
	require.Equal(t, want, settlement.PrintFacts(&same))

	other := l
	other.Route.CoSellers = []partner.CoSeller{{Partner: "reseller-de", Weight: ensemble.MustRatio("0.2")}, {Partner: "dev-1", Weight: ensemble.MustRatio("0.3")}}
	require.NotEqual(t, want, settlement.PrintFacts(&other))
	require.Equal(t, partner.ID("reseller-de"), l.Route.CoSellers[0].Partner, "the line's own co-sellers are not reordered")
}

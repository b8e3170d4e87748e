package invoice

import (
	"slices"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/usage"
)

// usageShare is one value's part of a usage line: the attribute's value
// (empty when the line is not attributed), its quantity and its amount.
type usageShare struct {
	value  string
	qty    decimal.Decimal
	amount ensemble.Money
}

// usageShares allocates amount, the rating of agg's whole quantity under
// charge ch, over the values of ch's attribute in proportion to their
// quantities (see Attribution): one share with no value when the charge
// attributes nothing or no value has a quantity. The shares add up to
// amount exactly.
func usageShares(ch *chargeInfo, agg *usage.Aggregate, amount ensemble.Money) ([]usageShare, error) {
	if err := attributionOK(ch, agg); err != nil {
		return nil, err
	}
	whole := []usageShare{{qty: agg.Value, amount: amount}}
	if ch.attributeTo == "" {
		return whole, nil
	}
	weights := make([]ensemble.Share, 0, len(agg.Parts))
	for _, p := range agg.Parts {
		if p.Quantity.Sign() < 0 {
			return nil, usageErr(*agg, ErrAttribution, "the usage of "+ch.attributeTo+" "+p.Value+" comes to "+p.Quantity.String()+": a negative quantity cannot take a part of the charge")
		}
		if p.Quantity.Sign() > 0 {
			weights = append(weights, ensemble.Share{Key: p.Value, Weight: ensemble.RatioFromDecimal(p.Quantity)})
		}
	}
	if len(weights) == 0 {
		return whole, nil
	}
	parts, err := ensemble.Allocate(amount, weights, ensemble.AllocateOptions{})
	if err != nil {
		return nil, usageErr(*agg, err, "")
	}
	out := make([]usageShare, 0, len(weights))
	for i, w := range weights {
		out = append(out, usageShare{value: w.Key, qty: partQuantity(agg.Parts, w.Key), amount: parts[i]})
	}
	return out, nil
}

// attributionOK checks that an aggregate holding records is attributed to
// the attribute its charge names, no more and no less.
func attributionOK(ch *chargeInfo, agg *usage.Aggregate) error {
	if agg.Records == 0 || agg.AttributeTo == ch.attributeTo {
		return nil
	}
	if ch.attributeTo == "" {
		return usageErr(*agg, ErrAttribution, "the usage is attributed to "+agg.AttributeTo+" (usage.Meter.AttributeTo), but charge "+string(ch.id)+" attributes nothing (catalog.Charge.AttributeTo)")
	}
	if agg.Aggregation == usage.WeightedAverage {
		return usageErr(*agg, ErrAttribution, "charge "+string(ch.id)+" attributes its usage to "+ch.attributeTo+" (catalog.Charge.AttributeTo), but meter "+string(agg.Meter)+" is a weighted_average, which cannot be attributed: the averages of the parts do not add up to the whole's")
	}
	return usageErr(*agg, ErrAttribution, "charge "+string(ch.id)+" attributes its usage to "+ch.attributeTo+" (catalog.Charge.AttributeTo), but the aggregate is attributed to "+quoteOr(agg.AttributeTo, "nothing")+": set usage.Meter.AttributeTo to "+ch.attributeTo)
}

func quoteOr(s, none string) string {
	if s == "" {
		return none
	}
	return `"` + s + `"`
}

// partQuantity returns the quantity of value in parts (zero when absent).
func partQuantity(parts []usage.Part, value string) decimal.Decimal {
	if i, ok := slices.BinarySearchFunc(parts, value, func(p usage.Part, v string) int { return strings.Compare(p.Value, v) }); ok {
		return parts[i].Quantity
	}
	return decimal.Zero
}

// lateDelta is one value's late usage line: its part of the cumulative
// and of the billed amount, and its cumulative and billed quantity.
type lateDelta struct {
	value          string
	cum, billed    ensemble.Money
	qty, billedQty decimal.Decimal
}

// lateShares splits a late usage adjustment of charge ch: each value's
// part of cumAmt (the rating of cum, every record of the period) less its
// part of billedAmt (the rating of billed, what was billed before), so
// that the late lines of a value add up, over any split of runs, to the
// part one run gives it. The part billed with no value (a period billed
// with no quantity) is a value of its own, "". A value with no late usage
// and nothing to move is left out; a charge that attributes nothing gives
// one delta with no value, as ever.
func (g *gen) lateShares(ch *chargeInfo, billed, cum *usage.Aggregate, billedAmt, cumAmt ensemble.Money) ([]lateDelta, error) {
	bs, err := usageShares(ch, billed, billedAmt)
	if err != nil {
		return nil, err
	}
	cs, err := usageShares(ch, cum, cumAmt)
	if err != nil {
		return nil, err
	}
	if ch.attributeTo == "" {
		return []lateDelta{{cum: cs[0].amount, billed: bs[0].amount, qty: cum.Value, billedQty: billed.Value}}, nil
	}
	zero := ensemble.MoneyFromMinor(0, g.cur)
	byValue := map[string]*lateDelta{}
	at := func(v string) *lateDelta {
		d := byValue[v]
		if d == nil {
			d = &lateDelta{value: v, cum: zero, billed: zero, qty: partQuantity(cum.Parts, v), billedQty: partQuantity(billed.Parts, v)}
			byValue[v] = d
		}
		return d
	}
	for _, s := range bs {
		at(s.value).billed = s.amount
	}
	for _, s := range cs {
		at(s.value).cum = s.amount
	}
	out := make([]lateDelta, 0, len(byValue))
	for _, d := range byValue {
		if g.cmp(d.cum, d.billed) != 0 || !d.qty.Equal(d.billedQty) {
			out = append(out, *d)
		}
	}
	slices.SortFunc(out, func(a, b lateDelta) int { return strings.Compare(a.value, b.value) })
	if len(out) == 0 { // late records of no quantity: still say they were billed
		out = append(out, lateDelta{cum: zero, billed: zero, qty: cum.Value, billedQty: billed.Value})
	}
	return out, nil
}

// attributedID is the ID of the line billing value's part of the usage
// line id (id itself when value is empty).
func attributedID(id LineID, value string) LineID {
	if value == "" {
		return id
	}
	return LineID(string(id) + "/" + value)
}

package catalog

import (
	"fmt"
	"slices"

	"github.com/ensemble-commerce/ensemble"
	"github.com/shopspring/decimal"
)

// RateOptions says how a rating is rounded. The zero value rounds the line
// total once, half away from zero, and applies the minimum spend.
type RateOptions struct {
	// Rounding says where amounts are rounded to the currency's minor unit.
	Rounding RoundingPolicy `json:"rounding"`
	// Mode is the rounding mode (default half away from zero).
	Mode ensemble.RoundingMode `json:"mode"`
	// Interim marks a running total inside a period that is still open
	// (progressive billing): the minimum spend is not applied yet, because
	// it is owed for the whole period. The maximum spend still applies.
	Interim bool `json:"interim,omitempty"`
	// SpendShare is the part of the period's minimum and maximum spend
	// this rating owes, for a piece of a period: a usage period cut where
	// an item's usage charge changes (invoice.SplitAtChange) owes each
	// charge's bounds in proportion to the piece's service, as Lago
	// prorates a charge's minimum by the days its subscription ran, so the
	// pieces of one period owe one minimum between them, not one each; a
	// price with Price.SpendProration SpendService owes it for a period the
	// item was in service for only part of, too.
	// The bounds are multiplied by it and rounded to the currency's minor
	// unit in Mode before they apply. Zero means the whole period (1);
	// otherwise it is in (0, 1]. Transaction bounds (Percentage) are per
	// transaction and never shared.
	SpendShare ensemble.Ratio `json:"spend_share,omitzero"`
}

// ratioOne is the whole period's spend share.
var ratioOne = ensemble.RatioFromInt(1)

func (o RateOptions) check() error {
	if !o.Mode.Valid() || int(o.Rounding) >= len(roundingPolicyNames) {
		return fmt.Errorf("%w: rate: unknown rounding mode %s or policy %s", ErrOutOfRange, o.Mode, o.Rounding)
	}
	if o.SpendShare.Sign() < 0 || o.SpendShare.Cmp(ratioOne) > 0 {
		return fmt.Errorf("%w: rate: spend share %s is not in (0, 1]", ErrOutOfRange, o.SpendShare)
	}
	return nil
}

// shared reports whether opts share the spend bounds of a price that has
// some (RateOptions.SpendShare): a rating the fixed-point path leaves to
// the decimal one.
func (o RateOptions) shared() bool {
	return !o.SpendShare.IsZero() && o.SpendShare.Cmp(ratioOne) != 0
}

// Line is one line of a rating's breakdown. For tiered models there is one
// line per tier the quantity reaches (Tier is its index from 0); the other
// models give a single line with Tier 0, whose Quantity is the billable
// quantity (the number of packages for Package, the transaction amount for
// Percentage) and whose UnitAmount is the unit amount (the amount per
// package; the rate, as an amount per unit of the currency, for the
// percentage models). The line of a tier with a Tier.BlockSize counts
// blocks: Quantity is the number of blocks billed and UnitAmount the amount
// per block.
type Line struct {
	// Tier is the index of the tier in Price.Tiers (0 for untiered models).
	Tier int `json:"tier"`
	// Quantity is the part of the quantity billed in this line.
	Quantity decimal.Decimal `json:"quantity"`
	// UnitAmount is the amount per unit of Quantity.
	UnitAmount ensemble.Money `json:"unit_amount"`
	// FlatAmount is the flat amount the line adds once.
	FlatAmount ensemble.Money `json:"flat_amount"`
	// Subtotal is Quantity × UnitAmount + FlatAmount: exact, or rounded to
	// the minor unit under RoundPerTier.
	Subtotal ensemble.Money `json:"subtotal"`
	// Adjustment is the line's share of Rating.Adjustment under
	// SpendPerTier (zero under SpendTotal): negative where the maximum spend
	// cut the line, positive on the last line for a minimum-spend uplift.
	// The line nets Subtotal + Adjustment, which is never below zero. A
	// line the adjustment leaves alone holds the zero Money (no currency,
	// omitted from JSON), which adds to any amount.
	Adjustment ensemble.Money `json:"adjustment,omitzero"`
}

// Rating is a priced quantity: the amount and how it was reached. The sum
// of the lines' subtotals plus Adjustment is Amount before its final
// rounding: Amount = round(Σ Subtotal + Adjustment) under RoundPerLine and
// RoundPerTier, and exactly Σ Subtotal + Adjustment under RoundNone.
type Rating struct {
	// Price is the trace reference of the price (empty for a Rater made
	// with NewRater).
	Price ensemble.Ref `json:"price,omitzero"`
	// Quantity is the quantity (or transaction amount) that was rated: for
	// RateProrated, the prorated units.
	Quantity decimal.Decimal `json:"quantity"`
	// Full is, for RateProrated, the full period's quantity that picked the
	// tier; zero for the other ratings.
	Full decimal.Decimal `json:"full,omitzero"`
	// Free is the part of Quantity that the price's free units covered.
	Free decimal.Decimal `json:"free,omitzero"`
	// Lines is the breakdown, in tier order.
	Lines []Line `json:"lines"`
	// Adjustment is what the minimum or maximum spend (or, for Percentage,
	// the transaction minimum or maximum) added to (positive) or took from
	// (negative) the sum of the lines.
	Adjustment ensemble.Money `json:"adjustment,omitzero"`
	// Amount is the amount billed, rounded per the options.
	Amount ensemble.Money `json:"amount"`
}

// Delta is a progressive or late-usage rating: the amount owed for a
// cumulative quantity minus the amount of the quantity already billed.
// Because each side is rounded on its own, the deltas billed for a growing
// quantity add up to exactly the rating of the final quantity. Volume and
// package prices are not monotonic, so their delta can be negative (a
// credit).
type Delta struct {
	// Amount is Cumulative.Amount - Billed.Amount.
	Amount ensemble.Money `json:"amount"`
	// Cumulative rates the cumulative quantity.
	Cumulative Rating `json:"cumulative"`
	// Billed rates the quantity already billed.
	Billed Rating `json:"billed"`
}

// Rater is a price compiled for rating: its parameters checked, its tier
// bounds, tier amounts and cumulative full-tier amounts computed once, and
// fixed-point copies made for the fast path. A Rater is immutable and safe
// for concurrent use. Catalog.Rater returns the Rater of a catalog charge;
// NewRater compiles a price on its own.
type Rater struct {
	ref   ensemble.Ref
	price Price
	cur   ensemble.Currency

	amount, pkgSize, rate, fee, txMin, txMax, free, minSpend, maxSpend decimal.Decimal
	amountM, rateM, feeM, zeroM, txMinM, txMaxM, minSpendM, maxSpendM  ensemble.Money
	tiers                                                              []ctier
	full                                                               []Line // the breakdown line of each closed tier, billed in full
	fast                                                               fastPrice
}

// ctier is a compiled tier.
type ctier struct {
	open         bool
	lower, upTo  decimal.Decimal // (lower, upTo]; upTo unused when open
	unit, flat   decimal.Decimal // unit amount or rate (per block when block > 0); flat amount
	block        decimal.Decimal // block size; zero bills units
	before       decimal.Decimal // exact amount of every full tier below
	width        decimal.Decimal // upTo - lower, for closed tiers
	unitM, flatM ensemble.Money
	fullM        ensemble.Money // width × unit + flat, for closed tiers
}

// NewRater validates p as a price in currency cur and compiles it. Problems
// are reported all at once as an *ensemble.ValidationError whose paths start
// at "price" and whose problems are *OfferError values with an empty offer;
// the zero cur is ErrRequired at "currency".
func NewRater(p Price, cur ensemble.Currency) (*Rater, error) {
	var probs ensemble.Problems
	rep := reporter{p: &probs, priceOnly: true}
	if cur.IsZero() {
		rep.add("currency", ErrRequired, "")
	}
	validatePrice(&rep, "price", &p)
	if err := probs.Err("catalog: price"); err != nil {
		return nil, err
	}
	return compilePrice(p, cur, ensemble.Ref{}), nil
}

// compilePrice builds the Rater of a validated price.
func compilePrice(p Price, cur ensemble.Currency, ref ensemble.Ref) *Rater {
	r := &Rater{ref: ref, price: clonePrice(p), cur: cur}
	r.amount, r.pkgSize, r.fee = p.Amount, p.PackageSize, p.FixedFee
	r.txMin, r.txMax, r.free = p.TransactionMinimum, p.TransactionMaximum, p.FreeUnits
	r.minSpend, r.maxSpend = p.MinimumSpend, p.MaximumSpend
	r.rate, _ = terminating(p.Rate)
	r.amountM = ensemble.MoneyFromDecimal(r.amount, cur)
	r.rateM = ensemble.MoneyFromDecimal(r.rate, cur)
	r.feeM = ensemble.MoneyFromDecimal(r.fee, cur)
	r.zeroM = ensemble.MoneyFromMinor(0, cur)
	r.txMinM, r.txMaxM = ensemble.MoneyFromDecimal(r.txMin, cur), ensemble.MoneyFromDecimal(r.txMax, cur)
	r.minSpendM, r.maxSpendM = ensemble.MoneyFromDecimal(r.minSpend, cur), ensemble.MoneyFromDecimal(r.maxSpend, cur)
	if p.Model.tiered() {
		r.tiers = make([]ctier, len(p.Tiers))
		lower, before := decimal.Zero, decimal.Zero
		for i, t := range p.Tiers {
			ct := ctier{open: t.UpTo == nil, lower: lower, unit: t.UnitAmount, flat: t.FlatAmount, block: t.BlockSize, before: before}
			if p.Model == GraduatedPercentage {
				ct.unit, _ = terminating(t.Rate)
			}
			ct.unitM = ensemble.MoneyFromDecimal(ct.unit, cur)
			ct.flatM = ensemble.MoneyFromDecimal(ct.flat, cur)
			if !ct.open {
				ct.upTo = *t.UpTo
				ct.width = ct.upTo.Sub(lower)
				full := ct.billed(ct.width).Mul(ct.unit).Add(ct.flat)
				ct.fullM = ensemble.MoneyFromDecimal(full, cur)
				before = before.Add(full)
				lower = ct.upTo
			}
			r.tiers[i] = ct
			if !ct.open {
				r.full = append(r.full, Line{Tier: i, Quantity: ct.billed(ct.width), UnitAmount: ct.unitM, FlatAmount: ct.flatM, Subtotal: ct.fullM})
			}
		}
	}
	r.fast = compileFast(r)
	return r
}

// billed returns what tier t bills for q (>= 0) of its units: q itself, or
// for a block tier the number of blocks that hold q, a started block
// counted whole (Kill Bill's tiered blocks): ceil(q / block).
func (t *ctier) billed(q decimal.Decimal) decimal.Decimal {
	if t.block.Sign() == 0 {
		return q
	}
	n, rem := q.QuoRem(t.block, 0)
	if rem.Sign() > 0 {
		n = n.Add(decimal.NewFromInt(1))
	}
	return n
}

// Price returns a copy of the price the Rater was compiled from.
func (r *Rater) Price() Price { return clonePrice(r.price) }

// Currency returns the currency the Rater bills in.
func (r *Rater) Currency() ensemble.Currency { return r.cur }

// Ref returns the trace reference of the price (empty for NewRater).
func (r *Rater) Ref() ensemble.Ref { return r.ref }

// checkQuantity rejects negative and out-of-range quantities.
func checkQuantity(q decimal.Decimal) error {
	if q.Sign() < 0 {
		return fmt.Errorf("%w: %s", ErrNegativeQuantity, q)
	}
	if !decimalInRange(q) {
		return fmt.Errorf("catalog: quantity: %w: %s", ErrOutOfRange, cut(q.String()))
	}
	return nil
}

// Rate prices quantity q (for the percentage models, a transaction amount
// in the price's currency) and returns the amount with its breakdown by
// tier. Amounts keep full precision until the point opts.Rounding names and
// are then rounded to the currency's minor unit in opts.Mode. Errors: a
// negative q wraps ErrNegativeQuantity; a q with more than 40 digits or an
// exponent beyond ±40 wraps ErrOutOfRange, as does a result with an amount
// of more than ensemble.MaxAmountDigits digits (which could not be read back
// from JSON); unknown options are an error. A failed call returns the zero
// Rating.
func (r *Rater) Rate(q decimal.Decimal, opts RateOptions) (Rating, error) {
	if err := opts.check(); err != nil {
		return Rating{}, err
	}
	if err := checkQuantity(q); err != nil {
		return Rating{}, r.wrap(err)
	}
	rt := Rating{Price: r.ref, Quantity: q}
	if r.fast.ok && r.fastLines(&rt, q) {
		r.waiveAtZero(&rt, q)
		if err := r.finish(&rt, opts); err != nil {
			return Rating{}, r.wrap(err)
		}
		return rt, nil // every value fits 19 digits
	}
	r.slowLines(&rt, q)
	r.waiveAtZero(&rt, q)
	if err := r.finish(&rt, opts); err != nil {
		return Rating{}, r.wrap(err)
	}
	return r.checked(rt)
}

// waiveAtZero bills nothing of rt's lines, those of quantity q, when q is
// zero and the price waives its first tier's flat amount then
// (FlatAtZeroWaived): at zero every line is its flat amount alone.
func (r *Rater) waiveAtZero(rt *Rating, q decimal.Decimal) {
	if r.price.FlatAtZero != FlatAtZeroWaived || !q.IsZero() {
		return
	}
	for i := range rt.Lines {
		rt.Lines[i].FlatAmount, rt.Lines[i].Subtotal = r.zeroM, r.zeroM
	}
}

// checked returns rt, or an error wrapping ErrOutOfRange when one of its
// amounts could not be read back from JSON.
func (r *Rater) checked(rt Rating) (Rating, error) {
	if !writable(rt.Amount) || !writable(rt.Adjustment) || slices.ContainsFunc(rt.Lines, func(l Line) bool {
		return !writable(l.Subtotal) || !writable(l.UnitAmount) || !writable(l.FlatAmount) || !writable(l.Adjustment)
	}) {
		return Rating{}, r.wrap(fmt.Errorf("%w: an amount needs more than %d digits", ErrOutOfRange, ensemble.MaxAmountDigits))
	}
	return rt, nil
}

// writable reports whether m's text has at most ensemble.MaxAmountDigits
// digits, so that it reads back from JSON.
func writable(m ensemble.Money) bool {
	n := 0
	for _, c := range m.AmountString() {
		if c >= '0' && c <= '9' {
			n++
		}
	}
	return n <= ensemble.MaxAmountDigits
}

// slowLines computes the breakdown with exact decimals. It sets every field
// fastLines may have touched.
func (r *Rater) slowLines(rt *Rating, q decimal.Decimal) {
	billable := q
	rt.Free = decimal.Decimal{}
	if r.free.Sign() > 0 {
		if q.Cmp(r.free) <= 0 {
			rt.Free, billable = q, decimal.Zero
		} else {
			rt.Free, billable = r.free, q.Sub(r.free)
		}
	}
	money := func(d decimal.Decimal) ensemble.Money { return ensemble.MoneyFromDecimal(d, r.cur) }
	switch r.price.Model {
	case Flat:
		rt.Lines = []Line{{Quantity: billable, UnitAmount: r.zeroM, FlatAmount: r.amountM, Subtotal: r.amountM}}
	case PerUnit:
		rt.Lines = []Line{{Quantity: billable, UnitAmount: r.amountM, FlatAmount: r.zeroM, Subtotal: money(billable.Mul(r.amount))}}
	case Package:
		n, rem := billable.QuoRem(r.pkgSize, 0)
		if rem.Sign() > 0 && r.price.PackageRounding == RoundUpPackages {
			n = n.Add(decimal.NewFromInt(1))
		}
		rt.Lines = []Line{{Quantity: n, UnitAmount: r.amountM, FlatAmount: r.zeroM, Subtotal: money(n.Mul(r.amount))}}
	case Percentage:
		rt.Lines = []Line{{Quantity: billable, UnitAmount: r.rateM, FlatAmount: r.feeM, Subtotal: money(billable.Mul(r.rate).Add(r.fee))}}
	case Volume:
		k := r.tierOf(billable)
		t := &r.tiers[k]
		n := t.billed(billable) // every unit, or every started block, at the tier reached
		rt.Lines = []Line{{Tier: k, Quantity: n, UnitAmount: t.unitM, FlatAmount: t.flatM, Subtotal: money(n.Mul(t.unit).Add(t.flat))}}
	case Graduated, GraduatedPercentage:
		k := r.tierOf(billable)
		rt.Lines = make([]Line, k+1)
		copy(rt.Lines, r.full[:k]) // the tiers below, billed in full
		t := &r.tiers[k]
		n := t.billed(billable.Sub(t.lower)) // the slice in the last tier reached
		rt.Lines[k] = Line{Tier: k, Quantity: n, UnitAmount: t.unitM, FlatAmount: t.flatM, Subtotal: money(n.Mul(t.unit).Add(t.flat))}
	}
}

// finish rounds per tier if asked, sums the lines, applies the spend (or
// transaction) bounds and rounds the total per the options. Money keeps
// values that fit 64 bits without allocating. Every amount is in the
// price's currency, so the error (a currency mismatch, wrapping
// ErrCurrency) reports a bug in the Rater, never bad input.
func (r *Rater) finish(rt *Rating, opts RateOptions) error {
	var x ensemble.Arith
	sum := r.zeroM
	for i := range rt.Lines {
		if opts.Rounding == RoundPerTier {
			rt.Lines[i].Subtotal = rt.Lines[i].Subtotal.Round(opts.Mode)
		}
		sum = x.Add(sum, rt.Lines[i].Subtotal)
	}
	// The bounds: a transaction's (Percentage), or the period's, shared
	// with the rest of the period by a piece of it (SpendShare) and owed
	// only at the period's end (Interim). A shared maximum that rounds to
	// zero still caps.
	lo, hi := r.minSpendM, r.maxSpendM
	if r.price.Model == Percentage {
		lo, hi = r.txMinM, r.txMaxM
	}
	capped := hi.IsPositive()
	if r.price.Model != Percentage && opts.shared() {
		lo, hi = lo.MulRatio(opts.SpendShare, opts.Mode), hi.MulRatio(opts.SpendShare, opts.Mode)
	}
	if r.price.Model != Percentage && opts.Interim {
		lo = r.zeroM
	}
	total := sum
	if lo.IsPositive() && x.Cmp(sum, lo) < 0 {
		total = lo
	} else if capped && x.Cmp(sum, hi) > 0 {
		total = hi
	}
	if !total.Equal(sum) {
		rt.Adjustment = x.Sub(total, sum)
		if r.price.SpendAdjustment == SpendPerTier {
			spread(&x, rt.Lines, rt.Adjustment)
		}
	}
	if err := x.Err(); err != nil {
		return fmt.Errorf("%w: %w", ErrCurrency, err)
	}
	if opts.Rounding != RoundNone {
		total = total.Round(opts.Mode)
	}
	rt.Amount = total
	return nil
}

// spread shares adj, a spend adjustment, between the lines (SpendPerTier).
// A cut (the maximum spend) is taken from the lines highest tier first, as
// OpenMeter discounts the tier lines past the cap: each line loses at most
// its subtotal, so the lines below the cap keep their amount and no line
// nets below zero. An uplift (the minimum spend) goes to the last line.
// The shares add up to exactly adj: the cut never exceeds the sum of the
// subtotals, because the capped total is above zero. x keeps a currency
// mismatch.
func spread(x *ensemble.Arith, lines []Line, adj ensemble.Money) {
	if len(lines) == 0 {
		return
	}
	if adj.IsPositive() {
		lines[len(lines)-1].Adjustment = adj
		return
	}
	left := adj.Neg()
	for i := len(lines) - 1; i >= 0 && left.IsPositive(); i-- {
		cut := lines[i].Subtotal
		if x.Cmp(cut, left) > 0 {
			cut = left
		}
		if cut.IsPositive() {
			lines[i].Adjustment = cut.Neg()
			left = x.Sub(left, cut)
		}
	}
}

// RateTransaction rates a transaction amount (the percentage models) as
// Rate does, after checking that it is in the price's currency: an amount
// in another currency wraps ErrCurrency.
func (r *Rater) RateTransaction(amount ensemble.Money, opts RateOptions) (Rating, error) {
	if amount.Currency() != r.cur && !(amount.IsZero() && amount.Currency().IsZero()) {
		return Rating{}, r.wrap(fmt.Errorf("%w: %s, want %s", ErrCurrency, amount, r.cur))
	}
	return r.Rate(amount.Amount(), opts)
}

// tierOf returns the index of the tier that quantity q (>= 0) reaches: the
// first tier whose inclusive bound holds q, or the open last tier.
func (r *Rater) tierOf(q decimal.Decimal) int {
	for i := range r.tiers {
		if r.tiers[i].open || q.Cmp(r.tiers[i].upTo) <= 0 {
			return i
		}
	}
	return len(r.tiers) - 1 // unreachable for a validated price: the last tier is open
}

// Amount is Rate without the breakdown: the same amount, computed on a
// 64-bit fixed-point fast path when every value fits (falling back to exact
// decimals when one does not, and always under RoundPerTier). It is the
// call for hot loops; its errors are Rate's.
func (r *Rater) Amount(q decimal.Decimal, opts RateOptions) (ensemble.Money, error) {
	if r.fast.ok && opts.Rounding != RoundPerTier && opts.check() == nil && !(r.price.FlatAtZero == FlatAtZeroWaived && q.IsZero()) &&
		!(opts.shared() && r.price.Model != Percentage) {
		if v, scale, ok := r.fastAmount(q, opts); ok {
			return fxMoney(fx{v: v, s: scale}, r.cur), nil
		}
	}
	rt, err := r.Rate(q, opts)
	if err != nil {
		return ensemble.Money{}, err
	}
	return rt.Amount, nil
}

// RateDelta rates the cumulative quantity and the quantity already billed
// and returns both with their difference, for progressive billing and late
// usage (rate(cumulative) - rate(billed), as OpenMeter does). billedOpts
// are the options the billed quantity was rated with, so that its amount is
// the one that was billed: Interim for a progressive bill inside the
// period (no minimum spend yet), the final options for late usage after
// the period's bill. opts rate the cumulative quantity: Interim again for
// another progressive bill, final for the period's last one, where the
// minimum spend is owed.
//
// For graduated prices under RoundNone the delta is exactly the price of
// the units in (billed, cumulative]. Because each side is rounded on its
// own, successive deltas add up to the rating of the final quantity to the
// minor unit. Errors are Rate's; billed may exceed cumulative (a
// correction), which gives a negative delta.
//
// The first bill of a period is Rate(q), not RateDelta(0, q, ...): a zero
// quantity has a price too (the first tier's flat amount), which the delta
// leaves out because it counts it as billed.
func (r *Rater) RateDelta(billed, cumulative decimal.Decimal, billedOpts, opts RateOptions) (Delta, error) {
	c, err := r.Rate(cumulative, opts)
	if err != nil {
		return Delta{}, err
	}
	b, err := r.Rate(billed, billedOpts)
	if err != nil {
		return Delta{}, err
	}
	amt, err := c.Amount.Sub(b.Amount)
	if err != nil { // unreachable: both sides share the Rater's currency
		return Delta{}, err
	}
	if !writable(amt) {
		return Delta{}, r.wrap(fmt.Errorf("%w: the delta needs more than %d digits", ErrOutOfRange, ensemble.MaxAmountDigits))
	}
	return Delta{Amount: amt, Cumulative: c, Billed: b}, nil
}

// wrap names the price in a rating error.
func (r *Rater) wrap(err error) error {
	if r.ref.ID == "" {
		return err
	}
	return fmt.Errorf("catalog: rate %s: %w", r.ref, err)
}

// clonePrice deep-copies the tiers of p, so a Rater never shares them with
// its caller.
func clonePrice(p Price) Price {
	if p.Tiers != nil {
		tiers := make([]Tier, len(p.Tiers))
		for i, t := range p.Tiers {
			if t.UpTo != nil {
				u := *t.UpTo
				t.UpTo = &u
			}
			tiers[i] = t
		}
		p.Tiers = tiers
	}
	return p
}

// Proration is a quantity billed for part of a period, which
// Rater.RateProrated rates as Lago rates a prorated volume charge: one
// quantity picks the tier, another is billed.
type Proration struct {
	// Full is the quantity over the whole period (Lago's full units
	// number): it picks the tier.
	Full decimal.Decimal `json:"full"`
	// Units is the prorated quantity billed at the tier's unit amount:
	// Full × the share of the period in service, or the sum of each unit's
	// share (Lago's prorated aggregation). It may exceed Full when units
	// were removed before the period ended.
	Units decimal.Decimal `json:"units"`
	// Fraction is the share of the period in service, from 0 to 1. Under
	// FlatProrated it prorates the tier's flat amount; FlatWhole ignores it.
	Fraction ensemble.Ratio `json:"fraction"`
}

// RateProrated rates a Volume price for part of a period, as Lago rates a
// prorated volume charge: p.Full, the full period's quantity, picks the
// tier; p.Units, the prorated units, are billed at that tier's unit amount
// (in started blocks for a block tier); and the tier's flat amount is
// billed whole (FlatWhole, Lago's rule) or times p.Fraction (FlatProrated,
// the default), rounded in opts.Mode to the currency's minor unit, or to
// the flat amount's own digits when it has more, so that it never exceeds
// the flat amount (under RoundNone too: a share such as 15/31 has no exact
// decimal form). Free units are taken from Full
// before it picks the tier and from Units before they are billed. The
// minimum and maximum spend then apply to the prorated amount as Rate
// applies them. RateProrated({q, q, 1}) has the amount and lines of
// Rate(q).
//
// Errors are Rate's, for either quantity; a Fraction outside [0, 1] wraps
// ErrOutOfRange; a price that is not Volume wraps ErrModel. A failed call
// returns the zero Rating.
func (r *Rater) RateProrated(p Proration, opts RateOptions) (Rating, error) {
	if err := opts.check(); err != nil {
		return Rating{}, err
	}
	if r.price.Model != Volume {
		return Rating{}, r.wrap(fmt.Errorf("%w: prorated rating of a %s price", ErrModel, r.price.Model))
	}
	for _, q := range []decimal.Decimal{p.Full, p.Units} {
		if err := checkQuantity(q); err != nil {
			return Rating{}, r.wrap(err)
		}
	}
	if p.Fraction.Sign() < 0 || p.Fraction.Cmp(ensemble.RatioFromInt(1)) > 0 {
		return Rating{}, r.wrap(fmt.Errorf("catalog: proration fraction: %w: %s", ErrOutOfRange, cut(p.Fraction.String())))
	}
	afterFree := func(q decimal.Decimal) decimal.Decimal { return decimal.Max(decimal.Zero, q.Sub(r.free)) }
	full, units := afterFree(p.Full), afterFree(p.Units)
	k := r.tierOf(full) // the full quantity picks the tier...
	t := &r.tiers[k]
	n := t.billed(units) // ...the prorated units are billed at it
	flat := t.flatM
	if r.price.FlatProration == FlatProrated && p.Fraction.Cmp(ensemble.RatioFromInt(1)) != 0 {
		// Rounded at the flat amount's own digits (the minor unit at
		// least), so that the prorated flat never exceeds the flat.
		scale := max(r.cur.Digits(), -t.flat.Exponent())
		flat = ensemble.MoneyFromDecimal(p.Fraction.Mul(ensemble.RatioFromDecimal(t.flat)).Decimal(scale, opts.Mode), r.cur)
	}
	var x ensemble.Arith
	sub := x.Add(ensemble.MoneyFromDecimal(n.Mul(t.unit), r.cur), flat)
	rt := Rating{Price: r.ref, Quantity: p.Units, Full: p.Full,
		Lines: []Line{{Tier: k, Quantity: n, UnitAmount: t.unitM, FlatAmount: flat, Subtotal: sub}}}
	r.waiveAtZero(&rt, p.Units)
	if r.free.Sign() > 0 {
		rt.Free = decimal.Min(p.Units, r.free)
	}
	if err := x.Err(); err != nil {
		return Rating{}, r.wrap(fmt.Errorf("%w: %w", ErrCurrency, err))
	}
	if err := r.finish(&rt, opts); err != nil {
		return Rating{}, r.wrap(err)
	}
	return r.checked(rt)
}

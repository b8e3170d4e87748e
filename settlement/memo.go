package settlement

import (
	"fmt"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/rules"
)

// Rule results within a call: a rule version that reads no line or volume
// fact gives the same result for every line that agrees on what it reads
// (reads.go), so the decider evaluates it once per such facts and reuses
// the result; and equal shares of one rule share one Ratio, so that levels
// deciding alike compare equal by identity (levelKey).

// maxInterned bounds the distinct share values one call interns.
const maxInterned = 1 << 16

// internKey identifies a share result of a rule: a decimal whose
// coefficient fits an int64 (Equal confirms it).
type internKey struct {
	rule *rules.Rule
	coef int64
	exp  int32
}

// memoKey memoizes a rule version that reads offer, route or customer
// facts: by the fields it reads, and the partner's snapshot when it reads
// the partner (nil when not).
type memoKey struct {
	rule *rules.Rule
	snap *partner.Snapshot
	ctx  ctxKey
}

// evalResult is a rule's result with the ratio and text settlement
// derives from it, computed once per memoized context.
type evalResult struct {
	res    rules.Result
	ratio  ensemble.Ratio
	text   string
	stable bool // memoized: the ratio's identity is stable within the call
}

// evalRule evaluates rule id in force at the line's date with partner
// facts sn, reusing the result within the call for rule versions that read
// no line or volume fact, keyed by exactly what they read (reads.go). The
// result of a rule evaluated for the line only is valid until the next
// evaluation.
func (d *decider) evalRule(id string, cr *crule, sn *partner.Snapshot) (*evalResult, *rules.Rule, *ruleRef, error) {
	if cr == nil {
		return nil, nil, nil, fmt.Errorf("%w %q", rules.ErrUnknownRule, id)
	}
	vi, err := cr.at(d.line.Date)
	if err != nil {
		return nil, nil, nil, err
	}
	rule, rd, ref := cr.versions[vi], cr.reads[vi], &cr.refs[vi]
	if err := d.line.gives(rd.needs); err != nil {
		return nil, rule, ref, err
	}
	level := rd.level()
	if d.s.reference {
		level = memoNone
	}
	memo := level != memoNone
	d.contextFacts()
	d.factsSet = true // the partner's and the line's below
	// The partner keys a result only when the rule reads it.
	ksn := sn
	if !rd.partner {
		ksn = nil
	}
	var key memoKey
	var pmemo map[*partner.Snapshot]*evalResult
	switch level {
	case memoPartner:
		if d.pmemo == nil {
			d.pmemo = make([]map[*partner.Snapshot]*evalResult, d.s.ruleVersions)
		}
		if pmemo = d.pmemo[cr.index+vi]; pmemo == nil {
			pmemo = map[*partner.Snapshot]*evalResult{}
			d.pmemo[cr.index+vi] = pmemo
		}
		if res, ok := pmemo[ksn]; ok {
			return res, rule, ref, nil
		}
	case memoContext:
		key = memoKey{rule: rule, snap: ksn, ctx: rd.ctx.key(&d.of, &d.rf, &d.cf)}
		if res, ok := d.memo[key]; ok {
			return res, rule, ref, nil
		}
	}
	if sn != nil {
		d.ps = *sn
	} else {
		d.ps = partner.Snapshot{}
	}
	if !d.vfSet {
		if err := d.lineFacts(); err != nil {
			return nil, rule, ref, err
		}
	}
	res, err := rule.Eval(d.ctx, d.facts)
	if err != nil {
		return nil, rule, ref, err
	}
	out := &d.lineResult // read before the next evaluation, and not kept
	if memo {
		out = new(evalResult)
	}
	*out = evalResult{res: res, stable: memo}
	switch {
	case res.Kind != rules.Share || res.Decimal.Sign() < 0:
	case d.s.reference: // nothing interned
		out.ratio = ensemble.RatioFromDecimal(res.Decimal)
		out.text = out.ratio.Percent() + " (rule " + ruleName(rule, id) + ")"
	default:
		// Equal shares of one rule share one Ratio, so levels that differ
		// only in which partner decided hit the same level cache entry.
		ik := internKey{rule: rule, coef: res.Decimal.CoefficientInt64(), exp: res.Decimal.Exponent()}
		interned, ok := d.interned[ik]
		if !ok || !res.Decimal.Equal(interned.res.Decimal) {
			interned = &evalResult{res: res, ratio: ensemble.RatioFromDecimal(res.Decimal)}
			interned.text = interned.ratio.Percent() + " (rule " + ruleName(rule, id) + ")"
			if len(d.interned) < maxInterned {
				if d.interned == nil {
					d.interned = map[internKey]*evalResult{}
				}
				d.interned[ik] = interned
				ok = true
			}
		}
		out.ratio, out.text = interned.ratio, interned.text
		out.stable = out.stable || ok
	}
	switch level {
	case memoPartner:
		pmemo[ksn] = out
	case memoContext:
		if d.memo == nil {
			d.memo = map[memoKey]*evalResult{}
		}
		d.memo[key] = out
	}
	return out, rule, ref, nil
}

// lineFacts fills the line and volume facts of the line.
func (d *decider) lineFacts() error {
	l := d.line
	gross, err := l.Amount.Add(l.Tax) // one currency: validate checked it
	if err != nil {
		return err
	}
	d.vfSet = true
	d.lf = LineFacts{ID: string(l.ID), Date: l.Date, Amount: ensemble.MoneyFromMinor(d.rest, d.cur), Net: l.Amount,
		Tax: l.Tax, Gross: gross, Quantity: l.Quantity, PeriodQuantity: l.periodQuantity(), Currency: d.cur.Key(), CustomerID: l.Customer.ID, Kind: l.Kind,
		ContractStart: l.ContractStart, ServiceStart: l.Service.Start, ServiceEnd: l.Service.End, Attributed: l.Attributed,
		Attributes: l.Attributes}
	vol := d.sellerVol // read by a rate of the plan (begin)
	if !d.sellerVolSet {
		vol = d.st.volumeBefore(l.Route.Seller, d.volCur.Key(), WindowCalendarYear, l.Date)
	}
	d.vf = VolumeFacts{Partner: string(l.Route.Seller), Amount: ensemble.MoneyFromMinor(vol, d.volCur)}
	return nil
}

// contextFacts fills the offer, route and customer facts of the line, once.
func (d *decider) contextFacts() {
	if d.ctxSet {
		return
	}
	d.ctxSet, d.factsSet = true, true
	l := d.line
	d.of = OfferFacts{ID: string(l.Offer.Offer), Version: l.Offer.Version, Charge: string(l.Charge)}
	d.rf = RouteFacts{Kind: l.Route.Kind.String(), Seller: string(l.Route.Seller), Depth: len(l.Route.Chain),
		Referrer: string(l.Route.Referrer), Marketplace: string(l.Route.Marketplace)}
	if sn := d.sellerSnap(); sn != nil && l.Route.Seller != "" {
		d.rf.SellerTier = string(sn.Tier)
	}
	d.cf = CustomerFacts{Country: string(l.Customer.Country)}
}

package e2e_test

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/shopspring/decimal"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/order"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/rules"
	"github.com/ensemble-commerce/ensemble/settlement"
	"github.com/ensemble-commerce/ensemble/usage"
)

func day(m time.Month, d, h int) time.Time { return time.Date(2026, m, d, h, 0, 0, 0, time.UTC) }

// cents draws an amount in whole cents in [lo, hi] and writes it as a
// decimal string ("12.34"), so that no float ever carries money.
func cents(t *rapid.T, lo, hi int64, label string) string {
	c := rapid.Int64Range(lo, hi).Draw(t, label)
	return decimal.New(c, -2).StringFixed(2)
}

// ecosystem is one drawn world: its documents loaded, its orders active.
type ecosystem struct {
	catalog *catalog.Catalog
	gov     *partner.Governance
	settler *settlement.Settler
	orders  []order.Order
	rates   catalog.Rates // the runs' exchange rates
	records []usage.Record
	late    []usage.Record // February records that arrive after February was invoiced
	resent  []usage.Record // records billed on Mar 1, delivered again with the late ones
	// prepaid is, per order, the EUR amount of a prepaid commitment its
	// calls draw on (0: none), ending at prepaidEnd; partners earn on the
	// prepayment or on consumption, as earning says.
	prepaid    map[order.ID]int64
	prepaidEnd time.Time
	earning    settlement.PrepaidEarning
	// seatPrice is each edition's drawn price a seat a month, and ends the
	// state each cancelled order stopped in: what the test computes an
	// early-termination fee from, without asking the library.
	seatPrice map[catalog.OfferID]decimal.Decimal
	ends      map[order.ID]ending
}

// ending is how a cancelled order stopped: at Stop (the cancellation's
// effective instant), with the edition and seats in force just before.
type ending struct {
	Stop     time.Time
	Edition  catalog.OfferID
	Quantity int64
}

// drawEcosystem draws the network, catalog, rules and plan, and loads them
// through the same documents a host would keep.
func drawEcosystem(t *rapid.T) *ecosystem {
	depth := rapid.IntRange(1, 4).Draw(t, "chain_depth")
	referral := rapid.Bool().Draw(t, "has_referrer")

	// Network: a platform, two suppliers, a chain of `depth` partners
	// (a distributor at the top, resellers below it; the last one sells)
	// and perhaps a referral partner.
	var net strings.Builder
	net.WriteString("partners:\n")
	from := "{from: 2025-01-01T00:00:00Z"
	fmt.Fprintf(&net, "  - {id: platform, name: Platform, type: platform, terms: [%s}]}\n", from)
	fmt.Fprintf(&net, "  - {id: supplier-a, name: Supplier A, type: supplier, terms: [%s}]}\n", from)
	fmt.Fprintf(&net, "  - {id: supplier-b, name: Supplier B, type: supplier, terms: [%s}]}\n", from)
	tiers := []string{"gold", "silver", "bronze"}
	for i := range depth {
		typ, parent := "reseller", fmt.Sprintf(", parent: p%d", i-1)
		if i == 0 {
			typ, parent = "distributor", ""
		}
		tier := rapid.SampledFrom(tiers).Draw(t, fmt.Sprintf("tier_%d", i))
		fmt.Fprintf(&net, "  - {id: p%d, name: Partner %d, type: %s, terms: [%s, tier: %s%s, territories: [NL], program: channel}]}\n",
			i, i, typ, from, tier, parent)
	}
	if referral {
		fmt.Fprintf(&net, "  - {id: referrer, name: Referrer, type: referral, terms: [%s, territories: [NL]}]}\n", from)
	}
	network, err := partner.LoadNetwork([]byte(net.String()))
	if err != nil {
		t.Fatalf("network: %v\n%s", err, net.String())
	}
	penv, err := partner.Env()
	if err != nil {
		t.Fatal(err)
	}
	prules, err := penv.LoadRuleSet(rules.File{Name: "partner.yaml", Data: []byte(`
- id: sell-anything
  version: 1
  kind: policy
  env_version: 1
  expression: 'true'
`)})
	if err != nil {
		t.Fatal(err)
	}
	gov, err := partner.NewGovernance(network, []partner.Program{{ID: "channel", Name: "Channel", SellPolicy: "sell-anything"}}, penv, prules)
	if err != nil {
		t.Fatal(err)
	}

	// Catalog: two editions of a bundle, each with a per-seat recurring
	// charge, a per-seat one-time setup fee and two supplier components (a
	// ratio and a fixed cost per seat, perhaps in USD), each applying to
	// the charges a drawn applies_to names (the default leaves the setup
	// fee out), and a usage-priced add-on with graduated tiers.
	var cat strings.Builder
	cat.WriteString("offers:\n")
	for _, id := range []string{"comp-a", "comp-b"} {
		fmt.Fprintf(&cat, "  - {id: %s, version: 1, name: %s, kind: product, currency: EUR, effective_from: 2026-01-01T00:00:00Z}\n", id, id)
	}
	eco := &ecosystem{seatPrice: map[catalog.OfferID]decimal.Decimal{}, ends: map[order.ID]ending{}}
	// The run's USD → EUR rate, for fixed costs owed in USD.
	eco.rates = catalog.Rates{{From: ensemble.MustCurrency("USD"), To: ensemble.MustCurrency("EUR"),
		Rate: ensemble.RatioFromDecimal(decimal.New(rapid.Int64Range(5000, 11000).Draw(t, "usd_eur_rate_bp"), -4))}}
	for _, id := range []string{"suite", "suite-plus"} {
		price := cents(t, 100, 9999, id+"_seat_price")
		eco.seatPrice[catalog.OfferID(id)] = decimal.RequireFromString(price)
		setup := cents(t, 100, 9999, id+"_setup_price")
		ratio := rapid.IntRange(0, 40).Draw(t, id+"_cost_ratio_percent")
		ratioScope := rapid.SampledFrom([]string{"", ", applies_to: all", ", applies_to: [setup]", ", applies_to: [seats]"}).Draw(t, id+"_cost_ratio_applies_to")
		fixed := cents(t, 0, 50, id+"_cost_fixed")
		fixedScope := rapid.SampledFrom([]string{"", ", applies_to: all", ", applies_to: [setup]"}).Draw(t, id+"_cost_fixed_applies_to")
		if rapid.Bool().Draw(t, id+"_cost_fixed_in_usd") {
			fixedScope += ", currency: USD"
			fixed = cents(t, 0, 30, id+"_cost_fixed_usd")
		}
		fmt.Fprintf(&cat, `  - id: %s
    version: 1
    name: %s
    kind: bundle
    currency: EUR
    effective_from: 2026-01-01T00:00:00Z
    attributes: {tax_code: saas}
    charges:
      - {id: seats, name: Seats, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: per_unit, amount: "%s"}}
      - {id: setup, name: Setup, type: one_time, price: {model: per_unit, amount: "%s"}}
    components:
      - {offer: comp-a, supplier: supplier-a, cost: {ratio: "%d%%"%s}}
      - {offer: comp-b, supplier: supplier-b, cost: {fixed: "%s"%s}}
`, id, id, price, setup, ratio, ratioScope, fixed, fixedScope)
	}
	fmt.Fprintf(&cat, `  - id: metered
    version: 1
    name: Metered
    kind: add_on
    currency: EUR
    effective_from: 2026-01-01T00:00:00Z
    attaches_to: [suite, suite-plus]
    charges:
      - id: calls
        name: Calls
        type: usage
        meter: calls
        price:
          model: %s
          tiers:
            - {up_to: %d, unit_amount: "0"}
            - {up_to: 10000, unit_amount: "%s"}
            - {unit_amount: "0.0013"}
`, rapid.SampledFrom([]string{"graduated", "volume"}).Draw(t, "usage_model"), rapid.IntRange(1, 1000).Draw(t, "free_calls"), decimal.New(rapid.Int64Range(1, 999).Draw(t, "tier_unit_tenth_cents"), -4))
	catalogue, err := catalog.LoadYAML([]byte(cat.String()))
	if err != nil {
		t.Fatalf("catalog: %v\n%s", err, cat.String())
	}

	// Plan: the platform's take, a referral fee when there is a referrer,
	// then every level of the chain by a level weight, the seller keeping
	// what remains.
	take := rapid.IntRange(0, 50).Draw(t, "platform_take_percent")
	referralFee := rapid.IntRange(0, 20).Draw(t, "referral_fee_percent")
	uplines := rapid.IntRange(0, 60).Draw(t, "chain_share_percent")
	// The seller may have part of its earnings held back for a while.
	reserve := ""
	if rapid.Bool().Draw(t, "seller_reserve") {
		reserve = fmt.Sprintf(`, reserve: {ratio: "%d%%", days: %d}`,
			rapid.IntRange(1, 20).Draw(t, "reserve_percent"), rapid.IntRange(1, 90).Draw(t, "reserve_days"))
	}
	senv, err := settlement.Env()
	if err != nil {
		t.Fatal(err)
	}
	srules, err := senv.LoadRuleSet(rules.File{Name: "settlement.yaml", Data: []byte(`
- id: has-referrer
  version: 1
  kind: condition
  env_version: 1
  expression: 'route.referrer != ""'
- id: level-weight
  version: 1
  kind: share
  env_version: 1
  description: The seller weighs 3, each level above it 1.
  expression: 'route.level == 0 ? percent(300) : percent(100)'
`)})
	if err != nil {
		t.Fatal(err)
	}
	plans, err := settlement.ParsePlans(fmt.Appendf(nil, `
- id: channel
  version: 1
  routes: [partner]
  root:
    id: margin
    children:
      - {id: platform, party: platform, share: "%d%%", fallback: platform}
      - {id: referral, party: referrer, condition: has-referrer, share: "%d%%"}
      - id: channel
        share: remaining
        children:
          - {id: chain, party: "chain[*]", level_weight: level-weight, share: "%d%%"}
          - {id: seller, party: seller, share: remaining%s}
`, take, referralFee, uplines, reserve))
	if err != nil {
		t.Fatal(err)
	}
	settler, err := settlement.New(settlement.Config{Plans: plans, Rules: srules, Network: network, Platform: "platform"})
	if err != nil {
		t.Fatal(err)
	}
	eco.catalog, eco.gov, eco.settler = catalogue, gov, settler

	seller := partner.ID(fmt.Sprintf("p%d", depth-1))
	var referrer partner.ID
	if referral {
		referrer = "referrer"
	}
	// Some orders buy a prepaid commitment their calls draw on; it ends
	// within the runs (its breakage is billed) or after them.
	eco.prepaid = map[order.ID]int64{}
	eco.prepaidEnd = rapid.SampledFrom([]time.Time{day(3, 15, 0), day(6, 1, 0)}).Draw(t, "prepaid_end")
	eco.earning = rapid.SampledFrom([]settlement.PrepaidEarning{settlement.EarnOnPrepayment, settlement.EarnOnConsumption}).Draw(t, "prepaid_earning")
	for i := range rapid.IntRange(1, 3).Draw(t, "orders") {
		o := drawOrder(t, eco, i, seller, referrer)
		eco.orders = append(eco.orders, o)
		if rapid.IntRange(0, 2).Draw(t, fmt.Sprintf("order_%d_prepaid", i)) == 0 {
			eco.prepaid[o.ID] = rapid.Int64Range(1, 400).Draw(t, fmt.Sprintf("order_%d_prepaid_eur", i))
		}
	}
	return eco
}

// drawOrder takes one order from draft to active on Feb 1, perhaps with a
// contract term and an early-termination fee (drawTerm), then applies up to
// three random changes (quantity or edition) in February and March, and
// perhaps a cancellation before, between or after them (drawCancel).
func drawOrder(t *rapid.T, eco *ecosystem, n int, seller, referrer partner.ID) order.Order {
	ctx := context.Background()
	env := order.Context{Catalog: eco.catalog, Governance: eco.gov}
	id := order.ID(fmt.Sprintf("ord-%d", n))
	edition := rapid.SampledFrom([]catalog.OfferID{"suite", "suite-plus"}).Draw(t, fmt.Sprintf("%s_edition", id))
	qty := rapid.IntRange(1, 20).Draw(t, fmt.Sprintf("%s_quantity", id))
	customer := order.Customer{ID: order.CustomerID(fmt.Sprintf("customer-%d", n)), Country: "NL",
		TaxStatus: rapid.SampledFrom([]order.TaxStatus{order.Taxable, order.TaxExempt, order.ReverseCharge}).Draw(t, fmt.Sprintf("%s_tax_status", id))}
	if customer.TaxStatus == order.ReverseCharge {
		customer.TaxID = "NL000099998B57"
	}
	cmds := []struct {
		at  time.Time
		cmd order.Command
	}{
		{day(1, 10, 9), order.Command{Kind: order.CmdCreate, Order: id, Draft: &order.Draft{
			Customer: customer,
			Route:    partner.Route{Seller: seller, Referrer: referrer},
			Lines: []order.Line{{ID: "l1", Pin: catalog.Pin{Offer: edition}, Quantity: decimal.NewFromInt(int64(qty)),
				AddOns: []order.AddOn{{Pin: catalog.Pin{Offer: "metered"}}}}},
			Billing: order.Billing{Anchor: day(2, 1, 0)},
			Term:    drawTerm(t, id),
		}}},
		{day(1, 10, 10), order.Command{Kind: order.CmdQuote, ExpiresAt: day(2, 1, 0)}},
		{day(1, 11, 9), order.Command{Kind: order.CmdAccept}},
		{day(1, 12, 9), order.Command{Kind: order.CmdBeginActivation}},
	}
	var o order.Order
	decide := func(cmd order.Command, at time.Time) {
		next, _, err := o.Decide(ctx, env, cmd, at)
		if err != nil {
			t.Fatalf("order %s: %s at %s: %v", id, cmd.Kind, at.Format(time.RFC3339), err)
		}
		o = next
	}
	for _, c := range cmds {
		decide(c.cmd, c.at)
	}
	for _, task := range o.Tasks {
		decide(order.Command{Kind: order.CmdCompleteTask, Task: task.ID}, day(2, 1, 0))
	}
	// Changes at distinct hours between Feb 1 and Mar 31, in time order;
	// perhaps a cancellation among them (cancel).
	hours := rapid.SliceOfNDistinct(rapid.IntRange(1, 58*24-1), 0, 3, rapid.ID[int]).Draw(t, fmt.Sprintf("%s_change_hours", id))
	slices.Sort(hours)
	c := drawCancel(t, id)
	stop := day(4, 1, 0) // the order's service ends after the runs unless cancelled
	for i, h := range hours {
		at := day(2, 1, 0).Add(time.Duration(h) * time.Hour)
		if c != nil && !at.Before(c.at) && c.stop.IsZero() {
			stop = cancel(t, id, c, decide)
		}
		if !at.Before(stop) {
			break // the order stops before: no change can take effect
		}
		ch := &order.Change{Line: "l1"}
		if rapid.Bool().Draw(t, fmt.Sprintf("%s_change_%d_is_quantity", id, i)) {
			qty = rapid.IntRange(1, 20).Draw(t, fmt.Sprintf("%s_change_%d_quantity", id, i))
			ch.Kind, ch.Quantity = order.ChangeQuantity, decimal.NewFromInt(int64(qty))
		} else {
			if edition == "suite" {
				edition = "suite-plus"
			} else {
				edition = "suite"
			}
			ch.Kind, ch.Pin = order.ChangeOffer, catalog.Pin{Offer: edition}
		}
		decide(order.Command{Kind: order.CmdChange, Change: ch}, at)
	}
	if c != nil && c.stop.IsZero() {
		stop = cancel(t, id, c, decide)
	}
	if c != nil {
		if c.mode == order.AtPeriodEnd {
			decide(order.Command{Kind: order.CmdCompleteCancellation}, stop)
		}
		if o.Cancellation == nil || !o.Cancellation.EffectiveAt.Equal(stop) {
			t.Fatalf("order %s: cancelled to stop at %s, the order says %+v", id, stop.Format(time.RFC3339), o.Cancellation)
		}
		eco.ends[id] = ending{Stop: stop, Edition: edition, Quantity: int64(qty)}
	}

	// Usage records for the add-on between Feb 1 and Apr 1 (or the
	// cancellation); some of February's arrive late, after the Mar 1 run
	// billed February.
	for i := range rapid.IntRange(0, 6).Draw(t, fmt.Sprintf("%s_records", id)) {
		r := usage.Record{
			ID:       usage.RecordID(fmt.Sprintf("%s-r%d", id, i)),
			Line:     usage.LineRef(o.LineRef("l1")),
			Meter:    "calls",
			Quantity: decimal.NewFromInt(rapid.Int64Range(0, 20000).Draw(t, fmt.Sprintf("%s_record_%d_calls", id, i))),
			At:       day(2, 1, 0).Add(time.Duration(rapid.IntRange(0, int(stop.Sub(day(2, 1, 0))/time.Hour)-1).Draw(t, fmt.Sprintf("%s_record_%d_hour", id, i))) * time.Hour),
		}
		if r.At.Before(day(3, 1, 0)) && rapid.Bool().Draw(t, fmt.Sprintf("%s_record_%d_late", id, i)) {
			eco.late = append(eco.late, r)
		} else {
			eco.records = append(eco.records, r)
			if r.At.Before(day(3, 1, 0)) && rapid.IntRange(0, 3).Draw(t, fmt.Sprintf("%s_record_%d_resent", id, i)) == 0 {
				r.Quantity = r.Quantity.Add(decimal.New(0, -2)) // spelled 12.00 instead of 12: the same record
				eco.resent = append(eco.resent, r)
			}
		}
	}
	return o
}

// drawTerm draws an order's contract term from its activation on Feb 1:
// none, or one, two or twelve months, perhaps renewing, perhaps with an
// early-termination fee of each rule (periods: one to three months, perhaps
// capped at the remaining value).
func drawTerm(t *rapid.T, id order.ID) order.Term {
	months := rapid.SampledFrom([]int{0, 1, 2, 12}).Draw(t, fmt.Sprintf("%s_term_months", id))
	if months == 0 {
		return order.Term{}
	}
	term := order.Term{Length: ensemble.Every(months, ensemble.Monthly), AutoRenew: rapid.Bool().Draw(t, fmt.Sprintf("%s_term_renews", id))}
	switch rapid.SampledFrom([]string{"none", "fixed", "declining", "remaining", "periods"}).Draw(t, fmt.Sprintf("%s_term_fee", id)) {
	case "fixed":
		term.EarlyTermination = &order.EarlyTermination{Rule: order.TerminationFixed, Amount: decimal.RequireFromString(cents(t, 1, 50000, fmt.Sprintf("%s_term_fee_amount", id)))}
	case "declining":
		term.EarlyTermination = &order.EarlyTermination{Rule: order.TerminationDeclining, Amount: decimal.RequireFromString(cents(t, 1, 50000, fmt.Sprintf("%s_term_fee_amount", id)))}
	case "remaining":
		term.EarlyTermination = &order.EarlyTermination{Rule: order.TerminationRemaining,
			Percent: ensemble.RatioFromDecimal(decimal.New(int64(rapid.IntRange(1, 100).Draw(t, fmt.Sprintf("%s_term_fee_percent", id))), -2))}
	case "periods":
		term.EarlyTermination = &order.EarlyTermination{Rule: order.TerminationPeriods,
			Periods:        ensemble.Every(rapid.IntRange(1, 3).Draw(t, fmt.Sprintf("%s_term_fee_months", id)), ensemble.Monthly),
			CapAtRemaining: rapid.Bool().Draw(t, fmt.Sprintf("%s_term_fee_capped", id))}
	}
	return term
}

// cancelDraw is a drawn cancellation: requested at an instant, immediately
// or at the end of the billing period holding it.
type cancelDraw struct {
	at   time.Time
	mode order.CancelMode
	stop time.Time // set once decided: the instant the order stops
}

// drawCancel draws, for about half the orders, a cancellation at a random
// hour between Feb 1 and Mar 31.
func drawCancel(t *rapid.T, id order.ID) *cancelDraw {
	if !rapid.Bool().Draw(t, fmt.Sprintf("%s_cancelled", id)) {
		return nil
	}
	return &cancelDraw{
		at:   day(2, 1, 0).Add(time.Duration(rapid.IntRange(1, 59*24-1).Draw(t, fmt.Sprintf("%s_cancel_hour", id))) * time.Hour),
		mode: rapid.SampledFrom([]order.CancelMode{order.Immediately, order.AtPeriodEnd}).Draw(t, fmt.Sprintf("%s_cancel_mode", id)),
	}
}

// cancel decides the drawn cancellation and returns the instant the order
// stops: the request's under Immediately, the billing period's end (Mar 1
// or Apr 1) under AtPeriodEnd.
func cancel(t *rapid.T, id order.ID, c *cancelDraw, decide func(order.Command, time.Time)) time.Time {
	decide(order.Command{Kind: order.CmdCancel, Reason: "customer leaves", Cancel: &order.CancelRequest{Mode: c.mode}}, c.at)
	c.stop = c.at
	if c.mode == order.AtPeriodEnd {
		c.stop = day(3, 1, 0)
		if !c.at.Before(c.stop) {
			c.stop = day(4, 1, 0)
		}
	}
	return c.stop
}

// books is what the ecosystem billed and settled.
type books struct {
	invoices []invoice.Invoice
	orders   map[invoice.SubscriptionID]order.Order
	lines    map[invoice.LineID]invoice.Line // every invoice and credit-note line
	settled  []settlement.Line
	entries  []settlement.Entry
	state    settlement.State
	lost     map[settlement.LineID]bool // lines whose dispute was lost
	// drawn is, per subscription with a prepaid commitment, what had been
	// drawn of it and let expire after the last run (the host's Drawn).
	drawn map[invoice.SubscriptionID]decimal.Decimal
}

// bill runs three monthly billing runs over every order and settles every
// line.
func bill(t *rapid.T, eco *ecosystem) *books {
	var subs []invoice.Subscription
	bk := &books{orders: map[invoice.SubscriptionID]order.Order{}, lines: map[invoice.LineID]invoice.Line{},
		lost: map[settlement.LineID]bool{}, drawn: map[invoice.SubscriptionID]decimal.Decimal{}}
	for _, o := range eco.orders {
		sub, err := invoice.FromOrder(o)
		if err != nil {
			t.Fatalf("invoice.FromOrder(%s): %v", o.ID, err)
		}
		if amt := eco.prepaid[o.ID]; amt > 0 {
			start := sub.Items[0].Segments[0].Start
			sub.Prepaid = []invoice.PrepaidCommitment{{ID: "calls", Amount: decimal.NewFromInt(amt), Start: start,
				End: eco.prepaidEnd, Meters: []usage.MeterID{"calls"}}}
		}
		subs = append(subs, sub)
		bk.orders[sub.ID] = o
	}
	taxes := invoice.TaxTable{Rules: []invoice.TaxRule{{ID: "nl-vat", Region: "NL", Rate: ensemble.MustRatio("21%")}}}
	b, err := invoice.NewBuilder(eco.catalog, invoice.Options{Basis: ensemble.ProrateDaysEndExclusive, Taxes: taxes})
	if err != nil {
		t.Fatal(err)
	}
	meters := []usage.Meter{{ID: "calls", Aggregation: usage.Sum}}
	// The deliveries: February's records for the run of Mar 1; March's
	// for Apr 1, with February's late ones and February's records
	// delivered again.
	deliveries := map[time.Time][]usage.Record{}
	for _, r := range eco.records {
		at := day(3, 1, 0)
		if !r.At.Before(at) {
			at = day(4, 1, 0)
		}
		deliveries[at] = append(deliveries[at], r)
	}
	deliveries[day(4, 1, 0)] = append(deliveries[day(4, 1, 0)], append(slices.Clone(eco.resent), eco.late...)...)
	var after time.Time
	var ledger usage.Ledger      // the records billed, carried from run to run
	var billed []usage.Aggregate // the usage billed, carried from run to run
	var issued []invoice.Line    // the lines earlier runs issued (a correction of a prepaid period reads what it drew)
	for _, at := range []time.Time{day(2, 1, 0), day(3, 1, 0), day(4, 1, 0)} {
		lines, err := b.UsageLines(at, subs...)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := usage.Collect(usage.Config{Meters: meters, Lines: lines, ClosedBefore: after, Ledger: ledger}, slices.Values(deliveries[at]))
		if err != nil {
			t.Fatal(err)
		}
		if err := rep.Err(); err != nil {
			t.Fatalf("usage records of %s rejected: %v", at.Format("Jan 2"), err)
		}
		if at.Equal(day(4, 1, 0)) && (rep.Stats.Resent != int64(len(eco.resent)) || rep.Stats.Accepted != int64(len(deliveries[at])-len(eco.resent))) {
			t.Fatalf("the April delivery billed %d records and dropped %d as billed before, want %d and %d",
				rep.Stats.Accepted, rep.Stats.Resent, len(deliveries[at])-len(eco.resent), len(eco.resent))
		}
		// February's late records adjust what Mar 1 billed of February (a
		// period billed without records was billed as no usage).
		late, err := invoice.LateUsageFrom(rep.Adjustments, billed)
		if err != nil {
			t.Fatalf("late usage of %s: %v", at.Format("Jan 2"), err)
		}
		run := invoice.Run{After: after, At: at, Usage: rep.Aggregates, Late: late, Rates: eco.rates, Billed: issued}
		invs, err := b.Build(run, subs)
		if err != nil {
			t.Fatalf("build %s: %v", at.Format("Jan 2"), err)
		}
		done, err := b.BilledUsage(run, subs, meters)
		if err != nil {
			t.Fatal(err)
		}
		// The host carries each commitment's draws into the next run.
		for i := range subs {
			for k := range subs[i].Prepaid {
				subs[i].Prepaid[k].DrawnThrough = at
			}
		}
		for _, inv := range invs {
			for _, u := range inv.Prepaid {
				for i := range subs {
					if subs[i].ID == inv.Subscription {
						subs[i].Prepaid[0].Drawn = u.Total
					}
				}
			}
		}
		billed, ledger = append(billed, done...), rep.Ledger
		for _, inv := range invs {
			iss, err := invoice.Issue(inv, at)
			if err != nil {
				t.Fatal(err)
			}
			issued = append(issued, iss.Lines...)
			bk.invoices = append(bk.invoices, iss)
			sl, err := settlement.FromInvoiceWith(iss.Lines, bk.orders[iss.Subscription], settlement.InvoiceOptions{Prepaid: eco.earning})
			if err != nil {
				t.Fatalf("settlement.FromInvoice(%s): %v", iss.ID, err)
			}
			bk.settled = append(bk.settled, sl...)
			for _, l := range iss.Lines {
				bk.lines[l.ID] = l
			}
		}
		after = at
	}
	for _, sub := range subs {
		if len(sub.Prepaid) > 0 {
			bk.drawn[sub.ID] = sub.Prepaid[0].Drawn
		}
	}
	res, err := eco.settler.Settle(context.Background(), settlement.State{}, bk.settled)
	if err != nil {
		t.Fatalf("settle: %v", err)
	}
	bk.entries, bk.state = res.Entries, res.State
	return bk
}

// partyCur is a party in one currency it is paid in: a supplier cost owed
// in another currency than its line's is paid in its own.
type partyCur struct {
	party partner.ID
	cur   ensemble.Currency
}

// moves reports whether an entry moves value between parties (earnings,
// supplier costs and clawbacks); reserves, holds and releases do not.
func moves(e settlement.Entry) bool {
	return e.Kind == settlement.KindEarning || e.Kind == settlement.KindSupplierCost || e.Kind == settlement.KindClawback
}

func sum(t *rapid.T, ms ...ensemble.Money) ensemble.Money {
	var total ensemble.Money
	for _, m := range ms {
		var err error
		if total, err = total.Add(m); err != nil {
			t.Fatal(err)
		}
	}
	return total
}

// same reports whether two amounts are equal (Cmp: the zero Money equals a
// zero of any currency).
func same(t *rapid.T, a, b ensemble.Money) bool {
	c, err := a.Cmp(b)
	if err != nil {
		t.Fatal(err)
	}
	return c == 0
}

// checkLinesConserve: every line's entries add up to exactly its net.
func checkLinesConserve(t *rapid.T, bk *books) {
	byLine := map[settlement.LineID][]ensemble.Money{}
	for _, e := range bk.entries {
		if moves(e) {
			byLine[e.Line] = append(byLine[e.Line], e.LineAmount())
		}
	}
	for _, l := range bk.settled {
		got := sum(t, byLine[l.ID]...)
		if !same(t, got, l.Amount) {
			t.Fatalf("line %s (credits %q): entries add up to %s, want its net %s", l.ID, l.Credits, got, l.Amount)
		}
	}
}

// checkSupplierCosts: on every invoice line of a bundle, each component is
// listed once, as applied or not as its applies_to says for the line's
// charge (a one-time fee carries a cost only when the scope is all or names
// it; an early-termination fee, no charge of the bundle, carries none), the
// costs applied never exceed the line's net, and a cost converted from USD
// is round(Source × the run's rate).
func checkSupplierCosts(t *rapid.T, eco *ecosystem, bk *books) {
	settled := map[settlement.LineID]bool{}
	for _, l := range bk.settled {
		settled[l.ID] = true
	}
	entries := map[settlement.EntryID]settlement.Entry{}
	for _, e := range bk.entries {
		entries[e.ID] = e
	}
	for _, inv := range bk.invoices {
		for _, l := range inv.Lines {
			if len(l.SupplierCosts) == 0 && len(l.CostsNotApplied) == 0 {
				continue
			}
			o, err := eco.catalog.Offer(l.Pin)
			if err != nil {
				t.Fatal(err)
			}
			if l.Kind == invoice.KindEarlyTermination {
				// The fee is no charge of the bundle: no supplier shares it.
				for _, comp := range o.Components {
					n := 0
					for _, c := range l.CostsNotApplied {
						if c.Supplier == comp.Supplier {
							n++
						}
					}
					if n != 1 || len(l.SupplierCosts) > 0 {
						t.Fatalf("fee line %s: component %s listed %d times as not sharing, supplier costs %v", l.ID, comp.Supplier, n, l.SupplierCosts)
					}
				}
				continue
			}
			ch, err := eco.catalog.Charge(l.Pin, l.Charge)
			if err != nil {
				t.Fatal(err)
			}
			applied := map[string]bool{}
			var costs []ensemble.Money
			for _, c := range l.SupplierCosts {
				applied[c.Supplier] = true
				costs = append(costs, c.Cost)
				if !c.Rate.IsZero() {
					if !c.Rate.Equal(eco.rates[0].Rate) || !same(t, c.Cost, ensemble.MoneyFromDecimal(c.Source.Amount(), c.Cost.Currency()).MulRatio(c.Rate, inv.Mode)) {
						t.Fatalf("line %s: %s converted at %s to %s", l.ID, c.Source, c.Rate, c.Cost)
					}
					// The supplier is paid the cost in its own currency,
					// whatever the rate.
					id := settlement.EntryID(string(l.ID) + ":supplier_costs/" + c.Component.ID)
					if e, ok := entries[id]; settled[settlement.LineID(l.ID)] && c.Capped.IsZero() && !c.Cost.IsZero() &&
						(!ok || !e.Amount.Equal(c.Source) || !e.LineAmount().Equal(c.Cost)) {
						t.Fatalf("line %s: %s's cost of %s (%s) paid as %s (%s of the line)", l.ID, c.Supplier, c.Source, c.Cost, e.Amount, e.LineAmount())
					}
				}
			}
			for _, comp := range o.Components {
				applies := comp.Cost.AppliesTo.Includes(ch.ID, ch.Type, !comp.Cost.Fixed.IsZero())
				notApplied := slices.ContainsFunc(l.CostsNotApplied, func(c catalog.SupplierCost) bool { return c.Supplier == comp.Supplier })
				if applies == notApplied || (!applies && applied[comp.Supplier]) {
					t.Fatalf("line %s (%s): component %s applies %v, listed as applied %v / not applied %v", l.ID, ch.Type, comp.Supplier, applies, applied[comp.Supplier], notApplied)
				}
				if ch.Type == catalog.OneTime && applied[comp.Supplier] && comp.Cost.AppliesTo.Scope == catalog.CostRecurring {
					t.Fatalf("line %s: the one-time fee pays %s under the default scope", l.ID, comp.Supplier)
				}
			}
			if c, err := sum(t, costs...).Cmp(l.Net); err != nil || c > 0 {
				t.Fatalf("line %s: supplier costs %s above the net %s (%v)", l.ID, sum(t, costs...), l.Net, err)
			}
		}
	}
}

// checkTraces: every entry's trace names a real invoice line.
func checkTraces(t *rapid.T, bk *books) {
	for _, e := range bk.entries {
		found := false
		for _, r := range e.Trace {
			if r.Kind == invoice.RefLine {
				if _, ok := bk.lines[invoice.LineID(r.ID)]; ok {
					found = true
				}
			}
		}
		if !found {
			t.Fatalf("entry %s traces to no invoice line: %v", e.ID, e.Trace)
		}
	}
}

// checkTotals: all entries add up to what partners earn on, computed from
// the invoices alone: on prepayment, the invoices' subtotals (a purchase
// when it is invoiced, a covered line for what it bills beyond the
// commitment); on consumption, the subtotals less the purchases, plus what
// the commitments covered (net of tax) and let expire.
func checkTotals(t *rapid.T, eco *ecosystem, bk *books) {
	var entries, nets []ensemble.Money
	for _, e := range bk.entries {
		if moves(e) {
			entries = append(entries, e.LineAmount())
		}
	}
	for _, inv := range bk.invoices {
		nets = append(nets, inv.Subtotal)
		if eco.earning != settlement.EarnOnConsumption {
			continue
		}
		for _, l := range inv.Lines {
			switch {
			case l.Kind == invoice.KindPrepayment:
				nets = append(nets, l.Net.Neg())
			case l.Prepaid != nil:
				nets = append(nets, l.Prepaid.CoveredNet)
			}
		}
	}
	if got, want := sum(t, entries...), sum(t, nets...); !same(t, got, want) {
		t.Fatalf("entries add up to %s, the invoices' basis (%s) to %s", got, eco.earning, want)
	}
}

// checkCancellations: a cancelled order bills nothing for service after it
// stops — no line's service period extends past the stop, but a line billed
// in advance before it, which a proration credit gives back exactly from the
// stop, and a fee line, which covers the rest of the term from the stop —
// and owes the early-termination fee its contract states (termFee), once,
// due at the stop; its prepaid commitment, when the stop falls in the
// commitment's term, lets what is left expire at the stop, which partners
// earn on only on consumption, and nothing draws on it after.
//
// It returns what the draws exercised: "fee <rule>" for a fee billed,
// "expired <earning>" for a commitment expiring at a cancellation,
// "credited" for a line billed in advance credited from the stop.
func checkCancellations(t *rapid.T, eco *ecosystem, bk *books) []string {
	var exercised []string
	credits := map[invoice.LineID][]invoice.Line{} // a line's proration credits
	for _, inv := range bk.invoices {
		for _, l := range inv.Lines {
			if l.Credits != "" {
				credits[l.Credits] = append(credits[l.Credits], l)
			}
		}
	}
	settled := map[settlement.LineID]settlement.Line{}
	for _, l := range bk.settled {
		settled[l.ID] = l
	}
	for _, o := range eco.orders {
		end, ok := eco.ends[o.ID]
		if !ok {
			continue
		}
		sub := invoice.SubscriptionID(o.ID)
		var fees []invoice.Line
		var breakage, lateBreakage []invoice.Line
		// The run that bills the stop lets the commitment expire.
		expiry := day(4, 1, 0)
		if !end.Stop.After(day(3, 1, 0)) {
			expiry = day(3, 1, 0)
		}
		var covered, givenBack []ensemble.Money
		for l, billedAt := range lines(bk, sub) {
			switch l.Kind {
			case invoice.KindEarlyTermination:
				fees = append(fees, l)
				continue
			case invoice.KindPrepaidBreakage:
				if billedAt.After(expiry) {
					lateBreakage = append(lateBreakage, l)
				} else {
					breakage = append(breakage, l)
				}
			case invoice.KindPrepayment:
			default:
				switch {
				case l.Prepaid == nil:
				case !billedAt.After(expiry):
					covered = append(covered, l.Prepaid.Covered)
				case l.Prepaid.Covered.IsPositive():
					t.Fatalf("order %s stopped at %s; line %s, billed %s, draws %s on its expired commitment", o.ID, end.Stop.Format(time.RFC3339), l.ID, billedAt.Format(time.RFC3339), l.Prepaid.Covered)
				default:
					// Late usage that lowers a covered period, billed after
					// the commitment expired (see givenBack below).
					givenBack = append(givenBack, l.Prepaid.Covered)
				}
			}
			if l.Kind == invoice.KindPrepayment || l.Credits != "" || !l.Period.End.After(end.Stop) {
				// A purchase is owed whole (what is left of it expires,
				// below); a credit gives back (checkProrationCredits).
				continue
			}
			if l.Kind != invoice.KindRecurring || !l.Period.Start.Before(end.Stop) {
				t.Fatalf("order %s stopped at %s; line %s (%s) bills service for %s", o.ID, end.Stop.Format(time.RFC3339), l.ID, l.Kind, l.Period)
			}
			// Billed in advance before the stop: one proration credit gives
			// back exactly its part from the stop (or from a change before
			// it) to its end, whole − round(whole × the days of its cycle
			// elapsed then / the cycle's days).
			var back []invoice.Line
			for _, c := range credits[l.ID] {
				if c.Kind == invoice.KindProrationCredit && c.Period.End.After(end.Stop) {
					back = append(back, c)
				}
			}
			if len(back) != 1 || back[0].Period.Start.After(end.Stop) || !back[0].Period.End.Equal(l.Period.End) {
				t.Fatalf("order %s stopped at %s; line %s billed %s for %s in advance, and is credited %v after the stop, want one credit up to %s from the stop or before",
					o.ID, end.Stop.Format(time.RFC3339), l.ID, l.Amount, l.Period, back, l.Period.End.Format(time.RFC3339))
			}
			elapsed, err := ensemble.NewRatio(days(l.Cycle.Start, back[0].Period.Start), days(l.Cycle.Start, l.Cycle.End))
			if err != nil {
				t.Fatal(err)
			}
			want := l.Full.MulRatio(elapsed, ensemble.RoundHalfAwayFromZero)
			if l.Proration != nil {
				want = sum(t, want, l.Proration.AtTo.Neg())
			} else {
				want = sum(t, want, l.Amount.Neg())
			}
			if !same(t, back[0].Amount, want) {
				t.Fatalf("order %s stopped at %s; line %s billed %s for %s in advance, and is credited %s for %s, want %s",
					o.ID, end.Stop.Format(time.RFC3339), l.ID, l.Amount, l.Period, back[0].Amount, back[0].Period, want)
			}
			if back[0].Period.Start.Equal(end.Stop) {
				exercised = append(exercised, "credited")
			}
		}
		want, term, owed := termFee(t, eco, o, end)
		if owed && want.IsZero() && len(fees) == 0 {
			owed = false // a declining fee that rounds to nothing bills no line
		}
		switch {
		case !owed && len(fees) > 0:
			t.Fatalf("order %s stopped at %s outside its term %+v, yet bills fee %s", o.ID, end.Stop.Format(time.RFC3339), o.Term, fees[0].Net)
		case owed && (len(fees) != 1 || !same(t, fees[0].Net, want) || !fees[0].Discount.IsZero()):
			t.Fatalf("order %s stopped at %s inside its term %+v (%s): fee lines %v, want one of %s", o.ID, end.Stop.Format(time.RFC3339), o.Term, o.Term.EarlyTermination.Rule, fees, want)
		case owed && (!fees[0].Date.Equal(end.Stop) || !fees[0].Period.Equal(ensemble.Period{Start: end.Stop, End: term.End})):
			// The fee is due at the stop, for the rest of the term.
			t.Fatalf("order %s stopped at %s inside its term %s; its fee line %s is due %s for %s", o.ID, end.Stop.Format(time.RFC3339), term, fees[0].ID, fees[0].Date.Format(time.RFC3339), fees[0].Period)
		case owed:
			exercised = append(exercised, "fee "+o.Term.EarlyTermination.Rule.String())
		}
		amt := eco.prepaid[o.ID]
		if amt == 0 || !end.Stop.Before(eco.prepaidEnd) {
			continue
		}
		// What the lines before the stop left of the commitment expires
		// at the stop, settled as the earning mode says.
		bought := ensemble.MoneyFromDecimal(decimal.NewFromInt(amt), ensemble.MustCurrency("EUR"))
		left := sum(t, append(covered, bought.Neg())...).Neg()
		if left.IsZero() && len(breakage) == 0 {
			continue
		}
		if len(breakage) != 1 || !breakage[0].Date.Equal(end.Stop) || breakage[0].Prepaid == nil ||
			!same(t, breakage[0].Prepaid.Covered, left) || !breakage[0].Prepaid.Remaining.IsZero() || !breakage[0].Net.IsZero() {
			t.Fatalf("order %s stopped at %s inside its prepaid commitment's term with %s left: breakage lines %+v, want one at the stop letting it expire", o.ID, end.Stop.Format(time.RFC3339), left, breakage)
		}
		// What late usage gives back to the commitment after it expired
		// expires too, in the run that bills it (TestPrepaidGivenBackAfterItExpired):
		// the commitment is all drawn or expired whatever arrives late.
		var late []ensemble.Money
		for _, l := range lateBreakage {
			late = append(late, l.Prepaid.Covered)
		}
		if !sum(t, append(late, givenBack...)...).IsZero() || !bk.drawn[sub].Equal(decimal.NewFromInt(amt)) {
			t.Fatalf("order %s stopped inside its prepaid commitment's term, which reports %s of %d drawn and expired; late corrections gave back %v, and %v expired after",
				o.ID, bk.drawn[sub], amt, givenBack, late)
		}
		for _, b := range append(breakage[:1:1], lateBreakage...) {
			earned := settled[settlement.LineID(b.ID)].Amount
			if eco.earning == settlement.EarnOnConsumption && !same(t, earned, b.Prepaid.CoveredNet) ||
				eco.earning == settlement.EarnOnPrepayment && !earned.IsZero() {
				t.Fatalf("order %s: the breakage %s %s (net %s) settles %s %s", o.ID, b.ID, b.Prepaid.Covered, b.Prepaid.CoveredNet, earned, eco.earning)
			}
		}
		if len(lateBreakage) > 0 {
			exercised = append(exercised, "expired late")
		}
		if left.IsPositive() {
			exercised = append(exercised, "expired "+eco.earning.String())
		}
	}
	return exercised
}

// lines yields the lines of a subscription's invoices, in run order, each
// with the instant of the run that billed it.
func lines(bk *books, sub invoice.SubscriptionID) iter.Seq2[invoice.Line, time.Time] {
	return func(yield func(invoice.Line, time.Time) bool) {
		for _, inv := range bk.invoices {
			if inv.Subscription != sub {
				continue
			}
			for _, l := range inv.Lines {
				if !yield(l, inv.Date) {
					return
				}
			}
		}
	}
}

// days counts the calendar days (UTC) from a's date up to b's, excluding
// b's: the runs' proration basis, ensemble.ProrateDaysEndExclusive.
func days(a, b time.Time) int64 {
	return int64(b.Truncate(24*time.Hour).Sub(a.Truncate(24*time.Hour)) / (24 * time.Hour))
}

// round is num / den rounded half away from zero, for num ≥ 0 and den > 0.
func round(num, den int64) int64 { return (2*num + den) / (2 * den) }

// checkProrationCredits: what the proration credits of a line give back
// never exceeds what the line billed, in net, tax and total.
func checkProrationCredits(t *rapid.T, bk *books) {
	back := map[invoice.LineID][3][]ensemble.Money{}
	for _, inv := range bk.invoices {
		for _, l := range inv.Lines {
			if l.Kind == invoice.KindProrationCredit {
				b := back[l.Credits]
				b[0], b[1], b[2] = append(b[0], l.Net), append(b[1], l.Tax), append(b[2], l.Total)
				back[l.Credits] = b
			}
		}
	}
	for id, b := range back {
		l, ok := bk.lines[id]
		if !ok {
			t.Fatalf("proration credits %v name no line %s", b[0], id)
		}
		for i, billed := range []ensemble.Money{l.Net, l.Tax, l.Total} {
			credited := sum(t, b[i]...)
			if c, err := credited.Neg().Cmp(billed); err != nil || c > 0 || credited.IsPositive() {
				t.Fatalf("line %s billed %s (%s); its proration credits give back %s (%v)", id, billed, []string{"net", "tax", "total"}[i], credited, err)
			}
		}
	}
}

// checkReversals: settlement reverses exactly what the credits credit.
// Each clawback reverses an earning or supplier cost of the same party, of
// the line its credit names (a credit's) or of a line that lost its
// dispute; the clawbacks of one entry never exceed it nor flip its sign;
// and (checkLinesConserve) a credit's clawbacks add up to its net.
func checkReversals(t *rapid.T, bk *books) {
	byID := map[settlement.EntryID]settlement.Entry{}
	for _, e := range bk.entries {
		byID[e.ID] = e
	}
	credited := map[settlement.LineID]settlement.LineID{}
	for _, l := range bk.settled {
		if l.Credits != "" {
			credited[l.ID] = settlement.LineID(l.Credits)
		}
	}
	reversed := map[settlement.EntryID][]ensemble.Money{}
	for _, e := range bk.entries {
		if e.Kind != settlement.KindClawback {
			continue
		}
		orig, ok := byID[e.Reverses]
		c, credit := credited[e.Line]
		if !ok || (orig.Kind != settlement.KindEarning && orig.Kind != settlement.KindSupplierCost) || orig.Party != e.Party ||
			credit && orig.Line != c || !credit && !bk.lost[orig.Line] {
			t.Fatalf("clawback %s of %s on line %s reverses %q (%s of %s on line %s), want an entry of the line it credits (%q) or lost its dispute", e.ID, e.Party, e.Line, e.Reverses, orig.Kind, orig.Party, orig.Line, c)
		}
		reversed[orig.ID] = append(reversed[orig.ID], e.Amount)
	}
	for id, ms := range reversed {
		orig, back := byID[id].Amount, sum(t, ms...)
		left := sum(t, orig, back)
		if c, err := left.Cmp(ensemble.Money{}); err != nil || (orig.IsPositive() && c < 0) || (orig.IsNegative() && c > 0) {
			t.Fatalf("entry %s of %s is reversed by %s (%v)", id, orig, back, err)
		}
	}
}

// checkStatementsAdd: every party's statement for the year folds exactly
// its entries: Earned is the sum of its earnings and supplier costs,
// Reversed of its clawbacks, Reserved of its reserves and holds, Released
// of its releases, and it closes at Earned + Reversed − Reserved +
// Released, withholding Reserved − Released.
func checkStatementsAdd(t *rapid.T, bk *books) {
	stmts, err := settlement.Statements(bk.entries, settlement.StatementOptions{Period: ensemble.MustPeriod(day(1, 1, 0), day(12, 31, 0))})
	if err != nil {
		t.Fatal(err)
	}
	// One statement per party and currency: a supplier cost owed in
	// another currency than its line's is paid in its own.
	type folded struct{ earned, reversed, reserved, released []ensemble.Money }
	parties := map[partyCur]*folded{}
	for _, e := range bk.entries {
		k := partyCur{e.Party, e.Amount.Currency()}
		f := parties[k]
		if f == nil {
			f = &folded{}
			parties[k] = f
		}
		switch e.Kind {
		case settlement.KindEarning, settlement.KindSupplierCost:
			f.earned = append(f.earned, e.Amount)
		case settlement.KindClawback:
			f.reversed = append(f.reversed, e.Amount)
		case settlement.KindReserve, settlement.KindHold:
			f.reserved = append(f.reserved, e.Amount)
		case settlement.KindRelease:
			f.released = append(f.released, e.Amount)
		default:
			t.Fatalf("entry %s of kind %s", e.ID, e.Kind)
		}
	}
	if len(stmts) != len(parties) {
		t.Fatalf("%d statements for the entries of %d parties", len(stmts), len(parties))
	}
	for _, st := range stmts {
		f := parties[partyCur{st.Party, st.Currency}]
		if f == nil {
			t.Fatalf("a statement for %s, who has no entries", st.Party)
		}
		earned, reversed, reserved, released := sum(t, f.earned...), sum(t, f.reversed...), sum(t, f.reserved...), sum(t, f.released...)
		closing := sum(t, earned, reversed, reserved.Neg(), released)
		if !same(t, st.Earned, earned) || !same(t, st.Reversed, reversed) || !same(t, st.Reserved, reserved) || !same(t, st.Released, released) ||
			!same(t, st.Closing, closing) || !same(t, st.Withheld, sum(t, reserved, released.Neg())) {
			t.Fatalf("%s's statement %+v; its entries earn %s, reverse %s, reserve %s, release %s: it closes at %s", st.Party, st, earned, reversed, reserved, released, closing)
		}
	}
}

// termFee computes from the contract alone, as package invoice's
// EarlyTermination states it, the fee an order stopping at end.Stop owes,
// the term it ends inside, and whether it owes one: only when the stop
// falls strictly inside the term that runs from the activation on Feb 1
// (or, renewing, inside the renewed term that holds it), as the order's
// Cancellation.WithinTerm must say too. Fixed owes the amount; declining
// owes round(amount × the part of the term left), counted in calendar days
// with the end's day excluded, as the runs prorate; remaining owes
// round(percent × what the seats would still have billed in the state they
// ended in, to the term's end): the rest of the month holding the stop, as
// its proration credit counts it (whole − round(whole × days elapsed /
// days)), and every whole month after it; periods owe N months of the
// seats in force at the end (N × whole), capped, no more than that
// remaining value. Amounts are in cents, rounded
// half away from zero.
func termFee(t *rapid.T, eco *ecosystem, o order.Order, end ending) (ensemble.Money, ensemble.Period, bool) {
	fee := o.Term.EarlyTermination
	if o.Term.IsZero() {
		return ensemble.Money{}, ensemble.Period{}, false
	}
	activation, months := day(2, 1, 0), o.Term.Length.Count
	var start, stop time.Time
	for k := 0; ; k++ {
		start, stop = activation.AddDate(0, k*months, 0), activation.AddDate(0, (k+1)*months, 0)
		if end.Stop.Before(stop) || !o.Term.AutoRenew {
			break
		}
	}
	inside := end.Stop.After(start) && end.Stop.Before(stop)
	if o.Cancellation.WithinTerm != inside {
		t.Fatalf("order %s stops at %s, inside its term [%s, %s) %v; the order says within term %v", o.ID, end.Stop.Format(time.RFC3339), start.Format(time.RFC3339), stop.Format(time.RFC3339), inside, o.Cancellation.WithinTerm)
	}
	if !inside || fee == nil {
		return ensemble.Money{}, ensemble.Period{}, false
	}
	var owed int64
	switch fee.Rule {
	case order.TerminationFixed:
		owed = fee.Amount.Shift(2).IntPart()
	case order.TerminationDeclining:
		total := days(start, stop)
		owed = round(fee.Amount.Shift(2).IntPart()*(total-days(start, end.Stop)), total)
	case order.TerminationRemaining, order.TerminationPeriods:
		whole := eco.seatPrice[end.Edition].Shift(2).IntPart() * end.Quantity // a month of seats, in cents
		month := time.Date(end.Stop.Year(), end.Stop.Month(), 1, 0, 0, 0, 0, time.UTC)
		next := month.AddDate(0, 1, 0)
		value := whole - round(whole*days(month, end.Stop), days(month, next))
		for m := next; m.Before(stop); m = m.AddDate(0, 1, 0) {
			value += whole
		}
		if fee.Rule == order.TerminationPeriods {
			// N months of the seats in force at the end; capped, no more
			// than the remaining value.
			owed = whole * int64(fee.Periods.Count)
			if fee.CapAtRemaining && value < owed {
				owed = value
			}
			break
		}
		owed = round(value*fee.Percent.Decimal(4, ensemble.RoundHalfAwayFromZero).Shift(2).IntPart(), 100)
	default:
		t.Fatalf("order %s: fee rule %s", o.ID, fee.Rule)
	}
	return ensemble.MoneyFromDecimal(decimal.New(owed, -2), ensemble.MustCurrency("EUR")), ensemble.Period{Start: start, End: stop}, true
}

// checkShards settles the lines shuffled, and each order's lines on its
// own, and checks that both give the entries of settling everything
// together, and that
// their statements, merged (settlement.Merge), are the statements of all
// entries: settlement shards across machines.
func checkShards(t *rapid.T, eco *ecosystem, bk *books) {
	shards := map[settlement.LineID]int{}
	var perOrder [][]settlement.Line
	index := map[invoice.SubscriptionID]int{}
	for _, l := range bk.settled {
		sub := bk.lines[invoice.LineID(l.ID)].Subscription
		i, ok := index[sub]
		if !ok {
			i = len(perOrder)
			index[sub] = i
			perOrder = append(perOrder, nil)
		}
		perOrder[i] = append(perOrder[i], l)
		shards[l.ID] = i
	}
	period := ensemble.MustPeriod(day(1, 1, 0), day(7, 1, 0))
	minimums := []ensemble.Money{ensemble.MustMoney("10.00", "EUR")}
	var parts [][]settlement.Statement
	var union []settlement.Entry
	for _, lines := range perOrder {
		res, err := eco.settler.Settle(context.Background(), settlement.State{}, lines)
		if err != nil {
			t.Fatalf("settling one order's lines: %v", err)
		}
		union = append(union, res.Entries...)
		st, err := settlement.Statements(res.Entries, settlement.StatementOptions{Period: period, Minimums: minimums})
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, st)
	}
	// The order lines are given in does not matter: entries come out in
	// canonical order.
	shuffled := rapid.Permutation(bk.settled).Draw(t, "settle_order")
	res, err := eco.settler.Settle(context.Background(), settlement.State{}, shuffled)
	if err != nil {
		t.Fatalf("settling the lines shuffled: %v", err)
	}
	if diff := cmp.Diff(bk.entries, res.Entries); diff != "" {
		t.Fatalf("settling the lines in another order gives other entries (-given order +shuffled):\n%s", diff)
	}
	byID := func(a, b settlement.Entry) int { return strings.Compare(string(a.ID), string(b.ID)) }
	all := slices.SortedFunc(slices.Values(bk.entries), byID)
	slices.SortFunc(union, byID)
	if diff := cmp.Diff(all, union); diff != "" {
		t.Fatalf("settling order by order differs from settling together (-together +by order):\n%s", diff)
	}
	merged, err := settlement.Merge(minimums, parts...)
	if err != nil {
		t.Fatal(err)
	}
	whole, err := settlement.Statements(bk.entries, settlement.StatementOptions{Period: period, Minimums: minimums})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(whole, merged, cmpopts.EquateComparable(ensemble.Currency{})); diff != "" {
		t.Fatalf("merged statements differ from the statements of all entries (-all +merged):\n%s", diff)
	}
}

// dispute opens a dispute on some sale lines on Apr 10 and resolves each,
// won or lost, on Apr 12, then checks that every hold was released, that a
// lost line nets every party to exactly zero, and that a won line leaves
// every party what it had.
func dispute(t *rapid.T, eco *ecosystem, bk *books) {
	line := map[settlement.EntryID]settlement.LineID{} // the line each earning belongs to
	for _, e := range bk.entries {
		line[e.ID] = e.Line
	}
	outcomes := []string{"none", "won", "lost"}
	var disputed []settlement.Entry
	for _, l := range bk.settled {
		if l.Credits != "" || !l.Amount.IsPositive() {
			continue
		}
		outcome := rapid.SampledFrom(outcomes).Draw(t, "dispute_"+string(l.ID))
		if outcome == "none" {
			continue
		}
		res, err := eco.settler.Dispute(bk.state, l.ID, day(4, 10, 0))
		if err != nil {
			t.Fatalf("dispute %s: %v", l.ID, err)
		}
		disputed = append(disputed, res.Entries...)
		res2, err := eco.settler.ResolveDispute(res.State, l.ID, outcome == "won", day(4, 12, 0))
		if err != nil {
			t.Fatalf("resolve dispute %s (%s): %v", l.ID, outcome, err)
		}
		disputed = append(disputed, res2.Entries...)
		bk.state = res2.State
		bk.lost[l.ID] = outcome == "lost"
	}
	held := map[partner.ID][]ensemble.Money{}
	for _, e := range disputed {
		switch e.Kind {
		case settlement.KindHold:
			held[e.Party] = append(held[e.Party], e.LineAmount())
		case settlement.KindRelease:
			held[e.Party] = append(held[e.Party], e.LineAmount().Neg())
		case settlement.KindClawback:
			if !bk.lost[line[e.Reverses]] {
				t.Fatalf("clawback %s of a line whose dispute was not lost (reverses %s)", e.ID, e.Reverses)
			}
		default:
			t.Fatalf("a dispute made entry %s of kind %s", e.ID, e.Kind)
		}
	}
	for party, ms := range held {
		if got := sum(t, ms...); !got.IsZero() {
			t.Fatalf("after resolving every dispute, %s still has %s held", party, got)
		}
	}
	bk.entries = append(bk.entries, disputed...)
	net := map[settlement.LineID]map[partner.ID][]ensemble.Money{}
	for _, e := range bk.entries {
		l := e.Line
		if e.Kind == settlement.KindClawback {
			l = line[e.Reverses]
		}
		if moves(e) && bk.lost[l] {
			if net[l] == nil {
				net[l] = map[partner.ID][]ensemble.Money{}
			}
			net[l][e.Party] = append(net[l][e.Party], e.LineAmount())
		}
	}
	for l, parties := range net {
		for party, ms := range parties {
			if got := sum(t, ms...); !got.IsZero() {
				t.Fatalf("line %s lost its dispute, yet %s nets %s on it", l, party, got)
			}
		}
	}
}

// creditEverything raises a credit note on every invoice for everything
// that remains of its lines (but those a lost dispute reversed), settles
// the notes' lines, and checks that every party nets to exactly zero, but
// for what partners earned on consumption a prepaid commitment paid for:
// a refund of the purchase gives back what was never drawn, and what was
// drawn (or expired) stays earned (invoice.PrepaidRefund), unless a lost
// dispute took it back. The parties' nets add up to exactly that
// (kept); it returns each party's net.
//
// What remains of a line is its total less the proration credits of later
// invoices that name it. invoice.NewCreditNote counts only the credit notes
// it is given, so a Full credit note would credit again what a proration
// credit already did, and settlement refuses it (see
// TestFullCreditNoteAfterProrationCredit). Crediting the rest by amount
// splits it into net and tax by the line's original proportions, which can
// leave a cent of net unreversed; so for such a line the test credits the
// total whose net is exactly the net that remains (creditFor).
func creditEverything(t *rapid.T, eco *ecosystem, bk *books) map[partyCur]ensemble.Money {
	prorated := map[invoice.LineID][]invoice.Line{}
	for _, inv := range bk.invoices {
		for _, l := range inv.Lines {
			if l.Credits != "" {
				prorated[l.Credits] = append(prorated[l.Credits], l)
			}
		}
	}
	var credits []settlement.Line
	for _, inv := range bk.invoices {
		rem, err := invoice.Remaining(inv, nil)
		if err != nil {
			t.Fatal(err)
		}
		var req []invoice.CreditLine
		for _, r := range rem {
			if bk.lost[settlement.LineID(r.Line)] {
				// A lost dispute has reversed the line already: a
				// credit note settled on top would reverse it twice.
				continue
			}
			net := r.Net
			for _, c := range prorated[r.Line] {
				net = sum(t, net, c.Net)
			}
			switch {
			case len(prorated[r.Line]) == 0:
				req = append(req, invoice.CreditLine{Line: r.Line})
			case net.IsPositive():
				req = append(req, creditFor(t, inv, r, net))
			}
		}
		if len(req) == 0 {
			continue
		}
		var drawn []invoice.PrepaidDrawn
		if d, ok := bk.drawn[inv.Subscription]; ok {
			drawn = []invoice.PrepaidDrawn{{Commitment: "calls", Drawn: d}}
		}
		cn, err := invoice.NewCreditNote(inv, nil, invoice.CreditRequest{ID: "all", Reason: invoice.ReasonRefund, At: day(4, 15, 0), Lines: req, Prepaid: drawn})
		if err != nil {
			t.Fatalf("credit note on %s: %v", inv.ID, err)
		}
		for _, l := range cn.Lines {
			bk.lines[l.ID] = l
		}
		sl, err := settlement.FromInvoiceWith(cn.Lines, bk.orders[inv.Subscription], settlement.InvoiceOptions{Prepaid: eco.earning})
		if err != nil {
			t.Fatal(err)
		}
		credits = append(credits, sl...)
	}
	res, err := eco.settler.Settle(context.Background(), bk.state, credits)
	if err != nil {
		t.Fatalf("settling the credit notes: %v", err)
	}
	bk.entries = append(bk.entries, res.Entries...)
	bk.settled = append(bk.settled, credits...)
	// Each party nets in each currency it is paid in; the nets add up in
	// the lines' currency (Entry.LineAmount).
	net := map[partyCur][]ensemble.Money{}
	var all []ensemble.Money
	for _, e := range bk.entries {
		if moves(e) {
			k := partyCur{e.Party, e.Amount.Currency()}
			net[k] = append(net[k], e.Amount)
			all = append(all, e.LineAmount())
		}
	}
	nets := map[partyCur]ensemble.Money{}
	for k, ms := range net {
		nets[k] = sum(t, ms...)
	}
	if got, want := sum(t, all...), kept(t, eco, bk); !same(t, got, want) {
		t.Fatalf("after crediting everything, the parties net %s (%v), want %s, what prepaid commitments paid for and stays earned", got, nets, want)
	}
	return nets
}

// kept is what stays earned once everything is credited, computed from the
// invoices: what was drawn of each commitment (and let expire), which a
// refund of the purchase leaves earned, less what lost disputes took back.
// On prepayment partners earned it on the purchase, so a commitment whose
// purchase lost its dispute keeps nothing; on consumption they earned it
// line by line, so each covered line (with the lines that correct it)
// keeps what was covered of it unless it lost its dispute. Commitments are
// bought in the subscription's currency, with tax on top, so what was drawn
// is net of tax.
func kept(t *rapid.T, eco *ecosystem, bk *books) ensemble.Money {
	var out []ensemble.Money
	for _, inv := range bk.invoices {
		for _, l := range inv.Lines {
			switch {
			case eco.earning == settlement.EarnOnPrepayment && l.Kind == invoice.KindPrepayment:
				if !bk.lost[settlement.LineID(l.ID)] {
					out = append(out, ensemble.MoneyFromDecimal(bk.drawn[inv.Subscription], inv.Currency))
				}
			case eco.earning == settlement.EarnOnConsumption && l.Prepaid != nil:
				root := l.ID
				if l.Credits != "" {
					root = l.Credits
				}
				if !bk.lost[settlement.LineID(root)] {
					out = append(out, l.Prepaid.CoveredNet)
				}
			}
		}
	}
	return sum(t, out...)
}

// creditFor returns the credit of line r of inv, by total, whose net is
// exactly net: it tries the totals around net × (1 + the line's tax rate)
// and keeps the first whose split gives that net.
func creditFor(t *rapid.T, inv invoice.Invoice, r invoice.Remainder, net ensemble.Money) invoice.CreditLine {
	guess := net.Amount().Mul(r.Total.Amount()).Div(r.Net.Amount()).Round(2)
	for _, step := range []int64{0, 1, -1, 2, -2, 3, -3, 4, -4, 5, -5} {
		total := guess.Add(decimal.New(step, -2))
		if !total.IsPositive() || total.GreaterThan(r.Total.Amount()) {
			continue
		}
		cl := invoice.CreditLine{Line: r.Line, Amount: total}
		cn, err := invoice.NewCreditNote(inv, nil, invoice.CreditRequest{ID: "probe", Reason: invoice.ReasonRefund, At: day(4, 15, 0),
			Lines: []invoice.CreditLine{cl}})
		if err != nil {
			t.Fatalf("probing a credit of %s on %s: %v", total, r.Line, err)
		}
		if same(t, cn.Lines[0].Net.Neg(), net) {
			return cl
		}
	}
	t.Fatalf("no credit of line %s (remaining net %s, total %s) has a net of %s", r.Line, r.Net, r.Total, net)
	return invoice.CreditLine{}
}

// checkStatementsClose: once everything is credited, every reserve and hold
// released, each party's statement for the year closes at what it nets
// (zero, but for what prepaid commitments paid for) with nothing withheld.
func checkStatementsClose(t *rapid.T, bk *books, nets map[partyCur]ensemble.Money) {
	stmts, err := settlement.Statements(bk.entries, settlement.StatementOptions{Period: ensemble.MustPeriod(day(1, 1, 0), day(12, 31, 0))})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stmts {
		want := nets[partyCur{s.Party, s.Currency}]
		if !same(t, s.Closing, want) || !s.Withheld.IsZero() || !same(t, s.Payable, want) {
			t.Fatalf("after crediting everything, %s's statement closes at %s with %s withheld and %s payable, want %s (earned %s, reversed %s, reserved %s, released %s)",
				s.Party, s.Closing, s.Withheld, s.Payable, want, s.Earned, s.Reversed, s.Reserved, s.Released)
		}
	}
}

// TestInvoicingAndSettlementConserveMoney is the end-to-end property: see
// the package documentation.
func TestInvoicingAndSettlementConserveMoney(t *testing.T) {
	covered := map[settlement.PrepaidEarning]int{}
	purchased := map[settlement.PrepaidEarning]int{}
	cancelled := map[string]int{}
	rapid.Check(t, func(t *rapid.T) {
		eco := drawEcosystem(t)
		bk := bill(t, eco)
		for _, inv := range bk.invoices {
			for _, l := range inv.Lines {
				if l.Kind == invoice.KindPrepayment {
					purchased[eco.earning]++
				} else if l.Prepaid != nil && l.Prepaid.Covered.IsPositive() {
					covered[eco.earning]++
				}
			}
		}
		checkSupplierCosts(t, eco, bk)
		checkLinesConserve(t, bk)
		checkTraces(t, bk)
		checkTotals(t, eco, bk)
		for _, what := range checkCancellations(t, eco, bk) {
			cancelled[what]++
		}
		checkProrationCredits(t, bk)
		checkReversals(t, bk)
		checkStatementsAdd(t, bk)
		checkShards(t, eco, bk)
		dispute(t, eco, bk)
		checkTraces(t, bk)
		nets := creditEverything(t, eco, bk)
		checkLinesConserve(t, bk)
		checkReversals(t, bk)
		checkStatementsAdd(t, bk)
		checkTraces(t, bk)
		checkStatementsClose(t, bk, nets)
	})
	// The draws exercise prepaid commitments in both earning modes: bought,
	// and drawn by calls.
	for _, mode := range []settlement.PrepaidEarning{settlement.EarnOnPrepayment, settlement.EarnOnConsumption} {
		if covered[mode] == 0 || purchased[mode] == 0 {
			t.Fatalf("no prepaid commitment was exercised %s (%d purchases, %d covered lines)", mode, purchased[mode], covered[mode])
		}
	}
	// ... and cancellations: crediting what was billed in advance, billing
	// each rule's fee, letting a commitment expire in both earning modes.
	for _, what := range []string{"credited", "fee fixed", "fee declining", "fee remaining", "expired on_prepayment", "expired on_consumption"} {
		if cancelled[what] == 0 {
			t.Fatalf("no cancellation exercised %q (%v)", what, cancelled)
		}
	}
	t.Logf("cancellations exercised: %v", cancelled)
}

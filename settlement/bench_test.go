package settlement_test

import (
	"fmt"
	"reflect"
	"runtime/metrics"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/ext"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/rules"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// benchNetwork builds 1,000 partners: 10 distributors, 90 resellers, 850
// sub-resellers and 50 referral partners.
func benchNetwork(b testing.TB) *partner.Network {
	from := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var ps []partner.Partner
	tiers := []partner.Tier{"gold", "silver", "bronze"}
	for i := range 10 {
		ps = append(ps, partner.Partner{ID: partner.ID(fmt.Sprintf("d%03d", i)), Name: "d", Type: partner.TypeDistributor,
			Terms: []partner.Terms{{From: from, Tier: tiers[i%3]}}})
	}
	for i := range 90 {
		ps = append(ps, partner.Partner{ID: partner.ID(fmt.Sprintf("r%03d", i)), Name: "r", Type: partner.TypeReseller,
			Terms: []partner.Terms{{From: from, Tier: tiers[i%3], Parent: partner.ID(fmt.Sprintf("d%03d", i%10))}}})
	}
	for i := range 850 {
		ps = append(ps, partner.Partner{ID: partner.ID(fmt.Sprintf("s%03d", i)), Name: "s", Type: partner.TypeSubReseller,
			Terms: []partner.Terms{{From: from, Tier: tiers[i%3], Parent: partner.ID(fmt.Sprintf("r%03d", i%90))}}})
	}
	for i := range 50 {
		ps = append(ps, partner.Partner{ID: partner.ID(fmt.Sprintf("f%03d", i)), Name: "f", Type: partner.TypeReferral,
			Terms: []partner.Terms{{From: from}}})
	}
	net, err := partner.NewNetwork(partner.NetworkSpec{Partners: ps})
	require.NoError(b, err)
	return net
}

const benchRules = `
- id: b-referred
  version: 1
  kind: condition
  env_version: 1
  expression: 'route.referrer != ""'
- id: b-referral-share
  version: 1
  kind: share
  env_version: 1
  expression: 'partner.tier == "" ? percent(5) : percent(4)'
- id: b-distributor-share
  version: 1
  kind: share
  env_version: 1
  expression: 'partner.tier == "gold" ? percent(6) : partner.tier == "silver" ? percent(5) : percent(4)'
- id: b-reseller-share
  version: 1
  kind: share
  env_version: 1
  expression: 'partner.tier == "gold" ? percent(12) : percent(10)'
- id: b-big
  version: 1
  kind: condition
  env_version: 1
  expression: 'line.amount >= money("10", line.currency)'
`

// Three levels (root -> channel -> partners), five parties.
const benchPlanCEL = `
id: bench
version: 1
root:
  id: root
  children:
    - {id: platform, party: platform, share: "20%", fallback: platform}
    - {id: referral, party: referrer, condition: COND, share: {rule: b-referral-share}}
    - id: channel
      share: remaining
      children:
        - {id: distributor, party: distributor, share: {rule: b-distributor-share}}
        - {id: reseller, party: reseller, share: {rule: b-reseller-share}}
        - {id: seller, party: seller, share: remaining}
`

const benchPlanStatic = `
id: bench
version: 1
root:
  id: root
  children:
    - {id: platform, party: platform, share: "20%", fallback: platform}
    - {id: referral, party: referrer, share: "5%"}
    - id: channel
      share: remaining
      children:
        - {id: distributor, party: distributor, share: "6%"}
        - {id: reseller, party: reseller, share: "10%"}
        - {id: seller, party: seller, share: remaining}
`

func benchLines(n int) []settlement.Line {
	lines := make([]settlement.Line, n)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	eurCur := ensemble.MustCurrency("EUR")
	for i := range lines {
		s := i % 850
		r := s % 90
		d := r % 10
		l := settlement.Line{ID: settlement.LineID(fmt.Sprintf("L%07d", i)), Date: start.Add(time.Duration(i) * time.Minute),
			Amount: ensemble.MoneyFromMinor(int64(100+i%100_000), eurCur), Offer: catalog.Pin{Offer: "cloud", Version: 1},
			Route: partner.Route{Kind: partner.RoutePartner, Seller: partner.ID(fmt.Sprintf("s%03d", s)), Chain: []partner.ID{
				partner.ID(fmt.Sprintf("s%03d", s)), partner.ID(fmt.Sprintf("r%03d", r)), partner.ID(fmt.Sprintf("d%03d", d))}},
			Trace: []ensemble.Ref{{Kind: "invoice_line", ID: fmt.Sprintf("INV/%d", i)}}}
		if i%3 == 0 {
			l.Route.Referrer = partner.ID(fmt.Sprintf("f%03d", i%50))
		}
		lines[i] = l
	}
	return lines
}

// invoiceLines returns benchLines with what lines made from invoices
// (invoice.FromInvoiceWith) carry besides: a quantity, a customer and
// country, a charge, an invoice (five lines each), 19% tax and the
// calendar month of service the line bills.
func invoiceLines(n int) []settlement.Line {
	lines := benchLines(n)
	for i := range lines {
		l := &lines[i]
		l.Quantity = decimal.New(int64(1+i%7), 0)
		l.Customer = settlement.Customer{ID: fmt.Sprintf("cust-%d", i%300), Country: "DE"}
		l.Charge, l.Invoice = "seats", fmt.Sprintf("INV-%d", i/5)
		l.Tax = ensemble.MoneyFromMinor(int64(19*(100+i%100_000)/100), l.Amount.Currency())
		month := time.Date(l.Date.Year(), l.Date.Month(), 1, 0, 0, 0, 0, time.UTC)
		l.Service = ensemble.Period{Start: month, End: month.AddDate(0, 1, 0)}
	}
	return lines
}

// BenchmarkSettle settles 1,000,000 lines per op, in calls of 10,000
// lines (each with a fresh State, as a host persisting state per batch
// would, and one entry buffer reused with AppendSettle), after one untimed
// pass that warms the buffer, the heap and the settler, through a 3-level
// plan paying 5 parties over 1,000 partners: static ratios, CEL conditions
// and shares that read partner and route facts (memoized per call), and a
// CEL condition that reads the line's amount (evaluated per line).
func BenchmarkSettle(b *testing.B) {
	net := benchNetwork(b)
	const total, batch = 1_000_000, 10_000
	lines := benchLines(batch)
	for _, bc := range []struct{ name, plan string }{
		{"static", benchPlanStatic},
		{"cel_memoized", replaceCond(benchPlanCEL, "b-referred")},
		{"cel_per_line", replaceCond(benchPlanCEL, "b-big")},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s := planSettler(b, bc.plan, net, benchRules)
			// One untimed pass first: the figures are a running host's,
			// whose entry buffer, heap and settler caches are warm.
			var buf []settlement.Entry
			for range total / batch {
				var err error
				if buf, _, err = s.AppendSettle(ctx, buf[:0], settlement.State{}, lines); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			cpu0 := cpuTime()
			gc0 := gcCPU()
			for b.Loop() {
				for range total / batch {
					var err error
					if buf, _, err = s.AppendSettle(ctx, buf[:0], settlement.State{}, lines); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(total)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(total)/float64(b.N), "ns/line")
			// CPU time of the process (GC included) per line: steadier than
			// wall time on a shared machine.
			b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(total)/float64(b.N), "cpu-ns/line")
			b.ReportMetric((gcCPU()-gc0)*1e9/float64(total)/float64(b.N), "gc-ns/line")
		})
	}
}

// benchRealisticRules are the per-line rules of the realistic plan: an
// amount rule on the line's amount with literals (evaluated for every
// line).
const benchRealisticRules = `
- id: b-referral-fee
  version: 1
  kind: amount
  env_version: 1
  expression: 'line.amount >= money("50", line.currency) ? (line.amount * dec("0.05")).round(2) : (line.amount * dec("0.02")).round(2)'
`

// benchPlanRealistic is a plan as hosts write them: the platform's take
// rate is marginal over the seller's cumulative volume in the calendar
// year (15% up to EUR 1,000,000, then 30%), a referral fee is an amount
// rule on the line's amount, and resellers and sellers have a 10% reserve
// held for 90 days.
const benchPlanRealistic = `
id: bench
version: 1
root:
  id: root
  children:
    - id: platform
      party: platform
      fallback: platform
      share:
        cumulative:
          of: seller
          window: calendar_year
          mode: marginal
          tiers:
            - {up_to: {amount: "1000000.00", currency: EUR}, rate: "15%"}
            - {rate: "30%"}
    - {id: referral, party: referrer, condition: b-referred, share: {rule: b-referral-fee}}
    - id: channel
      share: remaining
      children:
        - {id: distributor, party: distributor, share: {rule: b-distributor-share}}
        - {id: reseller, party: reseller, share: "10%", reserve: {ratio: "10%", days: 90}}
        - {id: seller, party: seller, share: remaining, reserve: {ratio: "10%", days: 90}}
`

// BenchmarkSettleRealistic settles the lines of BenchmarkSettle through
// benchPlanRealistic, in calls of 10,000 lines, each from a fresh State
// (so the seller's volume starts over per call).
func BenchmarkSettleRealistic(b *testing.B) {
	net := benchNetwork(b)
	const total, batch = 100_000, 10_000
	lines := benchLines(batch)
	s := planSettler(b, benchPlanRealistic, net, benchRules, benchRealisticRules)
	var buf []settlement.Entry
	for range total / batch {
		var err error
		if buf, _, err = s.AppendSettle(ctx, buf[:0], settlement.State{}, lines); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	cpu0, gc0 := cpuTime(), gcCPU()
	for b.Loop() {
		for range total / batch {
			var err error
			if buf, _, err = s.AppendSettle(ctx, buf[:0], settlement.State{}, lines); err != nil {
				b.Fatal(err)
			}
		}
	}
	reportLines(b, total, cpu0, gc0)
}

// BenchmarkSettleRolling settles the realistic plan with its take rate
// over a rolling twelve months instead of a calendar year, every line
// sold by one seller, 10,000 and 40,000 lines in calls of 10,000 from the
// State the previous call returned: what a line reads of the seller's
// volume costs O(log points) (pointIndex), so a line costs about the same
// however many lines the seller sold before it (a pass over every point
// cost 26-30 us a line at 10,000 and 190 us at 40,000).
func BenchmarkSettleRolling(b *testing.B) {
	net := benchNetwork(b)
	plan := strings.Replace(benchPlanRealistic, "window: calendar_year", "window: rolling_12_months", 1)
	s := planSettler(b, plan, net, benchRules, benchRealisticRules)
	for _, n := range []int{10_000, 40_000} {
		b.Run(fmt.Sprintf("lines_%d", n), func(b *testing.B) {
			lines := benchLines(n)
			for i := range lines {
				lines[i].Route.Seller, lines[i].Route.Chain = "s001", []partner.ID{"s001", "r001", "d001"}
			}
			var buf []settlement.Entry
			settleAll := func() {
				var st settlement.State
				for i := 0; i < n; i += 10_000 {
					var err error
					if buf, st, err = s.AppendSettle(ctx, buf[:0], st, lines[i:i+10_000]); err != nil {
						b.Fatal(err)
					}
				}
			}
			settleAll() // untimed: warms the settler, the buffer and the heap
			b.ReportAllocs()
			cpu0, gc0 := cpuTime(), gcCPU()
			for b.Loop() {
				settleAll()
			}
			reportLines(b, n, cpu0, gc0)
		})
	}
}

// BenchmarkSettleOneLine settles one line per call, as a host settling
// each invoice line as it is issued does: each call from a fresh State,
// the lines of BenchmarkSettle in turn, through the static plan and the
// realistic one; with Settle, which returns each call's entries in an
// array of their own, and (reused_buffer) with AppendSettle into one
// buffer the host reuses, which leaves out that array (about 2 KB a line
// for the static plan, 4 KB for the realistic one) and its share of
// the collector's work; invoice_lines: lines as invoices make them
// (invoiceLines), whose quantity cost 0.5 us and 8 allocations a line to
// fingerprint before it was hashed without big.Rat. The collector's
// pace moves these figures more than the others: with GOGC=400, a Settle
// call cost about a fifth less CPU in alternating runs at load average
// 15-21 (static 2.74/3.09 us min/median against 3.52/4.25 at the default
// GOGC=100; realistic 5.66/5.94 against 6.94/7.59), a reused buffer's
// 4-15% less (see README, Performance).
func BenchmarkSettleOneLine(b *testing.B) {
	net := benchNetwork(b)
	for _, bc := range []struct {
		name, plan     string
		reuse, invoice bool
	}{
		{"static", benchPlanStatic, false, false},
		{"realistic", benchPlanRealistic, false, false},
		{"static_reused_buffer", benchPlanStatic, true, false},
		{"realistic_reused_buffer", benchPlanRealistic, true, false},
		{"static_invoice_lines_reused_buffer", benchPlanStatic, true, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			lines := benchLines(10_000)
			if bc.invoice {
				lines = invoiceLines(10_000)
			}
			s := planSettler(b, bc.plan, net, benchRules, benchRealisticRules)
			var buf []settlement.Entry
			settle := func(l []settlement.Line) error {
				if !bc.reuse {
					_, err := s.Settle(ctx, settlement.State{}, l)
					return err
				}
				var err error
				buf, _, err = s.AppendSettle(ctx, buf[:0], settlement.State{}, l)
				return err
			}
			for i := range lines {
				if err := settle(lines[i : i+1]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			cpu0, gc0 := cpuTime(), gcCPU()
			i := 0
			for b.Loop() {
				if err := settle(lines[i : i+1]); err != nil {
					b.Fatal(err)
				}
				i = (i + 1) % len(lines)
			}
			reportLines(b, 1, cpu0, gc0)
		})
	}
}

// BenchmarkSettleOneLineOnState settles one line per call as a host
// keeping its State in memory does: each call from the State the previous
// call returned, which starts with n lines settled (static plan;
// realistic_held: the realistic plan, the state holding the cumulative
// volumes of 850 sellers, which each call reads and adds to;
// rolling_one_seller: the realistic plan over a rolling twelve months,
// every line sold by one seller, whose volume holds a point per line,
// which a call appends to in place rather than copies: copying cost 1.3
// ms a call at 40,000 points, 5.5 ms at 100,000); prepaid: every line
// buys a prepaid commitment of its own, which a call records on top of
// the state's as it records lines (copying the 100,000 or more the state
// held cost 11 ms a call); and (fan_out) every
// call from one State settled in batches of 10,000, as a host trying
// lines against one state does; _credited: the state holds credits too,
// which a call settling a sale shares, not copies. A call costs about the
// same whatever the state holds: it copies only what it changes (State's
// lines are layers that later states share).
func BenchmarkSettleOneLineOnState(b *testing.B) {
	net := benchNetwork(b)
	s := planSettler(b, benchPlanStatic, net, benchRules)
	const calls = 100_000 // lines settled one per call before starting over from n
	realistic := planSettler(b, benchPlanRealistic, net, benchRules, benchRealisticRules)
	rolling := planSettler(b, strings.Replace(benchPlanRealistic, "window: calendar_year", "window: rolling_12_months", 1),
		net, benchRules, benchRealisticRules)
	for _, c := range []struct {
		name      string
		s         *settlement.Settler
		n         int
		oneSeller bool
		prepaid   bool
	}{
		{"held_1000", s, 1_000, false, false},
		{"held_100000", s, 100_000, false, false},
		{"realistic_held_20000", realistic, 20_000, false, false},
		{"rolling_one_seller_held_40000", rolling, 40_000, true, false},
		{"prepaid_held_100000", s, 100_000, false, true},
	} {
		s, n := c.s, c.n
		b.Run(c.name, func(b *testing.B) {
			lines := benchLines(n + calls)
			for i := range lines {
				if c.oneSeller {
					lines[i].Route.Seller, lines[i].Route.Chain = "s001", []partner.ID{"s001", "r001", "d001"}
				}
				if c.prepaid {
					lines[i].Prepaid = settlement.PrepaidTerms{Commitment: fmt.Sprintf("sub/%d", i), Earning: settlement.EarnOnPrepayment}
				}
			}
			res, err := s.Settle(ctx, settlement.State{}, lines[:n])
			require.NoError(b, err)
			st := res.State
			var buf []settlement.Entry
			b.ReportAllocs()
			cpu0, gc0 := cpuTime(), gcCPU()
			i := n
			for b.Loop() {
				if i == len(lines) {
					st, i = res.State, n
				}
				if buf, st, err = s.AppendSettle(ctx, buf[:0], st, lines[i:i+1]); err != nil {
					b.Fatal(err)
				}
				i++
			}
			reportLines(b, 1, cpu0, gc0)
		})
	}
	for _, credited := range []bool{false, true} {
		name := "fan_out_100000"
		if credited {
			name += "_credited"
		}
		b.Run(name, func(b *testing.B) {
			lines := benchLines(100_000 + 10_000)
			var st settlement.State
			for i := 0; i < 100_000; i += 10_000 {
				batch := lines[i : i+10_000]
				if credited { // and a credit of every hundredth line, which a sale's call shares
					batch = slices.Clone(batch)
					for j := 0; j < 10_000; j += 100 {
						l := lines[i+j]
						batch = append(batch, settlement.Line{ID: "C" + l.ID, Date: l.Date.Add(time.Hour), Amount: ensemble.MoneyFromMinor(-1, l.Amount.Currency()), Credits: l.ID})
					}
				}
				res, err := s.Settle(ctx, st, batch)
				require.NoError(b, err)
				st = res.State
			}
			var buf []settlement.Entry
			b.ReportAllocs()
			cpu0, gc0 := cpuTime(), gcCPU()
			i := 100_000
			for b.Loop() {
				var err error
				if buf, _, err = s.AppendSettle(ctx, buf[:0], st, lines[i:i+1]); err != nil {
					b.Fatal(err)
				}
				if i++; i == len(lines) {
					i = 100_000
				}
			}
			reportLines(b, 1, cpu0, gc0)
		})
	}
}

// reportLines reports lines/s, CPU time per line (GC included: steadier
// than wall time on a shared machine) and the runtime's estimate of the
// garbage collector's CPU time per line, for perOp lines per op.
func reportLines(b *testing.B, perOp int, cpu0 time.Duration, gc0 float64) {
	n := float64(perOp) * float64(b.N)
	b.ReportMetric(n/b.Elapsed().Seconds(), "lines/s")
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/n, "cpu-ns/line")
	b.ReportMetric((gcCPU()-gc0)*1e9/n, "gc-ns/line")
}

// rawPartner is the partner as a plain cel-go program reads it.
type rawPartner struct {
	Tier string `cel:"tier"`
}

// BenchmarkShareRule evaluates a share rule as a settler does (the rule
// set compiled with settlement.Env, facts set once, the partner changed in
// place, Eval returning a decimal), against the same logic in plain cel-go
// (a native struct, a double result): what the rules layer costs over
// cel-go itself, without and with the runtime cost limit on both sides.
func BenchmarkShareRule(b *testing.B) {
	for _, trusted := range []bool{true, false} {
		name := "ensemble"
		if !trusted {
			name = "ensemble_cost_limit"
		}
		b.Run(name, func(b *testing.B) { benchShareRule(b, trusted) })
	}
	for _, limit := range []bool{false, true} {
		name := "raw_cel"
		if limit {
			name = "raw_cel_cost_limit"
		}
		b.Run(name, func(b *testing.B) { benchRawShare(b, limit) })
	}
}

// benchRawShare evaluates the logic of b-reseller-share in plain cel-go,
// with cel-go's runtime cost limit when limit is set.
func benchRawShare(b *testing.B, limit bool) {
	env, err := cel.NewEnv(ext.NativeTypes(reflect.TypeFor[rawPartner](), ext.ParseStructTags(true)),
		cel.Variable("partner", cel.ObjectType("settlement_test.rawPartner")))
	require.NoError(b, err)
	a, iss := env.Compile(`partner.tier == "gold" ? 0.12 : 0.10`)
	require.NoError(b, iss.Err())
	var opts []cel.ProgramOption
	if limit {
		opts = append(opts, cel.CostLimit(rules.DefaultCostLimit))
	}
	prg, err := env.Program(a, opts...)
	require.NoError(b, err)
	tiers := []string{"gold", "silver", "bronze"}
	var p rawPartner
	act, err := cel.NewActivation(map[string]any{"partner": &p})
	require.NoError(b, err)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		p.Tier = tiers[i%3]
		i++
		if _, _, err := prg.Eval(act); err != nil {
			b.Fatal(err)
		}
	}
}

// benchRule returns version 1 of rule id of the rule document doc,
// compiled with settlement.Env (with the runtime cost tracker unless
// trusted), and facts to evaluate it with.
func benchRule(b *testing.B, trusted bool, doc, id string) (*rules.Rule, *rules.Facts) {
	env, err := settlement.Env(rules.TrustBounded(trusted))
	require.NoError(b, err)
	rs, err := env.LoadRuleSet(rules.File{Name: "bench.yaml", Data: []byte(doc)})
	require.NoError(b, err)
	r, ok := rs.Rule(id, 1)
	require.True(b, ok)
	return r, env.NewFacts()
}

// benchShareRule evaluates b-reseller-share as a settler does, with the
// runtime cost tracker unless trusted.
func benchShareRule(b *testing.B, trusted bool) {
	tiers := []partner.Tier{"gold", "silver", "bronze"}
	r, f := benchRule(b, trusted, benchRules, "b-reseller-share")
	var sn partner.Snapshot
	require.NoError(b, f.Set(settlement.VarPartner, &sn))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		sn.Tier = tiers[i%3]
		i++
		if _, err := r.Eval(ctx, f); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAmountRule evaluates the realistic plan's per-line amount rule
// (b-referral-fee: a comparison with money("50", line.currency) and a
// product with a dec literal, rounded) as a settler does: the rule set
// compiled with settlement.Env, the line facts changed in place per line,
// with and without the runtime cost limit.
func BenchmarkAmountRule(b *testing.B) {
	for _, trusted := range []bool{true, false} {
		name := "trusted"
		if !trusted {
			name = "cost_limit"
		}
		b.Run(name, func(b *testing.B) {
			r, f := benchRule(b, trusted, benchRealisticRules, "b-referral-fee")
			var lf settlement.LineFacts
			require.NoError(b, f.Set(settlement.VarLine, &lf))
			eur := ensemble.MustCurrency("EUR")
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				lf.Amount, lf.Currency = ensemble.MoneyFromMinor(int64(100+i%100_000), eur), "EUR"
				i++
				if _, err := r.Eval(ctx, f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func replaceCond(plan, cond string) string {
	out := []byte(plan)
	for i := 0; i+4 <= len(out); i++ {
		if string(out[i:i+4]) == "COND" {
			return string(out[:i]) + cond + string(out[i+4:])
		}
	}
	return plan
}

// gcCPU returns the runtime's estimate of the CPU time spent in garbage
// collection (marking and assists; write barriers count as the program's).
func gcCPU() float64 {
	s := []metrics.Sample{{Name: "/cpu/classes/gc/total:cpu-seconds"}}
	metrics.Read(s)
	return s[0].Value.Float64()
}

// cpuTime returns the user and system CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkClawback credits 10,000 settled lines in full, in one call.
func BenchmarkClawback(b *testing.B) { benchClawback(b, settlement.Bearer{}) }

// BenchmarkClawbackBorne credits 10,000 settled lines in full, in one
// call, borne by the channel node (distributor, reseller and seller: about
// three quarters of each line), the rest in proportion from the platform
// and the referrer.
func BenchmarkClawbackBorne(b *testing.B) {
	benchClawback(b, settlement.Bearer{Node: "root/channel", Shortfall: settlement.ShortfallProportional})
}

func benchClawback(b *testing.B, bearer settlement.Bearer) {
	net := benchNetwork(b)
	s := planSettler(b, benchPlanStatic, net, benchRules)
	lines := benchLines(10_000)
	res, err := s.Settle(ctx, settlement.State{}, lines)
	require.NoError(b, err)
	credits := make([]settlement.Line, len(lines))
	for i, l := range lines {
		credits[i] = settlement.Line{ID: "C" + l.ID, Date: l.Date.Add(time.Hour), Amount: l.Amount.Neg(), Credits: l.ID, Bearer: bearer}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Settle(ctx, res.State, credits); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(credits))*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

// BenchmarkStatements folds the entries of 10,000 lines (about 43,000
// entries) into statements.
func BenchmarkStatements(b *testing.B) {
	net := benchNetwork(b)
	s := planSettler(b, benchPlanStatic, net, benchRules)
	res, err := s.Settle(ctx, settlement.State{}, benchLines(10_000))
	require.NoError(b, err)
	opts := settlement.StatementOptions{Period: ensemble.MustPeriod(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC))}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := settlement.Statements(res.Entries, opts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(res.Entries))*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}

// Command workforce runs a workforce ecosystem through Ensemble: contractors'
// hours and milestones metered as usage, billed to the client, credited when
// an SLA is missed, and paid out to the contractors and to the implementation
// partner that staffs them.
//
//	go run ./examples/workforce
//
// TalentGrid places two independent contractors, Alice (a senior engineer)
// and Bob (a product designer), with Harbor Bank. Both joined through Nova
// Implementation Partners, which supervises their work. Each placement is an
// assignment: an order whose seller is the contractor, priced by a rate card
// in the catalog (an hourly rate and a fee per accepted milestone, both usage
// charges). Weekly timesheets feed an hours meter (sum) and accepted
// milestones a milestones meter (count). The client is invoiced monthly in
// arrears.
//
// The split plan pays each contractor 70% of the time and 50% of the
// milestone fees it billed, the implementation partner 8% and 15%, and leaves
// the rest to the platform. A milestone accepted after its due date earns the
// client a 10% service credit (the SLA), issued as a credit note; settlement
// claws it back from everyone in proportion. Statements pay out monthly above
// a EUR 100 minimum: Bob's small April balance rolls forward into June's.
package main

import (
	"context"
	"embed"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/examples/internal/host"
	"github.com/ensemble-commerce/ensemble/examples/internal/report"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/order"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/rules"
	"github.com/ensemble-commerce/ensemble/settlement"
	"github.com/ensemble-commerce/ensemble/usage"
)

//go:embed data
var data embed.FS

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "workforce:", err)
		os.Exit(1)
	}
}

func day(m time.Month, d int) time.Time { return time.Date(2026, m, d, 0, 0, 0, 0, time.UTC) }

// The client's SLA: a milestone accepted after its due date earns a service
// credit of 10% of its fee.
var slaCredit = ensemble.MustRatio("10%")

// minimumPayout is the least a statement pays out; smaller balances roll
// forward.
var minimumPayout = ensemble.MustMoney("100.00", "EUR")

// ecosystem is what a host loads once: the documents under data/.
type ecosystem struct {
	catalog *catalog.Catalog
	network *partner.Network
	gov     *partner.Governance
	settler *settlement.Settler
	rules   *rules.RuleSet
	meters  []usage.Meter
	taxes   invoice.TaxTable
}

func load() (*ecosystem, error) {
	eco, err := host.Load(data, "data", host.Options{Programs: []partner.Program{{ID: "workforce", Name: "Workforce program"}}})
	if err != nil {
		return nil, err
	}
	return &ecosystem{catalog: eco.Catalog, network: eco.Network, gov: eco.Governance, settler: eco.Settler, rules: eco.SettlementRules,
		meters: []usage.Meter{
			{ID: "hours", Unit: "hour", Aggregation: usage.Sum},
			{ID: "milestones", Unit: "milestone", Aggregation: usage.Count},
		},
		// Harbor Bank is a German business: EU reverse charge, no VAT on
		// the invoice.
		taxes: invoice.TaxTable{Rules: []invoice.TaxRule{{ID: "de-vat", Region: "DE", Rate: ensemble.MustRatio("19%")}}},
	}, nil
}

func run(w io.Writer) error {
	ctx := context.Background()
	p := &report.Printer{W: w}
	eco, err := load()
	if err != nil {
		return err
	}
	printNetwork(p, eco)

	// 1. The assignments: one order per contractor, active from March 1.
	alice, err := assign(ctx, eco, "asg-alice", "alice-chen", "engineering-assignment")
	if err != nil {
		return err
	}
	bob, err := assign(ctx, eco, "asg-bob", "bob-varga", "design-assignment")
	if err != nil {
		return err
	}
	orders := []order.Order{alice, bob}
	p.Title("Assignments for harbor-bank (DE, reverse charge)")
	for _, o := range orders {
		l := o.Lines[0]
		hours, _ := eco.catalog.Charge(l.Pin, "hours")
		ms, _ := eco.catalog.Charge(l.Pin, "milestones")
		p.Line("  %-9s %-10s via %-9s %-24s EUR %s/hour, EUR %s/milestone, from %s", o.ID, o.Route.Seller, o.Route.Chain[1],
			l.Pin, hours.Price.Amount.StringFixed(2), ms.Price.Amount.StringFixed(2), o.ActivatedAt.Format("Jan 2"))
	}

	// 2-3. Invoices on the 1st of April, May and June, each billing the
	// previous month in arrears. Before each, the timesheets and milestone
	// acceptances submitted since the last run are metered per assignment
	// and month, with the ledger of what earlier runs billed: a timesheet
	// submitted twice is billed once, in one delivery or in two.
	var records []usage.Record   // every record delivered, for the SLA terms
	var ledger usage.Ledger      // the records earlier runs billed; a host persists it between runs
	var billed []usage.Aggregate // the usage earlier runs billed, for late timesheets; persisted too
	b, err := invoice.NewBuilder(eco.catalog, invoice.Options{Taxes: eco.taxes})
	if err != nil {
		return err
	}
	var subs []invoice.Subscription
	byID := map[invoice.SubscriptionID]order.Order{}
	for _, o := range orders {
		s, err := invoice.FromOrder(o)
		if err != nil {
			return err
		}
		subs = append(subs, s)
		byID[s.ID] = o
	}
	names := map[invoice.LineID]string{}
	var invoices []invoice.Invoice
	var lines []settlement.Line
	prev := day(3, 1)
	for m := time.April; m <= time.June; m++ {
		at := day(m, 1)
		file := "timesheets-" + at.Format(time.DateOnly) + ".json"
		batch, err := timesheets(file)
		if err != nil {
			return err
		}
		records = append(records, batch...)
		rep, err := meter(eco, b, subs, batch, prev, at, ledger)
		if err != nil {
			return err
		}
		ledger = rep.Ledger
		p.Title("Usage for the run of " + at.Format("January 2") + " (data/" + file + ")")
		p.Line("  %d records read, %d billed, %d duplicate(s) dropped (%d submitted again after an earlier run billed it)",
			rep.Stats.Read, rep.Stats.Accepted, rep.Stats.Duplicates, rep.Stats.Resent)
		for _, a := range rep.Aggregates {
			p.Line("  %-15s %-4s %-10s %6s  from %d record(s)", a.Line, a.Period.Start.Format("Jan"), a.Meter, a.Value, a.Records)
		}
		// A timesheet of a month already invoiced is billed against what
		// that month was billed.
		late, err := invoice.LateUsageFrom(rep.Adjustments, billed)
		if err != nil {
			return err
		}
		run := invoice.Run{After: prev, At: at, Usage: rep.Aggregates, Late: late}
		invs, err := b.Build(run, subs)
		if err != nil {
			return err
		}
		done, err := b.BilledUsage(run, subs, eco.meters)
		if err != nil {
			return err
		}
		billed, prev = append(billed, done...), at
		p.Title("Invoices of " + at.Format("January 2"))
		for _, inv := range invs {
			issued, err := invoice.Issue(inv, at)
			if err != nil {
				return err
			}
			invoices = append(invoices, issued)
			number := fmt.Sprintf("INV-%s-%02d", strings.TrimPrefix(string(inv.Subscription), "asg-"), m)
			for i, l := range issued.Lines {
				names[l.ID] = fmt.Sprintf("%s/%d", number, i+1)
				_, what, _ := strings.Cut(l.Description, ": ")
				p.Line("  %-14s %-27s %5s × %7s = %9s  %s", names[l.ID], what, l.Quantity,
					l.Amount.Amount().DivRound(l.Quantity, 2).StringFixed(2), l.Net.AmountString(), usageText(l))
			}
			p.Line("  %-14s %-52s total %s (%s)", number, "", issued.Total, taxText(issued))
			sl, err := settlementLines(issued.Lines, names, byID[inv.Subscription])
			if err != nil {
				return err
			}
			lines = append(lines, sl...)
		}
	}

	// 4. SLA credits: every milestone accepted after its due date is
	// credited 10% of its fee, on the invoice that billed it.
	credits, err := slaCredits(invoices, records, names)
	if err != nil {
		return err
	}
	for i, cn := range credits {
		number := fmt.Sprintf("CN-%d", i+1)
		p.Title(fmt.Sprintf("Credit note %s (%s) of %s: %s", number, cn.Reason, cn.Date.Format("Jan 2"), cn.Memo))
		for j, l := range cn.Lines {
			names[l.ID] = fmt.Sprintf("%s/%d", number, j+1)
			p.Line("  %-8s %-50s net %8s  total %s", names[l.ID], l.Description, l.Net.AmountString(), l.Total)
			p.Line("  %-8s credits %s", "", names[l.Credits])
		}
		for _, l := range cn.Lines {
			p.Line("")
			p.Line("  Why %s is %s (invoice.Explain):", names[l.ID], l.Total)
			p.Block(invoice.Explain(l))
		}
		sl, err := settlementLines(cn.Lines, names, byID[cn.Subscription])
		if err != nil {
			return err
		}
		lines = append(lines, sl...)
	}

	// 5. Settle everything: each line through the assignments plan, the
	// credit as a clawback.
	res, err := eco.settler.Settle(ctx, settlement.State{}, lines)
	if err != nil {
		return err
	}
	entries := res.Entries
	printSplits(p, lines, entries)

	for _, cn := range credits {
		for _, l := range cn.Lines {
			id := settlement.LineID(names[l.Credits])
			tree, err := settlement.Explain(id, entries)
			if err != nil {
				return err
			}
			p.Title(fmt.Sprintf("Who earned what on %s, and what the SLA credit took back", id))
			p.Block(tree)
		}
	}

	// 6. Monthly statements, paid on the 5th above the minimum payout.
	entries, err = printStatements(p, entries)
	if err != nil {
		return err
	}

	// 7. What the platform kept.
	metrics, err := settlement.ComputeMetrics(entries, ensemble.MustPeriod(day(4, 1), day(7, 1)), "platform")
	if err != nil {
		return err
	}
	for _, m := range metrics {
		p.Title("April to June in figures (" + m.Currency.Code() + ")")
		p.Line("  %-38s %10s", "billed to the client, net of credits", m.GrossValue.AmountString())
		p.Line("  %-38s %10s", "earned by contractors and partners", m.PartnerEarnings.AmountString())
		p.Line("  %-38s %10s   take rate %s%%", "kept by the platform", m.PlatformRevenue.AmountString(),
			m.TakeRate.Decimal(4, ensemble.RoundHalfAwayFromZero).Shift(2).StringFixed(2))
		for _, a := range m.ByParty {
			p.Line("  %-38s %10s", "net earnings of "+a.Key, a.Amount.AmountString())
		}
	}
	return p.Err
}

// assign takes an assignment order from draft to active on March 1: quoted
// by the contractor, accepted by the client, provisioned by the platform.
func assign(ctx context.Context, eco *ecosystem, id order.ID, contractor partner.ID, offer catalog.OfferID) (order.Order, error) {
	env := order.Context{Catalog: eco.catalog, Governance: eco.gov}
	steps := []struct {
		at  time.Time
		cmd order.Command
	}{
		{day(2, 20), order.Command{Kind: order.CmdCreate, Order: id, Actor: string(contractor), Draft: &order.Draft{
			Customer: order.Customer{ID: "harbor-bank", Country: "DE", TaxStatus: order.ReverseCharge, TaxID: "DE811234567"},
			Route:    partner.Route{Seller: contractor},
			Lines:    []order.Line{{ID: "work", Pin: catalog.Pin{Offer: offer}, Quantity: decimal.NewFromInt(1)}},
			Billing:  order.Billing{Anchor: day(3, 1)},
		}}},
		{day(2, 20), order.Command{Kind: order.CmdQuote, ExpiresAt: day(3, 1)}},
		{day(2, 24), order.Command{Kind: order.CmdAccept, Actor: "procurement@harbor-bank"}},
		{day(2, 27), order.Command{Kind: order.CmdBeginActivation}},
		{day(3, 1), order.Command{Kind: order.CmdCompleteTask, Task: "work", Actor: "platform"}},
	}
	var o order.Order
	for _, s := range steps {
		next, _, err := o.Decide(ctx, env, s.cmd, s.at)
		if err != nil {
			return order.Order{}, fmt.Errorf("%s %s at %s: %w", id, s.cmd.Kind, s.at.Format(time.RFC3339), err)
		}
		o = next
	}
	return o, nil
}

func timesheets(file string) ([]usage.Record, error) {
	f, err := data.Open("data/" + file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []usage.Record
	for r, err := range usage.Decode(f) {
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// meter aggregates one delivery of records per assignment line, meter and
// month, on the assignments' usage lines (invoice.Builder.UsageLines),
// against the ledger of what earlier runs billed; periods that ended by
// closed were invoiced already.
func meter(eco *ecosystem, b *invoice.Builder, subs []invoice.Subscription, records []usage.Record, closed, at time.Time, billed usage.Ledger) (*usage.Report, error) {
	lines, err := b.UsageLines(at, subs...)
	if err != nil {
		return nil, err
	}
	rep, err := usage.Collect(usage.Config{Meters: eco.meters, Lines: lines, ClosedBefore: closed, Ledger: billed}, slices.Values(records))
	if err != nil {
		return nil, err
	}
	if err := rep.Err(); err != nil {
		return nil, err
	}
	return rep, nil
}

// slaCredits raises one credit note per invoice that billed a milestone
// accepted after its due date (the record's "due" attribute): 10% of the
// milestone's fee, tax included, per late milestone.
func slaCredits(invoices []invoice.Invoice, records []usage.Record, names map[invoice.LineID]string) ([]invoice.CreditNote, error) {
	var out []invoice.CreditNote
	for _, inv := range invoices {
		var req []invoice.CreditLine
		var why []string
		for _, l := range inv.Lines {
			if l.Charge != "milestones" || l.Usage == nil {
				continue
			}
			late := 0
			for _, r := range records {
				due, err := time.Parse(time.DateOnly, r.Attributes["due"])
				if r.Meter != "milestones" || err != nil || !l.Usage.Period.Contains(r.At) ||
					!strings.HasPrefix(l.Usage.Ref.ID, string(r.Line)+"|") {
					continue
				}
				accepted := time.Date(r.At.Year(), r.At.Month(), r.At.Day(), 0, 0, 0, 0, time.UTC)
				if days := int(accepted.Sub(due).Hours() / 24); days > 0 {
					late++
					why = append(why, fmt.Sprintf("%s accepted %s, %d days after its due date", r.Attributes["milestone"],
						r.At.Format("Jan 2"), days))
				}
			}
			if late == 0 {
				continue
			}
			// Each milestone's share of the line's total, then the SLA's 10%.
			each := l.Total.Amount().DivRound(l.Quantity, 2)
			credit := ensemble.MustMoney(each.Mul(decimal.NewFromInt(int64(late))).String(), l.Currency.Code()).
				MulRatio(slaCredit, ensemble.RoundHalfAwayFromZero)
			req = append(req, invoice.CreditLine{Line: l.ID, Amount: credit.Amount()})
		}
		if len(req) == 0 {
			continue
		}
		cn, err := invoice.NewCreditNote(inv, nil, invoice.CreditRequest{ID: "sla", Reason: invoice.ReasonRefund,
			At: inv.Date.AddDate(0, 0, 9), Lines: req, Memo: "SLA service credit: " + strings.Join(why, "; ")})
		if err != nil {
			return nil, err
		}
		out = append(out, cn)
	}
	return out, nil
}

// settlementLines converts invoice or credit-note lines of the order with
// settlement.FromInvoice, then renames them to their short numbers.
func settlementLines(ls []invoice.Line, names map[invoice.LineID]string, o order.Order) ([]settlement.Line, error) {
	out, err := settlement.FromInvoice(ls, o)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].ID = settlement.LineID(names[ls[i].ID])
		if out[i].Credits != "" {
			out[i].Credits = settlement.LineID(names[invoice.LineID(out[i].Credits)])
		}
	}
	return out, nil
}

func printNetwork(p *report.Printer, eco *ecosystem) {
	p.Title("The workforce network (data/network.yaml) and how it is paid (data/plans.yaml)")
	for _, pt := range eco.network.Spec().Partners {
		if pt.Type == partner.TypePlatform {
			continue
		}
		line := fmt.Sprintf("  %-10s %-30s %-19s", pt.ID, pt.Name, pt.Type)
		if parent := pt.Terms[len(pt.Terms)-1].Parent; parent != "" {
			line += " staffed by " + string(parent)
		}
		p.Line("%s", strings.TrimRight(line, " "))
	}
	p.Line("")
	for _, id := range []string{"contractor-pay", "implementation-commission"} {
		r, err := eco.rules.At(id, day(3, 1))
		if err != nil {
			continue
		}
		p.Line("  rule %-27s %s", r.ID()+"@"+fmt.Sprint(r.Version()), r.Document().Description)
	}
	p.Line("  the platform keeps the rest")
}

func usageText(l invoice.Line) string {
	if l.Usage == nil {
		return ""
	}
	return fmt.Sprintf("%s, %s, %d record(s)", l.Usage.Meter, l.Usage.Period.Start.Format("January"), l.Usage.Records)
}

func taxText(inv invoice.Invoice) string {
	if inv.ReverseCharge {
		return "VAT reverse charged"
	}
	return "VAT " + inv.Tax.String()
}

// printSplits shows every settled line with what the contractor, the
// implementation partner and the platform earned on it, or gave back.
func printSplits(p *report.Printer, lines []settlement.Line, entries []settlement.Entry) {
	p.Title("Who earned what on each line")
	p.Line("  %-14s %-6s %-10s %9s %16s %16s %16s", "line", "date", "charge", "net", "contractor", "implementation", "platform")
	for _, l := range lines {
		charge := string(l.Charge)
		if l.Credits != "" {
			charge = "SLA credit"
		}
		row := fmt.Sprintf("  %-14s %-6s %-10s %9s", l.ID, l.Date.Format("Jan 2"), charge, l.Amount.AmountString())
		for _, node := range []string{"line/contractor", "line/implementation", "line/platform"} {
			cell := ""
			for _, e := range entries {
				if e.Line == l.ID && e.Node == node && (e.Kind == settlement.KindEarning || e.Kind == settlement.KindClawback) {
					cell = e.Amount.AmountString()
					if e.Kind == settlement.KindEarning && e.Share != "remaining" {
						share, _, _ := strings.Cut(e.Share, " ")
						cell += " (" + share + ")"
					}
				}
			}
			row += fmt.Sprintf(" %16s", cell)
		}
		p.Line("%s", row)
	}
}

// printStatements folds the entries month by month, each statement opening
// with the previous one's closing balance, and records a payout of whatever
// is payable on the 5th of the next month. It returns the entries with the
// payouts.
func printStatements(p *report.Printer, entries []settlement.Entry) ([]settlement.Entry, error) {
	var prev []settlement.Statement
	for m := time.April; m <= time.June; m++ {
		period := ensemble.MustPeriod(day(m, 1), day(m+1, 1))
		stmts, err := settlement.Statements(entries, settlement.StatementOptions{Period: period,
			Minimums: []ensemble.Money{minimumPayout}, Previous: prev})
		if err != nil {
			return nil, err
		}
		p.Title(fmt.Sprintf("Statements for %s (minimum payout %s)", period.Start.Format("January 2006"), minimumPayout))
		p.Line("  %-10s %9s %9s %9s %9s %9s %9s %9s", "party", "opening", "earned", "reversed", "paid out", "closing", "payable", "carried")
		for _, s := range stmts {
			if s.Party == "platform" {
				continue // the platform keeps its share; it pays no one
			}
			p.Line("  %-10s %9s %9s %9s %9s %9s %9s %9s", s.Party, s.Opening.AmountString(), s.Earned.AmountString(),
				s.Reversed.AmountString(), s.PaidOut.AmountString(), s.Closing.AmountString(), s.Payable.AmountString(),
				s.CarriedForward.AmountString())
			if s.Payable.IsPositive() {
				pay, err := settlement.PayOut(s, settlement.Payout{ID: fmt.Sprintf("%s-%s", s.Party, period.Start.Format("2006-01")),
					Date: period.End.AddDate(0, 0, 4)})
				if err != nil {
					return nil, err
				}
				entries = append(entries, pay)
			}
		}
		prev = stmts
	}
	return entries, nil
}

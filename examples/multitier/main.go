// Command multitier settles a three-level partner channel — distributor ->
// reseller -> sub-reseller — with commission rates by partner tier, a tier
// promotion in the middle of a month, a distributor volume bonus that crosses
// its threshold, and a customer who churns within 90 days, whose refund claws
// back every party's commission.
//
//	go run ./examples/multitier
//
// CloudCRM sells CRM seats through Benelux Distribution, which runs Holland IT
// Partners as a reseller, which runs two sub-resellers, Delft Digital and
// Leiden Cloud Works. Every partner of a sale's chain earns a commission of
// the line's net amount at the rate its type and tier give on the line's date
// (a CEL rule, data/settlement-rules.yaml). Holland IT is promoted from silver
// to gold on March 15 (data/network.yaml): lines dated from then on pay it 6%
// instead of 4%. The distributor earns a further 2% on its calendar-year
// volume above EUR 3,000.
//
// Leiden's customer cancels 37 days after activation. The cancellation credits
// the unused part of March (a proration credit) and, under the program's
// 90-day money-back terms, credit notes refund everything else the customer
// was billed. Settlement reverses every party's share of each credited line in
// proportion, so everyone nets to exactly zero on that customer, and Leiden,
// already paid for February and March, closes April with a negative balance
// that carries forward.
package main

import (
	"context"
	"embed"
	"fmt"
	"io"
	"os"
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
)

//go:embed data
var data embed.FS

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "multitier:", err)
		os.Exit(1)
	}
}

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// churnWindow is the program's money-back window: a customer who cancels
// within 90 days of activation is refunded everything, and every party's
// commission on that customer is clawed back.
const churnWindow = 90

// ecosystem is what a host loads once: the documents under data/.
type ecosystem struct {
	catalog *catalog.Catalog
	network *partner.Network
	gov     *partner.Governance
	settler *settlement.Settler
	rules   *rules.RuleSet
	taxes   invoice.TaxTable
}

func load() (*ecosystem, error) {
	eco, err := host.Load(data, "data", host.Options{Programs: []partner.Program{{ID: "channel", Name: "Channel program"}}})
	if err != nil {
		return nil, err
	}
	return &ecosystem{catalog: eco.Catalog, network: eco.Network, gov: eco.Governance, settler: eco.Settler, rules: eco.SettlementRules,
		taxes: invoice.TaxTable{Rules: []invoice.TaxRule{{ID: "nl-vat", Region: "NL", Rate: ensemble.MustRatio("21%")}}}}, nil
}

// step is one command of an order's lifecycle at an instant.
type step struct {
	at  time.Time
	cmd order.Command
}

func run(w io.Writer) error {
	ctx := context.Background()
	p := &report.Printer{W: w}
	eco, err := load()
	if err != nil {
		return err
	}
	printNetwork(p, eco.network)
	card, err := eco.rules.At("commission-rate", day(2026, 1, 1))
	if err != nil {
		return err
	}
	p.Line("")
	p.Line("  Commission rate card, rule %s@%d (data/settlement-rules.yaml), read for each partner at the line's date:", card.ID(), card.Version())
	p.Block("  " + strings.ReplaceAll(strings.TrimSpace(card.Document().Expression), "\n", "\n  "))
	p.Line("  Distributor volume bonus (data/plans.yaml): 2%% of its calendar-year volume above EUR 3,000.")

	// 1. Two orders: Delft's customer stays and grows, Leiden's churns.
	delft, err := takeOrder(ctx, eco, "ord-2001", "fjord-logistics", "sub-delft", 25, day(2026, 1, 1), []step{
		{day(2026, 3, 20), order.Command{Kind: order.CmdChange, Actor: "sub-delft", Change: &order.Change{
			Kind: order.ChangeQuantity, Line: "crm", Quantity: decimal.NewFromInt(35)}}},
	})
	if err != nil {
		return err
	}
	leiden, err := takeOrder(ctx, eco, "ord-2002", "polder-bakery", "sub-leiden", 15, day(2026, 2, 1), []step{
		{day(2026, 3, 10), order.Command{Kind: order.CmdCancel, Actor: "cfo@polder-bakery", Reason: "moving to another CRM",
			Cancel: &order.CancelRequest{Mode: order.Immediately}}},
	})
	if err != nil {
		return err
	}
	orders := []order.Order{delft, leiden}
	p.Title("Orders")
	for _, o := range orders {
		p.Line("  %s  %-16s sold by %s via %s, %s seats from %s", o.ID, o.Customer.ID, o.Route.Seller,
			joinIDs(o.Route.Chain[1:]), o.Segments[0].Quantity, o.ActivatedAt.Format("Jan 2"))
		for _, s := range o.Segments[1:] {
			p.Line("  %-26s %s seats from %s", "", s.Quantity, s.Start.Format("Jan 2"))
		}
		if c := o.Cancellation; c != nil {
			days := int(c.EffectiveAt.Sub(o.ActivatedAt).Hours() / 24)
			p.Line("  %-26s cancelled %s with effect %s (%s): %d days after activation", "", c.Mode,
				c.EffectiveAt.Format("Jan 2"), c.Reason, days)
		}
	}

	// 2. Invoices on the 1st of January to April, settled as they are
	// issued.
	b, err := invoice.NewBuilder(eco.catalog, invoice.Options{Basis: ensemble.ProrateDaysEndExclusive, Taxes: eco.taxes})
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
	var prev time.Time
	for m := time.January; m <= time.April; m++ {
		at := day(2026, m, 1)
		invs, err := b.Build(invoice.Run{After: prev, At: at}, subs)
		if err != nil {
			return err
		}
		prev = at
		for _, inv := range invs {
			issued, err := invoice.Issue(inv, at)
			if err != nil {
				return err
			}
			invoices = append(invoices, issued)
			number := fmt.Sprintf("INV-%s-%02d", strings.TrimPrefix(string(inv.Subscription), "ord-"), m)
			for i, l := range issued.Lines {
				names[l.ID] = fmt.Sprintf("%s/%d", number, i+1)
			}
			sl, err := settlementLines(issued.Lines, names, byID[inv.Subscription])
			if err != nil {
				return err
			}
			lines = append(lines, sl...)
		}
	}

	// 3. The money-back refund: Leiden's customer cancelled within the
	// window, so everything still creditable on its invoices is credited on
	// April 2. March's line was partly credited by the cancellation already.
	var refunds []invoice.CreditNote
	if c := leiden.Cancellation; c != nil && c.EffectiveAt.Before(leiden.ActivatedAt.AddDate(0, 0, churnWindow)) {
		refunds, err = moneyBack(invoices, leiden.ID, day(2026, 4, 2))
		if err != nil {
			return err
		}
	}
	for i, cn := range refunds {
		for j, l := range cn.Lines {
			names[l.ID] = fmt.Sprintf("CN-2002-%d/%d", i+1, j+1)
		}
		sl, err := settlementLines(cn.Lines, names, leiden)
		if err != nil {
			return err
		}
		lines = append(lines, sl...)
	}

	res, err := eco.settler.Settle(ctx, settlement.State{}, lines)
	if err != nil {
		return err
	}
	entries := res.Entries
	printCommissions(p, lines, entries)

	// 4. Why: the March line where the volume bonus starts, a line after
	// the promotion, and the churned customer's March line.
	for _, l := range []struct{ id, why string }{
		{"INV-2001-03/1", "the distributor's volume crosses EUR 3,000"},
		{"INV-2001-04/2", "Holland IT is gold since March 15"},
		{"INV-2002-03/1", "the churned customer's March, refunded in two steps"},
	} {
		tree, err := settlement.Explain(settlement.LineID(l.id), entries)
		if err != nil {
			return err
		}
		p.Title("Who earned what on " + l.id + ": " + l.why)
		p.Block(tree)
	}

	// 5. The refund reversed every party's share of the churned customer's
	// lines: nothing is left unreversed in the settlement ledger.
	p.Title("Left unreversed on ord-2002 after the refund (settlement state)")
	left := map[partner.ID]ensemble.Money{}
	var parties []partner.ID
	for _, id := range []settlement.LineID{"INV-2002-02/1", "INV-2002-03/1"} {
		ledger, _ := res.State.Line(id)
		p.Line("  %s billed %s, credited %s", id, ledger.Basis, ledger.Credited)
		for _, part := range ledger.Parts {
			if _, ok := left[part.Party]; !ok {
				parties = append(parties, part.Party)
			}
			if left[part.Party], err = left[part.Party].Add(part.Unreversed); err != nil {
				return err
			}
		}
	}
	for _, party := range parties {
		p.Line("  %-17s %s", party, left[party])
	}

	// 6. Monthly statements with a EUR 50 minimum payout; whatever is
	// payable is paid on the 5th of the next month.
	if err := printStatements(p, entries); err != nil {
		return err
	}
	return p.Err
}

// takeOrder quotes, accepts and activates an order of one CRM line, then
// applies the later steps.
func takeOrder(ctx context.Context, eco *ecosystem, id order.ID, customer order.CustomerID, seller partner.ID, seats int64,
	start time.Time, later []step) (order.Order, error) {
	env := order.Context{Catalog: eco.catalog, Governance: eco.gov}
	steps := append([]step{
		{start.AddDate(0, 0, -10), order.Command{Kind: order.CmdCreate, Order: id, Actor: string(seller), Draft: &order.Draft{
			Customer: order.Customer{ID: customer, Country: "NL", Segment: "smb"},
			Route:    partner.Route{Seller: seller},
			Lines:    []order.Line{{ID: "crm", Pin: catalog.Pin{Offer: "crm-suite"}, Quantity: decimal.NewFromInt(seats)}},
			Billing:  order.Billing{Anchor: start},
		}}},
		{start.AddDate(0, 0, -10), order.Command{Kind: order.CmdQuote, ExpiresAt: start}},
		{start.AddDate(0, 0, -5), order.Command{Kind: order.CmdAccept, Actor: "buyer@" + string(customer)}},
		{start.AddDate(0, 0, -1), order.Command{Kind: order.CmdBeginActivation}},
		{start, order.Command{Kind: order.CmdCompleteTask, Task: "crm", Actor: "platform"}},
	}, later...)
	var o order.Order
	for _, s := range steps {
		next, _, err := o.Decide(ctx, env, s.cmd, s.at)
		if err != nil {
			return order.Order{}, fmt.Errorf("%s at %s: %w", s.cmd.Kind, s.at.Format(time.RFC3339), err)
		}
		o = next
	}
	return o, nil
}

// moneyBack credits everything the customer of order id can still be
// credited on each of its invoices. invoice.NewCreditNote only knows the
// credit notes given as prior, not the proration credits a cancellation
// billed on a later invoice, so the amount still owed back on a line is
// computed here from the line and the proration credits that name it.
func moneyBack(invoices []invoice.Invoice, id order.ID, at time.Time) ([]invoice.CreditNote, error) {
	prorated := map[invoice.LineID]ensemble.Money{} // total already credited by proration
	for _, inv := range invoices {
		for _, l := range inv.Lines {
			if inv.Subscription == invoice.SubscriptionID(id) && l.Kind == invoice.KindProrationCredit {
				sum, err := prorated[l.Credits].Add(l.Total)
				if err != nil {
					return nil, err
				}
				prorated[l.Credits] = sum
			}
		}
	}
	var out []invoice.CreditNote
	for _, inv := range invoices {
		if inv.Subscription != invoice.SubscriptionID(id) {
			continue
		}
		var req []invoice.CreditLine
		for _, l := range inv.Lines {
			if !l.Total.IsPositive() {
				continue
			}
			left, err := l.Total.Add(prorated[l.ID])
			if err != nil {
				return nil, err
			}
			if left.IsPositive() {
				req = append(req, invoice.CreditLine{Line: l.ID, Amount: left.Amount()})
			}
		}
		if len(req) == 0 {
			continue
		}
		cn, err := invoice.NewCreditNote(inv, nil, invoice.CreditRequest{ID: "money-back", Reason: invoice.ReasonRefund, At: at,
			Lines: req, Memo: fmt.Sprintf("cancelled within %d days of activation: money back", churnWindow)})
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

func printNetwork(p *report.Printer, net *partner.Network) {
	p.Title("The channel (data/network.yaml)")
	for _, pt := range net.Spec().Partners {
		if pt.Type == partner.TypePlatform {
			continue
		}
		var tiers []string
		for i, t := range pt.Terms {
			if i == 0 {
				tiers = append(tiers, string(t.Tier))
			} else {
				tiers = append(tiers, fmt.Sprintf("%s from %s", t.Tier, t.From.Format("Jan 2 2006")))
			}
		}
		parent := pt.Terms[len(pt.Terms)-1].Parent
		under := ""
		if parent != "" {
			under = "under " + string(parent)
		}
		p.Line("%s", strings.TrimRight(fmt.Sprintf("  %-17s %-24s %-13s %-30s %s", pt.ID, pt.Name, pt.Type, strings.Join(tiers, ", "), under), " "))
	}
}

// node names the plan nodes a commission table shows, in plan order.
var nodes = []struct{ path, title string }{
	{"line/seller", "seller"},
	{"line/reseller", "reseller"},
	{"line/distributor", "distributor"},
	{"line/volume-bonus", "bonus"},
	{"line/platform", "platform"},
}

// printCommissions shows every settled line with each node's amount and the
// rate that decided it: earnings on sale lines, clawbacks on credits.
func printCommissions(p *report.Printer, lines []settlement.Line, entries []settlement.Entry) {
	p.Title("Every line and what each party earned on it (rates from the rule, at the line's date)")
	head := fmt.Sprintf("  %-14s %-6s %9s", "line", "date", "net")
	for _, n := range nodes {
		head += fmt.Sprintf(" %15s", n.title)
	}
	p.Line("%s", head)
	for _, l := range lines {
		row := fmt.Sprintf("  %-14s %-6s %9s", l.ID, l.Date.Format("Jan 2"), l.Amount.AmountString())
		for _, n := range nodes {
			cell := ""
			for _, e := range entries {
				if e.Line != l.ID || e.Node != n.path || (e.Kind != settlement.KindEarning && e.Kind != settlement.KindClawback) {
					continue
				}
				cell = e.Amount.AmountString()
				if e.Kind == settlement.KindEarning && n.path != "line/platform" {
					cell += " " + rate(e)
				}
			}
			row += fmt.Sprintf(" %15s", cell)
		}
		p.Line("%s", row)
		if l.Credits != "" {
			p.Line("  %-14s credits %s", "", l.Credits)
		}
	}
}

// rate writes the share an earning was decided by, compactly: for a
// cumulative share across tiers ("0% of EUR 400.00 + 2% of EUR 600.00 =
// 1.2% of EUR 1000.00 (tiers 1-2, ...)"), the rate they make.
func rate(e settlement.Entry) string {
	share := e.Share
	if _, made, ok := strings.Cut(share, " = "); ok {
		share = made
	}
	s, _, _ := strings.Cut(share, " ")
	if s == "cumulative" {
		return "(vol)"
	}
	return "(" + s + ")"
}

// printStatements folds the entries month by month, each statement opening
// with the previous one's closing balance, and records a payout of whatever
// is payable on the 5th of the next month.
func printStatements(p *report.Printer, entries []settlement.Entry) error {
	minimum := []ensemble.Money{ensemble.MustMoney("50.00", "EUR")}
	var prev []settlement.Statement
	for m := time.January; m <= time.April; m++ {
		period := ensemble.MustPeriod(day(2026, m, 1), day(2026, m+1, 1))
		stmts, err := settlement.Statements(entries, settlement.StatementOptions{Period: period, Minimums: minimum, Previous: prev})
		if err != nil {
			return err
		}
		p.Title("Statements for " + period.Start.Format("January 2006") + " (minimum payout EUR 50.00)")
		p.Line("  %-17s %9s %9s %9s %9s %9s %9s %9s", "party", "opening", "earned", "reversed", "paid out", "closing", "payable", "carried")
		for _, s := range stmts {
			if s.Party == "platform" {
				continue // the platform keeps its share; it pays no one
			}
			p.Line("  %-17s %9s %9s %9s %9s %9s %9s %9s", s.Party, s.Opening.AmountString(), s.Earned.AmountString(),
				s.Reversed.AmountString(), s.PaidOut.AmountString(), s.Closing.AmountString(), s.Payable.AmountString(),
				s.CarriedForward.AmountString())
			if s.Payable.IsPositive() {
				pay, err := settlement.PayOut(s, settlement.Payout{ID: fmt.Sprintf("%s-%s", s.Party, period.Start.Format("2006-01")),
					Date: period.End.AddDate(0, 0, 4)})
				if err != nil {
					return err
				}
				entries = append(entries, pay)
			}
		}
		prev = stmts
	}
	return nil
}

func joinIDs(ids []partner.ID) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = string(id)
	}
	return strings.Join(s, " -> ")
}

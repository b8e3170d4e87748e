// Command telco shows a telco B2B2X bundle: connectivity, cloud backup and
// security from three suppliers, sold by resellers to business customers and
// billed by the operator, which settles every party.
//
//	go run ./examples/telco
//
// Orbit Telecom (the operator, the platform) sells two bundles per site:
// Business Connect (NetCo's fibre and VaultBox's backup) and Business Connect
// Secure (plus ShieldWorks' managed security). Each component carries its
// supplier's wholesale cost, fixed per site (fibre, security) or a ratio of
// the line (backup), so suppliers are paid first; the reseller earns its
// commission on the margin by tier and the operator keeps the rest. Three
// customers buy through two resellers; February and March are invoiced; a
// fibre outage earns one customer an SLA credit, which NetCo, whose fibre
// failed, bears alone: the credit note names the bundle's fibre component as
// its bearer, so only NetCo's wholesale cost is clawed back. Statements per
// month carry small balances forward; metrics give the margin by offer and
// by reseller.
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
	"github.com/ensemble-commerce/ensemble/settlement"
)

//go:embed data
var data embed.FS

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "telco:", err)
		os.Exit(1)
	}
}

func day(m time.Month, d, h int) time.Time { return time.Date(2026, m, d, h, 0, 0, 0, time.UTC) }

// operator is the platform's party id: it bills and keeps the margin left.
const operator partner.ID = "orbit"

// parties are the columns of the split table.
var parties = []partner.ID{"netco", "vaultbox", "shieldworks", "reseller-north", "reseller-south", operator}

// ecosystem is what a host loads once: the documents under data/.
type ecosystem struct {
	catalog *catalog.Catalog
	gov     *partner.Governance
	settler *settlement.Settler
	taxes   invoice.TaxTable
}

func load() (*ecosystem, error) {
	eco, err := host.Load(data, "data", host.Options{Platform: operator, Programs: []partner.Program{{
		ID: "b2b-resale", Name: "Orbit B2B reseller program", DiscountAllowance: "resale-discount",
	}}})
	if err != nil {
		return nil, err
	}
	return &ecosystem{
		catalog: eco.Catalog, gov: eco.Governance, settler: eco.Settler,
		taxes: invoice.TaxTable{Rules: []invoice.TaxRule{{ID: "be-vat", Region: "BE", Rate: ensemble.MustRatio("21%")}}},
	}, nil
}

// sale is one customer's order, as the reseller enters it.
type sale struct {
	id       order.ID
	customer order.CustomerID
	seller   partner.ID
	offer    catalog.OfferID
	sites    int64
	discount string // the reseller's discount, "" for none
	start    time.Time
}

var sales = []sale{
	{"ord-bakery", "bakkerij-peeters", "reseller-north", "connect-basic", 3, "", day(2, 1, 0)},
	{"ord-clinic", "clinic-delta", "reseller-north", "connect-secure", 5, "5%", day(2, 1, 0)},
	{"ord-garage", "garage-vos", "reseller-south", "connect-secure", 2, "", day(3, 1, 0)},
}

func run(w io.Writer) error {
	ctx := context.Background()
	p := &report.Printer{W: w}
	eco, err := load()
	if err != nil {
		return err
	}

	// 1. The rate card: what one site costs the customer, what each
	// supplier is owed for it and the margin left, from the catalog.
	if err := rateCard(p, eco.catalog); err != nil {
		return err
	}

	// 2. The orders, each taken from draft to active.
	p.Title("Orders")
	orders := map[order.CustomerID]order.Order{}
	var subs []invoice.Subscription
	for _, s := range sales {
		o, err := takeOrder(ctx, eco, s)
		if err != nil {
			return err
		}
		orders[o.Customer.ID] = o
		sub, err := invoice.FromOrder(o)
		if err != nil {
			return err
		}
		subs = append(subs, sub)
		l := o.Lines[0]
		disc := ""
		if !l.Discount.Ratio.IsZero() {
			disc = fmt.Sprintf(", %s discount (within the seller's %s%% allowance)", l.Discount.Ratio.Percent(),
				l.Discount.Allowance.Shift(2).String())
		}
		p.Line("  %-10s %-16s %-16s %s × %s sites from %s, %d activation tasks done%s", o.ID, o.Customer.ID, o.Route.Seller,
			l.Pin, l.Quantity, o.ActivatedAt.Format("Jan 2"), len(o.Tasks), disc)
	}

	// 3. Invoices on the 1st of February and of March.
	b, err := invoice.NewBuilder(eco.catalog, invoice.Options{Basis: ensemble.ProrateDaysEndExclusive, Taxes: eco.taxes})
	if err != nil {
		return err
	}
	names := map[invoice.LineID]string{}
	invoices := map[string]invoice.Invoice{}
	var lines []settlement.Line
	p.Title("Invoices")
	for _, r := range []invoice.Run{{At: day(2, 1, 0)}, {After: day(2, 1, 0), At: day(3, 1, 0)}} {
		invs, err := b.Build(r, subs)
		if err != nil {
			return err
		}
		for _, inv := range invs {
			issued, err := invoice.Issue(inv, r.At)
			if err != nil {
				return err
			}
			o := orders[order.CustomerID(issued.Customer.ID)]
			number := fmt.Sprintf("%s-%s", issued.Date.Format("2006-01"), strings.TrimPrefix(string(o.ID), "ord-"))
			invoices[number] = issued
			for i, l := range issued.Lines {
				names[l.ID] = fmt.Sprintf("%s/%d", number, i+1)
			}
			sl, err := settlementLines(issued.Lines, names, o)
			if err != nil {
				return err
			}
			lines = append(lines, sl...)
			printInvoice(p, number, issued, names)
		}
	}

	// 4. Settle every line: suppliers first, then commission and operator.
	res, err := eco.settler.Settle(ctx, settlement.State{}, lines)
	if err != nil {
		return err
	}
	entries, state := res.Entries, res.State

	// 5. An SLA credit: NetCo's fibre was down two days at two of the
	// clinic's sites. The customer gets EUR 20.00 (plus VAT) back. Under
	// its wholesale contract NetCo bears such credits: the credit note
	// names the bundle's fibre component as its bearer, so settlement
	// claws the whole credit back from NetCo's wholesale cost and the
	// reseller, the other suppliers and the operator keep theirs.
	clinic := invoices["2026-03-clinic"]
	cn, err := invoice.NewCreditNote(clinic, nil, invoice.CreditRequest{ID: "sla-1", Reason: invoice.ReasonSLA, Incident: "netco-outage-2026-03-09",
		At: day(3, 12, 0), Lines: []invoice.CreditLine{{Line: clinic.Lines[0].ID, Amount: decimal.RequireFromString("24.20")}},
		Bearer: invoice.Bearer{Component: "connect-secure/fibre-access/netco"},
		Memo:   "SLA credit: fibre outage Mar 9-10 at 2 sites, borne by NetCo"})
	if err != nil {
		return err
	}
	p.Title(fmt.Sprintf("Credit note SLA-1 (%s) to %s: %s", cn.Reason, cn.Customer, cn.Memo))
	for i, l := range cn.Lines {
		names[l.ID] = fmt.Sprintf("SLA-1/%d", i+1)
		p.Line("  %-8s credits %-18s net %7s  VAT %6s  total %s, borne by component %s", names[l.ID], names[l.Credits],
			l.Net.AmountString(), l.Tax.AmountString(), l.Total, l.Bearer.Component)
	}
	credits, err := settlementLines(cn.Lines, names, orders["clinic-delta"])
	if err != nil {
		return err
	}
	res, err = eco.settler.Settle(ctx, state, credits)
	if err != nil {
		return err
	}
	entries = append(entries, res.Entries...)

	// 6. Who earned what on every line, and the tree of the credited line.
	if err := splitTable(p, append(lines, credits...), entries); err != nil {
		return err
	}
	id := names[clinic.Lines[0].ID]
	p.Title("Who earned what on " + id + " (" + clinic.Lines[0].Description + "), and why")
	tree, err := settlement.Explain(settlement.LineID(id), entries)
	if err != nil {
		return err
	}
	p.Block(tree)

	// 7. Monthly statements with a EUR 100 minimum payout: what falls short
	// rolls into the next month. What is payable is paid on the 5th of the
	// next month, and the payout is an entry the next statement nets.
	var previous []settlement.Statement
	for _, month := range []ensemble.Period{ensemble.MustPeriod(day(2, 1, 0), day(3, 1, 0)), ensemble.MustPeriod(day(3, 1, 0), day(4, 1, 0))} {
		stmts, err := settlement.Statements(entries, settlement.StatementOptions{Period: month,
			Minimums: []ensemble.Money{ensemble.MustMoney("100.00", "EUR")}, Previous: previous})
		if err != nil {
			return err
		}
		p.Title("Statements for " + month.Start.Format("January 2006") + " (minimum payout EUR 100.00)")
		const format = "  %-15s %8s %8s %8s %8s %8s %8s %8s %8s"
		p.Line(format, "party", "opening", "paid", "earned", "reversed", "adjusted", "closing", "payable", "carried")
		for _, s := range stmts {
			p.Line(format, s.Party, s.Opening.AmountString(), s.PaidOut.AmountString(), s.Earned.AmountString(),
				s.Reversed.AmountString(), s.Adjusted.AmountString(), s.Closing.AmountString(), s.Payable.AmountString(),
				s.CarriedForward.AmountString())
			if s.Payable.IsPositive() {
				e, err := settlement.PayOut(s, settlement.Payout{ID: string(s.Party) + "-" + month.Start.Format("2006-01"),
					Date: month.End.AddDate(0, 0, 4)})
				if err != nil {
					return err
				}
				entries = append(entries, e)
			}
		}
		previous = stmts
	}

	// 8. Margin by offer and by reseller, and each party's net earnings.
	period := ensemble.MustPeriod(day(2, 1, 0), day(4, 1, 0))
	metrics, err := settlement.ComputeMetrics(entries, period, operator)
	if err != nil {
		return err
	}
	for _, m := range metrics {
		p.Title("Metrics, February and March (" + m.Currency.Code() + ")")
		p.Line("  %-32s %9s", "gross value (net of credits)", m.GrossValue.AmountString())
		p.Line("  %-32s %9s", "paid to suppliers", m.SupplierCosts.AmountString())
		p.Line("  %-32s %9s", "earned by resellers", m.PartnerEarnings.AmountString())
		p.Line("  %-32s %9s   take rate %s", "kept by the operator", m.PlatformRevenue.AmountString(), pct(m.PlatformRevenue, m.GrossValue))
		for _, mg := range m.ByOffer {
			p.Line("  %-32s %9s   operator margin %7s = %s", "gross of offer "+mg.Key, mg.Gross.AmountString(), mg.Platform.AmountString(), pct(mg.Platform, mg.Gross))
		}
		for _, mg := range m.BySeller {
			p.Line("  %-32s %9s   operator margin %7s = %s", "gross sold by "+mg.Key, mg.Gross.AmountString(), mg.Platform.AmountString(), pct(mg.Platform, mg.Gross))
		}
		for _, a := range m.ByParty {
			p.Line("  %-32s %9s   %s of gross", "net earnings of "+a.Key, a.Amount.AmountString(), pct(a.Amount, m.GrossValue))
		}
	}
	return p.Err
}

// rateCard prints, per bundle, the price of one site and what each supplier
// is owed for it (catalog.Catalog.SupplierCosts), with the margin left.
func rateCard(p *report.Printer, cat *catalog.Catalog) error {
	p.Title("Rate card: one site for one month")
	for _, id := range []catalog.OfferID{"connect-basic", "connect-secure"} {
		off, err := cat.OfferAt(id, day(1, 1, 0))
		if err != nil {
			return err
		}
		r, err := cat.Rater(off.Pin(), "sites")
		if err != nil {
			return err
		}
		one := decimal.NewFromInt(1)
		price, err := r.Amount(one, catalog.RateOptions{})
		if err != nil {
			return err
		}
		costs, err := cat.SupplierCosts(off.Pin(), "sites", price, one, catalog.CostOptions{})
		if err != nil {
			return err
		}
		p.Line("  %-40s %8s", off.Name+" ("+string(off.ID)+")", price.AmountString())
		for _, c := range costs.Costs {
			basis := "fixed per site"
			if !c.Ratio.IsZero() {
				basis = c.Ratio.Percent() + " of the line"
			}
			p.Line("    %-38s %8s   %s", "- "+string(c.Offer)+" to "+c.Supplier, c.Cost.Neg().AmountString(), basis)
		}
		p.Line("    %-38s %8s   %s of the price", "= margin to share", costs.Margin.AmountString(), pct(costs.Margin, price))
	}
	return nil
}

// takeOrder runs one reseller's order from draft to active: every supplier
// completes its activation task by the start date.
func takeOrder(ctx context.Context, eco *ecosystem, s sale) (order.Order, error) {
	env := order.Context{Catalog: eco.catalog, Governance: eco.gov}
	line := order.Line{ID: "access", Pin: catalog.Pin{Offer: s.offer}, Quantity: decimal.NewFromInt(s.sites)}
	if s.discount != "" {
		line.Discount = order.Discount{Ratio: ensemble.MustRatio(s.discount)}
	}
	quoted := s.start.AddDate(0, 0, -14)
	o, _, err := order.Order{}.Decide(ctx, env, order.Command{Kind: order.CmdCreate, Order: s.id, Actor: string(s.seller), Draft: &order.Draft{
		Customer: order.Customer{ID: s.customer, Country: "BE", Segment: "smb"},
		Route:    partner.Route{Seller: s.seller},
		Lines:    []order.Line{line},
		Billing:  order.Billing{Anchor: s.start},
	}}, quoted)
	if err != nil {
		return order.Order{}, err
	}
	steps := []struct {
		at  time.Time
		cmd order.Command
	}{
		{quoted.Add(time.Hour), order.Command{Kind: order.CmdQuote, ExpiresAt: quoted.AddDate(0, 0, 30)}},
		{quoted.AddDate(0, 0, 2), order.Command{Kind: order.CmdAccept, Actor: "owner@" + string(s.customer)}},
		{quoted.AddDate(0, 0, 3), order.Command{Kind: order.CmdBeginActivation}},
	}
	for _, st := range steps {
		if o, _, err = o.Decide(ctx, env, st.cmd, st.at); err != nil {
			return order.Order{}, fmt.Errorf("%s %s: %w", s.id, st.cmd.Kind, err)
		}
	}
	// The suppliers provision in turn; the last one activates the order at
	// the start date.
	for i, t := range o.Tasks {
		at := s.start.Add(time.Duration(i-len(o.Tasks)+1) * time.Hour)
		if o, _, err = o.Decide(ctx, env, order.Command{Kind: order.CmdCompleteTask, Task: t.ID, Actor: string(t.Supplier)}, at); err != nil {
			return order.Order{}, fmt.Errorf("%s task %s: %w", s.id, t.ID, err)
		}
	}
	return o, nil
}

// settlementLines converts invoice or credit-note lines with
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

func printInvoice(p *report.Printer, number string, inv invoice.Invoice, names map[invoice.LineID]string) {
	p.Line("  %s to %s, %s: total %s (net %s, VAT %s)", number, inv.Customer.ID, inv.Date.Format("Jan 2"),
		inv.Total, inv.Subtotal.AmountString(), inv.Tax.AmountString())
	for _, l := range inv.Lines {
		parts := []string{fmt.Sprintf("%s × %s, %s to %s", l.Pin, l.Quantity, l.Period.Start.Format("Jan 2"), l.Period.End.Format("Jan 2"))}
		if !l.Discount.IsZero() {
			parts = append(parts, fmt.Sprintf("%s less %s discount", l.Amount.AmountString(), l.Discount.AmountString()))
		}
		for _, c := range l.SupplierCosts {
			parts = append(parts, fmt.Sprintf("%s %s", c.Supplier, c.Cost.AmountString()))
		}
		p.Line("    %-18s %8s  %s", names[l.ID], l.Net.AmountString(), strings.Join(parts, "; "))
	}
}

// splitTable prints, per settled line, what each party earned or gave back
// on it (earnings, supplier costs and clawbacks).
func splitTable(p *report.Printer, lines []settlement.Line, entries []settlement.Entry) error {
	p.Title("Who earned what, line by line")
	const format = "  %-17s %8s %8s %8s %11s %14s %14s %8s"
	head := []any{"line", "net"}
	for _, id := range parties {
		head = append(head, id)
	}
	p.Line(format, head...)
	totals := make([]ensemble.Money, len(parties)+1)
	for _, l := range append(lines, settlement.Line{ID: "total"}) {
		row := make([]ensemble.Money, len(parties)+1)
		if l.ID == "total" {
			row = totals
		} else {
			row[0] = l.Amount
			for _, e := range entries {
				if e.Line != l.ID || (e.Kind != settlement.KindEarning && e.Kind != settlement.KindSupplierCost && e.Kind != settlement.KindClawback) {
					continue
				}
				if i := slices.Index(parties, e.Party); i >= 0 {
					var err error
					if row[i+1], err = row[i+1].Add(e.Amount); err != nil {
						return err
					}
				}
			}
		}
		cells := []any{l.ID}
		for i, m := range row {
			if l.ID != "total" {
				var err error
				if totals[i], err = totals[i].Add(m); err != nil {
					return err
				}
			}
			cells = append(cells, amount(m))
		}
		p.Line(format, cells...)
	}
	return nil
}

// amount writes m's amount, or "-" for nothing.
func amount(m ensemble.Money) string {
	if m.IsZero() {
		return "-"
	}
	return m.AmountString()
}

// pct writes part / whole as a percentage with two decimals.
func pct(part, whole ensemble.Money) string {
	if whole.IsZero() {
		return "0.00%"
	}
	return part.Amount().DivRound(whole.Amount(), 4).Shift(2).StringFixed(2) + "%"
}

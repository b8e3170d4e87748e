// Command marketplace shows a cloud marketplace sale with a channel partner:
// an ISV's SaaS product, resold by a channel partner at a markup, through a
// marketplace that takes a listing fee, billed and settled by the platform.
//
//	go run ./examples/marketplace
//
// The ISV (Ledgerly) lists its accounting product at EUR 40 a seat a month
// plus API calls. The channel partner (Nordic Cloud) sells a channel edition
// on the CloudMart marketplace at a 25% markup. The catalog models the
// channel edition as a bundle whose single component is the ISV's product at
// a wholesale cost of 80% (1 / 1.25), so the ISV is paid exactly its list
// price first; the split plan then gives the marketplace its 3% listing fee
// on the whole line, the platform 10% of the margin, and the channel partner
// the rest — its markup. The customer adds seats mid-month and gets a refund
// on API calls billed by mistake, which claws back from every party.
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
	"github.com/ensemble-commerce/ensemble/usage"
)

//go:embed data
var data embed.FS

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "marketplace:", err)
		os.Exit(1)
	}
}

func day(m time.Month, d, h int) time.Time { return time.Date(2026, m, d, h, 0, 0, 0, time.UTC) }

const (
	listOffer    catalog.OfferID = "ledgerly-books"
	channelOffer catalog.OfferID = "ledgerly-books-channel"
)

// ecosystem is what a host loads once: the documents under data/.
type ecosystem struct {
	catalog *catalog.Catalog
	gov     *partner.Governance
	settler *settlement.Settler
	meters  []usage.Meter
	taxes   invoice.TaxTable
}

func load() (*ecosystem, error) {
	eco, err := host.Load(data, "data", host.Options{Programs: []partner.Program{{
		ID: "marketplace-resale", Name: "Marketplace resale program", SellPolicy: "resale-sell",
	}}})
	if err != nil {
		return nil, err
	}
	return &ecosystem{
		catalog: eco.Catalog, gov: eco.Governance, settler: eco.Settler,
		meters: []usage.Meter{{ID: "api_calls", Unit: "call", Aggregation: usage.Sum}},
		taxes:  invoice.TaxTable{Rules: []invoice.TaxRule{{ID: "se-vat", Region: "SE", Rate: ensemble.MustRatio("25%")}}},
	}, nil
}

func run(w io.Writer) error {
	ctx := context.Background()
	p := &report.Printer{W: w}
	eco, err := load()
	if err != nil {
		return err
	}

	// 1. The price list: the ISV's list price next to the channel price,
	// rated by the catalog itself.
	if err := priceList(p, eco.catalog); err != nil {
		return err
	}

	// 2. The order: placed on the marketplace, sold by the channel partner.
	o, err := takeOrder(ctx, eco)
	if err != nil {
		return err
	}
	p.Title("Order " + string(o.ID))
	p.Line("  customer %s (%s, %s), route %s: sold by %s on %s", o.Customer.ID, o.Customer.Country, o.Customer.Segment,
		o.Route.Kind, o.Route.Seller, o.Route.Marketplace)
	for _, t := range o.Tasks {
		p.Line("  activation task %s by %s: %s", t.ID, t.Supplier, t.Status)
	}
	for _, s := range o.Segments {
		end := "open"
		if !s.End.IsZero() {
			end = s.End.Format("Jan 02")
		}
		p.Line("  segment %-8s %s -> %-6s %s × %s seats", s.ID, s.Start.Format("Jan 02"), end, s.Pin, s.Quantity)
	}

	// 3. Usage and invoices on the 1st of February, March and April.
	// Before each run that bills usage, the records the marketplace
	// delivered since the last one are collected with the ledger of what
	// earlier runs billed: its April export repeats a February call record
	// that March billed, and it is billed zero more.
	sub, err := invoice.FromOrder(o)
	if err != nil {
		return err
	}
	b, err := invoice.NewBuilder(eco.catalog, invoice.Options{Basis: ensemble.ProrateDaysEndExclusive, Taxes: eco.taxes})
	if err != nil {
		return err
	}
	names := map[invoice.LineID]string{}
	var invoices []invoice.Invoice
	var lines []settlement.Line
	var ledger usage.Ledger      // the records earlier runs billed; a host persists it between runs
	var billed []usage.Aggregate // the usage earlier runs billed, for late usage; persisted too
	subs := []invoice.Subscription{sub}
	for _, step := range []struct {
		run   invoice.Run
		usage string // the records delivered for the run
	}{
		{run: invoice.Run{At: day(2, 1, 0)}},
		{run: invoice.Run{After: day(2, 1, 0), At: day(3, 1, 0)}, usage: "usage-2026-03-01.json"},
		{run: invoice.Run{After: day(3, 1, 0), At: day(4, 1, 0)}, usage: "usage-2026-04-01.json"},
	} {
		r := step.run
		if step.usage != "" {
			metered, err := meter(eco, b, subs, step.usage, r, ledger)
			if err != nil {
				return err
			}
			p.Title(fmt.Sprintf("Usage for the run of %s (data/%s)", r.At.Format("Jan 2"), step.usage))
			p.Line("  %d records read, %d billed, %d duplicate(s) dropped, %d of them billed by an earlier run",
				metered.Stats.Read, metered.Stats.Accepted, metered.Stats.Duplicates, metered.Stats.Resent)
			// Calls of a month already invoiced that arrive late are billed
			// against what that month was billed.
			if r.Late, err = invoice.LateUsageFrom(metered.Adjustments, billed); err != nil {
				return err
			}
			r.Usage, ledger = metered.Aggregates, metered.Ledger
		}
		invs, err := b.Build(r, subs)
		if err != nil {
			return err
		}
		done, err := b.BilledUsage(r, subs, eco.meters)
		if err != nil {
			return err
		}
		billed = append(billed, done...)
		for _, inv := range invs {
			issued, err := invoice.Issue(inv, r.At)
			if err != nil {
				return err
			}
			number := "INV-" + issued.Date.Format("2006-01")
			for i, l := range issued.Lines {
				names[l.ID] = fmt.Sprintf("%s/%d", number, i+1)
			}
			sl, err := settlementLines(issued.Lines, names, o)
			if err != nil {
				return err
			}
			invoices = append(invoices, issued)
			lines = append(lines, sl...)
			printInvoice(p, number, issued, names)
		}
	}

	// 4. Settle every line through the marketplace plan.
	res, err := eco.settler.Settle(ctx, settlement.State{}, lines)
	if err != nil {
		return err
	}
	entries, state := res.Entries, res.State

	// 5. A refund: 4,800 API calls in March were a retry storm on the
	// ISV's side. EUR 15.00 (tax included) goes back to the customer, and
	// every party gives back its part.
	march := invoices[2]
	calls := findLine(march, func(l invoice.Line) bool { return l.Kind == invoice.KindUsage })
	cn, err := invoice.NewCreditNote(march, nil, invoice.CreditRequest{ID: "refund-1", Reason: invoice.ReasonRefund,
		At: day(4, 8, 0), Lines: []invoice.CreditLine{{Line: calls.ID, Amount: decimal.RequireFromString("15.00")}},
		Memo: "4,800 API calls from a retry storm on the ISV's side"})
	if err != nil {
		return err
	}
	p.Title(fmt.Sprintf("Credit note CN-1 (%s) on %s: %s", cn.Reason, names[calls.ID], cn.Memo))
	for i, l := range cn.Lines {
		names[l.ID] = fmt.Sprintf("CN-1/%d", i+1)
		p.Line("  %-8s %-36s net %7s  VAT %6s  total %s", names[l.ID], l.Description, l.Net.AmountString(), l.Tax.AmountString(), l.Total)
	}
	credits, err := settlementLines(cn.Lines, names, o)
	if err != nil {
		return err
	}
	res, err = eco.settler.Settle(ctx, state, credits)
	if err != nil {
		return err
	}
	entries = append(entries, res.Entries...)

	// 6. Who earned what on every line, then the full tree of two lines.
	if err := splitTable(p, append(lines, credits...), entries); err != nil {
		return err
	}
	seats := findLine(march, func(l invoice.Line) bool {
		return l.Kind == invoice.KindRecurring && l.Period.Start.Equal(day(4, 1, 0))
	})
	for _, id := range []invoice.LineID{seats.ID, calls.ID} {
		l, _ := march.Line(id)
		p.Title("Who earned what on " + names[id] + " (" + l.Description + "), and why")
		tree, err := settlement.Explain(settlement.LineID(names[id]), entries)
		if err != nil {
			return err
		}
		p.Block(tree)
	}

	// 7. Statements for February to April and the metrics.
	period := ensemble.MustPeriod(day(2, 1, 0), day(5, 1, 0))
	stmts, err := settlement.Statements(entries, settlement.StatementOptions{Period: period})
	if err != nil {
		return err
	}
	p.Title("Statements, " + period.Start.Format("Jan 2") + " to " + period.End.AddDate(0, 0, -1).Format("Jan 2"))
	p.Line("  %-14s %10s %10s %10s %10s", "party", "earned", "reversed", "closing", "payable")
	for _, s := range stmts {
		p.Line("  %-14s %10s %10s %10s %10s", s.Party, s.Earned.AmountString(), s.Reversed.AmountString(),
			s.Closing.AmountString(), s.Payable.AmountString())
	}
	metrics, err := settlement.ComputeMetrics(entries, period, "platform")
	if err != nil {
		return err
	}
	for _, m := range metrics {
		p.Title("Metrics (" + m.Currency.Code() + ")")
		p.Line("  %-34s %9s", "gross value (net of credits)", m.GrossValue.AmountString())
		p.Line("  %-34s %9s", "paid to the ISV (supplier cost)", m.SupplierCosts.AmountString())
		p.Line("  %-34s %9s", "earned by marketplace and channel", m.PartnerEarnings.AmountString())
		p.Line("  %-34s %9s   take rate %s%%", "kept by the platform", m.PlatformRevenue.AmountString(),
			m.TakeRate.Decimal(4, ensemble.RoundHalfAwayFromZero).Shift(2).StringFixed(2))
		for _, a := range m.ByParty {
			p.Line("  %-34s %9s   %s of gross", "net earnings of "+a.Key, a.Amount.AmountString(), percentOf(a.Amount, m.GrossValue))
		}
		for _, r := range m.ByRoute {
			p.Line("  %-34s %9s", "gross by route "+r.Key, r.Amount.AmountString())
		}
	}
	return p.Err
}

// priceList rates the ISV's list offer and the channel edition at the same
// quantities, so the markup is read off the catalog, not asserted.
func priceList(p *report.Printer, cat *catalog.Catalog) error {
	p.Title("Price list: the ISV's list price and the channel price on CloudMart")
	p.Line("  %-28s %12s %12s %8s", "charge, quantity", "ISV list", "channel", "markup")
	for _, q := range []struct {
		charge catalog.ChargeID
		qty    int64
		what   string
	}{{"seats", 1, "seats, 1 user-month"}, {"seats", 20, "seats, 20 user-months"}, {"api-calls", 36000, "API calls, 36,000 a month"}} {
		var amounts [2]ensemble.Money
		for i, id := range []catalog.OfferID{listOffer, channelOffer} {
			pin, err := cat.PinAt(id, day(1, 1, 0))
			if err != nil {
				return err
			}
			r, err := cat.Rater(pin, q.charge)
			if err != nil {
				return err
			}
			if amounts[i], err = r.Amount(decimal.NewFromInt(q.qty), catalog.RateOptions{}); err != nil {
				return err
			}
		}
		markup := amounts[1].Amount().Sub(amounts[0].Amount()).DivRound(amounts[0].Amount(), 4).Shift(2).StringFixed(2)
		p.Line("  %-28s %12s %12s %7s%%", q.what, amounts[0].AmountString(), amounts[1].AmountString(), markup)
	}
	off, err := cat.OfferAt(channelOffer, day(1, 1, 0))
	if err != nil {
		return err
	}
	for _, c := range off.Components {
		p.Line("  %s is a bundle: %s by %s at a wholesale cost of %s of the line", off.ID, c.Offer, c.Supplier, c.Cost.Ratio.Percent())
	}
	return nil
}

// takeOrder runs the order from draft to active, then adds five seats on
// March 16.
func takeOrder(ctx context.Context, eco *ecosystem) (order.Order, error) {
	env := order.Context{Catalog: eco.catalog, Governance: eco.gov}
	steps := []struct {
		at  time.Time
		cmd order.Command
	}{
		{day(1, 26, 9), order.Command{Kind: order.CmdCreate, Order: "ord-mp-7", Actor: "nordic-cloud", Draft: &order.Draft{
			Customer: order.Customer{ID: "fjord-freight", Country: "SE", Segment: "smb"},
			Route:    partner.Route{Seller: "nordic-cloud", Marketplace: "cloudmart"},
			Lines:    []order.Line{{ID: "books", Pin: catalog.Pin{Offer: channelOffer}, Quantity: decimal.NewFromInt(20)}},
			Billing:  order.Billing{Anchor: day(2, 1, 0)},
		}}},
		{day(1, 26, 10), order.Command{Kind: order.CmdQuote, ExpiresAt: day(2, 26, 0)}},
		{day(1, 27, 15), order.Command{Kind: order.CmdAccept, Actor: "buyer@fjord-freight"}},
		{day(1, 28, 9), order.Command{Kind: order.CmdBeginActivation}},
		{day(2, 1, 0), order.Command{Kind: order.CmdCompleteTask, Task: "books/ledgerly-books/isv-ledgerly", Actor: "isv-ledgerly"}},
		{day(3, 16, 0), order.Command{Kind: order.CmdChange, Actor: "nordic-cloud", Change: &order.Change{
			Kind: order.ChangeQuantity, Line: "books", Quantity: decimal.NewFromInt(25)}}},
	}
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

// meter aggregates the API-call records of one delivery per monthly
// period, on the order's usage lines (invoice.Builder.UsageLines), against
// the ledger of what earlier runs billed: a record delivered twice, in one
// delivery or in two, is billed once. Periods that ended by the previous
// run were invoiced already: their records are late adjustments.
func meter(eco *ecosystem, b *invoice.Builder, subs []invoice.Subscription, file string, run invoice.Run, billed usage.Ledger) (*usage.Report, error) {
	lines, err := b.UsageLines(run.At, subs...)
	if err != nil {
		return nil, err
	}
	f, err := data.Open("data/" + file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var records []usage.Record
	for r, err := range usage.Decode(f) {
		if err != nil {
			return nil, err
		}
		records = append(records, r)
	}
	rep, err := usage.Collect(usage.Config{Meters: eco.meters, Lines: lines, ClosedBefore: run.After, Ledger: billed}, slices.Values(records))
	if err != nil {
		return nil, err
	}
	return rep, rep.Err()
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
	p.Title(fmt.Sprintf("Invoice %s of %s to %s", number, inv.Date.Format("Jan 2 2006"), inv.Customer.ID))
	for _, l := range inv.Lines {
		p.Line("  %-11s %-58s %8s  VAT %6s", names[l.ID], l.Description, l.Net.AmountString(), l.Tax.AmountString())
		p.Line("  %-11s %s", "", trace(l, names))
	}
	p.Line("  %-70s %8s  VAT %6s  total %s", "", inv.Subtotal.AmountString(), inv.Tax.AmountString(), inv.Total)
}

// trace says in one line where an invoice line came from.
func trace(l invoice.Line, names map[invoice.LineID]string) string {
	parts := []string{fmt.Sprintf("%s × %s", l.Charge, l.Quantity), l.Period.Start.Format("Jan 2") + " to " + l.Period.End.Format("Jan 2")}
	if l.Proration != nil {
		parts = append(parts, fmt.Sprintf("%s of the month", l.Proration.Fraction))
	}
	if u := l.Usage; u != nil {
		parts = append(parts, fmt.Sprintf("%d records", u.Records))
	}
	if l.Credits != "" {
		parts = append(parts, "credits "+names[l.Credits])
	}
	for _, c := range l.SupplierCosts {
		parts = append(parts, fmt.Sprintf("ISV list price %s to %s", c.Cost.AmountString(), c.Supplier))
	}
	return strings.Join(parts, "; ")
}

// splitTable prints, per settled line, what each party earned (or gave
// back): earnings, supplier costs and clawbacks of the line.
func splitTable(p *report.Printer, lines []settlement.Line, entries []settlement.Entry) error {
	parties := []partner.ID{"isv-ledgerly", "cloudmart", "platform", "nordic-cloud"}
	p.Title("Who earned what, line by line")
	p.Line("  %-11s %9s %12s %10s %9s %13s", "line", "net", "isv-ledgerly", "cloudmart", "platform", "nordic-cloud")
	totals := make([]ensemble.Money, len(parties)+1)
	for _, l := range lines {
		row := make([]ensemble.Money, len(parties)+1)
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
		cells := make([]any, 0, len(row)+1)
		cells = append(cells, l.ID)
		for i, m := range row {
			var err error
			if totals[i], err = totals[i].Add(m); err != nil {
				return err
			}
			cells = append(cells, m.AmountString())
		}
		p.Line("  %-11s %9s %12s %10s %9s %13s", cells...)
	}
	cells := []any{"total"}
	for _, m := range totals {
		cells = append(cells, m.AmountString())
	}
	p.Line("  %-11s %9s %12s %10s %9s %13s", cells...)
	return nil
}

func percentOf(part, whole ensemble.Money) string {
	if whole.IsZero() {
		return "0.00%"
	}
	return part.Amount().DivRound(whole.Amount(), 4).Shift(2).StringFixed(2) + "%"
}

func findLine(inv invoice.Invoice, match func(invoice.Line) bool) invoice.Line {
	for _, l := range inv.Lines {
		if match(l) {
			return l
		}
	}
	return inv.Lines[0]
}

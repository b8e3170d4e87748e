// Command quickstart runs a small partner ecosystem through Ensemble, from
// catalog to partner statements, and prints who earned what, and why.
//
//	go run ./examples/quickstart
//
// The platform sells a B2B2X bundle (Secure Office: a supplier's cloud backup
// and another's managed firewall) with a usage-priced storage add-on through a
// sub-reseller, whose chain runs up through a reseller to a distributor; a
// referral partner brought the customer. Over two months the customer
// upgrades mid-month, uploads more data than planned, has usage arrive late,
// gets an invoice every month and a goodwill credit; every party is paid
// through a CEL-ruled split plan, and the credit claws back exactly.
//
// Every document a real host would keep — catalog, partner network, rules,
// split plans, usage records — is a file under data/, embedded at build time.
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
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func day(m time.Month, d, h int) time.Time { return time.Date(2026, m, d, h, 0, 0, 0, time.UTC) }

// ecosystem is what a host loads once: the documents under data/.
type ecosystem struct {
	catalog  *catalog.Catalog
	network  *partner.Network
	gov      *partner.Governance
	settler  *settlement.Settler
	meters   []usage.Meter
	taxes    invoice.TaxTable
	platform partner.ID
}

func load() (*ecosystem, error) {
	eco, err := host.Load(data, "data", host.Options{Programs: []partner.Program{{
		ID: "channel", Name: "Channel program", SellPolicy: "channel-sell", DiscountAllowance: "channel-discount",
	}}})
	if err != nil {
		return nil, err
	}
	return &ecosystem{
		catalog: eco.Catalog, network: eco.Network, gov: eco.Governance, settler: eco.Settler, platform: "platform",
		meters: []usage.Meter{{ID: "storage_gb", Unit: "GB", Aggregation: usage.Max}},
		taxes:  invoice.TaxTable{Rules: []invoice.TaxRule{{ID: "nl-vat", Region: "NL", Rate: ensemble.MustRatio("21%")}}},
	}, nil
}

func run(w io.Writer) error {
	ctx := context.Background()
	p := &report.Printer{W: w}
	eco, err := load()
	if err != nil {
		return err
	}

	// 1. The order: quoted by the sub-reseller, accepted, activated by both
	// suppliers, then upgraded mid-month.
	o, err := takeOrder(ctx, eco)
	if err != nil {
		return err
	}
	p.Title("Order " + string(o.ID))
	p.Line("  customer %s (%s, %s), sold by %s via %s, referred by %s", o.Customer.ID, o.Customer.Country, o.Customer.Segment,
		o.Route.Seller, joinIDs(o.Route.Chain[1:]), o.Route.Referrer)
	for _, t := range o.Tasks {
		p.Line("  activation task %-28s supplier %-16s %s after %d attempt(s)", t.ID, t.Supplier, t.Status, t.Attempts)
	}
	for _, s := range o.Segments {
		end := "open"
		if !s.End.IsZero() {
			end = s.End.Format("Jan 02 15:04")
		}
		p.Line("  segment %-10s %s -> %-12s %s × %s", s.ID, s.Start.Format("Jan 02 15:04"), end, s.Pin, s.Quantity)
	}
	ct := o.CycleTimes()
	p.Line("  cycle times: quote to order %s, order to activation %s", ct.QuoteToOrder, ct.OrderToActivation)

	// 2. Usage, collected before each usage-billing run from the records
	// delivered since the last one: one arrives twice; in April one for
	// February arrives after February was invoiced, and one already billed
	// is re-sent. The ledger of what was billed, carried from run to run,
	// bills it zero more.
	sub, err := invoice.FromOrder(o)
	if err != nil {
		return err
	}
	b, err := invoice.NewBuilder(eco.catalog, invoice.Options{Basis: ensemble.ProrateDaysEndExclusive, Taxes: eco.taxes})
	if err != nil {
		return err
	}
	usageRuns, err := meter(p, eco, b, sub)
	if err != nil {
		return err
	}

	// 3. Invoices on the 1st of February, March and April.
	runs := append([]invoice.Run{{At: day(2, 1, 0)}}, usageRuns...)
	var invoices []invoice.Invoice
	names := map[invoice.LineID]string{} // short line numbers for printing and settling
	var lines []settlement.Line
	for _, r := range runs {
		invs, err := b.Build(r, []invoice.Subscription{sub})
		if err != nil {
			return err
		}
		for _, inv := range invs {
			issued, err := invoice.Issue(inv, r.At)
			if err != nil {
				return err
			}
			invoices = append(invoices, issued)
			number := "INV-" + issued.Date.Format("2006-01")
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

	// Why is the upgrade credit what it is? The invoice answers from the
	// line's own trace.
	upgrade := findLine(invoices[1], func(l invoice.Line) bool { return l.Kind == invoice.KindProrationCredit })
	p.Title("Why " + names[upgrade.ID] + " is " + upgrade.Net.String())
	p.Block(invoice.Explain(upgrade))

	// 4. Settle every invoice line through the split plans.
	res, err := eco.settler.Settle(ctx, settlement.State{}, lines)
	if err != nil {
		return err
	}
	entries, state := res.Entries, res.State

	// 5. A goodwill credit of EUR 60.50 on March's seats, and its clawback.
	march := invoices[1]
	seats := findLine(march, func(l invoice.Line) bool { return l.Charge == "seats" && l.Period.Start.Equal(day(3, 1, 0)) })
	cn, err := invoice.NewCreditNote(march, nil, invoice.CreditRequest{ID: "goodwill-1", Reason: invoice.ReasonGoodwill,
		At: day(4, 10, 0), Lines: []invoice.CreditLine{{Line: seats.ID, Amount: decimal.RequireFromString("60.50")}},
		Memo: "storage migration took a day longer than promised"})
	if err != nil {
		return err
	}
	p.Title(fmt.Sprintf("Credit note CN-1 (%s) on %s: %s", cn.Reason, names[seats.ID], cn.Memo))
	for i, l := range cn.Lines {
		names[l.ID] = fmt.Sprintf("CN-1/%d", i+1)
		p.Line("  %-8s %-48s net %9s  tax %7s  total %s", names[l.ID], l.Description, l.Net.AmountString(), l.Tax.AmountString(), l.Total)
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

	// 6. Explain one line's split, then the clawback.
	p.Title("Who earned what on " + names[seats.ID] + " (" + seats.Description + "), and why")
	tree, err := settlement.Explain(settlement.LineID(names[seats.ID]), entries)
	if err != nil {
		return err
	}
	p.Block(tree)

	// 7. Statements for February to April, with a EUR 25 minimum payout.
	period := ensemble.MustPeriod(day(2, 1, 0), day(5, 1, 0))
	stmts, err := settlement.Statements(entries, settlement.StatementOptions{Period: period,
		Minimums: []ensemble.Money{ensemble.MustMoney("25.00", "EUR")}})
	if err != nil {
		return err
	}
	p.Title("Partner statements, " + period.Start.Format("Jan 2") + " to " + period.End.AddDate(0, 0, -1).Format("Jan 2"))
	p.Line("  %-16s %11s %11s %11s %11s %11s %11s", "party", "earned", "reversed", "reserved", "closing", "payable", "carried")
	for _, s := range stmts {
		p.Line("  %-16s %11s %11s %11s %11s %11s %11s", s.Party, s.Earned.AmountString(), s.Reversed.AmountString(),
			s.Reserved.AmountString(), s.Closing.AmountString(), s.Payable.AmountString(), s.CarriedForward.AmountString())
	}

	// 8. Ecosystem metrics from the same entries.
	metrics, err := settlement.ComputeMetrics(entries, period, eco.platform)
	if err != nil {
		return err
	}
	for _, m := range metrics {
		p.Title("Ecosystem metrics (" + m.Currency.Code() + ")")
		p.Line("  %-32s %10s", "gross ecosystem value", m.GrossValue.AmountString())
		p.Line("  %-32s %10s", "paid to suppliers", m.SupplierCosts.AmountString())
		p.Line("  %-32s %10s", "earned by partners", m.PartnerEarnings.AmountString())
		p.Line("  %-32s %10s   take rate %s%%", "kept by the platform", m.PlatformRevenue.AmountString(),
			m.TakeRate.Decimal(4, ensemble.RoundHalfAwayFromZero).Shift(2).StringFixed(2))
		for _, a := range m.ByParty {
			p.Line("  %-32s %10s", "net earnings of "+a.Key, a.Amount.AmountString())
		}
		for _, mg := range m.ByOffer {
			p.Line("  %-32s %10s   platform margin %s", "gross of offer "+mg.Key, mg.Gross.AmountString(), mg.Platform.AmountString())
		}
		for _, mg := range m.BySeller {
			p.Line("  %-32s %10s   platform margin %s", "gross sold by "+mg.Key, mg.Gross.AmountString(), mg.Platform.AmountString())
		}
	}
	return p.Err
}

// takeOrder runs the order from draft to active and through the upgrade.
func takeOrder(ctx context.Context, eco *ecosystem) (order.Order, error) {
	env := order.Context{Catalog: eco.catalog, Governance: eco.gov}
	steps := []struct {
		at  time.Time
		cmd order.Command
	}{
		{day(1, 20, 9), order.Command{Kind: order.CmdCreate, Order: "ord-1001", Actor: "sub-utrecht", Draft: &order.Draft{
			Customer: order.Customer{ID: "acme-bv", Country: "NL", Segment: "smb"},
			Route:    partner.Route{Seller: "sub-utrecht", Referrer: "referral-ams"},
			Lines: []order.Line{{ID: "office", Pin: catalog.Pin{Offer: "office-standard"}, Quantity: decimal.NewFromInt(10),
				AddOns: []order.AddOn{{Pin: catalog.Pin{Offer: "extra-storage"}}}}},
			Billing: order.Billing{Anchor: day(2, 1, 0)},
		}}},
		{day(1, 20, 10), order.Command{Kind: order.CmdQuote, ExpiresAt: day(2, 3, 0)}},
		{day(1, 22, 14), order.Command{Kind: order.CmdAccept, Actor: "cfo@acme"}},
		{day(1, 26, 9), order.Command{Kind: order.CmdBeginActivation}},
		{day(1, 28, 9), order.Command{Kind: order.CmdFailTask, Task: "office/managed-firewall/supplier-secure", Actor: "securenet", Reason: "customer site unreachable"}},
		{day(1, 29, 9), order.Command{Kind: order.CmdRetryTask, Task: "office/managed-firewall/supplier-secure", Actor: "securenet"}},
		{day(1, 30, 9), order.Command{Kind: order.CmdCompleteTask, Task: "office/cloud-backup/supplier-backup", Actor: "backupco"}},
		{day(2, 1, 0), order.Command{Kind: order.CmdCompleteTask, Task: "office/managed-firewall/supplier-secure", Actor: "securenet"}},
		{day(2, 15, 12), order.Command{Kind: order.CmdChange, Actor: "sub-utrecht", Change: &order.Change{
			Kind: order.ChangeOffer, Line: "office", Pin: catalog.Pin{Offer: "office-pro"}}}},
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

// meter collects the usage records delivered for the runs of March 1 and
// April 1 and returns those runs, carrying from the first run to the
// second the ledger of records billed (through its binary form, as a host
// persists it) and the usage billed. The usage lines are the order's
// (invoice.Builder.UsageLines). April's late February record adjusts
// February, paired with what March 1 billed (invoice.LateUsageFrom); the
// record re-sent in April is billed zero more. After April the ledger is
// pruned of the periods that ended a month or more before, the window late
// usage is accepted in.
func meter(p *report.Printer, eco *ecosystem, b *invoice.Builder, sub invoice.Subscription) ([]invoice.Run, error) {
	subs := []invoice.Subscription{sub}
	records := func(name string) ([]usage.Record, error) {
		f, err := data.Open("data/" + name)
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
	p.Title("Usage runs (the ledger of records billed carried from one to the next)")
	var runs []invoice.Run
	var stored []byte            // the ledger, as the host stores it between runs
	var billed []usage.Aggregate // the usage billed, which the host keeps too
	for i, batch := range []struct {
		after, at time.Time // the run bills (after, at]; periods ended by after were invoiced
		file      string
	}{
		{day(2, 1, 0), day(3, 1, 0), "usage-2026-03-01.json"},
		{day(3, 1, 0), day(4, 1, 0), "usage-2026-04-01.json"},
	} {
		recs, err := records(batch.file)
		if err != nil {
			return nil, err
		}
		var ledger usage.Ledger
		if stored != nil {
			if err := ledger.UnmarshalBinary(stored); err != nil {
				return nil, err
			}
		}
		lines, err := b.UsageLines(batch.at, subs...)
		if err != nil {
			return nil, err
		}
		rep, err := usage.Collect(usage.Config{Meters: eco.meters, Lines: lines, ClosedBefore: batch.after, Ledger: ledger}, slices.Values(recs))
		if err != nil {
			return nil, err
		}
		if err := rep.Err(); err != nil {
			return nil, err
		}
		late, err := invoice.LateUsageFrom(rep.Adjustments, billed)
		if err != nil {
			return nil, err
		}
		run := invoice.Run{After: batch.after, At: batch.at, Usage: rep.Aggregates, Late: late}
		done, err := b.BilledUsage(run, subs, eco.meters)
		if err != nil {
			return nil, err
		}
		runs, billed = append(runs, run), append(billed, done...)
		next := rep.Ledger
		if i == 1 {
			next = next.Prune(batch.at.AddDate(0, -1, 0))
		}
		if stored, err = next.MarshalBinary(); err != nil {
			return nil, err
		}
		st := rep.Stats
		p.Line("  %s: %d records read: %d billed (%d late), %d duplicate(s) dropped, %d of them re-sent after an earlier run billed them",
			batch.at.Format("Jan 2"), st.Read, st.Accepted, lateRecords(rep), st.Duplicates, st.Resent)
		if i == 1 {
			p.Line("         ledger of %d ids, pruned of the periods ended by %s (usage is accepted a month late): %d ids kept, stored in %d bytes",
				rep.Ledger.Len(), next.PrunedBefore().Format("Jan 2"), next.Len(), len(stored))
		} else {
			p.Line("         ledger of %d ids, stored in %d bytes", next.Len(), len(stored))
		}
	}
	return runs, nil
}

func lateRecords(rep *usage.Report) int64 {
	var n int64
	for _, g := range rep.Adjustments {
		n += g.Records
	}
	return n
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

func printInvoice(p *report.Printer, number string, inv invoice.Invoice, names map[invoice.LineID]string) {
	p.Title(fmt.Sprintf("Invoice %s of %s (%s)", number, inv.Date.Format("Jan 2 2006"), inv.ID))
	for _, l := range inv.Lines {
		p.Line("  %-14s %-50s %9s  VAT %7s", names[l.ID], l.Description, l.Net.AmountString(), l.Tax.AmountString())
		p.Line("  %-14s %s", "", trace(l, names))
	}
	p.Line("  %-65s %9s  VAT %7s  total %s", "", inv.Subtotal.AmountString(), inv.Tax.AmountString(), inv.Total)
}

// trace says in one line where an invoice line came from.
func trace(l invoice.Line, names map[invoice.LineID]string) string {
	parts := []string{fmt.Sprintf("%s %s × %s", l.Pin, l.Charge, l.Quantity), periodText(l.Period)}
	if l.Proration != nil {
		parts = append(parts, fmt.Sprintf("%s of the cycle (%s)", l.Proration.Fraction, l.Proration.Basis))
	}
	if u := l.Usage; u != nil {
		parts = append(parts, fmt.Sprintf("meter %s, %d records", u.Meter, u.Records))
		if u.Late != nil {
			parts = append(parts, fmt.Sprintf("billed %s before", u.Billed))
		}
	}
	if l.Credits != "" {
		parts = append(parts, "credits "+names[l.Credits])
	}
	for _, c := range l.SupplierCosts {
		parts = append(parts, fmt.Sprintf("%s owed %s", c.Supplier, c.Cost.AmountString()))
	}
	return strings.Join(parts, "; ")
}

func periodText(per ensemble.Period) string {
	from := per.Start.Format("Jan 2")
	if per.Start.Hour() != 0 {
		from = per.Start.Format("Jan 2 15:04")
	}
	return from + " to " + per.End.Format("Jan 2")
}

func findLine(inv invoice.Invoice, match func(invoice.Line) bool) invoice.Line {
	for _, l := range inv.Lines {
		if match(l) {
			return l
		}
	}
	return inv.Lines[0]
}

func joinIDs(ids []partner.ID) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = string(id)
	}
	return strings.Join(s, " -> ")
}

// Command dispute traces a disputed charge from the invoice line back to
// everything that produced it, holds the partners' payouts while the dispute
// is open, and resolves it both ways.
//
//	go run ./examples/dispute
//
// A customer, Acme BV, buys a Secure Office bundle with a usage-priced storage
// add-on through a sub-reseller, whose chain runs up through a reseller to a
// distributor; a referral partner brought the customer. On its March invoice
// Acme disputes two charges:
//
//   - the storage line: "we never stored 1350 GB". The trace shows which
//     usage records were billed (their digest is recomputed from the record
//     ids) and the platform agrees the peak came from a faulty backup job:
//     the dispute is lost, Acme gets a credit note and every party that was
//     paid on the line is clawed back to exactly zero;
//   - the seats line: "we only have 8 users". The order shows 10 seats were
//     ordered and accepted: the dispute is won and the held payouts are
//     released.
//
// Every document a real host would keep is a file under data/, embedded at
// build time.
package main

import (
	"context"
	"embed"
	"errors"
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
		fmt.Fprintln(os.Stderr, "dispute:", err)
		os.Exit(1)
	}
}

func day(m time.Month, d, h int) time.Time { return time.Date(2026, m, d, h, 0, 0, 0, time.UTC) }

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
		ID: "channel", Name: "Channel program", SellPolicy: "channel-sell", DiscountAllowance: "channel-discount",
	}}})
	if err != nil {
		return nil, err
	}
	return &ecosystem{
		catalog: eco.Catalog, gov: eco.Governance, settler: eco.Settler,
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

	// 1. What happened before the dispute: the order, its usage, two
	// invoices, and every line settled.
	o, err := takeOrder(ctx, eco)
	if err != nil {
		return err
	}
	records, err := readRecords("usage.json")
	if err != nil {
		return err
	}
	sub, err := invoice.FromOrder(o)
	if err != nil {
		return err
	}
	b, err := invoice.NewBuilder(eco.catalog, invoice.Options{Basis: ensemble.ProrateDaysEndExclusive, Taxes: eco.taxes})
	if err != nil {
		return err
	}
	rep, err := meter(eco, b, sub, records)
	if err != nil {
		return err
	}
	names := map[invoice.LineID]string{} // short line numbers customers and finance use
	var invoices []invoice.Invoice
	var lines []settlement.Line
	for _, r := range []invoice.Run{{At: day(2, 1, 0)}, {After: day(2, 1, 0), At: day(3, 1, 0), Usage: rep.Aggregates}} {
		invs, err := b.Build(r, []invoice.Subscription{sub})
		if err != nil {
			return err
		}
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
		}
	}
	res, err := eco.settler.Settle(ctx, settlement.State{}, lines)
	if err != nil {
		return err
	}
	entries, state := res.Entries, res.State

	march := invoices[len(invoices)-1]
	p.Title(fmt.Sprintf("Invoice INV-2026-03 to %s, sold by %s, referred by %s", o.Customer.ID, o.Route.Seller, o.Route.Referrer))
	for _, l := range march.Lines {
		p.Line("  %-14s %-50s %7s  VAT %6s  %s", names[l.ID], l.Description, l.Net.AmountString(), l.Tax.AmountString(), l.Total)
	}
	p.Line("  %-14s %-50s %7s  VAT %6s  %s", "", "total", march.Subtotal.AmountString(), march.Tax.AmountString(), march.Total)

	storage := findLine(march, func(l invoice.Line) bool { return l.Kind == invoice.KindUsage })
	seats := findLine(march, func(l invoice.Line) bool { return l.Kind == invoice.KindRecurring })
	p.Line("")
	p.Line("On Mar 10 Acme disputes two charges:")
	p.Line("  %s %s: \"we never stored %s GB\"", names[storage.ID], storage.Total, storage.Quantity)
	p.Line("  %s %s: \"we only have 8 users\"", names[seats.ID], seats.Total)

	// 2. Trace the storage line: catalog item, usage records, partner rules.
	p.Title("Trace of " + names[storage.ID] + ": " + storage.Description)
	p.Line("  invoice line  %s", storage.ID)
	p.Line("  order line    %s (%s %s × %s), %s", o.LineRef("office"), storage.Pin, storage.Charge, storage.Quantity, periodText(storage.Period))
	for _, ref := range storage.Refs {
		switch ref.Kind {
		case catalog.RefOffer, catalog.RefCharge, catalog.RefPrice:
			p.Line("  catalog       %-7s %s version %s", ref.Kind, ref.ID, ref.Version)
		}
	}
	u := storage.Usage
	p.Line("  rating        %s", rating(storage.Tiers))
	p.Line("  usage         %s", u.Ref)
	p.Line("                meter %s, %d records, digest %s", u.Meter, u.Records, u.Digest)

	// Which records were billed? The digest is a sum of hashes of record
	// ids: recompute it from the ids the host stored and compare.
	var inPeriod, all []usage.RecordID
	for _, r := range records {
		all = append(all, r.ID)
		if u.Period.Contains(r.At) {
			inPeriod = append(inPeriod, r.ID)
			p.Line("  record        %s  %s  %5s GB", r.ID, r.At.Format("Jan 02 15:04"), r.Quantity)
		}
	}
	check := func(ids []usage.RecordID) string {
		if usage.DigestOf(ids...) == u.Digest {
			return "= the line's digest: these records were billed"
		}
		return "≠ the line's digest"
	}
	p.Line("  usage.DigestOf(the %d February ids) = %s %s", len(inPeriod), usage.DigestOf(inPeriod...), check(inPeriod))
	p.Line("  usage.DigestOf(all %d ids)          = %s %s", len(all), usage.DigestOf(all...), check(all))
	if g, ok := aggregate(rep, u.Ref); ok {
		p.Line("  the line bills the peak (meter aggregation %s): %s GB, record %s at %s", g.Aggregation, g.Value,
			g.Source, g.SourceAt.Format("Jan 02 15:04"))
	}

	// Who was paid on it, and by which rule: the explain tree, then one
	// entry's path back to the line and rule.
	storageID, seatsID := settlement.LineID(names[storage.ID]), settlement.LineID(names[seats.ID])
	p.Title("Who was paid on " + names[storage.ID] + ", and why")
	tree, err := settlement.Explain(storageID, entries)
	if err != nil {
		return err
	}
	p.Block(tree)
	p.Line("")
	for _, e := range entries {
		if e.Line == storageID && e.Role == "reseller" {
			p.Block(settlement.ExplainEntry(e))
		}
	}

	// 3. Hold both disputed lines' payouts until the disputes are resolved.
	held := map[partner.ID][2]string{}
	var parties []partner.ID
	for i, id := range []settlement.LineID{storageID, seatsID} {
		res, err := eco.settler.Dispute(state, id, day(3, 10, 9))
		if err != nil {
			return err
		}
		state = res.State
		entries = append(entries, res.Entries...)
		for _, e := range res.Entries {
			h, ok := held[e.Party]
			if !ok {
				parties = append(parties, e.Party)
				h = [2]string{"-", "-"}
			}
			h[i] = e.Amount.AmountString()
			held[e.Party] = h
		}
	}
	p.Title("Mar 10: every party's payouts on both lines are held")
	p.Line("  %-16s %16s %16s", "party", "held on storage", "held on seats")
	slices.Sort(parties)
	for _, party := range parties {
		p.Line("  %-16s %16s %16s", party, held[party][0], held[party][1])
	}

	// 4. The storage dispute is lost: the customer gets a credit note and
	// the dispute is resolved lost, which releases the holds and claws back
	// every party's earning on the line.
	cn, err := invoice.NewCreditNote(march, nil, invoice.CreditRequest{ID: "dispute-1", Reason: invoice.ReasonDispute,
		At: day(3, 20, 0), Lines: []invoice.CreditLine{{Line: storage.ID}},
		Memo: "the Feb 16 peak came from a faulty backup job"})
	if err != nil {
		return err
	}
	p.Title(fmt.Sprintf("Mar 20: storage dispute lost; credit note CN-1 (%s): %s", cn.Reason, cn.Memo))
	for i, l := range cn.Lines {
		names[l.ID] = fmt.Sprintf("CN-1/%d", i+1)
		p.Line("  %-7s %-44s %8s  VAT %6s  %s", names[l.ID], l.Description, l.Net.AmountString(), l.Tax.AmountString(), l.Total)
	}
	res, err = eco.settler.ResolveDispute(state, storageID, false, day(3, 20, 0))
	if err != nil {
		return err
	}
	state = res.State
	entries = append(entries, res.Entries...)
	tree, err = settlement.Explain(storageID, entries)
	if err != nil {
		return err
	}
	p.Block(tree[strings.Index(tree, "\n└")+1:]) // the line and its trace were shown above

	// The lost dispute has already reversed the line: the credit note's
	// line documents it (Line.Dispute) and reverses nothing more. Sent
	// without saying so, it is refused rather than clawing back twice.
	credits, err := settlementLines(cn.Lines, names, o)
	if err != nil {
		return err
	}
	if _, err := eco.settler.Settle(ctx, state, credits); !errors.Is(err, settlement.ErrUndocumentedDispute) {
		return fmt.Errorf("settling CN-1/1 after the lost dispute without saying it documents it: want ErrUndocumentedDispute, got %v", err)
	}
	p.Line("  CN-1/1 sent as a plain credit: refused (ErrUndocumentedDispute), it would claw the line back twice")
	for i := range credits {
		credits[i].Dispute = settlement.DisputeDocuments
	}
	res, err = eco.settler.Settle(ctx, state, credits)
	if err != nil {
		return err
	}
	state = res.State
	ll, _ := state.Line(storageID)
	p.Line("  CN-1/1 settled as the lost dispute's document: %d entries, %s documented of %s lost", len(res.Entries),
		ll.Documented.AmountString(), ll.Lost.AmountString())

	// 5. The seats dispute is won: the holds are released.
	p.Title("Mar 24: seats dispute won: Acme ordered and accepted 10 seats")
	for _, sg := range o.Segments {
		p.Line("  order %s, quote accepted %s: %s × %s seats from %s", o.ID, o.AcceptedAt.Format("Jan 2 15:04"),
			sg.Pin, sg.Quantity, sg.Start.Format("Jan 2"))
	}
	res, err = eco.settler.ResolveDispute(state, seatsID, true, day(3, 24, 0))
	if err != nil {
		return err
	}
	entries = append(entries, res.Entries...)
	for _, e := range res.Entries {
		p.Line("  %-8s %-16s %7s  %s", e.Kind, e.Party, e.Amount.AmountString(), e.Note)
	}

	// 6. March statements: what each party is paid once both disputes are
	// resolved.
	period := ensemble.MustPeriod(day(3, 1, 0), day(4, 1, 0))
	stmts, err := settlement.Statements(entries, settlement.StatementOptions{Period: period})
	if err != nil {
		return err
	}
	p.Title("Partner statements, March")
	p.Line("  %-16s %9s %9s %9s %9s %9s", "party", "earned", "reversed", "held", "released", "payable")
	for _, s := range stmts {
		p.Line("  %-16s %9s %9s %9s %9s %9s", s.Party, s.Earned.AmountString(), s.Reversed.AmountString(),
			s.Reserved.AmountString(), s.Released.AmountString(), s.Payable.AmountString())
	}
	return p.Err
}

// rating writes a usage rating's tiers: "100 × 0.00 + 900 × 0.05 + ...".
func rating(tiers []catalog.Line) string {
	parts := make([]string, len(tiers))
	for i, t := range tiers {
		parts[i] = fmt.Sprintf("%s × %s", t.Quantity, t.UnitAmount.AmountString())
		if !t.FlatAmount.IsZero() {
			parts[i] += " + " + t.FlatAmount.AmountString()
		}
	}
	return strings.Join(parts, " + ")
}

// aggregate finds the usage aggregate a line's trace names.
func aggregate(rep usage.Report, ref ensemble.Ref) (usage.Aggregate, bool) {
	for _, g := range rep.Aggregates {
		if g.Ref() == ref {
			return g, true
		}
	}
	return usage.Aggregate{}, false
}

// takeOrder runs the order from draft to active.
func takeOrder(ctx context.Context, eco *ecosystem) (order.Order, error) {
	env := order.Context{Catalog: eco.catalog, Governance: eco.gov}
	steps := []struct {
		at  time.Time
		cmd order.Command
	}{
		{day(1, 20, 9), order.Command{Kind: order.CmdCreate, Order: "ord-2001", Actor: "sub-utrecht", Draft: &order.Draft{
			Customer: order.Customer{ID: "acme-bv", Country: "NL", Segment: "smb"},
			Route:    partner.Route{Seller: "sub-utrecht", Referrer: "referral-ams"},
			Lines: []order.Line{{ID: "office", Pin: catalog.Pin{Offer: "office-standard"}, Quantity: decimal.NewFromInt(10),
				AddOns: []order.AddOn{{Pin: catalog.Pin{Offer: "extra-storage"}}}}},
			Billing: order.Billing{Anchor: day(2, 1, 0)},
		}}},
		{day(1, 20, 10), order.Command{Kind: order.CmdQuote, ExpiresAt: day(2, 3, 0)}},
		{day(1, 22, 14), order.Command{Kind: order.CmdAccept, Actor: "cfo@acme"}},
		{day(1, 26, 9), order.Command{Kind: order.CmdBeginActivation}},
		{day(1, 30, 9), order.Command{Kind: order.CmdCompleteTask, Task: "office/cloud-backup/supplier-backup", Actor: "backupco"}},
		{day(2, 1, 0), order.Command{Kind: order.CmdCompleteTask, Task: "office/managed-firewall/supplier-secure", Actor: "securenet"}},
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

func readRecords(name string) ([]usage.Record, error) {
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

// meter aggregates the usage records delivered by the run of March 1 (the
// host stored a March one too, which a later run bills) per order line and
// billing month, on the order's usage lines (invoice.Builder.UsageLines).
func meter(eco *ecosystem, b *invoice.Builder, sub invoice.Subscription, records []usage.Record) (usage.Report, error) {
	at := day(3, 1, 0)
	lines, err := b.UsageLines(at, sub)
	if err != nil {
		return usage.Report{}, err
	}
	var delivered []usage.Record
	for _, r := range records {
		if r.At.Before(at) {
			delivered = append(delivered, r)
		}
	}
	rep, err := usage.Collect(usage.Config{Meters: eco.meters, Lines: lines}, slices.Values(delivered))
	if err != nil {
		return usage.Report{}, err
	}
	return *rep, rep.Err()
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

func periodText(per ensemble.Period) string {
	return per.Start.Format("Jan 2") + " to " + per.End.Format("Jan 2")
}

func findLine(inv invoice.Invoice, match func(invoice.Line) bool) invoice.Line {
	for _, l := range inv.Lines {
		if match(l) {
			return l
		}
	}
	return inv.Lines[0]
}

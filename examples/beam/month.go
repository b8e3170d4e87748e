package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// The month the example settles, half-open: January 2026 unless -month
// says another (setMonth).
var (
	monthStart = time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)
	monthEnd   = monthStart.AddDate(0, 1, 0)
)

// setMonth makes the month the example generates and settles the one text
// names, "2026-02".
func setMonth(text string) error {
	t, err := time.Parse("2006-01", text)
	if err != nil {
		return fmt.Errorf("-month %q: want a month such as 2026-02", text)
	}
	monthStart, monthEnd = t.UTC(), t.UTC().AddDate(0, 1, 0)
	return nil
}

// minimums are the minimum payouts statements apply.
var minimums = []ensemble.Money{ensemble.MustMoney("10.00", "EUR")}

// sellers is how many sub-resellers sell in the generated month; s000 is
// the hot seller, with hotShare of the lines.
const (
	sellers   = 200
	resellers = 20
	distribs  = 5
	hotShare  = 5 // percent
)

// plansYAML is the split plan: the platform's take rate reads the seller's
// calendar-year volume (15% up to EUR 20,000, 30% above, marginal, credits
// taken back out of the volume), so a shard must own its sellers' volumes;
// the chain shares what remains.
const plansYAML = `
- id: marketplace
  version: 1
  routes: [partner]
  root:
    id: line
    children:
      - id: platform
        party: platform
        share:
          cumulative:
            of: seller
            window: calendar_year
            mode: marginal
            volume: net_of_credits
            tiers:
              - {up_to: {amount: "20000.00", currency: EUR}, rate: "15%"}
              - {rate: "30%"}
      - id: channel
        share: remaining
        children:
          - {id: distributor, party: distributor, share: "6%"}
          - {id: reseller, party: reseller, share: "10%"}
          - {id: seller, party: seller, share: remaining}
`

// networkYAML is the partner network: distributors d0..d4, resellers
// r00..r19 under them and sub-resellers s000..s199 under those.
func networkYAML() string {
	var b strings.Builder
	b.WriteString("parent_types:\n  reseller: [distributor]\n  sub_reseller: [reseller]\npartners:\n")
	b.WriteString("  - {id: platform, name: Platform, type: platform, terms: [{from: 2025-01-01T00:00:00Z}]}\n")
	for d := range distribs {
		fmt.Fprintf(&b, "  - {id: d%d, name: D%d, type: distributor, terms: [{from: 2025-01-01T00:00:00Z}]}\n", d, d)
	}
	for r := range resellers {
		fmt.Fprintf(&b, "  - {id: r%02d, name: R%02d, type: reseller, terms: [{from: 2025-01-01T00:00:00Z, parent: d%d}]}\n", r, r, r%distribs)
	}
	for s := range sellers {
		fmt.Fprintf(&b, "  - {id: s%03d, name: S%03d, type: sub_reseller, terms: [{from: 2025-01-01T00:00:00Z, parent: r%02d}]}\n", s, s, s%resellers)
	}
	return b.String()
}

// newSettler builds the settler every worker uses, from the documents.
func newSettler(plans, network string) (*settlement.Settler, error) {
	docs, err := settlement.ParsePlans([]byte(plans))
	if err != nil {
		return nil, err
	}
	net, err := partner.LoadNetwork([]byte(network))
	if err != nil {
		return nil, err
	}
	return settlement.New(settlement.Config{Plans: docs, Network: net})
}

// generateMonth returns n invoice lines of the month, in a shuffled order:
// sales over the sellers (s000 selling hotShare% of them, the hot key) and,
// for about one sale in twenty, a credit-note line of part of it a few days
// later, carrying the credited sale's route as settlement.FromInvoice
// gives it. Ids name the month ("L202601-00000042"), so months never
// reuse one. The same month and n always give the same lines.
func generateMonth(n int) []settlement.Line {
	months := (monthStart.Year()-2026)*12 + int(monthStart.Month()) - 1 // from January 2026
	rng := rand.New(rand.NewPCG(20, uint64(26+months)))
	id := func(prefix string, i int) string {
		return fmt.Sprintf("%s%s-%08d", prefix, monthStart.Format("200601"), i)
	}
	eur := ensemble.MustCurrency("EUR")
	span := int64(monthEnd.Sub(monthStart) / time.Second)
	lines := make([]settlement.Line, 0, n)
	for len(lines) < n {
		i := len(lines)
		s := 1 + rng.IntN(sellers-1)
		if rng.IntN(100) < hotShare {
			s = 0
		}
		r := s % resellers
		seller := partner.ID(fmt.Sprintf("s%03d", s))
		sale := settlement.Line{
			ID:       settlement.LineID(id("L", i)),
			Date:     monthStart.Add(time.Duration(rng.Int64N(span*3/4)) * time.Second),
			Amount:   ensemble.MoneyFromMinor(500+rng.Int64N(200_000), eur),
			Offer:    catalog.Pin{Offer: "cloud-suite", Version: 1},
			Customer: settlement.Customer{ID: fmt.Sprintf("c%05d", rng.IntN(20_000))},
			Route: partner.Route{Kind: partner.RoutePartner, Seller: seller, Chain: []partner.ID{
				seller, partner.ID(fmt.Sprintf("r%02d", r)), partner.ID(fmt.Sprintf("d%d", r%distribs))}},
			Trace: []ensemble.Ref{{Kind: "invoice_line", ID: id("INV-", i) + "/1"}},
		}
		lines = append(lines, sale)
		if len(lines) < n && rng.IntN(20) == 0 {
			minor, _ := sale.Amount.MinorUnits() // whole cents by construction
			lines = append(lines, settlement.Line{
				ID:       settlement.LineID(id("L", len(lines))),
				Date:     sale.Date.Add(time.Duration(1+rng.IntN(5*24)) * time.Hour),
				Amount:   ensemble.MoneyFromMinor(-(1 + rng.Int64N(minor)), eur),
				Offer:    sale.Offer,
				Customer: sale.Customer,
				Route:    sale.Route,
				Credits:  sale.ID,
				Trace:    []ensemble.Ref{{Kind: "credit_note_line", ID: id("CN-", i) + "/1"}},
			})
		}
	}
	rng.Shuffle(len(lines), func(i, j int) { lines[i], lines[j] = lines[j], lines[i] })
	return lines
}

// writeLines writes lines as JSON lines.
func writeLines(w io.Writer, lines []settlement.Line) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	for _, l := range lines {
		if err := enc.Encode(l); err != nil {
			return err
		}
	}
	return bw.Flush()
}

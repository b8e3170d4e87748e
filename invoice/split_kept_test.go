package invoice_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/usage"
)

const keptMeterYAML = `
offers:
  - id: lite
    version: 1
    name: Lite
    currency: EUR
    effective_from: 2020-01-01T00:00:00Z
    charges:
      - {id: api, name: API, type: usage, meter: api, price: {model: per_unit, amount: "0.01"}}
  - id: max
    version: 1
    name: Max
    currency: EUR
    effective_from: 2020-01-01T00:00:00Z
    charges:
      - {id: api, name: API, type: usage, meter: api, price: {model: per_unit, amount: "0.005"}}
  - id: vault
    version: 1
    name: Vault
    kind: add_on
    currency: EUR
    effective_from: 2020-01-01T00:00:00Z
    attaches_to: [lite, max]
    charges:
      - {id: gb, name: Vault GB, type: usage, meter: gb, price: {model: per_unit, amount: "0.05", minimum_spend: "50"}}
`

// keptMeterApril bills April of an item on Lite upgraded to Max on April
// 15, the vault attached all month, under the catalog doc: 1,000 API calls
// on April 3 and 1,000 on April 20, 100 GB on April 20. It returns the
// item's usage line and the invoice.
func keptMeterApril(t *testing.T, doc string) (usage.Line, invoice.Invoice) {
	t.Helper()
	cat, err := catalog.LoadYAML([]byte(doc))
	require.NoError(t, err)
	b, err := invoice.NewBuilder(cat, invoice.Options{})
	require.NoError(t, err)
	apr1, apr15, may1 := date(2026, 4, 1), date(2026, 4, 15), date(2026, 5, 1)
	vault := []invoice.AddOn{{Pin: pin("vault", 1), Quantity: dec("1")}}
	s1, s2 := seg(apr1, apr15, pin("lite", 1), "1"), seg(apr15, time.Time{}, pin("max", 1), "1")
	s1.AddOns, s2.AddOns = vault, vault
	s := sub("s1", apr1, item("storage", s1, s2))
	s.Customer.TaxExempt = true
	lines, err := b.UsageLines(may1, s)
	require.NoError(t, err)
	require.Len(t, lines, 1)
	recs := []usage.Record{
		{ID: "a1", Line: "s1/storage", Meter: "api", At: date(2026, 4, 3), Quantity: dec("1000")},
		{ID: "a2", Line: "s1/storage", Meter: "api", At: date(2026, 4, 20), Quantity: dec("1000")},
		{ID: "g1", Line: "s1/storage", Meter: "gb", At: date(2026, 4, 20), Quantity: dec("100")},
	}
	rep, err := usage.Collect(usage.Config{Meters: []usage.Meter{{ID: "api", Aggregation: usage.Sum, Unit: "call"}, {ID: "gb", Aggregation: usage.Sum, Unit: "GB"}},
		Lines: lines}, slices.Values(recs))
	require.NoError(t, err)
	require.NoError(t, rep.Err())
	return lines[0], build1(t, b, invoice.Run{After: apr1, At: may1, Usage: rep.Aggregates}, s)
}

// TestUsageSplitKeepsAMeterWhoseChargeGoesOn: the vault add-on prices GB at
// 0.05 with a minimum spend of 50.00 a month, the same charge all April;
// the base offer (which prices API calls) is upgraded on April 15. A cut
// made for the API meter would cut the vault's month too (an item's meters
// share one set of periods), and each piece would owe the minimum: 115.00
// (a review found it). A change that keeps a meter's charge cuts nothing:
// the vault owes 50.00 once, and the API calls are billed whole at Max's
// price, as under SplitNone (10.00 where each segment's price bills 15.00:
// the documented limit of per-meter cuts).
func TestUsageSplitKeepsAMeterWhoseChargeGoesOn(t *testing.T) {
	line, inv := keptMeterApril(t, keptMeterYAML)
	require.Empty(t, line.Periods, "no cut: the line keeps its cadence")
	var gb []string
	for _, l := range inv.Lines {
		if l.Usage != nil && l.Usage.Meter == "gb" {
			gb = append(gb, l.Period.String()+" "+l.Amount.AmountString())
			require.NotContains(t, l.Description, "not cut", "the vault's charge did not change")
		}
		if l.Usage != nil && l.Usage.Meter == "api" {
			// The line says its usage before the change is billed at the
			// later charge (a trial: nothing said so).
			require.Contains(t, l.Description, "(the whole period at this charge: not cut at 2026-04-15, where another meter's charge goes on")
		}
	}
	require.Equal(t, []string{"[2026-04-01T00:00:00Z, 2026-05-01T00:00:00Z) 50.00"}, gb, "the vault's minimum, once")
	require.Equal(t, "60.00", inv.Total.AmountString(), "2,000 calls × 0.005 + 50.00")
}

// A kept charge that bills pieces as it bills the whole (per unit, with no
// free units and no spend bounds) does not stop the cut: the API calls are
// billed at each segment's price, 10.00 + 5.00, and the vault's 100 GB
// after the change 5.00, its idle first piece nothing.
func TestUsageSplitCutsPastAPlainKeptMeter(t *testing.T) {
	line, inv := keptMeterApril(t, strings.Replace(keptMeterYAML, `, minimum_spend: "50"`, "", 1))
	require.Len(t, line.Periods, 2, "cut at April 15")
	require.Equal(t, "20.00", inv.Total.AmountString(), "10.00 + 5.00 + 5.00")
}

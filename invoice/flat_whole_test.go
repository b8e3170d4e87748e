package invoice_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/stretchr/testify/require"
)

// seatsYAML holds one volume-priced seat charge twice: "team" bills its
// tier's flat amount whole in a partial cycle (catalog.FlatWhole, Lago's
// prorated volume charge), "team-prorated" prorates it (the default).
// Tiers: up to 10 seats at 10 plus 20, above at 8 plus 50.
const seatsYAML = `
offers:
  - id: team
    version: 1
    currency: EUR
    effective_from: 2020-01-01T00:00:00Z
    charges:
      - {id: seats, type: recurring, cadence: {unit: monthly}, timing: TIMING, price: {model: volume, flat_proration: whole,
         tiers: [{up_to: 10, unit_amount: "10", flat_amount: "20"}, {unit_amount: "8", flat_amount: "50"}]}}
  - id: team-prorated
    version: 1
    currency: EUR
    effective_from: 2020-01-01T00:00:00Z
    charges:
      - {id: seats, type: recurring, cadence: {unit: monthly}, timing: TIMING, price: {model: volume,
         tiers: [{up_to: 10, unit_amount: "10", flat_amount: "20"}, {unit_amount: "8", flat_amount: "50"}]}}
`

func seatsBuilder(t *testing.T, timing string) *invoice.Builder {
	t.Helper()
	cat, err := catalog.LoadYAML([]byte(strings.ReplaceAll(seatsYAML, "TIMING", timing)))
	require.NoError(t, err)
	b, err := invoice.NewBuilder(cat, invoice.Options{Basis: ensemble.ProrateDaysEndExclusive})
	require.NoError(t, err)
	return b
}

// TestFlatWholeVolumeProration bills 12 seats from March 16th (16 of 31
// days), then 5 seats from March 24th (8 of 31 days), in advance, with the
// tier's flat amount prorated (the default) and billed whole (Lago).
//
// 12 seats reach tier 1: 12 × 8 + 50 = 146. Prorated: 146 - round(146 ×
// 15/31) = 146 - 70.65 = 75.35. Whole: the units 96 - round(96 × 15/31) =
// 96 - 46.45 = 49.55, plus 50 = 99.55.
//
// On the 24th the unused 8/31 is credited: prorated, -(146 - round(146 ×
// 23/31)) = -(146 - 108.32) = -37.68; whole, only the units, -(96 -
// round(96 × 23/31)) = -(96 - 71.23) = -24.77. 5 seats (tier 0: 5 × 10 +
// 20 = 70) are charged: prorated, 70 - round(70 × 23/31) = 70 - 51.94 =
// 18.06; whole, 50 - round(50 × 23/31) + 20 = 50 - 37.10 + 20 = 32.90.
func TestFlatWholeVolumeProration(t *testing.T) {
	tests := []struct {
		name               string
		offer              string
		first, credit, now string
	}{
		{"flat prorated (default)", "team-prorated", "75.35", "-37.68", "18.06"},
		{"flat whole (lago)", "team", "99.55", "-24.77", "32.90"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := seatsBuilder(t, "in_advance")
			s := sub("s1", date(2026, 3, 1), item("i1",
				seg(date(2026, 3, 16), date(2026, 3, 24), pin(tc.offer, 1), "12"),
				seg(date(2026, 3, 24), time.Time{}, pin(tc.offer, 1), "5")))
			first := build1(t, b, invoice.Run{At: date(2026, 3, 16)}, s)
			require.Equal(t, []string{"recurring seats " + tc.first}, amounts(first))
			roundTrip(t, first)
			later := build1(t, b, invoice.Run{After: date(2026, 3, 16), At: date(2026, 3, 24), Billed: first.Lines}, s)
			require.ElementsMatch(t, []string{"proration_credit seats " + tc.credit, "recurring seats " + tc.now}, amounts(later))
			roundTrip(t, later)
			for _, l := range later.Lines {
				text := invoice.Explain(l)
				if tc.offer == "team" {
					want := "flat amount 20.00 billed whole"
					if l.Kind == invoice.KindProrationCredit {
						want = "flat amount 50.00 not credited"
					}
					require.Contains(t, text, want)
				} else {
					require.NotContains(t, text, "flat amount")
				}
			}
			// A whole cycle is the same either way: 12 seats, 146.
			whole := build1(t, b, invoice.Run{At: date(2026, 4, 1)}, sub("s2", date(2026, 3, 1), item("i1", seg(date(2026, 3, 1), time.Time{}, pin(tc.offer, 1), "12"))))
			require.Equal(t, []string{"recurring seats 146.00", "recurring seats 146.00"}, amounts(whole))
		})
	}
}

// TestFlatWholeInArrears bills 12 seats in arrears for March 16th to 31st:
// the units are prorated, the flat amount is not. 96 × 16/31 = 49.55 (as
// round(96) - round(96 × 15/31)), plus 50 = 99.55; the default 75.35.
func TestFlatWholeInArrears(t *testing.T) {
	for _, tc := range []struct{ name, offer, want string }{
		{"flat prorated (default)", "team-prorated", "75.35"},
		{"flat whole (lago)", "team", "99.55"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := seatsBuilder(t, "in_arrears")
			s := sub("s1", date(2026, 3, 1), item("i1", seg(date(2026, 3, 16), date(2026, 4, 1), pin(tc.offer, 1), "12")))
			inv := build1(t, b, invoice.Run{At: date(2026, 4, 1)}, s)
			require.Equal(t, []string{"recurring seats " + tc.want}, amounts(inv))
			roundTrip(t, inv)
		})
	}
}

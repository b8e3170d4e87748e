package invoice_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
)

// TestSkippedLocalDaysBillingRun: a billing run over the days Pacific/Apia
// skipped (2011-12-30) and Pacific/Kiritimati skipped (1994-12-31), and over
// ordinary calendar 31sts, bills every daily subscription under every
// proration basis. A daily cycle the 30-day bases count as no day, or one a
// skipped day cut to a few hours, used to fail the whole run with
// ErrEmptyPeriod.
func TestSkippedLocalDaysBillingRun(t *testing.T) {
	const daily = `
offers:
  - id: daily
    version: 1
    currency: EUR
    effective_from: 1990-01-01T00:00:00Z
    charges:
      - {id: day, type: recurring, cadence: {unit: daily}, timing: in_advance, price: {model: flat, amount: "3.00"}}
`
	cat, err := catalog.LoadYAML([]byte(daily))
	require.NoError(t, err)
	tests := []struct {
		name string
		zone string
		skip time.Time // a wall day at or near the skipped one
	}{
		{"Apia skipped 2011-12-30", "Pacific/Apia", time.Date(2011, 12, 29, 0, 0, 0, 0, time.UTC)},
		{"Kiritimati skipped 1994-12-31", "Pacific/Kiritimati", time.Date(1994, 12, 30, 0, 0, 0, 0, time.UTC)},
		{"a calendar 31st in UTC", "UTC", time.Date(2026, 1, 30, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		loc, err := time.LoadLocation(tt.zone)
		require.NoError(t, err)
		y, m, d := tt.skip.Date()
		for basis := ensemble.ProrationBasis(0); basis.Valid(); basis++ {
			for _, hour := range []int{0, 12} {
				t.Run(tt.name+"/"+basis.String()+"/"+time.Duration(hour*int(time.Hour)).String(), func(t *testing.T) {
					b, err := invoice.NewBuilder(cat, invoice.Options{Basis: basis})
					require.NoError(t, err)
					anchor := time.Date(y, m, d-3, hour, 0, 0, 0, loc).UTC()
					s := invoice.Subscription{
						ID: "s", Customer: invoice.Customer{ID: "c", Region: "FR"}, Currency: eur, Anchor: anchor,
						TimeZone: tt.zone, Cadence: ensemble.Every(1, ensemble.Daily),
						Items: []invoice.Item{{ID: "i", Segments: []invoice.Segment{
							// Starts at 03:00 of the day after the skipped
							// one (inside the cycle a noon anchor leaves
							// short) and ends inside a later cycle, so both
							// ends prorate.
							seg(time.Date(y, m, d+2, 3, 0, 0, 0, loc).UTC(), anchor.Add(6*24*time.Hour+7*time.Hour), pin("daily", 1), "1"),
						}}},
					}
					invs, err := b.Build(invoice.Run{After: anchor.Add(-time.Hour), At: anchor.Add(8 * 24 * time.Hour)}, []invoice.Subscription{s})
					require.NoError(t, err)
					require.Len(t, invs, 1)
					require.NoError(t, invs[0].Check())
					require.NotEmpty(t, invs[0].Lines)
				})
			}
		}
	}
}

package invoice_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/usage"
)

// TestUsageRatingErrorNamesThePeriod: corrections that bring a period's
// usage below zero (an AI API's image count: 3 images, then a correction of
// -10) cannot be rated; the run's error names the usage line, meter and
// period (a *UsageError) besides the catalog's reason, where it said only
// "subscriptions[0].items[0]: catalog: rate price:...: negative quantity",
// leaving the host to find which period of which meter among all of them.
func TestUsageRatingErrorNamesThePeriod(t *testing.T) {
	b := builder(t, invoice.Options{})
	s := sub("s1", date(2026, 1, 1), item("api", seg(date(2026, 1, 1), time.Time{}, pin("api", 1), "1")))
	neg := monthUsage("s1/api", time.March, "-7")
	_, err := b.Build(invoice.Run{After: date(2026, 3, 1), At: date(2026, 4, 1), Usage: []usage.Aggregate{neg}}, []invoice.Subscription{s})
	require.ErrorIs(t, err, catalog.ErrNegativeQuantity)
	var ue *invoice.UsageError
	require.True(t, errors.As(err, &ue), "%v", err)
	require.Equal(t, usage.LineRef("s1/api"), ue.Line)
	require.Equal(t, usage.MeterID("api_calls"), ue.Meter)
	require.True(t, date(2026, 3, 1).Equal(ue.Period.Start), "%v", ue.Period)
	require.Contains(t, err.Error(), `meter "api_calls"`)
}

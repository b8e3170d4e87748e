package order_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/order"
)

// TestDraftRegionIsASubdivisionOfTheCountry: a Canadian customer's region
// written "ON" was accepted by the draft, the quote and activation, and
// the first invoice run failed with no tax rule for region "ON" (the
// tax table keys Ontario as "CA-ON"), after the contract was signed.
func TestDraftRegionIsASubdivisionOfTheCountry(t *testing.T) {
	for _, c := range []struct {
		country, region string
		ok              bool
		hint            string
	}{
		{"CA", "CA-ON", true, ""},
		{"US", "US-CA", true, ""},
		{"FR", "FR-75C", true, ""},
		{"DE", "", true, ""},
		{"CA", "ON", false, `write "CA-ON"`},
		{"CA", "US-CA", false, "CA-, then"},
		{"CA", "CA", false, "leave it empty"},
		{"CA", "CA-on", false, "CA-, then"},
		{"CA", "CA-ONTARIO", false, "CA-, then"},
		{"CA", "CA-", false, "CA-, then"},
	} {
		d := nlDraft()
		d.Customer = order.Customer{ID: "c1", Country: c.country, Region: c.region}
		_, _, err := order.Order{}.Decide(ctx, env(t), order.Command{Kind: order.CmdCreate, Order: "o1", Draft: d}, day("2026-03-01"))
		var ve *ensemble.ValidationError
		regionErr := false
		if errors.As(err, &ve) {
			for _, fe := range ve.Problems {
				regionErr = regionErr || fe.Path == "customer.region"
			}
		}
		if c.ok {
			if regionErr {
				t.Errorf("%s %q: refused: %v", c.country, c.region, err)
			}
			continue
		}
		if !regionErr || !errors.Is(err, order.ErrInvalid) || !strings.Contains(err.Error(), c.hint) {
			t.Errorf("%s %q: want ErrInvalid at customer.region saying %q, got %v", c.country, c.region, c.hint, err)
		}
	}
}

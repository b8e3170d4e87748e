package e2e_test

import (
	"encoding"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/order"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/rules"
	"github.com/ensemble-commerce/ensemble/settlement"
	"github.com/ensemble-commerce/ensemble/usage"
)

// typedError reports whether err is one of the library's typed errors for
// text it cannot read.
func typedError(err error) bool {
	var ee *ensemble.EnumError
	var pe *ensemble.ParseError
	var ue *usage.ParseError
	return errors.As(err, &ee) || errors.As(err, &pe) || errors.As(err, &ue)
}

// TestEnumTextErrorsAreTyped: every enum of every package refuses an
// unknown name, and writing an undeclared value, with a typed error.
func TestEnumTextErrorsAreTyped(t *testing.T) {
	enums := []encoding.TextUnmarshaler{
		new(ensemble.AllocationMethod), new(ensemble.RemainderMode), new(ensemble.RoundingMode), new(ensemble.ProrationBasis), new(ensemble.CadenceUnit),
		new(catalog.OfferKind), new(catalog.ChargeType), new(catalog.Timing), new(catalog.Model), new(catalog.PackageRounding), new(catalog.RoundingPolicy),
		new(catalog.SpendAdjustment), new(catalog.FlatProration),
		new(partner.RequestKind), new(partner.ApprovalStatus), new(partner.Status), new(partner.Action), new(partner.RouteKind), new(partner.Role),
		new(rules.Kind),
		new(order.Status), new(order.TaxStatus), new(order.TaskStatus), new(order.DiscountBasis), new(order.CancelMode),
		new(order.ChangeKind), new(order.CommandKind), new(order.EventKind),
		new(usage.Aggregation),
		new(invoice.LineKind), new(invoice.DiscountDuration), new(invoice.TaxTreatment), new(invoice.TaxRounding), new(invoice.Reason), new(invoice.Status),
		new(settlement.EntryKind), new(settlement.Basis), new(settlement.Fallback), new(settlement.Window), new(settlement.RateMode),
	}
	for _, e := range enums {
		name := reflect.TypeOf(e).Elem().String()
		t.Run(name, func(t *testing.T) {
			if err := e.UnmarshalText([]byte("no-such-name")); err == nil || !typedError(err) {
				t.Fatalf("reading an unknown name: %T %v", err, err)
			}
			// Write an undeclared value: the largest uint8.
			v := reflect.ValueOf(e).Elem()
			v.SetUint(255)
			m, ok := reflect.ValueOf(e).Elem().Interface().(encoding.TextMarshaler)
			if !ok {
				return
			}
			if _, err := m.MarshalText(); err == nil || !typedError(err) {
				t.Fatalf("writing value 255: %T %v", err, fmt.Sprint(err))
			}
		})
	}
}

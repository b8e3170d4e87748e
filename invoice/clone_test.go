package invoice_test

import (
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
)

// immutable are the value types whose inner pointers are never written
// once made: sharing them is sharing a value.
var immutable = map[reflect.Type]bool{
	reflect.TypeFor[ensemble.Money]():    true,
	reflect.TypeFor[ensemble.Ratio]():    true,
	reflect.TypeFor[ensemble.Currency](): true,
	reflect.TypeFor[decimal.Decimal]():   true,
	reflect.TypeFor[time.Time]():         true,
}

// references records, by path, where every non-empty slice and non-nil
// pointer reachable from v through exported fields points.
func references(v reflect.Value, path string, out map[string]uintptr) {
	switch v.Kind() {
	case reflect.Slice:
		if v.Len() == 0 {
			return
		}
		out[path] = v.Pointer()
		for i := range v.Len() {
			references(v.Index(i), path+"["+strconv.Itoa(i)+"]", out)
		}
	case reflect.Pointer:
		if v.IsNil() {
			return
		}
		out[path] = v.Pointer()
		references(v.Elem(), path, out)
	case reflect.Struct:
		if immutable[v.Type()] {
			return
		}
		for i := range v.NumField() {
			if f := v.Type().Field(i); f.IsExported() {
				references(v.Field(i), path+"."+f.Name, out)
			}
		}
	}
}

// referenceFields lists the paths of the slices and pointers of type t
// (a slice's elements at [0]), as references names them.
func referenceFields(t reflect.Type, path string, out map[string]bool) {
	switch t.Kind() {
	case reflect.Slice:
		out[path] = true
		referenceFields(t.Elem(), path+"[0]", out)
	case reflect.Pointer:
		out[path] = true
		referenceFields(t.Elem(), path, out)
	case reflect.Struct:
		if immutable[t] {
			return
		}
		for i := range t.NumField() {
			if f := t.Field(i); f.IsExported() {
				referenceFields(f.Type, path+"."+f.Name, out)
			}
		}
	}
}

// TestLineCloneSharesNothing clones a line whose every slice and pointer is
// set and checks the clone equals it and shares none of them: a field
// added to Line that Clone does not copy fails here, once the line below
// sets it.
func TestLineCloneSharesNothing(t *testing.T) {
	eurM := func(s string) ensemble.Money { return ensemble.MustMoney(s, "EUR") }
	ref := ensemble.Ref{Kind: "k", ID: "x", Version: "1"}
	l := invoice.Line{ID: "L1", Quantity: decimal.NewFromInt(3), Amount: eurM("30"), Currency: ensemble.MustCurrency("EUR"),
		Tiers:       []catalog.Line{{Tier: 1, Quantity: decimal.NewFromInt(3), UnitAmount: eurM("10"), Subtotal: eurM("30")}},
		Proration:   &invoice.Proration{From: ensemble.RatioFromInt(0), To: ensemble.RatioFromInt(1)},
		Usage:       &invoice.UsageTrace{Meter: "api", Records: 3, Ref: ref, Late: &ref},
		Attribution: &invoice.Attribution{Attribute: "contractor", Value: "C1", Quantity: decimal.NewFromInt(10), Amount: eurM("95")},
		Discounts:   []invoice.AppliedDiscount{{ID: "d", Amount: eurM("1")}},
		Taxes:       []invoice.TaxAmount{{Name: "GST", Rate: ensemble.MustRatio("5%"), Amount: eurM("1.50")}},
		Recouped:    []invoice.AppliedDiscount{{ID: "d", Amount: eurM("1")}},
		Prepaid:     &invoice.PrepaidDraw{Commitment: "c", Covered: eurM("2"), Refund: &invoice.PrepaidRefund{Unused: eurM("1")}},
		SupplierCosts: []catalog.SupplierCost{{Component: ref, Offer: "o", Supplier: "s", Cost: eurM("5"),
			AppliesTo: catalog.AppliesTo{Scope: catalog.CostCharges, Charges: []catalog.ChargeID{"seats"}}}},
		CostsNotApplied: []catalog.SupplierCost{{Component: ref, Offer: "o", Supplier: "s",
			AppliesTo: catalog.AppliesTo{Scope: catalog.CostCharges, Charges: []catalog.ChargeID{"setup"}}}},
		CommitmentScope: &invoice.CommitmentScope{Offers: []catalog.OfferID{"o"}, Items: []invoice.ItemID{"i"}, Charges: []catalog.ChargeID{"seats"}},
		Refs:            []ensemble.Ref{ref}}
	orig := map[string]uintptr{}
	references(reflect.ValueOf(l), "Line", orig)
	want := map[string]bool{}
	referenceFields(reflect.TypeFor[invoice.Line](), "Line", want)
	for p := range want {
		_, set := orig[p]
		require.True(t, set, "the line sets %s", p)
	}
	c := l.Clone()
	require.Empty(t, cmp.Diff(l, c, cmpOpts))
	cloned := map[string]uintptr{}
	references(reflect.ValueOf(c), "Line", cloned)
	require.Len(t, cloned, len(orig))
	for p, at := range orig {
		require.NotEqual(t, at, cloned[p], "%s is shared", p)
	}
}

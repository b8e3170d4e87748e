package settlement

import (
	"testing"

	"github.com/shopspring/decimal"
	"pgregory.net/rapid"
)

// TestPropertyRatTextIsRatString: the hash of a quantity reads the text
// big.Rat's RatString writes (states keep prints made with it), which
// ratText writes without allocating whenever it can: for any coefficient
// and exponent, it writes that text or reports it cannot.
func TestPropertyRatTextIsRatString(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		coef := rapid.OneOf(rapid.Int64Range(-1_000_000, 1_000_000), rapid.Int64()).Draw(t, "coef")
		exp := rapid.Int32Range(-25, 25).Draw(t, "exp")
		d := decimal.New(coef, exp)
		got, ok := ratText(nil, d)
		if !ok {
			if d.NumDigits() <= 18 && exp >= -18 && (exp <= 0 || int(exp)+d.NumDigits() <= 18) {
				t.Fatalf("%s: fits, yet no text", d)
			}
			return
		}
		if want := d.Rat().RatString(); string(got) != want {
			t.Fatalf("%s: ratText %q, RatString %q", d, got, want)
		}
	})
}

// TestPrintFactsQuantityAllocatesNothing: a line's quantity is printed
// without allocating (big.Rat cost a line 0.5 us and 8 allocations).
func TestPrintFactsQuantityAllocatesNothing(t *testing.T) {
	l := &Line{Quantity: decimal.RequireFromString("12.50"), PeriodQuantity: decimal.New(3, 0)}
	var p factPrint
	if n := testing.AllocsPerRun(100, func() { p = printFacts(l, true, true) }); n != 0 {
		t.Fatalf("printFacts allocates %v times", n)
	}
	var h factHash
	h.str("25/2")
	h.str("3")
	var want factHash
	want.decimal(decimal.RequireFromString("12.5000"))
	want.decimal(decimal.New(30, -1))
	if h != want {
		t.Fatal("12.50 and 3 hash otherwise than their RatString")
	}
	_ = p
}

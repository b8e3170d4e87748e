package ensemble_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
)

func TestNewUnitsRefuses(t *testing.T) {
	_, err := ensemble.NewUnits(
		ensemble.Unit{Code: "GEMS", Digits: 0},
		ensemble.Unit{Code: "gems", Digits: 2},    // declared twice, case-insensitively
		ensemble.Unit{Code: "EUR", Digits: 3},     // legal tender
		ensemble.Unit{Code: "TOKENS", Digits: 19}, // too many digits
		ensemble.Unit{Code: "7UP", Digits: 0},     // starts with a digit
		ensemble.Unit{Code: "LOYALTY_POINTS", Digits: 0},
		ensemble.Unit{Code: "XAU", Digits: 3}, // not legal tender: may be declared
	)
	var ve *ensemble.ValidationError
	require.ErrorAs(t, err, &ve)
	var paths []string
	for _, p := range ve.Problems {
		paths = append(paths, p.Path)
	}
	require.Equal(t, []string{"units[1].code", "units[2].code", "units[3].digits", "units[4].code", "units[5].code"}, paths)
}

func TestUnitsCurrency(t *testing.T) {
	r := ensemble.MustUnits(ensemble.Unit{Code: "GEMS", Digits: 0}, ensemble.Unit{Code: "XAU", Digits: 3})
	tests := []struct {
		code   string
		want   string // MarshalText of the result; "" for an error
		digits int32
	}{
		{"GEMS", "GEMS:0", 0},
		{"gems", "GEMS:0", 0},
		{"GEMS:0", "GEMS:0", 0},
		{"XAU", "XAU:3", 3},
		{"EUR", "EUR", 2},
		{"GEMS:2", "", 0},   // digits differ from the declaration
		{"TOKENS", "", 0},   // not declared
		{"TOKENS:2", "", 0}, // written with digits, still not declared here
		{"XTS", "", 0},
		{"DEM", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			c, err := r.Currency(tt.code)
			if tt.want == "" {
				require.ErrorIs(t, err, ensemble.ErrUndeclaredUnit)
				var ue *ensemble.UnitError
				require.ErrorAs(t, err, &ue)
				require.Equal(t, tt.code, ue.Code)
				return
			}
			require.NoError(t, err)
			text, err := c.MarshalText()
			require.NoError(t, err)
			require.Equal(t, tt.want, string(text))
			require.Equal(t, tt.digits, c.Digits())
		})
	}
	var none *ensemble.Units
	_, err := none.Currency("GEMS")
	require.ErrorIs(t, err, ensemble.ErrUndeclaredUnit)
	c, err := none.Currency("JPY")
	require.NoError(t, err)
	require.Equal(t, jpy, c)
	require.Equal(t, []ensemble.Unit{{Code: "GEMS", Digits: 0}, {Code: "XAU", Digits: 3}}, r.Declared())
}

func TestUnitsCheck(t *testing.T) {
	r := ensemble.MustUnits(ensemble.Unit{Code: "GEMS", Digits: 0})
	require.NoError(t, r.Check(ensemble.MustCurrency("GEMS:0")))
	require.NoError(t, r.Check(eur))
	require.NoError(t, r.Check(ensemble.Currency{}))
	require.ErrorIs(t, r.Check(ensemble.MustCurrency("GEMS:2")), ensemble.ErrUndeclaredUnit)
	require.ErrorIs(t, r.Check(ensemble.MustCurrency("TOKENS:2")), ensemble.ErrUndeclaredUnit)
}

// TestDeclaredUnitMoney: a declared unit computes, allocates, prints and
// round-trips like an ISO currency, and never mixes with another unit.
func TestDeclaredUnitMoney(t *testing.T) {
	m, err := units.NewMoney("100", "GEMS")
	require.NoError(t, err)
	parts, err := ensemble.Allocate(m, shares("1", "1", "1"), ensemble.AllocateOptions{})
	require.NoError(t, err)
	require.Equal(t, []string{"34", "33", "33"}, amounts(t, parts))

	c, err := units.NewMoney("1", "CREDITS")
	require.NoError(t, err)
	require.Equal(t, "CREDITS 1.0000", c.String())
	text, _ := c.MarshalText()
	require.Equal(t, "CREDITS:4 1.0000", string(text))
	js, err := json.Marshal(c)
	require.NoError(t, err)
	require.JSONEq(t, `{"amount":"1.0000","currency":"CREDITS:4"}`, string(js))
	var back ensemble.Money
	require.NoError(t, json.Unmarshal(js, &back))
	require.True(t, back.Equal(c))

	_, err = m.Add(c)
	require.ErrorIs(t, err, ensemble.ErrCurrencyMismatch)
	_, err = m.Add(ensemble.MustMoney("1", "JPY"))
	require.ErrorIs(t, err, ensemble.ErrCurrencyMismatch, "GEMS:0 is not JPY though both have no minor digits")

	w, err := units.NewMoney("0.000000000000000001", "WEI")
	require.NoError(t, err)
	require.True(t, w.IsRounded())
	minor, err := w.MinorUnits()
	require.NoError(t, err)
	require.Equal(t, int64(1), minor)
	_, err = units.NewMoney("0.0000000000000000001", "WEI")
	require.NoError(t, err, "sub-minor precision is legal while computing")
}

func TestUnitErrorsName(t *testing.T) {
	_, err := ensemble.ParseCurrency("XAU")
	require.ErrorIs(t, err, ensemble.ErrUndeclaredUnit, "a non-tender ISO code is an undeclared unit")
	var pe *ensemble.ParseError
	require.ErrorAs(t, err, &pe)

	a, b := ensemble.MustMoney("1", "GEMS:0"), ensemble.MustMoney("1", "GEMS:2")
	_, err = a.Add(b)
	require.EqualError(t, err, "ensemble: add: currency mismatch GEMS:0 and GEMS:2")

	r := ensemble.MustUnits(ensemble.Unit{Code: "GEMS", Digits: 0})
	require.EqualError(t, r.Check(b.Currency()), `ensemble: unit "GEMS:2": declared as GEMS:0`)

	_, err = ensemble.NewUnits(ensemble.Unit{Code: "GEMS"}, ensemble.Unit{Code: "gems"})
	require.ErrorIs(t, err, ensemble.ErrDuplicateUnit)
	_, err = ensemble.Allocate(a, shares("1"), ensemble.AllocateOptions{Method: 9})
	require.ErrorContains(t, err, `allocation method "9"`)
}

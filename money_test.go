package ensemble_test

import (
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
)

var (
	eur = ensemble.MustCurrency("EUR")
	jpy = ensemble.MustCurrency("JPY")
	kwd = ensemble.MustCurrency("KWD")
	usd = ensemble.MustCurrency("USD")

	units   = ensemble.MustUnits(ensemble.Unit{Code: "GEMS", Digits: 0}, ensemble.Unit{Code: "credits", Digits: 4}, ensemble.Unit{Code: "WEI", Digits: 18})
	gems    = mustUnit("GEMS")
	credits = mustUnit("CREDITS")
	wei     = mustUnit("wei")
)

func mustUnit(code string) ensemble.Currency {
	c, err := units.Currency(code)
	if err != nil {
		panic(err)
	}
	return c
}

func TestParseCurrency(t *testing.T) {
	tests := []struct {
		code   string
		digits int32
		err    bool
	}{
		{"EUR", 2, false},
		{"eur", 2, false},
		{"JPY", 0, false},
		{"KWD", 3, false},
		{"gems:0", 0, false},
		{"CREDITS:4", 4, false},
		{"WEI_X:18", 18, false},
		{"XAU:3", 3, false},
		// Not legal tender, no minor unit, or withdrawn: refused unless declared.
		{"CLF", 0, true},
		{"XAU", 0, true},
		{"XTS", 0, true},
		{"XDR", 0, true},
		{"XUA", 0, true},
		{"DEM", 0, true},
		{"FRF", 0, true},
		{"XXX", 0, true},
		{"GEMS", 0, true},
		{"EUR:2", 0, true},
		{"GEMS:19", 0, true},
		{"GEMS:-1", 0, true},
		{"GEMS:04", 0, true},
		{"GEMS:", 0, true},
		{"G:2", 0, true},
		{"ABCDEFGHIJK:2", 0, true},
		{"1GEMS:2", 0, true},
		{"GE MS:2", 0, true},
		{"GEMS:2:2", 0, true},
		{"ABC", 0, true},
		{"EURO", 0, true},
		{"", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			c, err := ensemble.ParseCurrency(tt.code)
			if tt.err {
				var pe *ensemble.ParseError
				require.ErrorAs(t, err, &pe)
				require.True(t, c.IsZero())
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.digits, c.Digits())
			require.Equal(t, strings.ToUpper(strings.Split(tt.code, ":")[0]), c.Code())
		})
	}
}

func TestNewMoneyRejects(t *testing.T) {
	for _, amount := range []string{"", "1e5", "1.", ".5", "1,000.00", " 1", "1 ", "--1", "0x10", "NaN", "Inf", "1.2.3", "+", "12345678901234567890123456789012345678901"} {
		t.Run(amount, func(t *testing.T) {
			_, err := ensemble.NewMoney(amount, "EUR")
			var pe *ensemble.ParseError
			require.ErrorAs(t, err, &pe)
			require.Equal(t, "decimal", pe.Kind)
		})
	}
}

func TestMoneyText(t *testing.T) {
	tests := []struct {
		name string
		m    ensemble.Money
		text string
	}{
		{"minor digits added", ensemble.MustMoney("12.3", "EUR"), "EUR 12.30"},
		{"sub-minor precision kept", ensemble.MustMoney("0.00013", "EUR"), "EUR 0.00013"},
		{"trailing zeros beyond minor trimmed", ensemble.MustMoney("1.2500", "EUR"), "EUR 1.25"},
		{"zero digits", ensemble.MustMoney("5", "JPY"), "JPY 5"},
		{"three digits", ensemble.MustMoney("-1.5", "KWD"), "KWD -1.500"},
		{"zero money", ensemble.Money{}, "0"},
		{"from minor", ensemble.MoneyFromMinor(1230, eur), "EUR 12.30"},
		{"from minor negative", ensemble.MoneyFromMinor(-5, kwd), "KWD -0.005"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.text, tt.m.String())
			back, err := ensemble.ParseMoney(tt.text)
			require.NoError(t, err)
			require.True(t, back.Equal(tt.m), "%s != %s", back, tt.m)
		})
	}
}

func TestMoneyJSON(t *testing.T) {
	b, err := json.Marshal(ensemble.MustMoney("12.3", "EUR"))
	require.NoError(t, err)
	require.JSONEq(t, `{"amount":"12.30","currency":"EUR"}`, string(b))

	var m ensemble.Money
	require.NoError(t, json.Unmarshal([]byte(`{"amount":0.1,"currency":"USD"}`), &m))
	require.True(t, m.Equal(ensemble.MustMoney("0.10", "USD")))

	for _, bad := range []string{
		`{"amount":"5","currency":""}`,
		`{"amount":"5","currency":"ZZZ"}`,
		`{"amount":"1e3","currency":"EUR"}`,
		`{"amount":true,"currency":"EUR"}`,
	} {
		require.Error(t, json.Unmarshal([]byte(bad), &m), bad)
	}
}

func TestMoneyArithmetic(t *testing.T) {
	a := ensemble.MustMoney("10.10", "EUR")
	b := ensemble.MustMoney("0.205", "EUR")
	sum, err := a.Add(b)
	require.NoError(t, err)
	require.True(t, sum.Equal(ensemble.MustMoney("10.305", "EUR")))
	diff, err := a.Sub(b)
	require.NoError(t, err)
	require.True(t, diff.Equal(ensemble.MustMoney("9.895", "EUR")))
	require.True(t, a.Neg().Equal(ensemble.MustMoney("-10.10", "EUR")))
	require.True(t, a.Neg().Abs().Equal(a))
	require.True(t, a.Mul(decimal.RequireFromString("0.125")).Equal(ensemble.MustMoney("1.2625", "EUR")))
	require.True(t, ensemble.MustMoney("10.00", "EUR").MulRatio(ensemble.MustRatio("1/3"), ensemble.RoundHalfAwayFromZero).Equal(ensemble.MustMoney("3.33", "EUR")))
	c, err := a.Cmp(b)
	require.NoError(t, err)
	require.Equal(t, 1, c)
	require.Equal(t, 1, a.Sign())
	require.True(t, a.IsPositive())
	require.True(t, a.Neg().IsNegative())

	// The zero Money fits any currency.
	z, err := ensemble.Money{}.Add(a)
	require.NoError(t, err)
	require.True(t, z.Equal(a))
	require.Equal(t, eur, z.Currency())
	total, err := ensemble.Sum(a, b, ensemble.Money{})
	require.NoError(t, err)
	require.True(t, total.Equal(sum))

	// Mixing currencies is an error, never a panic.
	_, err = a.Add(ensemble.MustMoney("1", "USD"))
	var mm *ensemble.CurrencyMismatchError
	require.ErrorAs(t, err, &mm)
	require.ErrorIs(t, err, ensemble.ErrCurrencyMismatch)
	require.Equal(t, "ensemble: add: currency mismatch EUR and USD", err.Error())
	_, err = a.Cmp(ensemble.MustMoney("1", "USD"))
	require.ErrorIs(t, err, ensemble.ErrCurrencyMismatch)
	_, err = ensemble.Sum(a, ensemble.MustMoney("1", "JPY"))
	require.ErrorIs(t, err, ensemble.ErrCurrencyMismatch)
	require.False(t, ensemble.MustMoney("0", "EUR").Equal(ensemble.MustMoney("0", "USD")))
}

func TestMinorUnits(t *testing.T) {
	u, err := ensemble.MustMoney("12.3", "EUR").MinorUnits()
	require.NoError(t, err)
	require.Equal(t, int64(1230), u)
	u, err = ensemble.MustMoney("-1.005", "KWD").MinorUnits()
	require.NoError(t, err)
	require.Equal(t, int64(-1005), u)
	_, err = ensemble.MustMoney("0.001", "EUR").MinorUnits()
	require.ErrorIs(t, err, ensemble.ErrNotMinorUnits)
	_, err = ensemble.MustMoney("100000000000000000000", "EUR").MinorUnits()
	require.ErrorIs(t, err, ensemble.ErrMinorUnitsRange)
	require.NotErrorIs(t, err, ensemble.ErrNotMinorUnits)
	require.True(t, ensemble.MustMoney("1.2000", "EUR").IsRounded())
	require.False(t, ensemble.MustMoney("1.2001", "EUR").IsRounded())
}

// TestRoundingModes checks every mode at and around the .5 boundary, for
// positive and negative amounts.
func TestRoundingModes(t *testing.T) {
	inputs := []string{"2.5", "-2.5", "3.5", "-3.5", "2.51", "-2.51", "2.49", "-2.49", "2.1", "-2.1", "2", "-2", "0.5", "-0.5"}
	want := map[ensemble.RoundingMode][]string{
		ensemble.RoundHalfAwayFromZero: {"3", "-3", "4", "-4", "3", "-3", "2", "-2", "2", "-2", "2", "-2", "1", "-1"},
		ensemble.RoundHalfEven:         {"2", "-2", "4", "-4", "3", "-3", "2", "-2", "2", "-2", "2", "-2", "0", "0"},
		ensemble.RoundHalfDown:         {"2", "-2", "3", "-3", "3", "-3", "2", "-2", "2", "-2", "2", "-2", "0", "0"},
		ensemble.RoundUp:               {"3", "-3", "4", "-4", "3", "-3", "3", "-3", "3", "-3", "2", "-2", "1", "-1"},
		ensemble.RoundDown:             {"2", "-2", "3", "-3", "2", "-2", "2", "-2", "2", "-2", "2", "-2", "0", "0"},
		ensemble.RoundCeiling:          {"3", "-2", "4", "-3", "3", "-2", "3", "-2", "3", "-2", "2", "-2", "1", "0"},
		ensemble.RoundFloor:            {"2", "-3", "3", "-4", "2", "-3", "2", "-3", "2", "-3", "2", "-2", "0", "-1"},
	}
	for mode, outs := range want {
		for i, in := range inputs {
			t.Run(mode.String()+"/"+in, func(t *testing.T) {
				got := ensemble.Round(decimal.RequireFromString(in), 0, mode)
				require.True(t, got.Equal(decimal.RequireFromString(outs[i])), "got %s want %s", got, outs[i])
				// The same at a scale of 2, on a value shifted by two digits.
				shifted := decimal.RequireFromString(in).Shift(-2)
				got2 := ensemble.Round(shifted, 2, mode)
				require.True(t, got2.Equal(decimal.RequireFromString(outs[i]).Shift(-2)), "scale 2: got %s", got2)
				// Past int64 the math/big path must agree: move the value
				// away from zero by 10^21 (even, so half-even parity holds).
				offset := decimal.New(1, 21)
				if decimal.RequireFromString(in).Sign() < 0 {
					offset = offset.Neg()
				}
				got3 := ensemble.Round(decimal.RequireFromString(in).Add(offset), 0, mode)
				require.True(t, got3.Equal(decimal.RequireFromString(outs[i]).Add(offset)), "big: got %s", got3)
			})
		}
	}
}

// TestRoundBigPath checks that rounding coefficients beyond int64 agrees
// with the int64 path for every mode.
func TestRoundBigPath(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		small := rapid.Int64Range(-1_000_000_000, 1_000_000_000).Draw(t, "small")
		drop := rapid.Int32Range(1, 6).Draw(t, "drop")
		mode := ensemble.RoundingMode(rapid.IntRange(0, 6).Draw(t, "mode"))
		// A value of small×10^-drop, and the same plus 10^30 (so its
		// coefficient needs math/big); rounding must differ by exactly 10^30.
		offset := decimal.New(1, 30)
		v := decimal.New(small, -drop)
		a := ensemble.Round(v, 0, mode)
		b := ensemble.Round(v.Add(offset), 0, mode)
		if small < 0 {
			b = ensemble.Round(v.Sub(offset), 0, mode).Add(offset)
			if !b.Equal(a) {
				t.Fatalf("big path %s, int64 path %s (mode %s, v %s)", b, a, mode, v)
			}
			return
		}
		if !b.Sub(offset).Equal(a) {
			t.Fatalf("big path %s, int64 path %s (mode %s, v %s)", b.Sub(offset), a, mode, v)
		}
	})
}

func TestMoneyRound(t *testing.T) {
	m := ensemble.MustMoney("3.685", "EUR") // Kill Bill's 55 × 0.067
	require.True(t, m.Round(ensemble.RoundHalfAwayFromZero).Equal(ensemble.MustMoney("3.69", "EUR")))
	require.True(t, m.Round(ensemble.RoundHalfEven).Equal(ensemble.MustMoney("3.68", "EUR")))
	require.True(t, m.Neg().Round(ensemble.RoundHalfDown).Equal(ensemble.MustMoney("-3.68", "EUR")))
	require.True(t, ensemble.MustMoney("1234.5", "JPY").Round(ensemble.RoundHalfEven).Equal(ensemble.MustMoney("1234", "JPY")))
	require.True(t, ensemble.MustMoney("0.0005", "KWD").Round(ensemble.RoundHalfAwayFromZero).Equal(ensemble.MustMoney("0.001", "KWD")))
	require.True(t, m.RoundTo(1, ensemble.RoundFloor).Equal(ensemble.MustMoney("3.6", "EUR")))
}

func TestRoundingModeText(t *testing.T) {
	for m := ensemble.RoundHalfAwayFromZero; m <= ensemble.RoundFloor; m++ {
		b, err := m.MarshalText()
		require.NoError(t, err)
		var back ensemble.RoundingMode
		require.NoError(t, back.UnmarshalText(b))
		require.Equal(t, m, back)
	}
	_, err := ensemble.ParseRoundingMode("half_up_ish")
	require.Error(t, err)
	_, err = ensemble.RoundingMode(99).MarshalText()
	require.Error(t, err)
}

// genCurrency draws ISO currencies with 0, 2 and 3 minor digits and
// declared units with 0, 4 and 18.
func genCurrency() *rapid.Generator[ensemble.Currency] {
	return rapid.SampledFrom([]ensemble.Currency{eur, usd, jpy, kwd, gems, credits, wei})
}

// genMoney draws an amount of the currency with up to extra digits of
// precision beyond its minor unit.
func genMoney(cur ensemble.Currency, extra int32) *rapid.Generator[ensemble.Money] {
	return rapid.Custom(func(t *rapid.T) ensemble.Money {
		units := rapid.Int64Range(-1e15, 1e15).Draw(t, "units")
		digits := cur.Digits() + rapid.Int32Range(0, extra).Draw(t, "extra")
		return ensemble.MoneyFromDecimal(decimal.New(units, -digits), cur)
	})
}

func TestMoneyProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cur := genCurrency().Draw(t, "currency")
		a := genMoney(cur, 3).Draw(t, "a")
		b := genMoney(cur, 3).Draw(t, "b")
		c := genMoney(cur, 3).Draw(t, "c")

		ab, _ := a.Add(b)
		ba, _ := b.Add(a)
		require.True(t, ab.Equal(ba), "add commutes")
		abc1, _ := ab.Add(c)
		bc, _ := b.Add(c)
		abc2, _ := a.Add(bc)
		require.True(t, abc1.Equal(abc2), "add associates")
		back, _ := ab.Sub(b)
		require.True(t, back.Equal(a), "sub inverts add")
		require.True(t, a.Neg().Neg().Equal(a), "neg is an involution")
		f := decimal.New(rapid.Int64Range(-1000, 1000).Draw(t, "f"), -2)
		lhs := ab.Mul(f)
		r1, r2 := a.Mul(f), b.Mul(f)
		rhs, _ := r1.Add(r2)
		require.True(t, lhs.Equal(rhs), "mul distributes over add")

		// Round trips through JSON and text keep the value exactly.
		js, err := json.Marshal(a)
		require.NoError(t, err)
		var fromJSON ensemble.Money
		require.NoError(t, json.Unmarshal(js, &fromJSON))
		require.Empty(t, cmp.Diff(a, fromJSON), "json %s", js)
		text, err := a.MarshalText()
		require.NoError(t, err)
		fromText, err := ensemble.ParseMoney(string(text))
		require.NoError(t, err)
		require.True(t, fromText.Equal(a), "text %s", text)
		var unmarshalled ensemble.Money
		require.NoError(t, unmarshalled.UnmarshalText(text))
		require.True(t, unmarshalled.Equal(a), "text %s", text)
		// What String shows a person reads back through the registry.
		shown, err := units.ParseMoney(a.String())
		require.NoError(t, err)
		require.True(t, shown.Equal(a), "shown %s", a)

		// Rounding lands on the minor unit, within one unit, and is idempotent.
		mode := ensemble.RoundingMode(rapid.IntRange(0, 6).Draw(t, "mode"))
		r := a.Round(mode)
		require.True(t, r.IsRounded())
		require.True(t, r.Round(mode).Equal(r))
		d, _ := r.Sub(a)
		require.True(t, d.Abs().Amount().LessThan(decimal.New(1, -cur.Digits())), "rounding moved %s", d)
	})
}

func TestMoneyRejectsOtherCurrencyEverywhere(t *testing.T) {
	a, b := ensemble.MustMoney("1", "EUR"), ensemble.MustMoney("1", "USD")
	ops := map[string]func() error{
		"add": func() error { _, err := a.Add(b); return err },
		"sub": func() error { _, err := a.Sub(b); return err },
		"cmp": func() error { _, err := a.Cmp(b); return err },
	}
	for name, op := range ops {
		t.Run(name, func(t *testing.T) {
			err := op()
			require.True(t, errors.Is(err, ensemble.ErrCurrencyMismatch))
		})
	}
}

// genEdgeAmount draws decimals that stress the int64 fast paths: values near
// the int64 limits, values beyond them, and exponents far apart.
func genEdgeAmount() *rapid.Generator[decimal.Decimal] {
	return rapid.Custom(func(t *rapid.T) decimal.Decimal {
		exp := rapid.Int32Range(-20, 5).Draw(t, "exp")
		switch rapid.IntRange(0, 3).Draw(t, "kind") {
		case 0:
			return decimal.New(rapid.Int64().Draw(t, "any"), exp)
		case 1:
			edge := rapid.SampledFrom([]int64{math.MaxInt64, math.MinInt64, math.MaxInt64 - 1, math.MinInt64 + 1, 1 << 62, -(1 << 62)}).Draw(t, "edge")
			return decimal.New(edge, exp)
		case 2:
			b, _ := new(big.Int).SetString(rapid.StringMatching(`-?[1-9][0-9]{18,25}`).Draw(t, "big"), 10)
			return decimal.NewFromBigInt(b, exp)
		default:
			return decimal.New(rapid.Int64Range(-1000, 1000).Draw(t, "small"), exp)
		}
	})
}

// TestMoneyMatchesDecimal checks every Money operation against the same
// operation on shopspring decimals, across the int64 fast path, its overflow
// fallbacks and the arbitrary-precision path.
func TestMoneyMatchesDecimal(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		da, db := genEdgeAmount().Draw(t, "a"), genEdgeAmount().Draw(t, "b")
		a, b := ensemble.MoneyFromDecimal(da, eur), ensemble.MoneyFromDecimal(db, eur)
		check := func(op string, got ensemble.Money, want decimal.Decimal) {
			if !got.Amount().Equal(want) {
				t.Fatalf("%s: got %s want %s (a %s, b %s)", op, got.Amount(), want, da, db)
			}
		}
		sum, _ := a.Add(b)
		check("add", sum, da.Add(db))
		diff, _ := a.Sub(b)
		check("sub", diff, da.Sub(db))
		check("neg", a.Neg(), da.Neg())
		check("abs", a.Abs(), da.Abs())
		check("mul", a.Mul(db), da.Mul(db))
		c, _ := a.Cmp(b)
		if c != da.Cmp(db) {
			t.Fatalf("cmp: got %d want %d", c, da.Cmp(db))
		}
		if a.Sign() != da.Sign() {
			t.Fatalf("sign: got %d want %d", a.Sign(), da.Sign())
		}
		scale := rapid.Int32Range(-3, 6).Draw(t, "scale")
		mode := ensemble.RoundingMode(rapid.IntRange(0, 6).Draw(t, "mode"))
		check("round", a.RoundTo(scale, mode), ensemble.Round(da, scale, mode))
		units, err := a.MinorUnits()
		shifted := da.Shift(2)
		if shifted.IsInteger() && shifted.BigInt().IsInt64() {
			if err != nil || units != shifted.IntPart() {
				t.Fatalf("minor units of %s: got %d, %v", da, units, err)
			}
		} else if err == nil {
			t.Fatalf("minor units of %s: want an error, got %d", da, units)
		}
	})
}

func TestYAMLToJSON(t *testing.T) {
	tests := []struct {
		name, in, want string
		err            bool
	}{
		{"numbers keep their text", "a: 0.10\nb: [1, 2.50]\n", `{"a":0.10,"b":[1,2.50]}`, false},
		{"block scalar", "e: |\n  x > 1\n", `{"e":"x \u003e 1\n"}`, false},
		{"aliases expand", "a: &x [1]\nb: *x\n", `{"a":[1],"b":[1]}`, false},
		{"empty document", "", "", true},
		{"comments only", "# nothing\n", "", true},
		{"utf16 bom", "\xFF\xFEa\x00:\x00 \x001\x00", "", true},
		{"utf8 bom", "\xEF\xBB\xBFa: 1", "", true},
		{"invalid utf8", "a: \xE9", "", true},
		{"json is yaml", `{"id":"x","n":1}`, `{"id":"x","n":1}`, false},
		{"trailing flow document", `{"id":"x"} {"id":"y"}`, "", true},
		{"second document", "a: 1\n---\nb: 2\n", "", true},
		{"underscore number", "a: 1_000", "", true},
		{"hex", "a: 0x1F", "", true},
		{"infinity", "a: .inf", "", true},
		{"duplicate key", "a: 1\na: 2\n", "", true},
		{"non-string key", "? [1]\n: 2\n", "", true},
		{"merge key", "a: &x {b: 1}\nc:\n  <<: *x\n", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ensemble.YAMLToJSON([]byte(tt.in))
			if tt.err {
				require.ErrorIs(t, err, ensemble.ErrDecode)
				require.Nil(t, got)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, string(got))
		})
	}
}

func TestEnumHelpers(t *testing.T) {
	names := []string{"unspecified", "one_time", "recurring"}
	require.Equal(t, "recurring", ensemble.EnumName(uint8(2), names, "charge_type"))
	require.Equal(t, "charge_type(7)", ensemble.EnumName(uint8(7), names, "charge_type"))
	b, err := ensemble.EnumText(uint8(1), names, "catalog", "charge type")
	require.NoError(t, err)
	require.Equal(t, "one_time", string(b))
	_, err = ensemble.EnumText(uint8(9), names, "catalog", "charge type")
	require.EqualError(t, err, "catalog: unknown charge type 9")
	v, err := ensemble.ParseEnum[uint8]([]byte("recurring"), names, "catalog", "charge type")
	require.NoError(t, err)
	require.Equal(t, uint8(2), v)
	v, err = ensemble.ParseEnum[uint8](nil, names, "catalog", "charge type")
	require.NoError(t, err)
	require.Equal(t, uint8(0), v, "empty text is the zero value")
	_, err = ensemble.ParseEnum[uint8]([]byte("monthly"), names, "catalog", "charge type")
	require.EqualError(t, err, `catalog: unknown charge type "monthly"`)
}

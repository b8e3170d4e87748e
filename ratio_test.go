package ensemble_test

import (
	"encoding/json"
	"errors"
	"math/big"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
)

func TestParseRatio(t *testing.T) {
	tests := []struct {
		in, rat, str string
	}{
		{"1/3", "1/3", "1/3"},
		{"2/6", "1/3", "1/3"},
		{"-2/7", "-2/7", "-2/7"},
		{"12.5%", "1/8", "0.125"},
		{"0.125", "1/8", "0.125"},
		{"2", "2", "2"},
		{"100%", "1", "1"},
		{"0.1", "1/10", "0.1"},
		{"-0.5", "-1/2", "-0.5"},
		{"1/40", "1/40", "0.025"},
		{"0", "0", "0"},
		{"1/1099511627776", "1/1099511627776", "1/1099511627776"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, err := ensemble.ParseRatio(tt.in)
			require.NoError(t, err)
			require.Equal(t, tt.rat, r.Rat().RatString())
			require.Equal(t, tt.str, r.String())
		})
	}
	for _, bad := range []string{"", "1/0", "1/-3", "1.5/2", "1/", "/2", "a", "1e3", "%", "1//2", "0.1/3"} {
		t.Run("bad "+bad, func(t *testing.T) {
			_, err := ensemble.ParseRatio(bad)
			var pe *ensemble.ParseError
			require.ErrorAs(t, err, &pe)
		})
	}
}

func TestRatioArithmetic(t *testing.T) {
	third := ensemble.MustRatio("1/3")
	three := third.Add(third).Add(third)
	require.True(t, three.Equal(ensemble.MustRatio("1")), "three thirds are exactly one")
	require.True(t, third.Complement().Equal(ensemble.MustRatio("2/3")))
	require.True(t, third.Mul(ensemble.MustRatio("3/4")).Equal(ensemble.MustRatio("1/4")))
	require.True(t, third.Sub(ensemble.MustRatio("1/2")).Equal(ensemble.MustRatio("-1/6")))
	require.True(t, third.Neg().Equal(ensemble.MustRatio("-1/3")))
	require.Equal(t, -1, third.Cmp(ensemble.MustRatio("0.34")))
	require.True(t, ensemble.Ratio{}.IsZero())
	require.Equal(t, 0, ensemble.Ratio{}.Sign())
	require.True(t, third.Decimal(4, ensemble.RoundHalfEven).Equal(decimal.RequireFromString("0.3333")))
	require.True(t, ensemble.MustRatio("2/3").Decimal(2, ensemble.RoundDown).Equal(decimal.RequireFromString("0.66")))
	require.Equal(t, "33.3%", ensemble.MustRatio("0.333").Percent())
	require.Equal(t, "1/3", third.Percent())
	require.Equal(t, "1", third.Num().String())
	require.Equal(t, "3", third.Denom().String())
	r, err := ensemble.NewRatio(6, -4)
	require.NoError(t, err)
	require.True(t, r.Equal(ensemble.MustRatio("-3/2")))
	_, err = ensemble.NewRatio(1, 0)
	require.Error(t, err)
	require.True(t, ensemble.RatioFromDecimal(decimal.RequireFromString("0.125")).Equal(ensemble.MustRatio("1/8")))
	require.True(t, ensemble.RatioFromRat(big.NewRat(5, 10)).Equal(ensemble.MustRatio("0.5")))
}

func TestRatioJSON(t *testing.T) {
	var v struct {
		A ensemble.Ratio `json:"a"`
		B ensemble.Ratio `json:"b"`
	}
	require.NoError(t, json.Unmarshal([]byte(`{"a":"1/3","b":0.25}`), &v))
	require.True(t, v.A.Equal(ensemble.MustRatio("1/3")))
	require.True(t, v.B.Equal(ensemble.MustRatio("1/4")))
	b, err := json.Marshal(v)
	require.NoError(t, err)
	require.JSONEq(t, `{"a":"1/3","b":"0.25"}`, string(b))
	require.Error(t, json.Unmarshal([]byte(`{"a":"1/0"}`), &v))
	require.Error(t, json.Unmarshal([]byte(`{"a":1e400}`), &v))
}

func TestRatioRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		num := rapid.Int64().Draw(t, "num")
		den := rapid.Int64Range(1, 1<<62).Draw(t, "den")
		r, err := ensemble.NewRatio(num, den)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ensemble.ParseRatio(r.String())
		if err != nil || !back.Equal(r) {
			t.Fatalf("%s parsed back as %s (%v)", r, back, err)
		}
		js, _ := json.Marshal(r)
		var fromJSON ensemble.Ratio
		if err := json.Unmarshal(js, &fromJSON); err != nil || cmp.Diff(r, fromJSON) != "" {
			t.Fatalf("json %s: %v %s", js, err, cmp.Diff(r, fromJSON))
		}
		pct, err := ensemble.ParseRatio(r.Percent())
		if err != nil || !pct.Equal(r) {
			t.Fatalf("percent %s parsed back as %s (%v)", r.Percent(), pct, err)
		}
	})
}

func TestValidationError(t *testing.T) {
	var p ensemble.Problems
	require.NoError(t, p.Err("catalog"))
	p.Add(ensemble.Path("offers", 3, "charges", 1, "tiers", 2, "up_to"), errors.New("not above the previous tier"))
	p.Add("ignored", nil)
	p.Addf(ensemble.Path("offers", 4, "currency"), "unknown currency %q", "ZZZ")
	p.Add(ensemble.Path("offers", 5, "weights"), ensemble.ErrZeroWeights)
	require.Equal(t, 3, p.Len())
	err := p.Err("catalog")
	var ve *ensemble.ValidationError
	require.ErrorAs(t, err, &ve)
	require.Len(t, ve.Problems, 3)
	require.Equal(t, "offers[3].charges[1].tiers[2].up_to", ve.Problems[0].Path)
	require.ErrorIs(t, err, ensemble.ErrZeroWeights, "errors.Is looks into every problem")
	require.Equal(t, `catalog: 3 problems: offers[3].charges[1].tiers[2].up_to: not above the previous tier; offers[4].currency: unknown currency "ZZZ"; offers[5].weights: ensemble: all allocation weights are zero`, err.Error())
}

func TestRef(t *testing.T) {
	a := ensemble.Ref{Kind: "offer", ID: "cloud-backup", Version: "3"}
	b := ensemble.Ref{Kind: "offer", ID: "cloud-backup", Version: "4"}
	require.Equal(t, "offer:cloud-backup@3", a.String())
	require.Equal(t, "rule:gold", ensemble.Ref{Kind: "rule", ID: "gold"}.String())
	require.Equal(t, -1, a.Compare(b))
	require.Equal(t, 1, b.Compare(a))
	require.Equal(t, 0, a.Compare(a))
	js, err := json.Marshal(ensemble.Ref{Kind: "rule", ID: "gold"})
	require.NoError(t, err)
	require.JSONEq(t, `{"kind":"rule","id":"gold"}`, string(js))
}

package rules_test

import (
	"context"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/rules"
)

type shelf struct {
	Lines  []Line                      `json:"lines"`
	ByTier map[Tier]decimal.Decimal    `json:"by_tier"`
	ByID   map[PartnerID]string        `json:"by_id"`
	ByDay  map[int8]int                `json:"by_day"`
	Flags  map[bool]string             `json:"flags"`
	Grid   [3]decimal.Decimal          `json:"grid"`
	Nested map[string][]ensemble.Money `json:"nested"`
}

// Lists and maps the host passes are read in place, an element converted
// when a rule reads it, whatever their key and element types, and behave as
// CEL lists and maps.
func TestHostContainersReadInPlace(t *testing.T) {
	env, err := rules.NewEnv(rules.Var[shelf]("x"), rules.SizeHint("x.lines", 10), rules.SizeHint("x.by_tier", 10), rules.SizeHint("x.by_id", 10), rules.SizeHint("x.grid", 3))
	require.NoError(t, err)
	v := shelf{
		Lines:  []Line{*sampleLine(), *sampleLine()},
		ByTier: map[Tier]decimal.Decimal{TierGold: decimal.RequireFromString("0.3"), TierSilver: decimal.RequireFromString("0.2")},
		ByID:   map[PartnerID]string{"p-1": "a"},
		ByDay:  map[int8]int{-3: 9},
		Flags:  map[bool]string{true: "yes"},
		Grid:   [3]decimal.Decimal{decimal.NewFromInt(1), decimal.NewFromInt(2), decimal.NewFromInt(3)},
		Nested: map[string][]ensemble.Money{"eur": {ensemble.MustMoney("1", "EUR")}},
	}
	v.Lines[1].ID = "L2"
	cases := []struct{ name, expr string }{
		{"size and index", `x.lines.size() == 2 && x.lines[1].id == "L2"`},
		{"comprehension", `x.lines.exists(l, l.id == "L2") && x.lines.map(l, l.quantity).size() == 2`},
		{"membership", `dec(2) in x.grid && !(dec(4) in x.grid)`},
		{"equality with a literal", `x.grid == [dec(1), dec(2), dec(3)] && x.grid != [dec(1)]`},
		{"concatenation", `(x.grid + [dec(4)]).size() == 4 && ([dec(0)] + x.grid)[3] == dec(3)`},
		{"enum keys", `x.by_tier["gold"] == percent(30) && "silver" in x.by_tier && !("bronze" in x.by_tier)`},
		{"enum keys iterate as text", `x.by_tier.all(k, k in ["gold", "silver"]) && x.by_tier.size() == 2`},
		{"named string keys", `x.by_id["p-1"] == "a" && x.by_id.exists(k, k == "p-1")`},
		{"small int keys", `x.by_day[-3] == 9 && !(200 in x.by_day)`},
		{"bool keys", `x.flags[true] == "yes" && !(false in x.flags)`},
		{"map equality", `x.by_id == {"p-1": "a"} && x.by_id != {"p-1": "b"} && x.by_id != {"p-2": "a"}`},
		{"nested", `x.nested["eur"][0] == money("1", "EUR")`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := env.Compile(doc(rules.Condition, c.expr))
			require.NoError(t, err)
			f := env.NewFacts()
			require.NoError(t, f.Set("x", &v))
			got, err := r.Condition(context.Background(), f)
			require.NoError(t, err)
			require.True(t, got)
		})
	}
	t.Run("missing key", func(t *testing.T) {
		r, err := env.Compile(doc(rules.Condition, `x.by_id["nobody"] == ""`))
		require.NoError(t, err)
		f := env.NewFacts()
		require.NoError(t, f.Set("x", &v))
		_, err = r.Condition(context.Background(), f)
		require.ErrorContains(t, err, "no such key")
	})
	t.Run("index out of range", func(t *testing.T) {
		r, err := env.Compile(doc(rules.Condition, `x.lines[5].id == ""`))
		require.NoError(t, err)
		f := env.NewFacts()
		require.NoError(t, f.Set("x", &v))
		_, err = r.Condition(context.Background(), f)
		require.ErrorContains(t, err, "index out of bounds: 5")
	})
}

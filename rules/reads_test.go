package rules_test

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/rules"
)

var readCases = []struct {
	kind  rules.Kind
	expr  string
	reads []string
}{
	{rules.Condition, `line.amount > money("100", "EUR")`, []string{"line.amount"}},
	{rules.Share, `partner.tier == "gold" ? percent(30) : percent(25)`, []string{"partner.tier"}},
	// The comprehension's line is its own variable, not the fact.
	{rules.Condition, `order.lines.exists(line, line.amount.amount() > dec("10"))`, []string{"order.lines"}},
	{rules.Condition, `has(partner.parent) && partner.parent.tier == "gold"`, []string{"partner.parent"}},
	{rules.Condition, `"uplift" in partner.attributes && route.depth > 1`, []string{"partner.attributes", "route.depth"}},
	{rules.Condition, `line.tags.exists(t, t == "promo") && order.region == "eu"`, []string{"line.tags", "order.region"}},
	{rules.Condition, `size(order.flags) > order.count`, []string{"order.count", "order.flags"}},
	{rules.Amount, `line.amount * line.quantity`, []string{"line.amount", "line.quantity"}},
	{rules.Condition, `true`, nil},
}

func TestRuleReads(t *testing.T) {
	env := mustEnv()
	for _, c := range readCases {
		r, err := env.Compile(doc(c.kind, c.expr))
		require.NoError(t, err, c.expr)
		require.Equal(t, c.reads, r.Reads(), c.expr)
	}
	// A policy's reason_expression is read too.
	d := doc(rules.Policy, `route.depth < 3`)
	d.ReasonExpression = `"too deep for " + partner.type`
	r, err := env.Compile(d)
	require.NoError(t, err)
	require.Equal(t, []string{"partner.type", "route.depth"}, r.Reads())
}

// TestPropertyReadsDecideTheResult: two sets of facts that agree on every
// path a rule reads give the same result (or the same error), whatever the
// rest of the facts hold. This is what lets a consumer key a cache on
// Reads.
func TestPropertyReadsDecideTheResult(t *testing.T) {
	env := mustEnv()
	compiled := make([]*rules.Rule, len(readCases))
	for i, c := range readCases {
		r, err := env.Compile(doc(c.kind, c.expr))
		require.NoError(t, err)
		compiled[i] = r
	}
	rapid.Check(t, func(t *rapid.T) {
		r := compiled[rapid.IntRange(0, len(compiled)-1).Draw(t, "rule")]
		a, b := drawFacts(t, "a"), drawFacts(t, "b")
		// c is b with every path r reads taken from a.
		c := copyReads(a, b, r.Reads())
		ra, ea := r.Eval(context.Background(), a.facts(env))
		rc, ec := r.Eval(context.Background(), c.facts(env))
		require.Equal(t, ea == nil, ec == nil, "errors: %v / %v", ea, ec)
		require.Empty(t, cmp.Diff(ra, rc), "reads %v", r.Reads())
	})
}

type factSet struct {
	Line    Line
	Partner Partner
	Order   Order
	Route   Route
}

func (s factSet) facts(env *rules.Env) *rules.Facts {
	f := env.NewFacts()
	must(f.Set("line", &s.Line))
	must(f.Set("partner", &s.Partner))
	must(f.Set("order", &s.Order))
	must(f.Set("route", &s.Route))
	return f
}

func drawLine(t *rapid.T, name string) Line {
	return Line{
		ID:       rapid.SampledFrom([]string{"L1", "L2"}).Draw(t, name+".id"),
		Amount:   ensemble.MustMoney(rapid.SampledFrom([]string{"5", "50", "150"}).Draw(t, name+".amount"), rapid.SampledFrom([]string{"EUR", "USD"}).Draw(t, name+".currency")),
		Quantity: decimal.NewFromInt(int64(rapid.IntRange(0, 3).Draw(t, name+".qty"))),
		Tags:     rapid.SliceOfN(rapid.SampledFrom([]string{"promo", "eu"}), 0, 2).Draw(t, name+".tags"),
	}
}

func drawFacts(t *rapid.T, name string) factSet {
	s := factSet{
		Line: drawLine(t, name+".line"),
		Partner: Partner{
			Tier: Tier(rapid.IntRange(0, 2).Draw(t, name+".tier")),
			Type: rapid.SampledFrom([]string{"reseller", "referral"}).Draw(t, name+".type"),
		},
		Order: Order{
			Region: rapid.SampledFrom([]string{"eu", "us"}).Draw(t, name+".region"),
			Count:  rapid.IntRange(0, 3).Draw(t, name+".count"),
			Flags:  rapid.SliceOfN(rapid.SampledFrom([]string{"x", "y"}), 0, 3).Draw(t, name+".flags"),
		},
		Route: Route{Depth: rapid.IntRange(0, 4).Draw(t, name+".depth")},
	}
	if rapid.Bool().Draw(t, name+".attrs") {
		s.Partner.Attributes = map[string]string{"uplift": "0.05"}
	}
	if rapid.Bool().Draw(t, name+".parent") {
		s.Partner.Parent = &Partner{Tier: Tier(rapid.IntRange(0, 2).Draw(t, name+".parent.tier"))}
	}
	for i := range rapid.IntRange(0, 2).Draw(t, name+".lines") {
		s.Order.Lines = append(s.Order.Lines, drawLine(t, name+".lines"+string(rune('0'+i))))
	}
	return s
}

// copyReads returns b with the value at every path (variable and json
// field names) taken from a.
func copyReads(a, b factSet, paths []string) factSet {
	out := b
	av, ov := reflect.ValueOf(&a).Elem(), reflect.ValueOf(&out).Elem()
	for _, p := range paths {
		parts := strings.Split(p, ".")
		src := av.FieldByName(strings.ToUpper(parts[0][:1]) + parts[0][1:])
		dst := ov.FieldByName(strings.ToUpper(parts[0][:1]) + parts[0][1:])
		for _, f := range parts[1:] {
			src, dst = jsonField(src, f), jsonField(dst, f)
		}
		dst.Set(src)
	}
	return out
}

func jsonField(v reflect.Value, name string) reflect.Value {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		v = v.Elem()
	}
	for i := range v.NumField() {
		if strings.Split(v.Type().Field(i).Tag.Get("json"), ",")[0] == name {
			return v.Field(i)
		}
	}
	panic("no field " + name)
}

package rules_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/rules"
)

type withFloat struct {
	Weight float64 `json:"weight"`
}

type everything struct {
	S        string            `json:"s"`
	B        bool              `json:"b"`
	I        int               `json:"i"`
	I8       int8              `json:"i8"`
	I32      int32             `json:"i32"`
	I64      int64             `json:"i64"`
	U8       uint8             `json:"u8"`
	U16      uint16            `json:"u16"`
	U64      uint64            `json:"u64"`
	D        decimal.Decimal   `json:"d"`
	M        ensemble.Money    `json:"m"`
	T        time.Time         `json:"t"`
	Dur      time.Duration     `json:"dur"`
	Cur      ensemble.Currency `json:"cur"`
	Mode     ensemble.RoundingMode
	Tags     []string                   `json:"tags"`
	Attrs    map[string]string          `json:"attrs"`
	Amounts  []ensemble.Money           `json:"amounts"`
	Rates    map[string]decimal.Decimal `json:"rates"`
	Counts   map[int64]bool             `json:"counts"`
	Children []everythingChild          `json:"children"`
	Ptr      *everythingChild           `json:"ptr"`
	DecPtr   *decimal.Decimal           `json:"dec_ptr"`
	Raw      []byte                     `json:"raw"`
	Renamed  string                     `cel:"renamed_by_cel" json:"ignored"`
	Fn       func()                     `json:"-"`
	Any      any                        `json:"any"`
	everythingEmbedded
}

type everythingChild struct {
	Name  string          `json:"name"`
	Share decimal.Decimal `json:"share"`
}

type everythingEmbedded struct {
	Promoted string `json:"promoted"`
}

func TestStructFieldTypes(t *testing.T) {
	env, err := rules.NewEnv(rules.Var[everything]("x"), rules.SizeHint("x.tags", 10), rules.SizeHint("x.children", 10))
	require.NoError(t, err)
	v := everything{
		S: "s", B: true, I: -1, I8: -8, I32: 32, I64: 64, U8: 8, U16: 16, U64: 1 << 63,
		D: decimal.RequireFromString("1.25"), M: ensemble.MustMoney("2.50", "EUR"),
		T:   time.Date(2026, 1, 31, 12, 0, 0, 0, time.UTC),
		Dur: 90 * time.Minute, Cur: ensemble.MustCurrency("JPY"), Mode: ensemble.RoundHalfEven,
		Tags: []string{"a", "b"}, Attrs: map[string]string{"k": "v"},
		Amounts:  []ensemble.Money{ensemble.MustMoney("1", "EUR"), ensemble.MustMoney("2", "EUR")},
		Rates:    map[string]decimal.Decimal{"gold": decimal.RequireFromString("0.3")},
		Counts:   map[int64]bool{7: true},
		Children: []everythingChild{{Name: "c1", Share: decimal.RequireFromString("0.5")}},
		Raw:      []byte("hi"), Renamed: "r",
		everythingEmbedded: everythingEmbedded{Promoted: "p"},
	}
	cases := []struct {
		name string
		expr string
	}{
		{"string", `x.s == "s"`},
		{"bool", `x.b`},
		{"int", `x.i == -1 && x.i8 == -8 && x.i32 == 32 && x.i64 == 64`},
		{"small uints are ints", `x.u8 == 8 && x.u16 == 16`},
		{"uint64 is uint", `x.u64 == 9223372036854775808u`},
		{"decimal", `x.d == dec("1.25")`},
		{"money", `x.m == money("2.5", "EUR")`},
		{"timestamp", `x.t == timestamp("2026-01-31T12:00:00Z") && x.t.getDate() == 31`},
		{"duration", `x.dur == duration("90m")`},
		{"currency as text", `x.cur == "JPY"`},
		{"enum as text, no json tag uses the Go name", `x.Mode == "half_even"`},
		{"string list", `x.tags == ["a", "b"] && "b" in x.tags`},
		{"string map", `x.attrs["k"] == "v" && "k" in x.attrs`},
		{"money list", `x.amounts[0] + x.amounts[1] == money("3", "EUR")`},
		{"decimal map", `x.rates["gold"] == percent(30)`},
		{"int keyed map", `x.counts[7]`},
		{"list of structs", `x.children.exists(c, c.name == "c1" && c.share == dec("0.5"))`},
		{"nil struct pointer reads as zero", `x.ptr.name == "" && x.ptr.share == dec("0")`},
		{"nil decimal pointer reads as zero", `x.dec_ptr == dec("0")`},
		{"bytes", `x.raw == b"hi"`},
		{"cel tag renames", `x.renamed_by_cel == "r"`},
		{"promoted field", `x.promoted == "p"`},
		{"has on a set field", `has(x.s) && has(x.m) && !has(x.ptr)`},
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
			// A struct value (not a pointer) works too.
			require.NoError(t, f.Set("x", v))
			got, err = r.Condition(context.Background(), f)
			require.NoError(t, err)
			require.True(t, got)
		})
	}
}

func TestStructFieldsLeftOut(t *testing.T) {
	env, err := rules.NewEnv(rules.Var[everything]("x"))
	require.NoError(t, err)
	for _, field := range []string{"Fn", "Any", "ignored"} {
		t.Run(field, func(t *testing.T) {
			_, err := env.Compile(doc(rules.Condition, `has(x.`+field+`)`))
			var ce *rules.CompileError
			require.ErrorAs(t, err, &ce)
			require.Contains(t, ce.Error(), "undefined field")
		})
	}
}

func TestNewEnvErrors(t *testing.T) {
	cases := []struct {
		name     string
		opts     []rules.Option
		contains []string
	}{
		{"float field", []rules.Option{rules.Var[withFloat]("w")}, []string{"w.weight of Go type float64", "floats are not exact"}},
		{"float variable", []rules.Option{rules.Var[float64]("f")}, []string{"f of Go type float64"}},
		{"interface variable", []rules.Option{rules.Var[any]("a")}, []string{"a of Go type interface {}", "no CEL type"}},
		{"duplicate", []rules.Option{rules.Var[string]("a"), rules.Var[string]("a")}, []string{`variable "a" declared twice`}},
		{"bad name", []rules.Option{rules.Var[string]("a-b"), rules.Var[string]("in")}, []string{`"a-b" is not a CEL identifier`, `"in" is not a CEL identifier`}},
		{"zero limits", []rules.Option{rules.CostLimit(0), rules.MaxNesting(0)}, []string{"cost budget and cost limit must be positive", "nesting limits must be positive"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env, err := rules.NewEnv(c.opts...)
			require.Nil(t, env)
			require.Error(t, err)
			for _, s := range c.contains {
				require.Contains(t, err.Error(), s)
			}
		})
	}
	_, err := rules.NewEnv(rules.Var[withFloat]("w"))
	var ute *rules.UnsupportedTypeError
	require.ErrorAs(t, err, &ute)
	require.Equal(t, "w.weight", ute.Path)
}

func TestPrimitiveVariables(t *testing.T) {
	env, err := rules.NewEnv(
		rules.Var[string]("s"), rules.Var[decimal.Decimal]("d"), rules.Var[ensemble.Money]("m"),
		rules.Var[time.Time]("at"), rules.Var[map[string]string]("attrs"), rules.Var[[]Line]("lines"),
	)
	require.NoError(t, err)
	require.Equal(t, []string{"at", "attrs", "d", "lines", "m", "s"}, env.Variables())
	r, err := env.Compile(doc(rules.Amount, `s == "x" && d > dec("1") && at > timestamp("2020-01-01T00:00:00Z") && attrs["a"] == "b" ? m * d + lines[0].amount : m`))
	require.NoError(t, err)
	f := env.NewFacts()
	require.NoError(t, f.Set("s", "x"))
	require.NoError(t, f.Set("d", decimal.RequireFromString("2")))
	require.NoError(t, f.Set("m", ensemble.MustMoney("10", "EUR")))
	require.NoError(t, f.Set("at", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)))
	require.NoError(t, f.Set("attrs", map[string]string{"a": "b"}))
	require.NoError(t, f.Set("lines", []Line{*sampleLine()}))
	got, err := r.Amount(context.Background(), f)
	require.NoError(t, err)
	require.True(t, got.Equal(ensemble.MustMoney("170", "EUR")), "got %v", got)
}

func TestFactsErrors(t *testing.T) {
	env := mustEnv()
	f := env.NewFacts()
	require.ErrorContains(t, f.Set("nope", 1), `no variable "nope"`)
	require.ErrorContains(t, f.Set("line", "text"), `variable "line" is rules_test.Line, not string`)
	require.ErrorContains(t, f.Set("line", nil), "nil value")
	require.ErrorContains(t, f.SetJSON("line", []byte(`{"amount": 12}`)), "cannot unmarshal")
	require.ErrorContains(t, f.SetJSON("line", []byte(`{"colour": "red"}`)), "unknown field")
	require.ErrorContains(t, f.SetJSON("nope", []byte(`{}`)), `no variable "nope"`)

	// An unset variable is an evaluation error, not a panic.
	r, err := env.Compile(doc(rules.Condition, `line.amount > money("1", "EUR")`))
	require.NoError(t, err)
	_, err = r.Condition(context.Background(), env.NewFacts())
	var ee *rules.EvalError
	require.ErrorAs(t, err, &ee)
	require.Contains(t, err.Error(), "no such attribute")

	// Facts from another environment are refused.
	other := mustEnv()
	_, err = r.Condition(context.Background(), sampleFacts(other))
	require.ErrorContains(t, err, "another environment")

	// Reset clears every variable.
	f = sampleFacts(env)
	f.Reset()
	_, err = r.Condition(context.Background(), f)
	require.Error(t, err)
}

func TestVersionsKeepOldRulesRunning(t *testing.T) {
	env := mustEnv()
	for v := rules.Version1; v <= rules.LatestVersion; v++ {
		d := doc(rules.Share, `dec("0.1") + dec("0.2")`)
		d.EnvVersion = v
		r, err := env.Compile(d)
		require.NoError(t, err, "version %d", v)
		require.Equal(t, v, r.EnvVersion())
		got, err := r.Share(context.Background(), nil)
		require.NoError(t, err)
		require.True(t, got.Equal(decimal.RequireFromString("0.3")))
	}
	d := doc(rules.Share, `dec("1")`)
	d.EnvVersion = rules.LatestVersion + 1
	_, err := env.Compile(d)
	var de *rules.DocumentError
	require.ErrorAs(t, err, &de)
	require.Contains(t, err.Error(), "env_version")
}

// cancelledDuring is a context that reports no error when evaluation starts
// and is cancelled once evaluation looks at it: it exercises interruption
// inside a comprehension without timing.
type cancelledDuring struct {
	context.Context
	done  chan struct{}
	calls int
}

func (c *cancelledDuring) Done() <-chan struct{} { return c.done }

func (c *cancelledDuring) Err() error {
	c.calls++
	if c.calls == 1 {
		return nil
	}
	return context.Canceled
}

func TestContextCancellation(t *testing.T) {
	env := mustEnv(rules.CostBudget(1e9), rules.CostLimit(1e12))
	r, err := env.Compile(doc(rules.Condition, `order.flags.all(a, order.flags.all(b, a != b || a == b))`))
	require.NoError(t, err)
	f := env.NewFacts()
	flags := make([]string, 900)
	for i := range flags {
		flags[i] = "f"
	}
	require.NoError(t, f.Set("order", &Order{Flags: flags}))
	t.Run("cancelled before", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err = r.Condition(ctx, f)
		var ee *rules.EvalError
		require.ErrorAs(t, err, &ee)
		require.True(t, errors.Is(err, context.Canceled))
	})
	t.Run("cancelled during", func(t *testing.T) {
		done := make(chan struct{})
		close(done)
		_, err = r.Condition(&cancelledDuring{Context: context.Background(), done: done}, f)
		var ee *rules.EvalError
		require.ErrorAs(t, err, &ee)
		require.True(t, errors.Is(err, context.Canceled), "%v", err)
	})
}

func TestConcurrentEvaluation(t *testing.T) {
	env := mustEnv()
	share, err := env.Compile(doc(rules.Share, benchShare))
	require.NoError(t, err)
	cond, err := env.Compile(doc(rules.Condition, benchCondition))
	require.NoError(t, err)
	want, err := share.Share(context.Background(), sampleFacts(env))
	require.NoError(t, err)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f := sampleFacts(env)
			for i := 0; i < 200; i++ {
				got, err := share.Share(context.Background(), f)
				if err != nil || !got.Equal(want) {
					errs <- errors.New("share differs under concurrency")
					return
				}
				ok, err := cond.Condition(context.Background(), f)
				if err != nil || !ok {
					errs <- errors.New("condition differs under concurrency")
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

func TestKindText(t *testing.T) {
	for _, k := range []rules.Kind{rules.Condition, rules.Share, rules.Amount, rules.Policy} {
		b, err := k.MarshalText()
		require.NoError(t, err)
		var back rules.Kind
		require.NoError(t, back.UnmarshalText(b))
		require.Equal(t, k, back)
	}
	var k rules.Kind
	require.NoError(t, k.UnmarshalText(nil))
	require.Equal(t, rules.KindUnspecified, k)
	require.Error(t, k.UnmarshalText([]byte("rate")))
	_, err := rules.Kind(9).MarshalText()
	require.Error(t, err)
	require.Equal(t, "kind(9)", rules.Kind(9).String())
}

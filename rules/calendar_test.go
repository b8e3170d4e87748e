package rules_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/rules"
)

// Span is what the calendar tests read: two instants and a zone.
type Span struct {
	From time.Time `json:"from"`
	At   time.Time `json:"at"`
	Zone string    `json:"zone"`
}

func spanEnv(t testing.TB) *rules.Env {
	env, err := rules.NewEnv(rules.Var[Span]("s"))
	require.NoError(t, err)
	return env
}

// monthsOf compiles expr (an int expression) at version 3 and returns what
// it evaluates to with s, and the rule.
func monthsOf(t testing.TB, env *rules.Env, expr string, s Span) (string, *rules.Rule, error) {
	t.Helper()
	d := doc(rules.Share, "dec("+expr+")")
	d.EnvVersion = rules.Version3
	r, err := env.Compile(d)
	if err != nil {
		return "", nil, err
	}
	f := env.NewFacts()
	must(f.Set("s", &s))
	res, err := r.Eval(context.Background(), f)
	if err != nil {
		return "", r, err
	}
	return res.Decimal.String(), r, nil
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestMonthsSince: whole calendar months from one instant to another, as
// monthly billing cycles step them: month ends clamp, the wall-clock time
// counts, an instant before the start is a negative month, and the zone
// named (a literal, loaded once, or computed) decides where a month ends.
func TestMonthsSince(t *testing.T) {
	env := spanEnv(t)
	cases := []struct {
		name     string
		expr     string
		from, at string
		zone     string
		want     string
	}{
		{"the same instant", `months_since(s.from, s.at)`, "2026-01-15T00:00:00Z", "2026-01-15T00:00:00Z", "", "0"},
		{"a month on", `months_since(s.from, s.at)`, "2026-01-15T00:00:00Z", "2026-02-15T00:00:00Z", "", "1"},
		{"an instant short of a month", `months_since(s.from, s.at)`, "2026-01-15T00:00:00Z", "2026-02-14T23:59:59.999999999Z", "", "0"},
		{"January 31 to February 28", `months_since(s.from, s.at)`, "2026-01-31T00:00:00Z", "2026-02-28T00:00:00Z", "", "1"},
		{"January 31 to February 27", `months_since(s.from, s.at)`, "2026-01-31T00:00:00Z", "2026-02-27T23:00:00Z", "", "0"},
		{"January 31 to March 31", `months_since(s.from, s.at)`, "2026-01-31T00:00:00Z", "2026-03-31T00:00:00Z", "", "2"},
		{"a leap day to the next February 28", `months_since(s.from, s.at)`, "2028-02-29T00:00:00Z", "2029-02-28T00:00:00Z", "", "12"},
		{"the last instant of the first year", `months_since(s.from, s.at)`, "2026-01-15T00:00:00Z", "2027-01-14T23:59:59Z", "", "11"},
		{"the first instant of the second year", `months_since(s.from, s.at)`, "2026-01-15T00:00:00Z", "2027-01-15T00:00:00Z", "", "12"},
		{"the month before", `months_since(s.from, s.at)`, "2026-03-01T00:00:00Z", "2026-02-20T00:00:00Z", "", "-1"},
		{"an instant before", `months_since(s.from, s.at)`, "2026-03-01T00:00:00Z", "2026-02-28T23:59:59Z", "", "-1"},
		{"a year before", `months_since(s.from, s.at)`, "2026-03-01T00:00:00Z", "2025-03-01T00:00:00Z", "", "-12"},
		{"across the whole calendar", `months_since(s.from, s.at)`, "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "", "119987"},
		// Paris: March 31 at midnight is 22:00 UTC on March 30 (summer
		// time), April 30 at midnight 22:00 UTC on April 29: a month in
		// Paris, not yet one in UTC.
		{"a month in Paris", `months_since(s.from, s.at, "Europe/Paris")`, "2026-03-30T22:00:00Z", "2026-04-29T22:00:00Z", "", "1"},
		{"not yet a month in UTC", `months_since(s.from, s.at)`, "2026-03-30T22:00:00Z", "2026-04-29T22:00:00Z", "", "0"},
		{"a month in a computed zone", `months_since(s.from, s.at, s.zone)`, "2026-03-30T22:00:00Z", "2026-04-29T22:00:00Z", "Europe/Paris", "1"},
		// Winter to summer: January 15 at midnight in Paris is 23:00 UTC
		// on the 14th, July 15 at midnight 22:00 UTC on the 14th.
		{"six months in Paris", `months_since(s.from, s.at, "Europe/Paris")`, "2026-01-14T23:00:00Z", "2026-07-14T22:00:00Z", "", "6"},
		{"five in UTC", `months_since(s.from, s.at)`, "2026-01-14T23:00:00Z", "2026-07-14T22:00:00Z", "", "5"},
		{"an offset", `months_since(s.from, s.at, "+02:00")`, "2026-03-30T22:00:00Z", "2026-04-29T22:00:00Z", "", "1"},
		{"a negative offset", `months_since(s.from, s.at, "-08:00")`, "2026-01-31T08:00:00Z", "2026-02-28T08:00:00Z", "", "1"},
		{"UTC by name", `months_since(s.from, s.at, "UTC")`, "2026-03-30T22:00:00Z", "2026-04-29T22:00:00Z", "", "0"},
		{"instants in other zones", `months_since(s.from, s.at)`, "2026-01-15T01:00:00+01:00", "2026-02-15T00:00:00Z", "", "1"},
		{"folded whole", `months_since(timestamp("2026-01-31T00:00:00Z"), timestamp("2026-02-28T00:00:00Z"), "UTC")`, "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z", "", "1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, _, err := monthsOf(t, env, c.expr, Span{From: utc(c.from), At: utc(c.at), Zone: c.zone})
			require.NoError(t, err)
			require.Equal(t, c.want, got)
		})
	}
}

// TestMonthsSinceZones: a zone a rule cannot use is refused where the
// rule says it, when compiled for a literal and when evaluated for a
// computed one (rules.ErrTimeZone): the machine's own zone, none, an
// unknown name, a path, a malformed offset.
func TestMonthsSinceZones(t *testing.T) {
	env := spanEnv(t)
	for _, zone := range []string{"Local", "", "Europe/Atlantis", "/etc/localtime", "../zoneinfo/UTC", "+25:00", "+1:00", "01:00", "+01:60", "+-1:00"} {
		t.Run(fmt.Sprintf("%q", zone), func(t *testing.T) {
			_, _, err := monthsOf(t, env, fmt.Sprintf(`months_since(s.from, s.at, %q)`, zone), Span{})
			var ce *rules.CompileError
			require.ErrorAs(t, err, &ce)
			require.Equal(t, 1, ce.Issues[0].Line)
			require.Equal(t, 32, ce.Issues[0].Column) // in dec(...)
			require.Contains(t, ce.Issues[0].Message, "unknown time zone")

			_, _, err = monthsOf(t, env, `months_since(s.from, s.at, s.zone)`, Span{Zone: zone})
			var ee *rules.EvalError
			require.ErrorAs(t, err, &ee)
			require.ErrorIs(t, err, rules.ErrTimeZone)
		})
	}
}

// TestMonthsSinceVersion3: months_since is invisible to rules written for
// versions 1 and 2, whose hint names the version that has it.
func TestMonthsSinceVersion3(t *testing.T) {
	env := spanEnv(t)
	for _, v := range []rules.Version{rules.Version1, rules.Version2} {
		d := doc(rules.Condition, `months_since(s.from, s.at) < 12`)
		d.EnvVersion = v
		_, err := env.Compile(d)
		require.ErrorContains(t, err, "months_since is introduced at env_version 3")
	}
}

// TestMonthsSinceCost: months_since costs a few units, with a literal zone
// too (loaded once, when compiled); a computed zone costs its load at every
// call, as cel-go's timestamp fields in a named zone do. Every evaluation
// is charged at most the estimate.
func TestMonthsSinceCost(t *testing.T) {
	env := spanEnv(t)
	s := Span{From: utc("2026-01-31T00:00:00Z"), At: utc("2026-07-14T22:00:00Z"), Zone: "Europe/Paris"}
	estimate := func(expr string) uint64 {
		_, r, err := monthsOf(t, env, expr, s)
		require.NoError(t, err)
		f := env.NewFacts()
		must(f.Set("s", &s))
		charged, err := rules.RuntimeCost(r, f)
		require.NoError(t, err)
		require.LessOrEqual(t, charged, r.CostEstimate(), expr)
		return r.CostEstimate()
	}
	inUTC := estimate(`months_since(s.from, s.at)`)
	require.Less(t, inUTC, uint64(20))
	require.Equal(t, inUTC, estimate(`months_since(s.from, s.at, "Europe/Paris")`))
	require.Equal(t, inUTC, estimate(`months_since(s.from, s.at, "+01:00")`))
	require.Greater(t, estimate(`months_since(s.from, s.at, s.zone)`), uint64(600))
}

// TestPropertyMonthsSince: months_since(from, at, zone) is the n for which
// the monthly cycle anchored at from, n cycles on, starts at or before at
// and the next after it (ensemble.Cadence.Boundary), whether the zone is a
// literal (loaded once) or computed, for instants over a century in zones
// with and without summer time.
func TestPropertyMonthsSince(t *testing.T) {
	env := spanEnv(t)
	zones := []string{"UTC", "Europe/Paris", "America/New_York", "Australia/Lord_Howe", "+05:30"}
	literal := map[string]*rules.Rule{}
	for _, z := range zones {
		_, r, err := monthsOf(t, env, fmt.Sprintf(`months_since(s.from, s.at, %q)`, z), Span{})
		require.NoError(t, err)
		literal[z] = r
	}
	_, computed, err := monthsOf(t, env, `months_since(s.from, s.at, s.zone)`, Span{Zone: "UTC"})
	require.NoError(t, err)
	monthly := ensemble.Every(1, ensemble.Monthly)
	rapid.Check(t, func(t *rapid.T) {
		base := time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
		instant := func(label string) time.Time {
			return base.Add(time.Duration(rapid.Int64Range(0, 100*366*24*3600).Draw(t, label)) * time.Second)
		}
		s := Span{From: instant("from"), Zone: rapid.SampledFrom(zones).Draw(t, "zone")}
		if rapid.Bool().Draw(t, "near") { // within a few months, on a cycle boundary now and then
			s.At = s.From.Add(time.Duration(rapid.Int64Range(-200*24*3600, 200*24*3600).Draw(t, "offset")) * time.Second)
		} else {
			s.At = instant("at")
		}
		loc, err := time.LoadLocation(s.Zone)
		if err != nil {
			loc = time.FixedZone(s.Zone, 5*3600+1800)
		}
		f := env.NewFacts()
		must(f.Set("s", &s))
		var got []int64
		for _, r := range []*rules.Rule{literal[s.Zone], computed} {
			res, err := r.Eval(context.Background(), f)
			require.NoError(t, err)
			got = append(got, res.Decimal.IntPart())
		}
		require.Equal(t, got[0], got[1], "a literal zone and a computed one")
		n := int(got[0])
		start, err := monthly.Boundary(s.From, n, loc)
		require.NoError(t, err)
		next, err := monthly.Boundary(s.From, n+1, loc)
		require.NoError(t, err)
		require.False(t, start.After(s.At), "month %d starts at %s, after %s", n, start, s.At)
		require.True(t, next.After(s.At), "month %d starts at %s, not after %s", n+1, next, s.At)
	})
}

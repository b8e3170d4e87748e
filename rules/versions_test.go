package rules_test

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble/rules"
)

// TestVersionShadowing: the distributor-share case of the issue. Version 2
// meant to start 2026-07-01 but says 2025-07-01, so it hides version 1
// entirely and every line of 2026 would be paid at 14%, not 12%.
func TestVersionShadowing(t *testing.T) {
	env := mustEnv()
	src := `
- id: distributor-share
  version: 1
  kind: share
  env_version: 1
  effective_from: 2026-01-01T00:00:00Z
  expression: percent(12)
- id: distributor-share
  version: 2
  kind: share
  env_version: 1
  effective_from: 2025-07-01T00:00:00Z
  expression: percent(14)
`
	_, err := env.LoadRuleSet(rules.File{Name: "shares.yaml", Data: []byte(src)})
	var ve *rules.VersionError
	require.ErrorAs(t, err, &ve)
	require.ErrorIs(t, err, rules.ErrShadowedVersion)
	require.Equal(t, "distributor-share", ve.RuleID)
	require.Equal(t, 1, ve.Version.Version)
	require.Len(t, ve.By, 1)
	require.Equal(t, 2, ve.By[0].Version)
	// Placed at v2's effective_from, where the typo is.
	require.Equal(t, `rules: shares.yaml:12:19: rule "distributor-share" v1 (from 2026-01-01T00:00:00Z until forever) is never in force: v2 (from 2025-07-01T00:00:00Z until forever) hides it entirely (check effective_from and effective_until)`, err.Error())
}

func TestVersionSpans(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, d) }
	type v struct {
		from, until int // days from 2026-01-01; -1: unset
	}
	mk := func(continuous bool, vs ...v) []rules.Document {
		var docs []rules.Document
		for i, x := range vs {
			d := rules.Document{ID: "r", Version: i + 1, Kind: rules.Condition, EnvVersion: rules.Version1, Expression: "true", Continuous: continuous}
			if x.from >= 0 {
				d.EffectiveFrom = day(x.from)
			}
			if x.until >= 0 {
				d.EffectiveUntil = day(x.until)
			}
			docs = append(docs, d)
		}
		return docs
	}
	tests := []struct {
		name   string
		docs   []rules.Document
		hidden []int // versions reported as never in force
		gaps   int
	}{
		{"newer version takes over from its date", mk(false, v{0, -1}, v{30, -1}), nil, 0},
		{"two later versions each cover half", mk(false, v{10, 20}, v{5, 15}, v{15, 25}), []int{1}, 0},
		{"an always version hides everything before it", mk(false, v{0, 10}, v{-1, -1}), []int{1}, 0},
		{"a higher version that ends leaves the lower in force after", mk(false, v{0, -1}, v{-1, 30}), nil, 0},
		{"same span twice: the lower is hidden", mk(false, v{0, 10}, v{0, 10}), []int{1}, 0},
		{"gap without continuity is allowed", mk(false, v{0, 10}, v{20, -1}), nil, 0},
		{"gap with continuity is refused", mk(true, v{0, 10}, v{20, -1}), nil, 1},
		{"abutting versions have no gap", mk(true, v{0, 10}, v{10, 20}, v{20, -1}), nil, 0},
		{"two gaps", mk(true, v{0, 10}, v{11, 20}, v{25, -1}), nil, 2},
	}
	env := mustEnv()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := env.NewRuleSet(tt.docs...)
			var hidden []int
			gaps := 0
			for _, e := range flattenErrs(err) {
				var ve *rules.VersionError
				require.ErrorAs(t, e, &ve)
				if errors.Is(e, rules.ErrVersionGap) {
					gaps++
					continue
				}
				require.ErrorIs(t, e, rules.ErrShadowedVersion)
				hidden = append(hidden, ve.Version.Version)
			}
			require.Equal(t, tt.hidden, hidden)
			require.Equal(t, tt.gaps, gaps)
		})
	}
}

func flattenErrs(err error) []error {
	if err == nil {
		return nil
	}
	var le *rules.LoadError
	if errors.As(err, &le) {
		return le.Errs
	}
	return []error{err}
}

// TestPropertyVersionChecksMatchAt compares the load-time checks with
// RuleSet.At itself, asked at every day of a small calendar: a version is
// reported hidden exactly when At never returns it, and a gap is reported
// exactly when At finds nothing on a day between two versions.
func TestPropertyVersionChecksMatchAt(t *testing.T) {
	env := mustEnv()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 6).Draw(t, "versions")
		var docs []rules.Document
		for i := range n {
			d := rules.Document{ID: "r", Version: i + 1, Kind: rules.Condition, EnvVersion: rules.Version1, Expression: "true", Continuous: true}
			from := rapid.IntRange(-1, 20).Draw(t, "from"+strconv.Itoa(i))
			until := rapid.IntRange(-1, 20).Draw(t, "until"+strconv.Itoa(i))
			if from >= 0 {
				d.EffectiveFrom = base.AddDate(0, 0, from)
			}
			if until >= 0 && until > from {
				d.EffectiveUntil = base.AddDate(0, 0, until)
			}
			docs = append(docs, d)
		}
		_, err := env.NewRuleSet(docs...)
		var hidden []int
		gaps := 0
		for _, e := range flattenErrs(err) {
			var ve *rules.VersionError
			require.ErrorAs(t, e, &ve)
			if errors.Is(e, rules.ErrVersionGap) {
				gaps++
			} else {
				hidden = append(hidden, ve.Version.Version)
			}
		}
		// Each version compiled alone: the highest in force on a day is
		// the one At would return.
		plain := make([]*rules.Rule, len(docs))
		for i, d := range docs {
			r, err := env.Compile(d)
			require.NoError(t, err)
			plain[i] = r
		}
		var seen = map[int]bool{}
		empty := 0 // maximal runs of empty days between used days
		inGap, started := false, false
		for day := -1; day <= 21; day++ {
			at := base.AddDate(0, 0, day)
			found := 0
			for i := len(plain) - 1; i >= 0; i-- {
				if plain[i].InForce(at) {
					found = plain[i].Version()
					break
				}
			}
			if found > 0 {
				seen[found] = true
				if inGap {
					empty++
				}
				inGap, started = false, true
			} else if started {
				inGap = true
			}
		}
		var wantHidden []int
		for _, d := range docs {
			if !seen[d.Version] {
				wantHidden = append(wantHidden, d.Version)
			}
		}
		require.Equal(t, wantHidden, hidden)
		require.Equal(t, empty, gaps)
	})
}

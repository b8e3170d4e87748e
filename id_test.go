package ensemble_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
)

func TestCheckID(t *testing.T) {
	for _, tt := range []struct {
		name, id string
		ok       bool
	}{
		{"plain", "reseller-nl", true},
		{"unicode", "händler_ü.1", true},
		{"empty", "", false},
		{"nul", "a\x00b", false},
		{"control", "a\x1bb", false},
		{"space", "a b", false},
		{"tab", "a\tb", false},
		{"invalid utf8", "a\xffb", false},
		{"slash", "offer/charge", false},
		{"at", "offer@2", false},
		{"colon", "line:1", false},
		{"hash", "line#dispute.1", false},
		{"too long", strings.Repeat("x", ensemble.MaxIDBytes+1), false},
		{"longest", strings.Repeat("x", ensemble.MaxIDBytes), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := ensemble.CheckID(tt.id, ensemble.RefSeparators)
			if tt.ok {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ensemble.ErrInvalidID)
			var ie *ensemble.IDError
			require.ErrorAs(t, err, &ie)
			require.NotEmpty(t, ie.Reason)
		})
	}
}

// An accepted id never holds a separator, so ids joined with one split
// back into the same ids.
func TestCheckIDJoinsSplitBack(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a, b := rapid.String().Draw(t, "a"), rapid.String().Draw(t, "b")
		if ensemble.CheckID(a, ensemble.RefSeparators) != nil || ensemble.CheckID(b, ensemble.RefSeparators) != nil {
			return
		}
		for _, sep := range ensemble.RefSeparators {
			parts := strings.Split(a+string(sep)+b, string(sep))
			require.Equal(t, []string{a, b}, parts)
		}
	})
}

// A refused separator is named in the *IDError, by itself and in the
// message, with its position.
func TestCheckIDNamesTheSeparator(t *testing.T) {
	for _, tt := range []struct{ id, seps, sep string }{
		{"acme#eu", ensemble.EntrySeparators, "#"},
		{"o:1#2", ensemble.EntrySeparators, ":"},
		{"offer/charge", ensemble.RefSeparators, "/"},
		{"a b", ensemble.RefSeparators, ""},
	} {
		err := ensemble.CheckID(tt.id, tt.seps)
		var ie *ensemble.IDError
		require.ErrorAs(t, err, &ie, tt.id)
		require.Equal(t, tt.sep, ie.Separator, tt.id)
		if tt.sep != "" {
			require.Contains(t, err.Error(), `"`+tt.sep+`" at byte `+strconv.Itoa(strings.Index(tt.id, tt.sep)), tt.id)
		}
	}
	require.NoError(t, ensemble.CheckID("acme#eu", "/@"), "separators are the caller's")
	for _, sep := range ensemble.EntrySeparators {
		require.Contains(t, ensemble.RefSeparators, string(sep))
	}
}

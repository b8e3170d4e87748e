package usage_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/usage"
)

// TestRecordJSONIsStrict: a record cannot carry a second quantity, a
// case-variant key or an unknown field, whether read alone or from a stream.
func TestRecordJSONIsStrict(t *testing.T) {
	const valid = `{"id":"r1","line":"L1","meter":"calls","quantity":"5","at":"2026-03-01T00:00:00Z"}`
	var r usage.Record
	require.NoError(t, json.Unmarshal([]byte(valid), &r))
	for name, doc := range map[string]string{
		"duplicate quantity":     strings.Replace(valid, `"quantity":"5"`, `"quantity":"5","quantity":"5000"`, 1),
		"case-variant key":       strings.Replace(valid, `"quantity":"5"`, `"quantity":"5","Quantity":"5000"`, 1),
		"unknown field":          strings.Replace(valid, `"quantity":"5"`, `"quantity":"5","qty":"5000"`, 1),
		"case-variant attribute": strings.Replace(valid, `}`+"", `,"attributes":{"region":"eu","Region":"us"}}`, 1),
	} {
		t.Run(name, func(t *testing.T) {
			var r usage.Record
			require.Error(t, json.Unmarshal([]byte(doc), &r))
			n := 0
			for _, err := range usage.Decode(strings.NewReader(valid + "\n" + doc)) {
				if err != nil {
					var de *usage.DecodeError
					require.True(t, errors.As(err, &de))
					require.Equal(t, 1, de.Index)
					if name != "unknown field" {
						require.ErrorIs(t, err, ensemble.ErrDecode)
					}
					break
				}
				n++
			}
			require.Equal(t, 1, n, "the valid record before it is read")
		})
	}
}

// TestRecordIDsAreChecked: a record whose id ensemble.CheckID refuses is
// rejected, never aggregated.
func TestRecordIDsAreChecked(t *testing.T) {
	for _, id := range []string{"a\x00b", "u 1", "caf\xe9", strings.Repeat("x", 300)} {
		rep, err := usage.Collect(testConfig(), slices.Values([]usage.Record{rec(id, "L1", "gpu", "2", "2026-01-05T00:00:00Z")}))
		require.NoError(t, err)
		require.Empty(t, rep.Aggregates, "%q aggregated", id)
		require.Len(t, rep.Rejections, 1, "%q", id)
	}
}

package usage_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/ensemble-commerce/ensemble/usage"
	"github.com/stretchr/testify/require"
)

// FuzzRecordJSON decodes arbitrary bytes as a usage record, and as a
// stream of records with Decode. Decoding never panics; a record that
// decodes re-encodes to a record with the same id and content, and
// aggregates without panicking, as a duplicate of itself the second time.
// Decode agrees with json.Unmarshal on a single object.
func FuzzRecordJSON(f *testing.F) {
	for _, seed := range []string{
		`{"id":"r1","line":"L1","meter":"gpu","quantity":"1.50","at":"2026-01-02T00:00:00Z","attributes":{"user":"ann"}}`,
		`{"id":"r2","line":"L2","meter":"level","quantity":-0.25,"at":"2026-03-14T23:00:00+01:00"}`,
		`{"id":"r3","line":"L1","meter":"users","quantity":null,"at":"2026-01-02T00:00:00Z","attributes":{}}`,
		`{"id":"","quantity":"1e5"}`,
		`{"quantity":"99999999999999999999999999999999999999.9"}`,
		`[]`,
		`[{"id":"a","quantity":1},{"id":"b"}]`,
		"{\"id\":\"a\"}\n{\"id\":\"b\",\"quantity\":\"2\"}\n",
	} {
		f.Add([]byte(seed))
	}
	cfg := testConfig()
	f.Fuzz(func(t *testing.T, data []byte) {
		var first *usage.Record
		for r, err := range usage.Decode(bytes.NewReader(data)) {
			if err != nil {
				var de *usage.DecodeError
				require.ErrorAs(t, err, &de)
				break
			}
			if first == nil {
				first = &r
			}
			b, err := json.Marshal(r)
			require.NoError(t, err)
			var back usage.Record
			require.NoError(t, json.Unmarshal(b, &back), "%s", b)
			require.True(t, back.SameContent(r), "%s", b)
		}
		var r usage.Record
		if err := json.Unmarshal(data, &r); err != nil {
			return
		}
		if trimmed := bytes.TrimSpace(data); len(trimmed) > 0 && trimmed[0] == '{' {
			require.NotNil(t, first, "Decode lost the record json.Unmarshal reads")
			require.Equal(t, r.ID, first.ID)
			require.True(t, first.SameContent(r))
		}
		b, err := json.Marshal(r)
		require.NoError(t, err)
		var back usage.Record
		require.NoError(t, json.Unmarshal(b, &back), "%s", b)
		require.Equal(t, r.ID, back.ID)
		require.True(t, back.SameContent(r), "%s", b)

		a, err := usage.New(cfg)
		require.NoError(t, err)
		a.AddRecord(r)
		a.AddRecord(back)
		rep := a.Report()
		require.Equal(t, int64(2), rep.Stats.Read)
		if r.ID != "" {
			require.Equal(t, int64(1), rep.Stats.Duplicates)
			require.Empty(t, rep.Conflicts)
		}
	})
}

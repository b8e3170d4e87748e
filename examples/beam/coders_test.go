package main

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// throughCoder encodes v with the coder Beam picks for its type and
// decodes it back, as every stage boundary of the pipeline does.
func throughCoder[T any](t *testing.T, v T) T {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, beam.NewElementEncoder(reflect.TypeFor[T]()).Encode(v, &buf))
	got, err := beam.NewElementDecoder(reflect.TypeFor[T]()).Decode(&buf)
	require.NoError(t, err)
	return got.(T)
}

// requireSameJSON requires got to write the JSON want writes.
func requireSameJSON(t *testing.T, want, got any) {
	t.Helper()
	w, err := json.Marshal(want)
	require.NoError(t, err)
	g, err := json.Marshal(got)
	require.NoError(t, err)
	require.Equal(t, string(w), string(g))
}

// TestCodersKeepAmounts: a line, its entries, its statement and its State
// cross Beam's coders with every amount intact.
func TestCodersKeepAmounts(t *testing.T) {
	settler, err := newSettler(plansYAML, networkYAML())
	require.NoError(t, err)
	line := generateMonth(1)[0]
	res, err := settler.Settle(context.Background(), settlement.State{}, []settlement.Line{line})
	require.NoError(t, err)
	sts, err := settlement.Statements(res.Entries, settlement.StatementOptions{Period: ensemble.MustPeriod(monthStart, monthEnd)})
	require.NoError(t, err)
	require.False(t, line.Amount.IsZero())

	gotLine := throughCoder(t, line)
	require.True(t, gotLine.Amount.Equal(line.Amount), "line amount %s, sent %s", gotLine.Amount, line.Amount)
	requireSameJSON(t, line, gotLine)
	for _, e := range res.Entries {
		got := throughCoder(t, e)
		require.False(t, e.Amount.IsZero(), "entry %s", e.ID)
		require.True(t, got.Amount.Equal(e.Amount), "entry %s amount %s, sent %s", e.ID, got.Amount, e.Amount)
		requireSameJSON(t, e, got)
	}
	for _, st := range sts {
		got := throughCoder(t, st)
		require.True(t, got.Closing.Equal(st.Closing), "%s closing %s, sent %s", st.Party, got.Closing, st.Closing)
		requireSameJSON(t, st, got)
	}
	requireSameJSON(t, res.State, throughCoder(t, res.State))
	require.Equal(t, 1, throughCoder(t, ShardState{Shard: "s001", State: res.State}).State.Len())
}

// bareLine is settlement.Line without its coder: the type Beam would see
// if the example did not register one.
type bareLine settlement.Line

// TestDefaultCoderZeroesMoney shows why the coders are registered: Beam's
// default coder for a struct without one keeps the exported fields it can
// see, and Money has none, so the amount arrives as zero with no error.
// The day Beam keeps it, this test fails and the note in coders.go can go.
func TestDefaultCoderZeroesMoney(t *testing.T) {
	line := generateMonth(1)[0]
	got := throughCoder(t, bareLine(line))
	require.Equal(t, line.ID, got.ID, "the other fields cross")
	require.False(t, line.Amount.IsZero())
	require.True(t, got.Amount.IsZero(), "the default coder kept the amount %s", got.Amount)
}

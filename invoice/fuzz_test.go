package invoice_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/ensemble-commerce/ensemble"

	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/stretchr/testify/require"
)

// FuzzDecodeAndBuild decodes an invoice input from JSON and builds it:
// nothing panics, a decoded input re-encodes to what decodes the same, and
// every invoice built reconciles.
func FuzzDecodeAndBuild(f *testing.F) {
	run, subs := benchInput(2)
	seed, err := json.Marshal(invoice.Input{Run: run, Subscriptions: subs})
	require.NoError(f, err)
	f.Add(seed)
	ex, err := json.Marshal(invoice.Input{Run: invoice.Run{At: date(2026, 4, 1)}, Subscriptions: []invoice.Subscription{exampleSubscription()}})
	require.NoError(f, err)
	f.Add(ex)
	f.Add([]byte(`{"run":{"at":"2026-04-01T00:00:00Z"},"subscriptions":[{"id":"s","customer":{"id":"c"},"currency":"EUR","anchor":"2026-01-31T00:00:00Z","items":[{"id":"i","segments":[{"start":"2026-01-31T00:00:00Z","pin":{"offer":"basic","version":1},"quantity":"1e41"}]}]}]}`))
	// A back-dated change caught up against what two runs billed.
	bb := builder(f, invoice.Options{})
	var billed []invoice.Line
	for _, r := range []invoice.Run{{At: date(2026, 2, 1)}, {After: date(2026, 2, 1), At: date(2026, 3, 1)}} {
		invs, err := bb.Build(r, []invoice.Subscription{seatsAt(time.Time{}, time.Time{}, "")})
		require.NoError(f, err)
		billed = append(billed, invs[0].Lines...)
	}
	late, err := json.Marshal(invoice.Input{Run: invoice.Run{After: date(2026, 3, 1), At: date(2026, 4, 1), Billed: billed},
		Subscriptions: []invoice.Subscription{seatsAt(date(2026, 2, 20), date(2026, 3, 5), "12")}})
	require.NoError(f, err)
	f.Add(late)
	f.Add([]byte(`{"run":{}}`))
	f.Add([]byte(`[]`))
	b := builder(f, invoice.Options{Taxes: taxes})
	f.Fuzz(func(t *testing.T, data []byte) {
		in, err := invoice.DecodeInput(data)
		if err != nil {
			require.ErrorIs(t, err, invoice.ErrDecode)
			var de *ensemble.DecodeError
			var ve *ensemble.ValidationError
			if !errors.As(err, &de) && !errors.As(err, &ve) {
				t.Fatalf("untyped error %T: %v", err, err)
			}
			return
		}
		again, err := json.Marshal(in)
		require.NoError(t, err)
		in2, err := invoice.DecodeInput(again)
		require.NoError(t, err)
		again2, err := json.Marshal(in2)
		require.NoError(t, err)
		require.Equal(t, string(again), string(again2))
		invs, err := b.Build(in.Run, in.Subscriptions)
		if err != nil {
			require.Nil(t, invs)
			return
		}
		for _, inv := range invs {
			require.NoError(t, inv.Check())
			_ = invoice.Explain(inv.Lines[0])
		}
	})
}

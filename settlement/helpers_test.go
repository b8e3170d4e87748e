package settlement_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/rules"
	"github.com/ensemble-commerce/ensemble/settlement"
)

var ctx = context.Background()

func date(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func eur(s string) ensemble.Money { return ensemble.MustMoney(s, "EUR") }

func loadNetwork(t testing.TB) *partner.Network {
	t.Helper()
	data, err := os.ReadFile("testdata/network.yaml")
	require.NoError(t, err)
	net, err := partner.LoadNetwork(data)
	require.NoError(t, err)
	return net
}

func loadRules(t testing.TB, extra ...string) *rules.RuleSet {
	t.Helper()
	data, err := os.ReadFile("testdata/rules.yaml")
	require.NoError(t, err)
	// Rules without comprehensions run without the runtime cost tracker,
	// as every settler ran them before it used the host's rule set as
	// compiled (TestNewUsesHostRules covers the tracked path).
	env, err := settlement.Env(rules.TrustBounded(true))
	require.NoError(t, err)
	files := []rules.File{{Name: "rules.yaml", Data: data}}
	for i, x := range extra {
		files = append(files, rules.File{Name: "extra" + string(rune('a'+i)) + ".yaml", Data: []byte(x)})
	}
	rs, err := env.LoadRuleSet(files...)
	require.NoError(t, err)
	return rs
}

func loadPlans(t testing.TB) []settlement.PlanDocument {
	t.Helper()
	data, err := os.ReadFile("testdata/plans.yaml")
	require.NoError(t, err)
	plans, err := settlement.ParsePlans(data)
	require.NoError(t, err)
	return plans
}

func newSettler(t testing.TB) *settlement.Settler {
	t.Helper()
	s, err := settlement.New(settlement.Config{Plans: loadPlans(t), Rules: loadRules(t), Network: loadNetwork(t)})
	require.NoError(t, err)
	return s
}

// planSettler builds a settler from one YAML plan document.
func planSettler(t testing.TB, yaml string, net *partner.Network, extraRules ...string) *settlement.Settler {
	t.Helper()
	plans, err := settlement.ParsePlans([]byte(yaml))
	require.NoError(t, err)
	s, err := settlement.New(settlement.Config{Plans: plans, Rules: loadRules(t, extraRules...), Network: net})
	require.NoError(t, err)
	return s
}

func chainLine(id string, amount string, day string) settlement.Line {
	return settlement.Line{
		ID: settlement.LineID(id), Date: date(day), Amount: eur(amount), Tax: eur("0"),
		Offer: catalog.Pin{Offer: "cloud-backup", Version: 1}, Charge: "seat",
		Customer: settlement.Customer{ID: "cust-1", Country: "NL"},
		Route: partner.Route{Kind: partner.RoutePartner, Seller: "sub-utrecht", Chain: []partner.ID{"sub-utrecht", "reseller-nl", "distri-eu"},
			Referrer: "referral-ams"},
		Trace: []ensemble.Ref{{Kind: "invoice_line", ID: "INV-1/" + id}},
	}
}

// byParty sums entries of the given kinds by party.
func byParty(entries []settlement.Entry, kinds ...settlement.EntryKind) map[partner.ID]ensemble.Money {
	out := map[partner.ID]ensemble.Money{}
	for _, e := range entries {
		ok := len(kinds) == 0
		for _, k := range kinds {
			ok = ok || e.Kind == k
		}
		if !ok {
			continue
		}
		s, err := out[e.Party].Add(e.Amount)
		if err != nil {
			panic(err)
		}
		out[e.Party] = s
	}
	return out
}

func sumEntries(entries []settlement.Entry, kinds ...settlement.EntryKind) ensemble.Money {
	var total ensemble.Money
	for _, m := range byParty(entries, kinds...) {
		s, err := total.Add(m)
		if err != nil {
			panic(err)
		}
		total = s
	}
	return total
}

func requireMoney(t require.TestingT, got, want ensemble.Money, msgAndArgs ...any) {
	if h, ok := t.(interface{ Helper() }); ok {
		h.Helper()
	}
	require.Truef(t, got.Equal(want), "got %s, want %s %v", got, want, msgAndArgs)
}

// cmpOpts lets cmp.Diff compare currencies, which are comparable values
// with unexported fields.
var cmpOpts = []cmp.Option{cmp.Comparer(func(a, b ensemble.Currency) bool { return a == b })}

func mustUSD(s string) ensemble.Money { return ensemble.MustMoney(s, "USD") }

// versionedState reads testdata/state-v<n>.bin, a state written by version
// n of the binary form, requires it reads as the JSON written with it
// (testdata/state-v<n>.json), and returns it.
func versionedState(t *testing.T, n int) settlement.State {
	t.Helper()
	blob, err := os.ReadFile(fmt.Sprintf("testdata/state-v%d.bin", n))
	require.NoError(t, err)
	require.Equal(t, byte(n), blob[1], "a version-%d blob", n)
	js, err := os.ReadFile(fmt.Sprintf("testdata/state-v%d.json", n))
	require.NoError(t, err)
	var fromBin, fromJSON settlement.State
	require.NoError(t, fromBin.UnmarshalBinary(blob))
	require.NoError(t, json.Unmarshal(js, &fromJSON))
	require.JSONEq(t, string(mustJSON(t, fromJSON)), string(mustJSON(t, fromBin)))
	return fromBin
}

// payableNothingAwaiting requires that no party awaits anything in
// entries' statements, and returns what is payable in all.
func payableNothingAwaiting(t *testing.T, entries []settlement.Entry) string {
	t.Helper()
	var payable ensemble.Money
	for _, x := range statementsOf(t, entries) {
		require.True(t, x.Awaiting.IsZero(), "%s awaits %s", x.Party, x.Awaiting)
		var err error
		payable, err = payable.Add(x.Payable)
		require.NoError(t, err)
	}
	return payable.AmountString()
}

package settlement_test

// Hole 2 of issue 18: entry ids unique by construction.

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// requireUniqueIDs fails when two entries share an id.
func requireUniqueIDs(t require.TestingT, entries []settlement.Entry) {
	seen := map[settlement.EntryID]int{}
	for i, e := range entries {
		if j, dup := seen[e.ID]; dup {
			require.Failf(t, "duplicate entry id", "%q is entries[%d] and entries[%d]", e.ID, j, i)
		}
		seen[e.ID] = i
	}
}

// requireInvalidAt requires err to refuse line id as invalid, with a
// problem at path.
func requireInvalidAt(t *testing.T, err error, id settlement.LineID, path string) {
	t.Helper()
	require.ErrorIs(t, err, settlement.ErrInvalidLine)
	var le *settlement.LineError
	require.ErrorAs(t, err, &le)
	require.Equal(t, id, le.Line)
	var ve *ensemble.ValidationError
	require.ErrorAs(t, err, &ve)
	var paths []string
	for _, p := range ve.Problems {
		paths = append(paths, p.Path)
	}
	require.Contains(t, paths, path)
}

// Hole: a co-seller listed twice wrote two entries with one id.
func TestEntryIDsCoSellerListedTwice(t *testing.T) {
	s := planSettler(t, `{id: co, version: 1, root: {id: root, children: [
  {id: platform, party: platform, share: "10%"}, {id: co, party: co_sellers, share: remaining, fallback: platform}]}}`, loadNetwork(t))
	l := chainLine("L1", "100.00", "2026-03-01")
	l.Route = partner.Route{Kind: partner.RouteCoSell, Seller: "reseller-nl", SellerWeight: ensemble.MustRatio("1/2"), Chain: []partner.ID{"reseller-nl"},
		CoSellers: []partner.CoSeller{{Partner: "distri-eu", Weight: ensemble.MustRatio("1/4")}, {Partner: "sub-utrecht", Weight: ensemble.MustRatio("0")},
			{Partner: "distri-eu", Weight: ensemble.MustRatio("1/4")}}}
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{l})
	requireUniqueIDs(t, res.Entries)
	requireInvalidAt(t, err, "L1", "route.co_sellers[2].partner")
}

// Hole: a route naming the same partner twice in its chain wrote two
// entries with one id under chain[*]. A party appears once on a route
// (DESIGN.md), so the line is refused.
func TestEntryIDsChainPartnerListedTwice(t *testing.T) {
	s := planSettler(t, `{id: all, version: 1, root: {id: root, party: "chain[*]"}}`, loadNetwork(t))
	l := chainLine("L1", "100.00", "2026-03-01")
	l.Route.Seller, l.Route.Chain = "reseller-nl", []partner.ID{"reseller-nl", "distri-eu", "reseller-nl"}
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{l})
	requireUniqueIDs(t, res.Entries)
	requireInvalidAt(t, err, "L1", "route.chain[2]")
}

// Hole: a root node named supplier_costs gave a leaf the id of a bundle
// component's supplier cost. The root id is reserved and refused at load.
func TestEntryIDsRootNamedSupplierCosts(t *testing.T) {
	plans, err := settlement.ParsePlans([]byte(`{id: p, version: 1, root: {id: supplier_costs, children: [
  {id: suite, share: remaining, children: [{id: c0, share: remaining, children: [{id: supplier-backup, party: platform, share: remaining}]}]}]}}`))
	require.NoError(t, err)
	s, err := settlement.New(settlement.Config{Plans: plans, Network: loadNetwork(t)})
	if err == nil {
		l := chainLine("L1", "100.00", "2026-03-01")
		l.SupplierCosts = []catalog.SupplierCost{{Supplier: "supplier-backup", Offer: "backup",
			Component: ensemble.Ref{Kind: catalog.RefComponent, ID: "suite/c0/supplier-backup", Version: "1"}, Cost: eur("10.00")}}
		res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{l})
		require.NoError(t, err)
		requireUniqueIDs(t, res.Entries)
		t.Fatal("a root named supplier_costs loads")
	}
	var ve *ensemble.ValidationError
	require.ErrorAs(t, err, &ve)
	require.Equal(t, "plans[0].root.id", ve.Problems[0].Path)
	require.Contains(t, err.Error(), "reserved")
}

// Hole: a credit line id of the form <line>#dispute.<n> took the ids of a
// lost dispute's clawbacks. Line ids refuse '#' (ensemble.CheckID), so the
// credit is refused before it settles.
func TestEntryIDsCreditLineNamedLikeADispute(t *testing.T) {
	s := newSettler(t)
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{chainLine("L1", "100.00", "2026-03-01")})
	require.NoError(t, err)
	all := res.Entries
	held, err := s.Dispute(res.State, "L1", date("2026-03-02"))
	require.NoError(t, err)
	lost, err := s.ResolveDispute(held.State, "L1", false, date("2026-03-03"))
	require.NoError(t, err)
	all = append(all, append(held.Entries, lost.Entries...)...)
	again, err := s.Settle(ctx, lost.State, []settlement.Line{credit("L1#dispute.1", "L1", "-1.00", "2026-03-04")})
	requireUniqueIDs(t, append(all, again.Entries...))
	requireInvalidAt(t, err, "L1#dispute.1", "id")
}

// Hole: entry ids of lines named "adjustment" or "payout" took the ids of
// manual adjustments and payouts. Those two line ids are reserved.
func TestEntryIDsLineNamedLikeAnAdjustmentOrPayout(t *testing.T) {
	s := planSettler(t, `{id: p, version: 1, root: {id: fix, party: platform}}`, nil)
	for _, id := range []settlement.LineID{"adjustment", "payout"} {
		t.Run(string(id), func(t *testing.T) {
			l := chainLine(string(id), "100.00", "2026-03-01")
			res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{l})
			adj, aerr := settlement.Adjust(settlement.Adjustment{ID: "fix", Party: "platform", Amount: eur("1.00"), Date: date("2026-03-02"),
				Reason: "r", Approver: "a"})
			require.NoError(t, aerr)
			pay, perr := settlement.PayOut(settlement.Statement{Party: "platform", Currency: ensemble.MustCurrency("EUR"),
				Period: ensemble.MustPeriod(date("2026-03-01"), date("2026-04-01")), Earned: eur("1.00"), Closing: eur("1.00"), Payable: eur("1.00")},
				settlement.Payout{ID: "fix", Date: date("2026-04-01")})
			require.NoError(t, perr)
			requireUniqueIDs(t, append(res.Entries, adj, pay))
			requireInvalidAt(t, err, id, "id")
		})
	}
}

// Hole: a party or supplier cost whose id holds '#' gave an earning the id
// of another part's hold, reserve or release, written by a later call.
// '#' starts an entry id's suffix and appears nowhere before it.
func TestEntryIDsPartHoldingSuffixSeparator(t *testing.T) {
	s := planSettler(t, `{id: all, version: 1, root: {id: root, party: "chain[*]"}}`, nil)
	t.Run("chain", func(t *testing.T) {
		l := chainLine("L1", "100.00", "2026-03-01")
		l.Route.Seller, l.Route.Chain = "x", []partner.ID{"x", "x#hold.1"}
		res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{l})
		if err == nil {
			held, derr := s.Dispute(res.State, "L1", date("2026-03-02"))
			require.NoError(t, derr)
			requireUniqueIDs(t, append(res.Entries, held.Entries...))
		}
		requireInvalidAt(t, err, "L1", "route.chain[1]")
	})
	t.Run("co-seller", func(t *testing.T) {
		l := chainLine("L1", "100.00", "2026-03-01")
		l.Route = partner.Route{Kind: partner.RouteCoSell, Seller: "x", Chain: []partner.ID{"x"},
			CoSellers: []partner.CoSeller{{Partner: "x#hold.1", Weight: ensemble.MustRatio("1")}}}
		_, err := s.Settle(ctx, settlement.State{}, []settlement.Line{l})
		requireInvalidAt(t, err, "L1", "route.co_sellers[0].partner")
	})
	t.Run("supplier cost", func(t *testing.T) {
		l := chainLine("L1", "100.00", "2026-03-01")
		l.SupplierCosts = []catalog.SupplierCost{
			{Supplier: "s", Offer: "o", Component: ensemble.Ref{Kind: catalog.RefComponent, ID: "b/o/s", Version: "1"}, Cost: eur("1.00")},
			{Supplier: "s", Offer: "o", Component: ensemble.Ref{Kind: catalog.RefComponent, ID: "b/o/s#hold.1", Version: "1"}, Cost: eur("1.00")},
		}
		_, err := s.Settle(ctx, settlement.State{}, []settlement.Line{l})
		requireInvalidAt(t, err, "L1", "supplier_costs[1].component.id")
	})
}

// The settler refuses any entry id it would emit twice: a host-built line
// listing one bundle component's cost twice (a catalog never does).
func TestSettlerRefusesDuplicateEntryID(t *testing.T) {
	s := newSettler(t)
	l := chainLine("L1", "100.00", "2026-03-01")
	c := catalog.SupplierCost{Supplier: "supplier-backup", Offer: "backup",
		Component: ensemble.Ref{Kind: catalog.RefComponent, ID: "secure-backup/backup/supplier-backup", Version: "1"}, Cost: eur("10.00")}
	l.SupplierCosts = []catalog.SupplierCost{c, c}
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{l})
	requireUniqueIDs(t, res.Entries)
	require.ErrorIs(t, err, settlement.ErrDuplicateEntry)
	var le *settlement.LineError
	require.ErrorAs(t, err, &le)
	require.Equal(t, settlement.LineID("L1"), le.Line)
	var de *settlement.DuplicateEntryError
	require.ErrorAs(t, err, &de)
	require.Equal(t, settlement.EntryID("L1:supplier_costs/secure-backup/backup/supplier-backup"), de.ID)
}

// A persisted state is held to the same id rules: a line named like
// adjustments or payouts, a part whose id holds '#', an earning under the
// supplier costs' root.
func TestStateDecodeRefusesIDsThatCouldCollide(t *testing.T) {
	valid := ledgerState(t)
	for _, tt := range []struct {
		name    string
		corrupt func(d stateDoc)
		path    string
		want    string
	}{
		{"a line named payout", func(d stateDoc) { d.line("L3")["line"] = "payout" }, "lines[2].line", `"payout" is reserved`},
		{"a credit named adjustment", func(d stateDoc) { d["credits"].([]any)[0].(map[string]any)["line"] = "adjustment" }, "credits[0].line", `"adjustment" is reserved`},
		{"a party holding '#'", func(d stateDoc) {
			p := d.part("L1", map[string]any{"role": "chain[*]"})
			p["party"] = p["party"].(string) + "#hold.1"
			p["entry"] = "L1:" + p["node"].(string) + "/" + p["party"].(string)
		}, ".entry", "holds '#'"},
		{"an earning under supplier_costs", func(d stateDoc) {
			p := d.part("L1", map[string]any{"role": "seller"})
			p["node"], p["entry"] = "supplier_costs/x", "L1:supplier_costs/x"
		}, ".node", "under supplier_costs"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var d stateDoc
			require.NoError(t, json.Unmarshal(valid, &d))
			tt.corrupt(d)
			bad, err := json.Marshal(d)
			require.NoError(t, err)
			var st settlement.State
			err = json.Unmarshal(bad, &st)
			require.ErrorIs(t, err, settlement.ErrCorruptState)
			var ve *ensemble.ValidationError
			require.ErrorAs(t, err, &ve)
			found := false
			for _, p := range ve.Problems {
				found = found || strings.HasSuffix(p.Path, tt.path) && strings.Contains(p.Error(), tt.want)
			}
			require.True(t, found, "want %q at %s: %v", tt.want, tt.path, err)
		})
	}
}

// Hole: a credit-note line's id, composed by package invoice of the
// invoice's, the request's and the credited line's ids, was refused at
// settlement once it passed ensemble.MaxIDBytes, after the customer had
// the note. Line ids have their own bound, ensemble.MaxLineIDBytes; a
// line, its credit and a State holding them settle and read back, and a
// longer id is refused.
func TestEntryIDsLongLineIDsSettle(t *testing.T) {
	s := planSettler(t, `{id: p, version: 1, root: {id: fix, party: platform}}`, nil)
	sale := settlement.LineID(strings.Repeat("s", 600))
	refund := settlement.LineID(strings.Repeat("r", ensemble.MaxLineIDBytes))
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{chainLine(string(sale), "100.00", "2026-03-01")})
	require.NoError(t, err)
	st := requireStateRoundTrips(t, res.State, nil)
	back, err := s.Settle(ctx, st, []settlement.Line{credit(string(refund), string(sale), "-40.00", "2026-03-02")})
	require.NoError(t, err)
	require.Len(t, back.Entries, 1)
	requireMoney(t, back.Entries[0].Amount, eur("-40.00"))
	requireStateRoundTrips(t, back.State, nil)

	_, err = s.Settle(ctx, back.State, []settlement.Line{credit(string(refund)+"x", string(sale), "-1.00", "2026-03-03")})
	requireInvalidAt(t, err, refund+"x", "id")
	require.ErrorIs(t, err, ensemble.ErrInvalidID)
}

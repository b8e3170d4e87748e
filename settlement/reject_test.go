package settlement_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// TestSettleWhatYouCanTakesBackARejectedLineWhole: L2 reads the volume L1
// added, then overflows it: it is rejected with the error Settle returns,
// and leaves nothing (no entry, ledger line, volume or point), so L3 reads
// L1's volume alone and the result is Settle's without L2, byte for byte.
func TestSettleWhatYouCanTakesBackARejectedLineWhole(t *testing.T) {
	s := planSettler(t, strings.NewReplacer("WINDOW", "rolling_12_months", "VOLUME", "net_of_credits").Replace(netPlan), loadNetwork(t))
	huge := ensemble.MoneyFromMinor(math.MaxInt64/2+1, eur("0").Currency()).String()[len("EUR "):]
	l1, l2, l3 := resold("L1", huge, "EUR", "2026-03-02"), resold("L2", huge, "EUR", "2026-03-03"), resold("L3", "100.00", "EUR", "2026-03-04")
	_, err := s.Settle(ctx, settlement.State{}, []settlement.Line{l1, l2, l3})
	require.ErrorIs(t, err, settlement.ErrInvalidLine)
	var le *settlement.LineError
	require.ErrorAs(t, err, &le)
	require.Equal(t, settlement.LineID("L2"), le.Line)

	got, err := s.SettleWhatYouCan(ctx, settlement.State{}, []settlement.Line{l3, l2, l1})
	require.NoError(t, err)
	want, err := s.Settle(ctx, settlement.State{}, []settlement.Line{l1, l3})
	require.NoError(t, err)
	requireSameEntriesT(t, got.Entries, want.Entries)
	require.Equal(t, string(mustJSON(t, want.State)), string(mustJSON(t, got.State)))
	require.Len(t, got.Rejections, 1)
	require.Equal(t, settlement.LineID("L2"), got.Rejections[0].Line)
	require.ErrorIs(t, got.Rejections[0], settlement.ErrInvalidLine)
	require.ErrorAs(t, got.Rejections[0], &le)
	require.False(t, got.State.Has("L2"))
	require.Equal(t, `[{"line":"L2","error":`+string(mustJSON(t, le.Error()))+`}]`, string(mustJSON(t, got.Rejections)))
	require.Nil(t, want.Rejections, "Settle lists none")
}

// TestSettleWhatYouCanReturnsCallErrors: a cancelled context is the
// call's error, not a rejection.
func TestSettleWhatYouCanReturnsCallErrors(t *testing.T) {
	s := newSettler(t)
	c, cancel := context.WithCancel(ctx)
	cancel()
	_, err := s.SettleWhatYouCan(c, settlement.State{}, []settlement.Line{chainLine("L1", "10.00", "2026-03-01")})
	require.ErrorIs(t, err, context.Canceled)
}

// TestPropertySettleWhatYouCanIsSettleOfTheGoodLines: a batch of good
// lines (sales, some reading the volumes earlier ones add to, and credits)
// with bad ones among them (a line already settled or given twice, a
// credit of an unknown line, an over-credit, an invalid amount, a
// component's supplier cost listed twice, which fails after its split
// wrote entries and its basis added to the seller's volume)
// settles what it can exactly as Settle settles the good lines alone,
// byte for byte, and rejects the bad ones, each with its condition.
func TestPropertySettleWhatYouCanIsSettleOfTheGoodLines(t *testing.T) {
	s := historySettler(t)
	rapid.Check(t, func(t *rapid.T) {
		var first []settlement.Line
		for i := range rapid.IntRange(1, 6).Draw(t, "first") {
			first = append(first, drawHistorySale(t, fmt.Sprintf("A%d", i)))
		}
		prev, err := s.Settle(ctx, settlement.State{}, first)
		require.NoError(t, err)
		var good []settlement.Line
		for i := range rapid.IntRange(0, 6).Draw(t, "sales") {
			good = append(good, drawHistorySale(t, fmt.Sprintf("B%d", i)))
		}
		ids := make([]settlement.LineID, len(first))
		for i, l := range first {
			ids[i] = l.ID
		}
		good = append(good, drawCredits(t, prev.State, ids, good, "C")...)
		bad := map[settlement.LineID]error{}
		var all []settlement.Line
		all = append(all, good...)
		for i := range rapid.IntRange(0, 5).Draw(t, "bad") {
			id := settlement.LineID(fmt.Sprintf("X%d", i))
			var l settlement.Line
			var want error
			switch rapid.SampledFrom([]string{"held", "twice", "unknown", "over", "invalid", "cost twice"}).Draw(t, string(id)) {
			case "held": // an id the state holds
				l, want = drawHistorySale(t, string(id)), settlement.ErrAlreadySettled
				l.ID = rapid.SampledFrom(ids).Draw(t, string(id)+".of")
				l.Date = date("2028-01-01")
			case "twice": // a later copy of a good sale
				sales := slices.DeleteFunc(slices.Clone(good), func(l settlement.Line) bool { return l.Credits != "" })
				if len(sales) == 0 {
					continue
				}
				l, want = rapid.SampledFrom(sales).Draw(t, string(id)+".of"), settlement.ErrAlreadySettled
				l.Date = date("2028-01-01")
			case "unknown":
				l, want = credit(string(id), "nowhere", "-1.00", "2027-08-01"), settlement.ErrUnknownLine
			case "over":
				of := rapid.SampledFrom(ids).Draw(t, string(id)+".of")
				ll, _ := prev.State.Line(of)
				l = settlement.Line{ID: id, Credits: of, Date: date("2027-08-01"), Amount: ensemble.MoneyFromMinor(-(minorOf(ll.Basis) + 1), ll.Basis.Currency())}
				want = settlement.ErrOverCredit
			case "invalid":
				l, want = drawHistorySale(t, string(id)), settlement.ErrInvalidLine
				l.Amount = ensemble.MustMoney("1.001", "EUR")
			case "cost twice": // fails after its split and volumes
				l, want = drawHistorySale(t, string(id)), settlement.ErrDuplicateEntry
				cur := l.Amount.Currency()
				l.Amount = ensemble.MoneyFromMinor(max(minorOf(l.Amount), 1000), cur)
				c := catalog.SupplierCost{Supplier: "supplier-backup", Offer: "backup", Cost: ensemble.MoneyFromMinor(100, cur),
					Component: ensemble.Ref{Kind: "bundle_component", ID: "suite/c0/supplier-backup", Version: "1"}}
				l.SupplierCosts = []catalog.SupplierCost{c, c}
			}
			if _, dup := bad[l.ID]; dup && l.ID != id {
				continue // one bad copy of a line is enough to name
			}
			bad[l.ID] = want
			all = slices.Insert(all, rapid.IntRange(0, len(all)).Draw(t, string(id)+".at"), l)
		}
		got, err := s.SettleWhatYouCan(ctx, prev.State, all)
		require.NoError(t, err)
		want, err := s.Settle(ctx, prev.State, good)
		require.NoError(t, err)
		if g, w := string(mustJSON(t, append([]settlement.Entry{}, got.Entries...))), string(mustJSON(t, append([]settlement.Entry{}, want.Entries...))); g != w {
			t.Fatalf("entries differ (-good lines +what you can):\n%s", diffJSON(g, w))
		}
		if g, w := string(mustJSON(t, got.State)), string(mustJSON(t, want.State)); g != w {
			t.Fatalf("states differ (-good lines +what you can):\n%s", diffJSON(g, w))
		}
		require.Len(t, got.Rejections, len(bad), "%v", got.Rejections)
		for _, r := range got.Rejections {
			cond, ok := bad[r.Line]
			require.True(t, ok, "%v rejected", r)
			require.ErrorIs(t, r, cond)
			var le *settlement.LineError
			require.True(t, errors.As(r, &le) && le.Line == r.Line, "%v", r)
		}
	})
}

// TestRejectedLinesLeaveTheRollingVolumeAsDecoded: lines rejected after
// adding to a rolling window's volume (two supplier costs of one
// component: their entry ids collide once the line is split), among a
// late line inserted before the volume's other points and a credit
// taking back from one, leave the volume as a state without them holds
// it: the result is Settle's without them, byte for byte, and later lines
// read the volume alike from the state as returned and from its JSON
// (whose volumes are indexed afresh).
func TestRejectedLinesLeaveTheRollingVolumeAsDecoded(t *testing.T) {
	s := planSettler(t, strings.NewReplacer("WINDOW", "rolling_12_months", "VOLUME", "net_of_credits").Replace(netPlan), loadNetwork(t))
	base, err := s.Settle(ctx, settlement.State{}, []settlement.Line{resold("L1", "600.00", "EUR", "2026-03-02"), resold("L2", "300.00", "EUR", "2026-03-10")})
	require.NoError(t, err)
	bad := func(id, day string) settlement.Line {
		l := resold(id, "200.00", "EUR", day)
		c := catalog.SupplierCost{Supplier: "supplier-backup", Offer: "app", Cost: eur("10.00")}
		c.Component.ID = "disk"
		l.SupplierCosts = []catalog.SupplierCost{c, c}
		return l
	}
	good := []settlement.Line{
		resold("L0", "150.00", "EUR", "2026-02-20"), // late: before L1's point
		{ID: "C1", Date: date("2026-03-12"), Amount: eur("-100.00"), Credits: "L1"},
		resold("L3", "80.00", "EUR", "2026-03-14"),
	}
	lines := append(slices.Clone(good), bad("X1", "2026-02-25"), bad("X2", "2026-03-11"), bad("X3", "2026-03-20"))
	got, err := s.SettleWhatYouCan(ctx, base.State, lines)
	require.NoError(t, err)
	require.Len(t, got.Rejections, 3)
	want, err := s.Settle(ctx, base.State, good)
	require.NoError(t, err)
	requireSameEntriesT(t, got.Entries, want.Entries)
	require.Equal(t, string(mustJSON(t, want.State)), string(mustJSON(t, got.State)))

	var decoded settlement.State
	require.NoError(t, decoded.UnmarshalJSON(mustJSON(t, got.State)))
	later := []settlement.Line{resold("L4", "500.00", "EUR", "2026-03-21"), resold("L5", "40.00", "EUR", "2026-03-01"),
		{ID: "C2", Date: date("2026-03-22"), Amount: eur("-50.00"), Credits: "L0"}}
	fromGot, err := s.Settle(ctx, got.State, later)
	require.NoError(t, err)
	fromDecoded, err := s.Settle(ctx, decoded, later)
	require.NoError(t, err)
	requireSameEntriesT(t, fromGot.Entries, fromDecoded.Entries)
	require.Equal(t, string(mustJSON(t, fromDecoded.State)), string(mustJSON(t, fromGot.State)))
}

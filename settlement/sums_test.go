package settlement_test

// Holes 3 and 5 of issue 18: folds that never overflow, duplicate entries
// refused, Money errors never discarded.

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// minor returns the Money of a big number of minor units of EUR.
func minor(b *big.Int) ensemble.Money {
	return ensemble.MoneyFromDecimal(decimal.NewFromBigInt(b, -2), ensemble.MustCurrency("EUR"))
}

func maxUnits(k int64) *big.Int { return new(big.Int).Mul(big.NewInt(math.MaxInt64), big.NewInt(k)) }

func entryOf(id string, kind settlement.EntryKind, party partner.ID, m ensemble.Money, day string) settlement.Entry {
	return settlement.Entry{ID: settlement.EntryID(id), Line: "L", Kind: kind, Party: party, Amount: m, Date: date(day), Seller: "s", Offer: catalog.Pin{Offer: "o", Version: 1},
		Route: partner.RoutePartner}
}

// Hole: Statements, Merge and ComputeMetrics added int64 minor units
// without checking overflow: two large earnings folded to a negative
// balance. Sums beyond int64 now fall back to math/big, at both edges.
func TestStatementsMergeAndMetricsDoNotOverflow(t *testing.T) {
	eurC := ensemble.MustCurrency("EUR")
	top := ensemble.MoneyFromMinor(math.MaxInt64, eurC)
	bottom := ensemble.MoneyFromMinor(math.MinInt64, eurC)
	march := ensemble.MustPeriod(date("2026-03-01"), date("2026-04-01"))
	april := ensemble.MustPeriod(date("2026-04-01"), date("2026-05-01"))
	entries := []settlement.Entry{
		entryOf("a", settlement.KindEarning, "p", top, "2026-03-01"),
		entryOf("b", settlement.KindEarning, "p", top, "2026-03-02"),
		entryOf("c", settlement.KindClawback, "q", bottom, "2026-03-03"),
		entryOf("d", settlement.KindClawback, "q", ensemble.MoneyFromMinor(-1, eurC), "2026-03-04"),
		entryOf("e", settlement.KindReserve, "q", top, "2026-03-05"),
		entryOf("f", settlement.KindEarning, "platform", top, "2026-03-06"),
		entryOf("g", settlement.KindAdjustment, "r", minor(maxUnits(3)), "2026-03-07"),
	}
	sts, err := settlement.Statements(entries, settlement.StatementOptions{Period: march, Minimums: []ensemble.Money{eur("10.00")}})
	require.NoError(t, err)
	require.Len(t, sts, 4)
	p, q, r := find(t, sts, "p"), find(t, sts, "q"), find(t, sts, "r")
	requireMoney(t, p.Earned, minor(maxUnits(2)))
	requireMoney(t, p.Closing, minor(maxUnits(2)))
	requireMoney(t, p.Payable, minor(maxUnits(2)))
	minBelow := new(big.Int).Sub(big.NewInt(math.MinInt64), big.NewInt(1))
	requireMoney(t, q.Reversed, minor(minBelow))
	closingQ := new(big.Int).Sub(minBelow, big.NewInt(math.MaxInt64)) // reversed - reserved
	requireMoney(t, q.Closing, minor(closingQ))
	requireMoney(t, q.CarriedForward, minor(closingQ))
	requireMoney(t, q.Payable, eur("0"))
	requireMoney(t, q.Withheld, top)
	requireMoney(t, r.Adjusted, minor(maxUnits(3)))

	// A balance beyond int64 carries into the next period.
	next, err := settlement.Statements(nil, settlement.StatementOptions{Period: april, Previous: sts})
	require.NoError(t, err)
	requireMoney(t, find(t, next, "p").Opening, minor(maxUnits(2)))
	requireMoney(t, find(t, next, "q").Closing, minor(closingQ))

	// Merging shards that each hold int64's largest balance.
	a, err := settlement.Statements(entries[:1], settlement.StatementOptions{Period: march})
	require.NoError(t, err)
	b, err := settlement.Statements(entries[1:2], settlement.StatementOptions{Period: march})
	require.NoError(t, err)
	merged, err := settlement.Merge(nil, a, b, a)
	require.NoError(t, err)
	requireMoney(t, merged[0].Earned, minor(maxUnits(3)))
	requireMoney(t, merged[0].Closing, minor(maxUnits(3)))

	ms, err := settlement.ComputeMetrics(entries, march, "")
	require.NoError(t, err)
	require.Len(t, ms, 1)
	gross := new(big.Int).Add(maxUnits(3), minBelow)
	requireMoney(t, ms[0].GrossValue, minor(gross))
	// The adjustment to r moves 3 × MaxInt64 units from the platform to r.
	plat := new(big.Int).Sub(big.NewInt(math.MaxInt64), maxUnits(3))
	requireMoney(t, ms[0].PlatformRevenue, minor(plat))
	requireMoney(t, ms[0].PartnerEarnings, minor(new(big.Int).Add(new(big.Int).Add(maxUnits(2), minBelow), maxUnits(3))))
	require.Truef(t, ms[0].TakeRate.Equal(ensemble.RatioFromRat(new(big.Rat).SetFrac(plat, gross))), "take rate %s", ms[0].TakeRate)

	ret, err := settlement.PartnerRetention(entries, march, april, "")
	require.NoError(t, err)
	require.Equal(t, 2, ret.Before, "p earned and r was adjusted beyond int64, q lost beyond it")
}

// Hole: Statements counted an entry given twice twice. It, ComputeMetrics,
// PartnerRetention and Explain refuse a duplicate entry id.
func TestStatementsRefuseDuplicateEntryIDs(t *testing.T) {
	s := newSettler(t)
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{chainLine("L1", "100.00", "2026-03-01")})
	require.NoError(t, err)
	twice := append(append([]settlement.Entry(nil), res.Entries...), res.Entries[1])
	year := ensemble.MustPeriod(date("2026-01-01"), date("2027-01-01"))
	_, err = settlement.Statements(twice, settlement.StatementOptions{Period: year})
	require.ErrorIs(t, err, settlement.ErrDuplicateEntry)
	var de *settlement.DuplicateEntryError
	require.ErrorAs(t, err, &de)
	require.Equal(t, res.Entries[1].ID, de.ID)
	require.Equal(t, 1, de.First)
	require.Equal(t, len(res.Entries), de.Second)
	require.Contains(t, err.Error(), fmt.Sprintf("entries[1] and entries[%d]", len(res.Entries)))

	_, err = settlement.ComputeMetrics(twice, year, "")
	require.ErrorIs(t, err, settlement.ErrDuplicateEntry)
	// An earning counted twice could outweigh a clawback and make a lost
	// partner look retained; a tree would show it twice.
	_, err = settlement.PartnerRetention(twice, year, year, "")
	require.ErrorIs(t, err, settlement.ErrDuplicateEntry)
	_, err = settlement.Explain("L1", twice)
	require.ErrorIs(t, err, settlement.ErrDuplicateEntry)
}

// Hole: library code discarded Money errors. A minimum payout that is not
// whole minor units was ignored (any balance paid), and PartnerRetention
// skipped an entry it could not read.
func TestMoneyErrorsAreNotDiscarded(t *testing.T) {
	s := newSettler(t)
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{chainLine("L1", "100.00", "2026-03-01")})
	require.NoError(t, err)
	year := ensemble.MustPeriod(date("2026-01-01"), date("2027-01-01"))
	_, err = settlement.Statements(res.Entries, settlement.StatementOptions{Period: year, Minimums: []ensemble.Money{eur("10.005")}})
	require.ErrorIs(t, err, ensemble.ErrNotMinorUnits)
	require.Contains(t, err.Error(), "minimums[0]")
	sts, err := settlement.Statements(res.Entries, settlement.StatementOptions{Period: year})
	require.NoError(t, err)
	_, err = settlement.Merge([]ensemble.Money{eur("10.005")}, sts)
	require.ErrorIs(t, err, ensemble.ErrNotMinorUnits)

	odd := entryOf("x", settlement.KindEarning, "p", eur("1.005"), "2026-03-01")
	_, err = settlement.PartnerRetention(append(res.Entries, odd), year, year, "")
	require.ErrorIs(t, err, ensemble.ErrNotMinorUnits)
	require.Contains(t, err.Error(), `entry "x"`)

	bad := sts[0]
	bad.Reserved = eur("0.001")
	_, err = settlement.Merge(nil, []settlement.Statement{bad})
	require.ErrorIs(t, err, ensemble.ErrNotMinorUnits)
	require.True(t, errors.Is(err, ensemble.ErrNotMinorUnits))
}

// Statements without a period (StatementOptions' zero value) says the
// period is required, not only that an instant is zero.
func TestStatementsNeedAPeriod(t *testing.T) {
	_, err := settlement.Statements(nil, settlement.StatementOptions{})
	require.ErrorContains(t, err, "StatementOptions.Period is required")
	_, err = settlement.Statements(nil, settlement.StatementOptions{Period: ensemble.Period{Start: date("2026-04-01"), End: date("2026-03-01")}})
	require.ErrorContains(t, err, "StatementOptions.Period: ")
}

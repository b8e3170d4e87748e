package settlement_test

import (
	"cmp"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// volumePlan pays a reseller a bonus on its volume in euros, for lines in
// euros, dollars and pounds, with refunds taken out of the volume or not.
const volumePlan = `
id: bonus
version: 1
currencies: [EUR, USD, GBP]
root:
  id: root
  children:
    - id: bonus
      party: reseller
      fallback: platform
      share:
        cumulative:
          of: reseller
          window: WINDOW
          mode: MODE
          volume: VOLUME
          tiers:
            - {up_to: {amount: "500.00", currency: EUR}, rate: "2%"}
            - {up_to: {amount: "2000.00", currency: EUR}, rate: "5%"}
            - {rate: "1/7"}
    - {id: platform, party: platform, share: remaining}
`

// volumeRates convert dollars at 0.9 and, from March 16 2026, 0.8, and
// pounds at 1.1667, from the beginning.
var volumeRates = ensemble.ExchangeRates{
	{From: usdCur, To: eurCur, Rate: ensemble.MustRatio("0.9")},
	{From: usdCur, To: eurCur, Since: date("2026-03-16"), Rate: ensemble.MustRatio("0.8")},
	{From: gbpCur, To: eurCur, Rate: ensemble.MustRatio("1.1667")},
}

// volumeChains: reseller-de is suspended from April 2026, when its lines
// read and grow no volume (the bonus falls back to the platform).
var volumeChains = [][]partner.ID{{"reseller-nl", "distri-eu"}, {"reseller-de", "distri-eu"}}

func volumeSettler(t *rapid.T, net *partner.Network) (*settlement.Settler, settlement.Window, bool) {
	window := rapid.SampledFrom([]string{"calendar_year", "rolling_12_months", "calendar_quarter", "calendar_month"}).Draw(t, "window")
	volume := rapid.SampledFrom([]string{"sales", "net_of_credits"}).Draw(t, "volume")
	mode := rapid.SampledFrom([]string{"marginal", "cliff"}).Draw(t, "mode")
	plans, err := settlement.ParsePlans([]byte(strings.NewReplacer("WINDOW", window, "VOLUME", volume, "MODE", mode).Replace(volumePlan)))
	require.NoError(t, err)
	s, err := settlement.New(settlement.Config{Plans: plans, Network: net, Rates: volumeRates})
	require.NoError(t, err)
	return s, volumeWindow(window), volume == "net_of_credits"
}

// drawVolumeLine draws a sale in euros, dollars or pounds of either
// reseller over two years.
func drawVolumeLine(t *rapid.T, id string) settlement.Line {
	cur := rapid.SampledFrom([]ensemble.Currency{eurCur, usdCur, gbpCur}).Draw(t, id+".cur")
	return settlement.Line{ID: settlement.LineID(id), Date: date("2025-11-01").AddDate(0, 0, rapid.IntRange(0, 500).Draw(t, id+".day")),
		Amount: ensemble.MoneyFromMinor(rapid.Int64Range(0, 150_000).Draw(t, id+".cents"), cur), Offer: catalog.Pin{Offer: "app", Version: 1},
		Route: partner.Route{Kind: partner.RoutePartner, Chain: rapid.SampledFrom(volumeChains).Draw(t, id+".chain")}}
}

// TestPropertyVolumesNetOfCredits: over random sales in three currencies,
// partial and full credits and disputes won and lost, every volume the
// state reports is never negative and equals a plain recomputation from
// the lines alone: each line of a reseller that can trade at its date adds
// its basis converted at the rate in force at its date (rounded half away
// from zero), less, net of credits, the share its credits and lost
// disputes reversed (half away from zero); the state reads back from JSON
// at every step.
func TestPropertyVolumesNetOfCredits(t *testing.T) {
	network := loadNetwork(t)
	rapid.Check(t, func(t *rapid.T) {
		s, window, net := volumeSettler(t, network)
		var st settlement.State
		var sales []settlement.Line
		credited := map[settlement.LineID]int64{}
		disputed := map[settlement.LineID]bool{}
		n := 0
		for step := range rapid.IntRange(1, 25).Draw(t, "steps") {
			label := fmt.Sprintf("step%d", step)
			var res settlement.Result
			var err error
			switch k := rapid.IntRange(0, 5).Draw(t, label); {
			case k <= 2 || len(sales) == 0:
				batch := make([]settlement.Line, rapid.IntRange(1, 3).Draw(t, label+".n"))
				for i := range batch {
					n++
					batch[i] = drawVolumeLine(t, fmt.Sprintf("L%d", n))
				}
				res, err = s.Settle(ctx, st, batch)
				require.NoError(t, err)
				sales = append(sales, batch...)
			case k == 3: // a credit of part or all of what is left
				l := rapid.SampledFrom(sales).Draw(t, label+".line")
				left := minorOf(l.Amount) - credited[l.ID]
				if disputed[l.ID] || left == 0 {
					continue
				}
				x := rapid.OneOf(rapid.Just(left), rapid.Int64Range(1, left)).Draw(t, label+".credit")
				n++
				res, err = s.Settle(ctx, st, []settlement.Line{{ID: settlement.LineID(fmt.Sprintf("C%d", n)), Credits: l.ID,
					Date: l.Date.AddDate(0, 0, 3), Amount: ensemble.MoneyFromMinor(-x, l.Amount.Currency())}})
				require.NoError(t, err)
				credited[l.ID] += x
			default: // a dispute opened, or closed won or lost
				l := rapid.SampledFrom(sales).Draw(t, label+".line")
				if !disputed[l.ID] {
					res, err = s.Dispute(st, l.ID, l.Date.AddDate(0, 0, 5))
					require.NoError(t, err)
					disputed[l.ID] = true
					break
				}
				won := rapid.Bool().Draw(t, label+".won")
				res, err = s.ResolveDispute(st, l.ID, won, l.Date.AddDate(0, 0, 9))
				require.NoError(t, err)
				disputed[l.ID] = false
				if !won {
					credited[l.ID] = minorOf(l.Amount)
				}
			}
			st = requireStateRoundTrips(t, res.State, nil)
			// The volume of each reseller at a few instants, as a plain sum.
			for _, p := range []partner.ID{"reseller-nl", "reseller-de"} {
				for _, at := range []time.Time{date("2025-12-31"), date("2026-03-20"), date("2026-04-01"), date("2026-09-30"), date("2027-03-10")} {
					want := new(big.Int)
					for _, l := range sales {
						if l.Route.Chain[0] != p || (p == "reseller-de" && !l.Date.Before(date("2026-04-01"))) {
							continue // suspended: no volume
						}
						// A quarter is three months from January, April, July
						// or October; a month is the same year and month.
						sameQuarter := l.Date.Year() == at.Year() && (l.Date.Month()-1)/3 == (at.Month()-1)/3
						sameMonth := l.Date.Year() == at.Year() && l.Date.Month() == at.Month()
						if window == settlement.WindowCalendarYear && l.Date.Year() != at.Year() ||
							window == settlement.WindowCalendarQuarter && !sameQuarter ||
							window == settlement.WindowCalendarMonth && !sameMonth ||
							window == settlement.WindowRolling12Months && !(l.Date.After(at.AddDate(-1, 0, 0)) && l.Date.AddDate(-1, 0, 0).Before(at)) {
							continue
						}
						added := minorOf(l.Amount)
						if cur := l.Amount.Currency(); cur != eurCur {
							r, err := volumeRates.At(cur, eurCur, l.Date)
							require.NoError(t, err)
							m, err := r.Convert(l.Amount, ensemble.RoundHalfAwayFromZero)
							require.NoError(t, err)
							added = minorOf(m)
						}
						want.Add(want, big.NewInt(added))
						if net && credited[l.ID] > 0 {
							taken := new(big.Rat).SetFrac(big.NewInt(added*credited[l.ID]), big.NewInt(minorOf(l.Amount)))
							taken.Add(taken, big.NewRat(1, 2))
							want.Sub(want, new(big.Int).Quo(taken.Num(), taken.Denom()))
						}
					}
					got := st.Volume(p, eurCur, window, at)
					require.False(t, got.IsNegative(), "%s at %s: %s", p, at, got)
					require.Truef(t, got.Equal(minor(want)), "volume of %s at %s: got %s, want %s", p, at.Format(time.DateOnly), got, minor(want))
				}
			}
		}
	})
}

// TestPropertyVolumesAcrossCurrenciesShard: settling sales in three
// currencies and credits of them gives the same entries whatever order the
// lines are given in, and settling each reseller's lines apart (each shard
// owns the volume its rates read) and merging the statements equals
// settling everything together, with conversions and refunds taken out of
// the volume.
func TestPropertyVolumesAcrossCurrenciesShard(t *testing.T) {
	period := ensemble.MustPeriod(date("2025-01-01"), date("2028-01-01"))
	mins := []ensemble.Money{eur("10.00"), ensemble.MustMoney("10.00", "USD")}
	network := loadNetwork(t)
	rapid.Check(t, func(t *rapid.T) {
		s, _, _ := volumeSettler(t, network)
		sales := make([]settlement.Line, rapid.IntRange(1, 12).Draw(t, "sales"))
		for i := range sales {
			sales[i] = drawVolumeLine(t, fmt.Sprintf("L%02d", i))
		}
		var credits []settlement.Line
		for i, l := range sales {
			if rapid.IntRange(0, 2).Draw(t, fmt.Sprintf("credit%d", i)) == 0 {
				credits = append(credits, settlement.Line{ID: settlement.LineID(fmt.Sprintf("C%02d", i)), Credits: l.ID, Date: l.Date.AddDate(0, 0, 2),
					Amount: ensemble.MoneyFromMinor(-rapid.Int64Range(0, minorOf(l.Amount)).Draw(t, fmt.Sprintf("credit%d.amount", i)), l.Amount.Currency())})
			}
		}
		// settle settles the sales, then later sales and the credits.
		settle := func(sales, credits []settlement.Line, permute bool) []settlement.Entry {
			cut := len(sales) / 2
			var out []settlement.Entry
			var st settlement.State
			for _, batch := range [][]settlement.Line{sales[:cut], append(slices.Clone(sales[cut:]), credits...)} {
				if permute {
					batch = rapid.Permutation(batch).Draw(t, "order")
				}
				res, err := s.Settle(ctx, st, batch)
				require.NoError(t, err)
				out, st = append(out, res.Entries...), res.State
			}
			return out
		}
		slices.SortStableFunc(sales, func(a, b settlement.Line) int {
			return cmp.Or(a.Date.Compare(b.Date), strings.Compare(string(a.ID), string(b.ID)))
		})
		whole := settle(sales, credits, false)
		requireEntries(t, settle(sales, credits, true), whole)
		// Shards by reseller, whose volume the rates read.
		var parts [][]settlement.Statement
		var sharded []settlement.Entry
		for _, p := range []partner.ID{"reseller-nl", "reseller-de"} {
			of := func(l settlement.Line) bool { return l.Route.Chain[0] == p }
			var ps, pc []settlement.Line
			for _, l := range sales {
				if of(l) {
					ps = append(ps, l)
				}
			}
			for _, c := range credits {
				if slices.ContainsFunc(ps, func(l settlement.Line) bool { return l.ID == c.Credits }) {
					pc = append(pc, c)
				}
			}
			// A shard's first batch is its own half of the sales: a volume
			// grows by what its own earlier lines added, whoever else sold.
			es := settleShard(t, s, ps, pc, sales)
			sharded = append(sharded, es...)
			st, err := settlement.Statements(es, settlement.StatementOptions{Period: period, Minimums: mins})
			require.NoError(t, err)
			parts = append(parts, st)
		}
		byID := func(a, b settlement.Entry) int { return strings.Compare(string(a.ID), string(b.ID)) }
		w, sh := slices.Clone(whole), slices.Clone(sharded)
		slices.SortFunc(w, byID)
		slices.SortFunc(sh, byID)
		requireEntries(t, sh, w)
		sw, err := settlement.Statements(whole, settlement.StatementOptions{Period: period, Minimums: mins})
		require.NoError(t, err)
		merged, err := settlement.Merge(mins, parts...)
		require.NoError(t, err)
		if d := gocmp.Diff(sw, merged, cmpOpts...); d != "" {
			t.Fatalf("merge differs (-whole +merged):\n%s", d)
		}
	})
}

// settleShard settles a shard's sales and credits in the batches the whole
// history was settled in (the first half of all sales, then the rest with
// the credits), so that each of its lines reads what it read there.
func settleShard(t *rapid.T, s *settlement.Settler, sales, credits, all []settlement.Line) []settlement.Entry {
	cut := all[:len(all)/2]
	var first, rest []settlement.Line
	for _, l := range sales {
		if slices.ContainsFunc(cut, func(c settlement.Line) bool { return c.ID == l.ID }) {
			first = append(first, l)
		} else {
			rest = append(rest, l)
		}
	}
	var out []settlement.Entry
	var st settlement.State
	for _, batch := range [][]settlement.Line{first, append(rest, credits...)} {
		res, err := s.Settle(ctx, st, batch)
		require.NoError(t, err)
		out, st = append(out, res.Entries...), res.State
	}
	return out
}

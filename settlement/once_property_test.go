package settlement_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// TestPropertyOncePerCustomer: over random batches of sales of a few
// customers (first orders or not, small lines whose bounty overflows, lines
// without a customer, earlier lines re-sent under their own id or re-issued
// under new ids, credits), with the state now and then read back from JSON
// or the binary form or pruned, each customer is paid the bounty at most
// once, and exactly once when one of its settled lines was a first order
// its amount could pay the bounty on; the state names the line that paid
// it; every settled line's entries add up to its amount.
func TestPropertyOncePerCustomer(t *testing.T) {
	s := affiliateSettler(t)
	customers := []string{"cust-0", "cust-1", "cust-2", "cust-3"}
	rapid.Check(t, func(t *rapid.T) {
		ctx := context.Background()
		var st settlement.State
		paid := map[string][]settlement.LineID{} // customer -> lines whose bounty was paid
		eligible := map[string]bool{}            // customer -> a settled first order
		var drawn []settlement.Line
		n := 0
		for b := range rapid.IntRange(1, 8).Draw(t, "batches") {
			var batch []settlement.Line
			earlier := len(drawn)
			for range rapid.IntRange(1, 4).Draw(t, fmt.Sprintf("b%d.lines", b)) {
				n++
				id := fmt.Sprintf("INV-%03d/1", n)
				var l settlement.Line
				switch {
				case len(drawn) > 0 && rapid.IntRange(0, 3).Draw(t, id+".reissue") == 0:
					// An earlier line re-issued under a new id.
					l = rapid.SampledFrom(drawn).Draw(t, id+".of")
					l.ID = settlement.LineID(id)
				case earlier > 0 && rapid.IntRange(0, 9).Draw(t, id+".resend") == 0:
					// A line of an earlier batch sent again under its id:
					// ErrAlreadySettled (or ErrBeforeWindow), as the
					// state holds it.
					l = rapid.SampledFrom(drawn[:earlier]).Draw(t, id+".again")
				default:
					cust := rapid.SampledFrom(append(customers, "")).Draw(t, id+".customer")
					amount := rapid.Int64Range(1000, 200000).Draw(t, id+".amount")
					if rapid.IntRange(0, 7).Draw(t, id+".small") == 0 {
						amount = rapid.Int64Range(0, 9999).Draw(t, id+".small.amount") // a bounty overflows it
					}
					day := fmt.Sprintf("2026-%02d-%02d", rapid.IntRange(1, 12).Draw(t, id+".month"), rapid.IntRange(1, 28).Draw(t, id+".day"))
					l = affiliateLine(id, cust, ensemble.MoneyFromMinor(amount, ensemble.MustCurrency("EUR")).AmountString(), day,
						rapid.Bool().Draw(t, id+".first"))
					drawn = append(drawn, l)
				}
				batch = append(batch, l)
			}
			if settled := settledSales(st, drawn); len(settled) > 0 && rapid.IntRange(0, 2).Draw(t, fmt.Sprintf("b%d.credit", b)) == 0 {
				of := rapid.SampledFrom(settled).Draw(t, fmt.Sprintf("b%d.credit.of", b))
				n++
				batch = append(batch, settlement.Line{ID: settlement.LineID(fmt.Sprintf("CN-%03d/1", n)), Credits: of.ID, Date: of.Date.AddDate(0, 0, 3),
					Amount: ensemble.MoneyFromMinor(-rapid.Int64Range(0, minorOf(of.Amount)).Draw(t, fmt.Sprintf("b%d.credit.amount", b)), of.Amount.Currency())})
			}
			r, err := s.SettleWhatYouCan(ctx, st, batch)
			require.NoError(t, err)
			rejected := map[settlement.LineID]bool{}
			for _, x := range r.Rejections {
				rejected[x.Line] = true
			}
			sums := map[settlement.LineID]int64{}
			for _, e := range r.Entries {
				if e.Kind == settlement.KindEarning {
					sums[e.Line] += minorOf(e.Amount)
				}
				if e.Node == "line/bounty" && e.Kind == settlement.KindEarning {
					for _, l := range batch {
						if l.ID == e.Line {
							paid[l.Customer.ID] = append(paid[l.Customer.ID], l.ID)
							break // a line re-sent under its id is rejected
						}
					}
				}
			}
			for _, l := range batch {
				if rejected[l.ID] || l.Credits != "" || st.Has(l.ID) {
					continue
				}
				require.Equal(t, minorOf(l.Amount), sums[l.ID], "line %s", l.ID)
				if l.Attributes["first_order"] != "" && minorOf(l.Amount) >= 10000 {
					eligible[l.Customer.ID] = true
				}
				if l.Customer.ID == "" {
					t.Fatalf("line %s without a customer settled", l.ID)
				}
			}
			st = r.State
			switch rapid.IntRange(0, 5).Draw(t, fmt.Sprintf("b%d.reload", b)) {
			case 0:
				js, err := json.Marshal(st)
				require.NoError(t, err)
				st = settlement.State{}
				require.NoError(t, json.Unmarshal(js, &st))
			case 1:
				blob, err := st.MarshalBinary()
				require.NoError(t, err)
				st = settlement.State{}
				require.NoError(t, st.UnmarshalBinary(blob))
			case 2:
				st = st.Prune(date("2026-01-01").AddDate(0, 0, rapid.IntRange(0, 200).Draw(t, fmt.Sprintf("b%d.prune", b))))
			}
		}
		for _, c := range customers {
			require.LessOrEqual(t, len(paid[c]), 1, "customer %s paid the bounty on %v", c, paid[c])
			require.Equal(t, eligible[c], len(paid[c]) == 1, "customer %s: eligible %v, paid on %v", c, eligible[c], paid[c])
			by, ok := st.OncePaid("affiliate", "line/bounty", c)
			require.Equal(t, eligible[c], ok, c)
			if ok {
				require.Equal(t, paid[c][0], by, c)
			}
		}
	})
}

// settledSales returns the lines of drawn that st holds as sales.
func settledSales(st settlement.State, drawn []settlement.Line) []settlement.Line {
	var out []settlement.Line
	for _, l := range drawn {
		if _, ok := st.Line(l.ID); ok {
			out = append(out, l)
		}
	}
	return out
}

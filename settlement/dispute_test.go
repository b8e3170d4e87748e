package settlement_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// disputedBundle settles bundleLine("L1") and opens a dispute on it.
func disputedBundle(t *testing.T) (*settlement.Settler, []settlement.Entry, settlement.State) {
	t.Helper()
	s, res := settledBundle(t)
	d, err := s.Dispute(res.State, "L1", date("2026-03-10"))
	require.NoError(t, err)
	requireMoney(t, sumEntries(d.Entries, settlement.KindHold), eur("1000.00"))
	return s, append(append([]settlement.Entry{}, res.Entries...), d.Entries...), d.State
}

// A partly lost dispute: of L1's EUR 1,000.00 (gpuco 300, storeco 200,
// platform 200, reseller 300), 250.00 is lost. Every hold is released; the
// lost part is clawed back in proportion (75.00, 50.00, 50.00, 75.00) or by
// a bearer (the reseller: 250.00 of its 300.00), and the rest stays
// earned. The line then has 750.00 left to credit, and a second dispute can
// lose no more than that.
func TestPartlyLostDispute(t *testing.T) {
	for _, tc := range []struct {
		name   string
		bearer settlement.Bearer
		back   map[partner.ID]string
	}{
		{"proportional", settlement.Bearer{}, map[partner.ID]string{"gpuco": "-75.00", "storeco": "-50.00", "platform": "-50.00", "reseller-nl": "-75.00"}},
		{"borne by the reseller", settlement.Bearer{Party: "reseller-nl"}, map[partner.ID]string{"reseller-nl": "-250.00"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, before, st := disputedBundle(t)
			r, err := s.ResolveDisputeWith(st, "L1", settlement.DisputeOutcome{Lost: eur("250.00"), Bearer: tc.bearer}, date("2026-04-01"))
			require.NoError(t, err)
			requireMoney(t, sumEntries(r.Entries, settlement.KindRelease), eur("1000.00"))
			var back []settlement.Entry
			for _, e := range r.Entries {
				switch e.Kind {
				case settlement.KindRelease:
					require.Equal(t, "dispute 1 partly lost", e.Note)
				case settlement.KindClawback:
					back = append(back, e)
					require.Equal(t, settlement.LineID("L1#dispute.1"), e.Line)
					require.True(t, strings.HasPrefix(e.Note, "dispute 1 partly lost"), e.Note)
				default:
					t.Fatalf("entry %s of kind %s", e.ID, e.Kind)
				}
			}
			requireParties(t, back, tc.back)
			ll, ok := r.State.Line("L1")
			require.True(t, ok)
			require.False(t, ll.Disputed)
			requireMoney(t, ll.Credited, eur("250.00"))

			// Statements: every party keeps what it earned less what was
			// lost, and nothing stays withheld.
			all := append(before, r.Entries...)
			sts, err := settlement.Statements(all, settlement.StatementOptions{Period: ensemble.MustPeriod(date("2026-03-01"), date("2026-05-01"))})
			require.NoError(t, err)
			for _, x := range sts {
				want, err := x.Earned.Add(byParty(back)[x.Party])
				require.NoError(t, err)
				requireMoney(t, x.Closing, want, x.Party)
				require.True(t, x.Withheld.IsZero(), x.Party)
			}

			// A second dispute loses at most the 750.00 left.
			d2, err := s.Dispute(r.State, "L1", date("2026-04-02"))
			require.NoError(t, err)
			_, err = s.ResolveDisputeWith(d2.State, "L1", settlement.DisputeOutcome{Lost: eur("750.01")}, date("2026-04-03"))
			require.ErrorIs(t, err, settlement.ErrOverCredit)
			r2, err := s.ResolveDisputeWith(d2.State, "L1", settlement.DisputeOutcome{Lost: eur("750.00")}, date("2026-04-03"))
			require.NoError(t, err)
			for _, e := range r2.Entries {
				if e.Kind == settlement.KindClawback {
					require.Equal(t, "dispute 2 lost", e.Note)
				}
			}
			all = append(append(all, d2.Entries...), r2.Entries...)
			for p, m := range byParty(all, settlement.KindEarning, settlement.KindSupplierCost, settlement.KindClawback) {
				require.Truef(t, m.IsZero(), "%s nets %s", p, m)
			}
		})
	}
}

// A lost dispute's bearer follows the credit's rules: short by default is
// an error naming the shortfall; with shortfall: proportional the rest
// comes from the others.
func TestLostDisputeBearerShortfall(t *testing.T) {
	s, _, st := disputedBundle(t)
	_, err := s.ResolveDisputeWith(st, "L1", settlement.DisputeOutcome{Lost: eur("400.00"), Bearer: settlement.Bearer{Component: "gpu"}}, date("2026-04-01"))
	require.ErrorIs(t, err, settlement.ErrBearerShortfall)
	var be *settlement.BearerError
	require.ErrorAs(t, err, &be)
	requireMoney(t, be.Shortfall, eur("100.00"))
	var le *settlement.LineError
	require.ErrorAs(t, err, &le)
	require.Equal(t, settlement.LineID("L1"), le.Line)

	// 100.00 more from storeco 200, platform 200, reseller 300: 28.57,
	// 28.57, 42.86 (10000 cents × 2/7 = 2857.14, × 3/7 = 4285.71: the cent
	// left goes to the largest remainder, the reseller's .71).
	r, err := s.ResolveDisputeWith(st, "L1", settlement.DisputeOutcome{Lost: eur("400.00"),
		Bearer: settlement.Bearer{Component: "gpu", Shortfall: settlement.ShortfallProportional}}, date("2026-04-01"))
	require.NoError(t, err)
	var back []settlement.Entry
	for _, e := range r.Entries {
		if e.Kind == settlement.KindClawback {
			back = append(back, e)
		}
	}
	requireParties(t, back, map[partner.ID]string{"gpuco": "-300.00", "storeco": "-28.57", "platform": "-28.57", "reseller-nl": "-42.86"})
}

// A dispute fee is charged to the party the host chooses, won or lost: a
// KindFee entry that statements fold into Adjusted, metrics count as value
// moving from the party to the platform (which paid it), and Explain and
// ExplainStatement show.
func TestDisputeFee(t *testing.T) {
	s, before, st := disputedBundle(t)
	r, err := s.ResolveDisputeWith(st, "L1", settlement.DisputeOutcome{Won: true, Fee: settlement.DisputeFee{Party: "reseller-nl", Amount: eur("15.00")}}, date("2026-04-01"))
	require.NoError(t, err)
	fee := r.Entries[len(r.Entries)-1]
	require.Equal(t, settlement.EntryID("L1#dispute.1:fee"), fee.ID)
	require.Equal(t, settlement.KindFee, fee.Kind)
	require.Equal(t, settlement.LineID("L1#dispute.1"), fee.Line)
	require.Equal(t, partner.ID("reseller-nl"), fee.Party)
	requireMoney(t, fee.Amount, eur("-15.00"))
	require.Equal(t, "dispute 1 fee, won", fee.Note)
	requireMoney(t, sumEntries(r.Entries, settlement.KindRelease), eur("1000.00"))
	require.Empty(t, byParty(r.Entries, settlement.KindClawback), "a won dispute claws nothing back")

	all := append(before, r.Entries...)
	april := ensemble.MustPeriod(date("2026-03-01"), date("2026-05-01"))
	sts, err := settlement.Statements(all, settlement.StatementOptions{Period: april})
	require.NoError(t, err)
	reseller := find(t, sts, "reseller-nl")
	requireMoney(t, reseller.Adjusted, eur("-15.00"))
	requireMoney(t, reseller.Closing, eur("285.00"))
	ms, err := settlement.ComputeMetrics(all, april, "")
	require.NoError(t, err)
	requireMoney(t, ms[0].GrossValue, eur("1000.00"), "a fee is not a sale")
	requireMoney(t, ms[0].PlatformRevenue, eur("215.00"), "200.00 earned and the 15.00 fee")
	requireMoney(t, ms[0].PartnerEarnings, eur("285.00"))
	requireMetricsMatchStatements(t, all, april, "platform")

	text, err := settlement.ExplainStatement(reseller, all)
	require.NoError(t, err)
	require.Contains(t, text, "  adjusted         -15.00  (1 entry)\n    2026-04-01        -15.00  fee: dispute 1 fee, won, line L1\n")
	tree, err := settlement.Explain("L1", all)
	require.NoError(t, err)
	require.True(t, strings.HasSuffix(tree, "   fee EUR -15.00 -> reseller-nl on 2026-04-01, dispute 1 fee, won\n"), tree)
	// An adjustment about the line is not part of its tree (as before).
	adj, err := settlement.Adjust(settlement.Adjustment{ID: "a1", Party: "gpuco", Amount: eur("-1.00"), Date: date("2026-04-02"),
		Reason: "penalty", Approver: "finance", Line: "L1"})
	require.NoError(t, err)
	withAdj, err := settlement.Explain("L1", append(all, adj))
	require.NoError(t, err)
	require.Equal(t, tree, withAdj)
	tree, err = settlement.Explain("L1#dispute.1", all)
	require.NoError(t, err)
	require.Equal(t, "line L1#dispute.1  EUR -15.00  credits line L1\n└─ fee EUR -15.00 -> reseller-nl, dispute 1 fee, won\n", tree)

	// Lost, with the fee charged to the platform itself.
	r, err = s.ResolveDisputeWith(st, "L1", settlement.DisputeOutcome{Lost: eur("1000.00"), Fee: settlement.DisputeFee{Party: "platform", Amount: eur("15.00")}}, date("2026-04-01"))
	require.NoError(t, err)
	fee = r.Entries[len(r.Entries)-1]
	require.Equal(t, "dispute 1 fee, lost", fee.Note)
	require.Equal(t, partner.ID("platform"), fee.Party)
	requireMetricsMatchStatements(t, append(before, r.Entries...), april, "platform")
}

// An outcome that does not say what happened is refused, naming every
// field at fault, and leaves the state as it was.
func TestDisputeOutcomeRefused(t *testing.T) {
	s, _, st := disputedBundle(t)
	for _, tc := range []struct {
		name   string
		o      settlement.DisputeOutcome
		fields []string
		is     error
	}{
		{"lost without the amount", settlement.DisputeOutcome{}, []string{"lost"}, settlement.ErrInvalidDispute},
		{"won and lost", settlement.DisputeOutcome{Won: true, Lost: eur("1.00")}, []string{"lost"}, settlement.ErrInvalidDispute},
		{"won with a bearer", settlement.DisputeOutcome{Won: true, Bearer: settlement.Bearer{Party: "gpuco"}}, []string{"bearer"}, settlement.ErrInvalidDispute},
		{"negative", settlement.DisputeOutcome{Lost: eur("-1.00")}, []string{"lost"}, settlement.ErrInvalidDispute},
		{"other currency", settlement.DisputeOutcome{Lost: mustUSD("1.00")}, []string{"lost"}, settlement.ErrInvalidDispute},
		{"sub-cent", settlement.DisputeOutcome{Lost: eur("1.005")}, []string{"lost"}, settlement.ErrInvalidDispute},
		{"two bearers", settlement.DisputeOutcome{Lost: eur("1.00"), Bearer: settlement.Bearer{Party: "gpuco", Node: "root"}}, []string{"bearer"}, settlement.ErrInvalidDispute},
		{"fee without party", settlement.DisputeOutcome{Won: true, Fee: settlement.DisputeFee{Amount: eur("15.00")}}, []string{"fee.party"}, settlement.ErrInvalidDispute},
		{"fee not positive", settlement.DisputeOutcome{Won: true, Fee: settlement.DisputeFee{Party: "platform", Amount: eur("-15.00")}}, []string{"fee.amount"}, settlement.ErrInvalidDispute},
		{"fee of nothing", settlement.DisputeOutcome{Won: true, Fee: settlement.DisputeFee{Party: "platform"}}, []string{"fee.amount"}, settlement.ErrInvalidDispute},
		{"everything at once", settlement.DisputeOutcome{Won: true, Lost: eur("1.00"), Fee: settlement.DisputeFee{Amount: mustUSD("1.00")}},
			[]string{"lost", "fee.party", "fee.amount"}, settlement.ErrInvalidDispute},
		{"bearer not on the line", settlement.DisputeOutcome{Lost: eur("1.00"), Bearer: settlement.Bearer{Party: "nobody"}}, nil, settlement.ErrBearerNotOnLine},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := s.ResolveDisputeWith(st, "L1", tc.o, date("2026-04-01"))
			require.ErrorIs(t, err, tc.is)
			require.Empty(t, r.Entries)
			var le *settlement.LineError
			require.ErrorAs(t, err, &le)
			require.Equal(t, settlement.LineID("L1"), le.Line)
			if tc.fields != nil {
				var ve *ensemble.ValidationError
				require.ErrorAs(t, err, &ve)
				var got []string
				for _, p := range ve.Problems {
					got = append(got, p.Path)
				}
				require.Equal(t, tc.fields, got)
			}
			ll, _ := st.Line("L1")
			require.True(t, ll.Disputed, "the state given is unchanged")
		})
	}
	_, err := s.ResolveDisputeWith(st, "nope", settlement.DisputeOutcome{Won: true}, date("2026-04-01"))
	require.ErrorIs(t, err, settlement.ErrUnknownLine)
}

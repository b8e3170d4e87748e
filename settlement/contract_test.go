package settlement_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// firstYearPlan pays the platform 20%, a referrer 5% of the contract's
// first twelve months (in Paris, where the contract is kept; the platform
// when the sale has no referrer) and the seller the rest.
const firstYearPlan = `
- id: resale
  version: 1
  root:
    id: root
    children:
      - {id: platform, party: platform, share: "20%"}
      - {id: referral, party: referrer, share: {rule: first-year}, fallback: platform}
      - {id: reseller, party: seller, share: remaining}
`

const firstYearRules = `
- id: first-year
  version: 1
  kind: share
  env_version: 3
  expression: 'months_since(line.contract_start, line.service_start, "Europe/Paris") < 12 ? percent(5) : percent(0)'
`

// contractLine is factsLine (EUR 1,000.00 by reseller-nl), referred by
// referral-ams, billing the service from service on a contract started
// at contract.
func contractLine(id string, contract, service time.Time) settlement.Line {
	l := factsLine(id)
	l.Route.Referrer = "referral-ams"
	l.ContractStart = contract
	l.Service = ensemble.Period{Start: service, End: service.AddDate(0, 1, 0)}
	l.Date = service
	return l
}

// TestFirstYearShareReadsTheContractStart: a referral paid on the first
// twelve months of each customer's contract is one rule, which reads each
// line's contract start: EUR 50.00 on the service of the twelfth month,
// nothing from the thirteenth, counted in the contract's own calendar
// (Paris: a contract from 2025-03-30 at midnight, 23:00 UTC the day
// before in winter time, reaches its thirteenth month at midnight on
// 2026-03-30, 22:00 UTC the day before in summer time, an hour before a
// year in UTC is over: counted in UTC, the referrer would be paid that
// month too); a line billed before the contract starts (in advance of the
// go-live) is in its first year.
func TestFirstYearShareReadsTheContractStart(t *testing.T) {
	s := planSettler(t, firstYearPlan, loadNetwork(t), firstYearRules)
	paris, err := time.LoadLocation("Europe/Paris")
	require.NoError(t, err)
	midnight := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, paris).UTC() }
	for _, tc := range []struct {
		name              string
		contract, service time.Time
		referral          string
	}{
		{"the first month", midnight(2025, 3, 31), midnight(2025, 3, 31), "50.00"},
		{"the twelfth month", midnight(2025, 3, 31), midnight(2026, 2, 28), "50.00"},
		{"the thirteenth month", midnight(2025, 3, 31), midnight(2026, 3, 31), ""},
		{"the thirteenth month, a summer's day earlier", midnight(2025, 3, 30), midnight(2026, 3, 30), ""},
		{"the day before it", midnight(2025, 3, 31), midnight(2026, 3, 30), "50.00"},
		{"a later contract's twelfth month", midnight(2025, 4, 15), midnight(2026, 3, 31), "50.00"},
		{"billed before the contract starts", midnight(2026, 4, 1), midnight(2026, 3, 15), "50.00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{contractLine("L1", tc.contract, tc.service)})
			require.NoError(t, err)
			want := map[string]string{"platform": "200.00", "reseller-nl": "750.00", "referral-ams": tc.referral}
			if tc.referral == "" {
				want = map[string]string{"platform": "200.00", "reseller-nl": "800.00"}
			}
			got := map[string]string{}
			for _, e := range res.Entries {
				if !e.Amount.IsZero() {
					got[string(e.Party)] = e.Amount.AmountString()
				}
			}
			require.Equal(t, want, got)
		})
	}
}

// TestRuleReadingAFactTheLineLacksFails: a rule reading the contract's
// start or the service's fails a sale that does not give it, with ErrRule
// and ErrInvalidLine naming the line, node and rule, and settles nothing
// of the call, rather than reading year 1 (which paid this referral
// nothing, as if the contract were two thousand years old). A plan whose
// rules do not read them settles the same line, and so does one whose rule
// reads the whole line, as rules could before; a credit's contract start
// is not read.
func TestRuleReadingAFactTheLineLacksFails(t *testing.T) {
	s := planSettler(t, firstYearPlan, loadNetwork(t), firstYearRules)
	ok := contractLine("L0", date("2026-01-01"), date("2026-02-01"))
	for _, tc := range []struct {
		name, want string
		edit       func(*settlement.Line)
	}{
		{"no contract start", "line.contract_start", func(l *settlement.Line) { l.ContractStart = time.Time{} }},
		{"no service", "line.service_start or line.service_end", func(l *settlement.Line) { l.Service = ensemble.Period{} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := contractLine("L1", date("2026-01-01"), date("2026-02-01"))
			tc.edit(&l)
			_, err := s.Settle(ctx, settlement.State{}, []settlement.Line{ok, l})
			require.ErrorIs(t, err, settlement.ErrRule)
			require.ErrorIs(t, err, settlement.ErrInvalidLine)
			var le *settlement.LineError
			require.ErrorAs(t, err, &le)
			require.Equal(t, []string{"L1", "resale", "root/referral", "first-year@1"}, []string{string(le.Line), le.Plan, le.Node, le.Rule})
			require.ErrorContains(t, err, tc.want)

			plain := planSettler(t, factsPlan, loadNetwork(t))
			res, err := plain.Settle(ctx, settlement.State{}, []settlement.Line{l})
			require.NoError(t, err)
			requireParties(t, res.Entries, map[partner.ID]string{"platform": "200.00", "referral-ams": "50.00", "reseller-nl": "750.00"})
		})
	}
	t.Run("a rule reading the whole line", func(t *testing.T) {
		// As rules could before these facts existed: it reads them as
		// they are, and a line without them settles.
		whole := planSettler(t, strings.Replace(firstYearPlan, "rule: first-year", "rule: whole-line", 1), loadNetwork(t), firstYearRules, `
- {id: whole-line, version: 1, kind: share, env_version: 1, expression: '[line].all(l, l.currency == "EUR") ? percent(5) : percent(0)'}
`)
		l := contractLine("L1", time.Time{}, date("2026-02-01"))
		l.Service = ensemble.Period{}
		res, err := whole.Settle(ctx, settlement.State{}, []settlement.Line{l})
		require.NoError(t, err)
		requireParties(t, res.Entries, map[partner.ID]string{"platform": "200.00", "referral-ams": "50.00", "reseller-nl": "750.00"})
	})
	t.Run("a credit", func(t *testing.T) {
		res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{ok})
		require.NoError(t, err)
		credit := settlement.Line{ID: "C1", Credits: "L0", Date: date("2026-02-10"), Amount: eur("-100.00"), ContractStart: date("2020-01-01")}
		back, err := s.Settle(ctx, res.State, []settlement.Line{credit})
		require.NoError(t, err)
		requireParties(t, back.Entries, map[partner.ID]string{"platform": "-20.00", "referral-ams": "-5.00", "reseller-nl": "-75.00"})
	})
}

// TestContractStartChecked: a contract start settlement cannot record is
// ErrInvalidLine at contract_start; one after the line's date and service
// is a sale billed ahead of its contract, and settles.
func TestContractStartChecked(t *testing.T) {
	s := planSettler(t, firstYearPlan, loadNetwork(t), firstYearRules)
	l := contractLine("L1", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), date("2026-02-01"))
	_, err := s.Settle(ctx, settlement.State{}, []settlement.Line{l})
	require.ErrorIs(t, err, settlement.ErrInvalidLine)
	require.ErrorContains(t, err, "contract_start")
	require.ErrorContains(t, err, "after year 9999")

	l = contractLine("L1", date("2026-06-01"), date("2026-02-01"))
	_, err = s.Settle(ctx, settlement.State{}, []settlement.Line{l})
	require.NoError(t, err)
}

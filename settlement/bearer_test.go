package settlement_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/order"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// bundlePlan splits what a bundle's two suppliers leave 40% to the
// platform and the rest to the seller.
const bundlePlan = `
- id: bundle
  version: 1
  root:
    id: root
    children:
      - {id: platform, party: platform, share: "40%"}
      - {id: reseller, party: seller, share: remaining}
`

// bundleLine is a EUR 1,000.00 bundle line sold by reseller-nl whose
// suppliers are owed 300.00 (gpuco, component gpu) and 200.00 (storeco,
// component storage): the platform earns 200.00 and the reseller 300.00.
func bundleLine(id string) settlement.Line {
	cost := func(component, supplier, amount string) catalog.SupplierCost {
		return catalog.SupplierCost{Supplier: supplier, Offer: catalog.OfferID(component),
			Component: ensemble.Ref{Kind: catalog.RefComponent, ID: component, Version: "1"}, Cost: eur(amount)}
	}
	return settlement.Line{ID: settlement.LineID(id), Date: date("2026-03-01"), Amount: eur("1000.00"),
		Offer: catalog.Pin{Offer: "ai-suite", Version: 1}, Charge: "monthly",
		Route:         partner.Route{Kind: partner.RoutePartner, Chain: []partner.ID{"reseller-nl", "distri-eu"}},
		SupplierCosts: []catalog.SupplierCost{cost("gpu", "gpuco", "300.00"), cost("storage", "storeco", "200.00")}}
}

func bearerCredit(id, amount, day string, b settlement.Bearer) settlement.Line {
	c := credit(id, "L1", amount, day)
	c.Bearer = b
	return c
}

// settledBundle settles bundleLine("L1") and requires its split.
func settledBundle(t *testing.T) (*settlement.Settler, settlement.Result) {
	t.Helper()
	s := planSettler(t, bundlePlan, loadNetwork(t))
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{bundleLine("L1")})
	require.NoError(t, err)
	requireParties(t, res.Entries, map[partner.ID]string{"gpuco": "300.00", "storeco": "200.00", "platform": "200.00", "reseller-nl": "300.00"})
	return s, res
}

// requireParties requires the earnings, supplier costs and clawbacks of
// entries to add up, per party, to want exactly (every party named, no
// other).
func requireParties(t *testing.T, entries []settlement.Entry, want map[partner.ID]string) {
	t.Helper()
	got := byParty(entries, settlement.KindEarning, settlement.KindSupplierCost, settlement.KindClawback)
	require.Len(t, got, len(want), "%v", got)
	for p, w := range want {
		requireMoney(t, got[p], eur(w), p)
	}
}

// An SLA credit borne by one supplier of a two-supplier bundle takes the
// whole credit from that supplier's part: the other supplier, the reseller
// and the platform keep theirs. Each bearer below credits EUR 60.00 of L1
// (parts: gpuco 300, storeco 200, platform 200, reseller 300):
//
//   - proportional (the default): 60 × 300/1000 = 18, 60 × 200/1000 = 12, ...;
//   - the supplier of component gpu, or party gpuco, or node
//     supplier_costs/gpu: gpuco gives back all 60.00;
//   - role supplier: both suppliers, 60 × 300/500 = 36 and 24;
//   - node root (the plan's split, not the supplier costs): 60 × 200/500 =
//     24 from the platform, 36 from the reseller;
//   - role seller: the reseller, 60.00.
func TestBearerTakesTheCreditFromItsPartsAlone(t *testing.T) {
	s, res := settledBundle(t)
	for _, tc := range []struct {
		name   string
		bearer settlement.Bearer
		want   map[partner.ID]string
		share  string
	}{
		{"proportional", settlement.Bearer{}, map[partner.ID]string{"gpuco": "-18.00", "storeco": "-12.00", "platform": "-12.00", "reseller-nl": "-18.00"}, ""},
		{"supplier of component gpu", settlement.Bearer{Component: "gpu"}, map[partner.ID]string{"gpuco": "-60.00"}, "borne by supplier of component gpu"},
		{"party gpuco", settlement.Bearer{Party: "gpuco"}, map[partner.ID]string{"gpuco": "-60.00"}, "borne by party gpuco"},
		{"node supplier_costs/gpu", settlement.Bearer{Node: "supplier_costs/gpu"}, map[partner.ID]string{"gpuco": "-60.00"}, "borne by node supplier_costs/gpu"},
		{"role supplier", settlement.Bearer{Role: "supplier"}, map[partner.ID]string{"gpuco": "-36.00", "storeco": "-24.00"}, "borne by role supplier"},
		{"node root", settlement.Bearer{Node: "root"}, map[partner.ID]string{"platform": "-24.00", "reseller-nl": "-36.00"}, "borne by node root"},
		{"role seller", settlement.Bearer{Role: "seller"}, map[partner.ID]string{"reseller-nl": "-60.00"}, "borne by role seller"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := s.Settle(ctx, res.State, []settlement.Line{bearerCredit("C1", "-60.00", "2026-03-20", tc.bearer)})
			require.NoError(t, err)
			requireParties(t, c.Entries, tc.want)
			for _, e := range c.Entries {
				require.Equal(t, settlement.KindClawback, e.Kind)
				require.Equal(t, tc.share, e.Share, e.ID)
				if tc.bearer.IsZero() {
					require.Equal(t, "credit of L1 by C1", e.Note)
				} else {
					require.Equal(t, "credit of L1 by C1, borne by "+tc.bearer.String(), e.Note)
				}
			}
			ll, ok := c.State.Line("L1")
			require.True(t, ok)
			requireMoney(t, ll.Credited, eur("60.00"))
		})
	}
}

// Explain shows the bearer under the credited line's part, and the credit
// line's own tree says who bore it.
func TestExplainShowsTheBearer(t *testing.T) {
	s, res := settledBundle(t)
	c, err := s.Settle(ctx, res.State, []settlement.Line{bearerCredit("C1", "-60.00", "2026-03-20", settlement.Bearer{Component: "gpu"})})
	require.NoError(t, err)
	all := append(append([]settlement.Entry{}, res.Entries...), c.Entries...)
	tree, err := settlement.Explain("L1", all)
	require.NoError(t, err)
	require.Equal(t, `line L1  EUR 1000.00  plan bundle@1
├─ supplier_costs  EUR 500.00
│  ├─ gpu  EUR 300.00 -> gpuco (supplier), supplier_cost, share wholesale cost
│  │      clawback EUR -60.00 on 2026-03-20, credit of L1 by C1, borne by supplier of component gpu
│  └─ storage  EUR 200.00 -> storeco (supplier), supplier_cost, share wholesale cost
└─ root  EUR 500.00
   ├─ platform  EUR 200.00 -> platform, share 40%
   └─ reseller  EUR 300.00 -> reseller-nl (seller), share remaining
`, tree)
	tree, err = settlement.Explain("C1", all)
	require.NoError(t, err)
	require.Equal(t, `line C1  EUR -60.00  credits line L1
└─ supplier_costs/gpu  clawback EUR -60.00 -> gpuco (of entry L1:supplier_costs/gpu), borne by supplier of component gpu
`, tree)
}

// A bearer with less unreversed than the credit: by default the credit is
// refused with an error naming the line, the bearer and the shortfall;
// with shortfall: proportional, the bearer gives back all it has and the
// others the rest in proportion to what they have.
//
// After C1 (60.00 borne by gpuco), storeco has 200.00 and a credit of
// 250.00 borne by it is 50.00 short. By option, storeco gives back 200.00
// and the other 50.00 comes from gpuco 240, platform 200 and reseller 300
// (740): 5000 cents × 240/740 = 1621.62, × 200/740 = 1351.35, × 300/740 =
// 2027.03; the floors leave one cent, which goes to the largest remainder
// (gpuco): 16.22, 13.51, 20.27.
func TestBearerShortfall(t *testing.T) {
	s, res := settledBundle(t)
	c1, err := s.Settle(ctx, res.State, []settlement.Line{bearerCredit("C1", "-60.00", "2026-03-20", settlement.Bearer{Component: "gpu"})})
	require.NoError(t, err)

	_, err = s.Settle(ctx, c1.State, []settlement.Line{bearerCredit("C2", "-250.00", "2026-03-21", settlement.Bearer{Component: "storage"})})
	require.ErrorIs(t, err, settlement.ErrBearerShortfall)
	var le *settlement.LineError
	require.ErrorAs(t, err, &le)
	require.Equal(t, settlement.LineID("C2"), le.Line)
	var be *settlement.BearerError
	require.ErrorAs(t, err, &be)
	require.Equal(t, settlement.LineID("L1"), be.Line)
	require.Equal(t, settlement.Bearer{Component: "storage"}, be.Bearer)
	requireMoney(t, be.Credit, eur("250.00"))
	requireMoney(t, be.Unreversed, eur("200.00"))
	requireMoney(t, be.Shortfall, eur("50.00"))
	require.ErrorContains(t, err, `supplier of component storage has EUR 200.00 unreversed on line "L1", the credit takes EUR 250.00: EUR 50.00 short`)

	rest := settlement.Bearer{Component: "storage", Shortfall: settlement.ShortfallProportional}
	c2, err := s.Settle(ctx, c1.State, []settlement.Line{bearerCredit("C2", "-250.00", "2026-03-21", rest)})
	require.NoError(t, err)
	requireParties(t, c2.Entries, map[partner.ID]string{"storeco": "-200.00", "gpuco": "-16.22", "platform": "-13.51", "reseller-nl": "-20.27"})
	note := "credit of L1 by C2, borne by supplier of component storage up to its EUR 200.00 unreversed, the other EUR 50.00 in proportion"
	for _, e := range c2.Entries {
		require.Equal(t, note, e.Note)
		if e.Party == "storeco" {
			require.Equal(t, "borne by supplier of component storage", e.Share)
		} else {
			require.Equal(t, "in proportion, for the shortfall of supplier of component storage", e.Share)
		}
	}

	// A bearer with nothing left is short by the whole credit; a full
	// credit of the rest still nets every party to zero.
	_, err = s.Settle(ctx, c2.State, []settlement.Line{bearerCredit("C3", "-0.01", "2026-03-22", settlement.Bearer{Party: "storeco"})})
	require.ErrorIs(t, err, settlement.ErrBearerShortfall)
	c3, err := s.Settle(ctx, c2.State, []settlement.Line{credit("C3", "L1", "-690.00", "2026-03-22")})
	require.NoError(t, err)
	all := append(append(append(append([]settlement.Entry{}, res.Entries...), c1.Entries...), c2.Entries...), c3.Entries...)
	for p, m := range byParty(all) {
		require.Truef(t, m.IsZero(), "%s nets %s", p, m)
	}
}

// A bearer with no part on the line is refused whatever its shortfall
// option: a mistyped party never spreads a credit over the others. Bad
// bearers are refused before anything is settled.
func TestBearerRefused(t *testing.T) {
	s, res := settledBundle(t)
	for _, b := range []settlement.Bearer{{Party: "nobody"}, {Party: "nobody", Shortfall: settlement.ShortfallProportional},
		{Component: "cpu"}, {Node: "root/channel"}, {Node: "roo"}, {Role: "referrer"}} {
		_, err := s.Settle(ctx, res.State, []settlement.Line{bearerCredit("C1", "-1.00", "2026-03-20", b)})
		require.ErrorIs(t, err, settlement.ErrBearerNotOnLine, "%s", b)
		require.ErrorContains(t, err, "bears no part of line \"L1\"")
	}
	// The error says what could bear the line's parts, and the nearest to
	// a mistyped one (a trial's "telcoo" read only "bears no part").
	for b, want := range map[settlement.Bearer]string{
		{Party: "gpucoo"}:  `party gpucoo bears no part of line "L1" (its parts: gpuco, platform, reseller-nl, storeco); did you mean "gpuco"?`,
		{Component: "cpu"}: `supplier of component cpu bears no part of line "L1" (its parts: gpu, storage); did you mean "gpu"?`,
		{Node: "roo"}:      `node roo bears no part of line "L1" (its parts: root/platform, root/reseller, supplier_costs/gpu, supplier_costs/storage)`,
		{Role: "referrer"}: `role referrer bears no part of line "L1" (its parts: platform, seller, supplier)`,
	} {
		_, err := s.Settle(ctx, res.State, []settlement.Line{bearerCredit("C1", "-1.00", "2026-03-20", b)})
		var be *settlement.BearerError
		require.ErrorAs(t, err, &be)
		require.Equal(t, "settlement: "+want, be.Error())
	}
	// An over-credit is an over-credit whoever bears it.
	_, err := s.Settle(ctx, res.State, []settlement.Line{bearerCredit("C1", "-1000.01", "2026-03-20", settlement.Bearer{Party: "gpuco"})})
	require.ErrorIs(t, err, settlement.ErrOverCredit)

	for _, tc := range []struct {
		name  string
		line  settlement.Line
		field string
	}{
		{"on a sale line", func() settlement.Line { l := bundleLine("L2"); l.Bearer = settlement.Bearer{Party: "gpuco"}; return l }(), "bearer"},
		{"two bearers", bearerCredit("C1", "-1.00", "2026-03-20", settlement.Bearer{Party: "gpuco", Role: "seller"}), "bearer"},
		{"unknown role", bearerCredit("C1", "-1.00", "2026-03-20", settlement.Bearer{Role: "Seller!"}), "bearer.role"},
		{"bad party", bearerCredit("C1", "-1.00", "2026-03-20", settlement.Bearer{Party: "a:b"}), "bearer.party"},
		{"bad node", bearerCredit("C1", "-1.00", "2026-03-20", settlement.Bearer{Node: "root//x"}), "bearer.node"},
		{"shortfall without bearer", bearerCredit("C1", "-1.00", "2026-03-20", settlement.Bearer{Shortfall: settlement.ShortfallProportional}), "bearer.shortfall"},
		{"unknown shortfall", bearerCredit("C1", "-1.00", "2026-03-20", settlement.Bearer{Party: "gpuco", Shortfall: 7}), "bearer.shortfall"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Settle(ctx, res.State, []settlement.Line{tc.line})
			require.ErrorIs(t, err, settlement.ErrInvalidLine)
			var ve *ensemble.ValidationError
			require.ErrorAs(t, err, &ve)
			require.Equal(t, tc.field, ve.Problems[0].Path)
			require.Empty(t, got.Entries)
		})
	}
}

// Bearers round-trip through JSON by name; an unknown shortfall name is
// refused.
func TestBearerJSON(t *testing.T) {
	c := bearerCredit("C1", "-1.00", "2026-03-20", settlement.Bearer{Component: "gpu", Shortfall: settlement.ShortfallProportional})
	b, err := json.Marshal(c)
	require.NoError(t, err)
	require.Contains(t, string(b), `"bearer":{"component":"gpu","shortfall":"proportional"}`)
	var back settlement.Line
	require.NoError(t, json.Unmarshal(b, &back))
	require.Equal(t, c.Bearer, back.Bearer)
	b, err = json.Marshal(credit("C1", "L1", "-1.00", "2026-03-20"))
	require.NoError(t, err)
	require.NotContains(t, string(b), "bearer", "the proportional default is not written")
	var s settlement.Shortfall
	require.Error(t, s.UnmarshalText([]byte("some")))
}

// A credit note raised from an invoice names its bearer, and FromInvoice
// carries it to the credit line: an SLA credit of 10% of a EUR 200.00
// bundle month (suppliers owed 30%, 60.00, and 20%, 40.00; the margin of
// 100.00 split 70/30 between the platform and the seller) borne by the
// security component's supplier takes its 20.00 from supplier-secure
// alone.
func TestBearerFromInvoiceCreditNote(t *testing.T) {
	cat, err := catalog.LoadYAML([]byte(`
offers:
  - {id: backup, version: 1, currency: EUR, effective_from: 2026-01-01T00:00:00Z}
  - {id: secure, version: 1, currency: EUR, effective_from: 2026-01-01T00:00:00Z}
  - id: secure-backup
    version: 1
    kind: bundle
    currency: EUR
    effective_from: 2026-01-01T00:00:00Z
    charges:
      - {id: monthly, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: flat, amount: "200.00"}}
    components:
      - {offer: backup, supplier: supplier-backup, cost: {ratio: "30%"}}
      - {offer: secure, supplier: supplier-secure, cost: {ratio: "20%"}}
`))
	require.NoError(t, err)
	b, err := invoice.NewBuilder(cat, invoice.Options{})
	require.NoError(t, err)
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	sub := invoice.Subscription{ID: "sub-1", Customer: invoice.Customer{ID: "acme", Region: "NL"}, Currency: ensemble.MustCurrency("EUR"), Anchor: at,
		Items: []invoice.Item{{ID: "l1", Segments: []invoice.Segment{{Start: at, Pin: catalog.Pin{Offer: "secure-backup", Version: 1}, Quantity: decimal.NewFromInt(1)}}}}}
	invs, err := b.Build(invoice.Run{At: at}, []invoice.Subscription{sub})
	require.NoError(t, err)
	inv, err := invoice.Issue(invs[0], at)
	require.NoError(t, err)
	o := order.Order{ID: "ord-1", Customer: order.Customer{ID: "acme", Country: "NL"},
		Route: partner.Route{Kind: partner.RoutePartner, Seller: "sub-utrecht", Chain: []partner.ID{"sub-utrecht", "reseller-nl", "distri-eu"}}}
	lines, err := settlement.FromInvoice(inv.Lines, o)
	require.NoError(t, err)
	s := newSettler(t)
	res, err := s.Settle(ctx, settlement.State{}, lines)
	require.NoError(t, err)
	requireParties(t, res.Entries, map[partner.ID]string{"supplier-backup": "60.00", "supplier-secure": "40.00", "platform": "70.00", "sub-utrecht": "30.00"})

	secure := lines[0].SupplierCosts[1].Component.ID
	require.Equal(t, "secure-backup/secure/supplier-secure", secure)
	cn, err := invoice.NewCreditNote(inv, nil, invoice.CreditRequest{ID: "sla", Reason: invoice.ReasonSLA, Incident: "INC-7", At: at.AddDate(0, 0, 12),
		Bearer: invoice.Bearer{Component: secure}, Lines: []invoice.CreditLine{{Line: inv.Lines[0].ID, Percent: ensemble.MustRatio("10%")}}})
	require.NoError(t, err)
	credits, err := settlement.FromInvoice(cn.Lines, o)
	require.NoError(t, err)
	require.Equal(t, settlement.Bearer{Component: secure}, credits[0].Bearer)
	back, err := s.Settle(ctx, res.State, credits)
	require.NoError(t, err)
	requireParties(t, back.Entries, map[partner.ID]string{"supplier-secure": "-20.00"})
	require.Contains(t, back.Entries[0].Trace, ensemble.Ref{Kind: invoice.RefIncident, ID: "INC-7"}, "the clawback traces to the incident")

	// A bearer FromInvoice cannot read is an error naming the line.
	cn.Lines[0].Bearer = invoice.Bearer{Role: "Seller!"}
	_, err = settlement.FromInvoice(cn.Lines, o)
	require.ErrorIs(t, err, settlement.ErrInvalidLine)
	require.ErrorContains(t, err, string(cn.Lines[0].ID))
	cn.Lines[0].Bearer = invoice.Bearer{Party: "x", Shortfall: "sometimes"}
	_, err = settlement.FromInvoice(cn.Lines, o)
	require.ErrorIs(t, err, settlement.ErrInvalidLine)
}

package order_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/order"
	"github.com/ensemble-commerce/ensemble/partner"
)

func TestLifecycleFromDraftToActive(t *testing.T) {
	o, events := activeOrder(t)

	t.Run("quote pins the versions in force and records the allowance basis", func(t *testing.T) {
		require.Equal(t, "EUR", o.Currency)
		require.Equal(t, []order.LineID{"l1", "l2"}, []order.LineID{o.Lines[0].ID, o.Lines[1].ID}, "lines sorted by id")
		require.Equal(t, catalog.Pin{Offer: "suite", Version: 1}, o.Lines[0].Pin)
		require.Equal(t, catalog.Pin{Offer: "extra-ip", Version: 1}, o.Lines[0].AddOns[0].Pin)
		require.Equal(t, catalog.Pin{Offer: "backup", Version: 1}, o.Lines[1].Pin)
		require.Equal(t, day("2026-03-31"), o.ExpiresAt)
	})
	t.Run("the route captures the chain and lists the parties", func(t *testing.T) {
		require.Equal(t, partner.RoutePartner, o.Route.Kind)
		require.Equal(t, []partner.ID{"reseller-nl", "distri-eu"}, o.Route.Chain)
		parties := o.Route.Parties()
		require.Len(t, parties, 2)
		require.Equal(t, partner.Party{Role: partner.RoleSeller, Partner: "reseller-nl"}, parties[0])
		require.Equal(t, partner.Party{Role: partner.RoleUpline, Partner: "distri-eu", Level: 1}, parties[1])
	})
	t.Run("one task per bundle component and one per product line", func(t *testing.T) {
		var ids []order.TaskID
		for _, task := range o.Tasks {
			ids = append(ids, task.ID)
			require.Equal(t, order.TaskDone, task.Status)
		}
		require.Equal(t, []order.TaskID{"l1/backup/supplier-backup", "l1/storage/supplier-secure", "l2"}, ids)
		require.Equal(t, partner.ID("supplier-backup"), o.Tasks[0].Supplier)
		require.Equal(t, "bundle_component:suite/backup/supplier-backup@1", o.Tasks[0].Ref.String())
		require.Empty(t, o.Tasks[2].Supplier)
	})
	t.Run("activation opens one segment per line and anchors billing", func(t *testing.T) {
		require.Equal(t, day("2026-03-05"), o.ActivatedAt)
		require.Equal(t, day("2026-03-05"), o.Billing.Anchor)
		require.Len(t, o.Segments, 2)
		s := o.Segments[0]
		require.Equal(t, order.SegmentID("l1/8"), s.ID, "opened by event 8")
		require.True(t, s.Open())
		require.Equal(t, order.EventActivated, s.Cause)
		require.True(t, s.Quantity.Equal(dec("10")))
		require.Len(t, s.AddOns, 1)
		end, ok := o.TermEnd()
		require.True(t, ok)
		require.Equal(t, day("2027-03-05"), end)
		require.Equal(t, "order_line:ord-1/l1", o.Ref("l1").String())
		require.Equal(t, "ord-1/l1", o.LineRef("l1"))
		require.Equal(t, "order_segment:ord-1/l1/8", o.SegmentRef(s.ID).String())
	})
	t.Run("events replay to the same order", func(t *testing.T) {
		folded, err := order.Fold(events)
		require.NoError(t, err)
		requireSame(t, folded, o)
		require.Equal(t, len(events), o.Events)
		for i, ev := range events {
			require.Equal(t, i+1, ev.Seq)
			require.Equal(t, order.ID("ord-1"), ev.Order)
		}
	})
	t.Run("cycle times from state and from events agree", func(t *testing.T) {
		c := o.CycleTimes()
		require.Equal(t, 48*time.Hour, c.QuoteToOrder)
		require.Equal(t, 48*time.Hour, c.OrderToActivation)
		require.True(t, c.Ordered && c.Activated)
		require.Equal(t, c, order.Measure(events))
	})
}

func TestQuoteValidation(t *testing.T) {
	e := env(t)
	at := day("2026-03-01")
	approved := func(p partner.ID, offer string, discount string) *partner.Approval {
		return &partner.Approval{Status: partner.ApprovalApproved, Events: 2, DecidedBy: "vp", DecidedAt: at, Request: partner.Request{
			ID: "r1", Kind: partner.RequestPriceException, Partner: p, Offer: partner.Offer{ID: offer},
			Discount: dec(discount), RequestedBy: "seller", RequestedAt: at}}
	}
	tests := []struct {
		name   string
		edit   func(d *order.Draft)
		env    order.Context
		at     time.Time
		want   error
		path   string
		basis  order.DiscountBasis // of line l1 when the quote succeeds
		noWant bool
	}{
		{name: "a clean quote", edit: func(d *order.Draft) {}},
		{name: "bronze sub-reseller to an enterprise customer", want: order.ErrCannotSell, path: "lines[0].pin",
			edit: func(d *order.Draft) { d.Route.Seller = "sub-utrecht"; d.Customer.Segment = "enterprise" }},
		{name: "customer outside the seller's territory", want: order.ErrCannotSell, path: "lines[0].pin",
			edit: func(d *order.Draft) { d.Customer.Country = "AT" }},
		{name: "security offer without the certification", want: order.ErrCannotSell, path: "lines[1].pin",
			edit: func(d *order.Draft) { d.Lines[0].Pin = catalog.Pin{Offer: "firewall"} }},
		{name: "suspended seller", want: order.ErrCannotSell, path: "lines[0].pin", at: day("2026-05-01"),
			edit: func(d *order.Draft) { d.Route.Seller = "reseller-de"; d.Customer.Country = "DE" }},
		{name: "quantity above the offer's maximum", want: order.ErrQuantity, path: "lines[1].quantity",
			edit: func(d *order.Draft) { d.Lines[0].Quantity = dec("501") }},
		{name: "pinned version not in force", want: order.ErrNotInForce, path: "lines[0].pin", at: day("2026-08-01"),
			edit: func(d *order.Draft) {
				d.Lines[1] = order.Line{ID: "l1", Pin: catalog.Pin{Offer: "storage", Version: 1}, Quantity: dec("1")}
			}},
		{name: "no version in force yet", want: order.ErrNotInForce, path: "lines[0].pin", at: day("2025-12-01"),
			edit: func(d *order.Draft) {}},
		{name: "add-on not attachable to the offer", want: order.ErrNotAttachable, path: "lines[1].add_ons[0].pin",
			edit: func(d *order.Draft) { d.Lines[0].AddOns = []order.AddOn{{Pin: catalog.Pin{Offer: "extra-ip"}}} }},
		{name: "add-on quantity above its maximum", want: order.ErrQuantity, path: "lines[0].add_ons[0].quantity",
			edit: func(d *order.Draft) { d.Lines[1].AddOns[0].Quantity = dec("6") }},
		{name: "an add-on sold as a line", want: order.ErrNotAttachable, path: "lines[1].pin",
			edit: func(d *order.Draft) { d.Lines[0].Pin = catalog.Pin{Offer: "extra-ip"} }},
		{name: "unknown offer", want: order.ErrUnknown, path: "lines[1].pin",
			edit: func(d *order.Draft) { d.Lines[0].Pin = catalog.Pin{Offer: "ghost"} }},
		{name: "lines in two currencies", want: order.ErrCurrency, path: "lines[1].pin",
			edit: func(d *order.Draft) { d.Lines[0].Pin = catalog.Pin{Offer: "dollar"}; d.Lines[0].Quantity = dec("1") }},
		{name: "discount within the gold allowance", basis: order.BasisAllowance,
			edit: func(d *order.Draft) { d.Lines[1].Discount.Ratio = ensemble.MustRatio("20%") }},
		{name: "discount above the allowance without approval", want: order.ErrDiscountNotApproved, path: "lines[0].discount",
			edit: func(d *order.Draft) { d.Lines[1].Discount.Ratio = ensemble.MustRatio("25%") }},
		{name: "discount covered by an approval", basis: order.BasisApproval,
			edit: func(d *order.Draft) {
				d.Lines[1].Discount = order.Discount{Ratio: ensemble.MustRatio("25%"), Approval: approved("reseller-nl", "suite", "0.30")}
			}},
		{name: "approval for the order's customer", basis: order.BasisApproval,
			edit: func(d *order.Draft) {
				a := approved("reseller-nl", "suite", "0.30")
				a.Request.Customer.ID = "acme"
				d.Lines[1].Discount = order.Discount{Ratio: ensemble.MustRatio("25%"), Approval: a}
			}},
		// A trial: an approval is the governance's, as it left it, for the
		// order's customer, decided by the quote: a forged one (no
		// decision), another customer's or one decided after the quote
		// covers nothing.
		{name: "approval without a decision", want: order.ErrDiscountNotApproved, path: "lines[0].discount",
			edit: func(d *order.Draft) {
				a := approved("reseller-nl", "suite", "0.90")
				a.Events, a.DecidedBy = 0, ""
				d.Lines[1].Discount = order.Discount{Ratio: ensemble.MustRatio("90%"), Approval: a}
			}},
		{name: "approval for another customer", want: order.ErrDiscountNotApproved, path: "lines[0].discount",
			edit: func(d *order.Draft) {
				a := approved("reseller-nl", "suite", "0.30")
				a.Request.Customer.ID = "globex"
				d.Lines[1].Discount = order.Discount{Ratio: ensemble.MustRatio("25%"), Approval: a}
			}},
		{name: "approval decided after the quote", want: order.ErrDiscountNotApproved, path: "lines[0].discount",
			edit: func(d *order.Draft) {
				a := approved("reseller-nl", "suite", "0.30")
				a.DecidedAt = at.Add(time.Hour)
				d.Lines[1].Discount = order.Discount{Ratio: ensemble.MustRatio("25%"), Approval: a}
			}},
		{name: "approval for another partner", want: order.ErrDiscountNotApproved, path: "lines[0].discount",
			edit: func(d *order.Draft) {
				d.Lines[1].Discount = order.Discount{Ratio: ensemble.MustRatio("25%"), Approval: approved("reseller-de", "suite", "0.30")}
			}},
		{name: "approval for a smaller discount", want: order.ErrDiscountNotApproved, path: "lines[0].discount",
			edit: func(d *order.Draft) {
				d.Lines[1].Discount = order.Discount{Ratio: ensemble.MustRatio("1/3"), Approval: approved("reseller-nl", "suite", "0.30")}
			}},
		{name: "a rejected approval", want: order.ErrDiscountNotApproved, path: "lines[0].discount",
			edit: func(d *order.Draft) {
				a := approved("reseller-nl", "suite", "0.30")
				a.Status = partner.ApprovalRejected
				d.Lines[1].Discount = order.Discount{Ratio: ensemble.MustRatio("25%"), Approval: a}
			}},
		{name: "direct discount is the platform's", basis: order.BasisPlatform,
			edit: func(d *order.Draft) { d.Route = partner.Route{}; d.Lines[1].Discount.Ratio = ensemble.MustRatio("50%") }},
		{name: "partner route without governance", want: order.ErrMissingContext, path: "route",
			env: order.Context{Catalog: mustCatalog(t)}, edit: func(d *order.Draft) {}},
		{name: "unknown referrer", want: order.ErrUnknown, path: "route.referrer",
			edit: func(d *order.Draft) { d.Route.Referrer = "nobody" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := nlDraft()
			tt.edit(d)
			at := tt.at
			if at.IsZero() {
				at = day("2026-03-01")
			}
			useEnv := e
			if tt.env.Catalog != nil {
				useEnv = tt.env
			}
			o, _, err := order.Order{}.Decide(ctx, useEnv, order.Command{Kind: order.CmdCreate, Order: "q", Draft: d}, at)
			require.NoError(t, err)
			got, evs, err := o.Decide(ctx, useEnv, order.Command{Kind: order.CmdQuote, ExpiresAt: at.AddDate(0, 1, 0)}, at)
			if tt.want == nil {
				require.NoError(t, err)
				require.Equal(t, order.StatusQuoted, got.Status)
				require.Equal(t, tt.basis, got.Lines[0].Discount.Basis)
				return
			}
			require.ErrorIs(t, err, tt.want)
			var te *order.TransitionError
			require.ErrorAs(t, err, &te)
			require.Equal(t, order.CmdQuote, te.Command)
			var ve *ensemble.ValidationError
			require.ErrorAs(t, err, &ve)
			var paths []string
			for _, p := range ve.Problems {
				paths = append(paths, p.Path)
			}
			require.Contains(t, paths, tt.path, "%v", err)
			require.Nil(t, evs, "no events on failure")
			requireSame(t, got, o, "order unchanged")
		})
	}
}

func TestQuoteReportsEveryProblemAtOnce(t *testing.T) {
	e := env(t)
	d := nlDraft()
	d.Lines[0].Quantity = dec("900")                                                                                    // l2: backup above 500
	d.Lines[1].AddOns[0].Quantity = dec("7")                                                                            // l1: extra-ip above 5
	d.Lines[1].Discount.Ratio = ensemble.MustRatio("40%")                                                               // above 20% without approval
	d.Lines = append(d.Lines, order.Line{ID: "l3", Pin: catalog.Pin{Offer: "storage", Version: 2}, Quantity: dec("1")}) // v2 not in force in March
	at := day("2026-03-01")
	o, _, err := order.Order{}.Decide(ctx, e, order.Command{Kind: order.CmdCreate, Order: "q", Draft: d}, at)
	require.NoError(t, err)
	_, _, err = o.Decide(ctx, e, order.Command{Kind: order.CmdQuote, ExpiresAt: at}, at)
	var ve *ensemble.ValidationError
	require.ErrorAs(t, err, &ve)
	var paths []string
	for _, p := range ve.Problems {
		paths = append(paths, p.Path)
	}
	require.ElementsMatch(t, []string{"expires_at", "lines[0].add_ons[0].quantity", "lines[0].discount", "lines[1].quantity", "lines[2].pin"}, paths, "%v", err)
	var le *order.LineError
	require.ErrorAs(t, err, &le)
	require.Equal(t, order.ID("q"), le.Order)
	require.Contains(t, err.Error(), `line "l2"`)
	require.Contains(t, err.Error(), "900")
}

func TestDraftValidation(t *testing.T) {
	d := &order.Draft{
		Customer: order.Customer{ID: "", Country: "XX", TaxStatus: order.ReverseCharge},
		Route:    partner.Route{Kind: partner.RouteDirect, Referrer: "referral-ams", CoSellers: []partner.CoSeller{{Partner: "a", Weight: ensemble.MustRatio("-1")}}},
		Lines: []order.Line{
			{ID: "a", Pin: catalog.Pin{Offer: "backup"}, Quantity: dec("-1")},
			{ID: "a", Pin: catalog.Pin{}, Quantity: dec("1"), Discount: order.Discount{Ratio: ensemble.MustRatio("3/2")}},
			{ID: "b c", Pin: catalog.Pin{Offer: "suite", Version: -1}, Quantity: dec("1"),
				AddOns: []order.AddOn{{Pin: catalog.Pin{Offer: "extra-ip"}}, {Pin: catalog.Pin{Offer: "extra-ip"}}}},
		},
		Term:    order.Term{Length: ensemble.Cadence{Unit: ensemble.Monthly, Count: -2}},
		Billing: order.Billing{TimeZone: "Mars/Olympus"},
	}
	_, evs, err := order.Order{}.Decide(ctx, order.Context{}, order.Command{Kind: order.CmdCreate, Order: "o/1", Draft: d}, day("2026-03-01"))
	require.Nil(t, evs)
	var ve *ensemble.ValidationError
	require.ErrorAs(t, err, &ve)
	want := map[string]error{
		"order":                         order.ErrInvalidID,
		"customer.id":                   order.ErrInvalidID,
		"customer.country":              order.ErrInvalid,
		"customer.tax_id":               order.ErrRequired,
		"route.kind":                    order.ErrInvalid,
		"route.seller":                  order.ErrRequired,
		"route.co_sellers[0].weight":    order.ErrInvalid,
		"lines[0].quantity":             order.ErrQuantity,
		"lines[1].id":                   order.ErrDuplicate,
		"lines[1].pin.offer":            order.ErrRequired,
		"lines[1].discount.ratio":       order.ErrInvalid,
		"lines[2].id":                   order.ErrInvalidID,
		"lines[2].pin.version":          order.ErrInvalid,
		"lines[2].add_ons[1].pin.offer": order.ErrDuplicate,
		"term.length":                   order.ErrInvalid,
		"billing.time_zone":             order.ErrInvalid,
	}
	got := map[string]error{}
	for _, p := range ve.Problems {
		got[p.Path] = p.Err
	}
	require.Len(t, got, len(want), "%v", err)
	for path, cond := range want {
		require.Contains(t, got, path, "%v", err)
		require.ErrorIs(t, got[path], cond, path)
	}
}

func TestRouteKinds(t *testing.T) {
	tests := []struct {
		name  string
		route partner.Route
		want  partner.RouteKind
		roles []partner.Role
	}{
		{"direct", partner.Route{}, partner.RouteDirect, nil},
		{"referral", partner.Route{Referrer: "referral-ams"}, partner.RouteReferral, []partner.Role{partner.RoleReferrer}},
		{"partner with referrer", partner.Route{Seller: "reseller-nl", Referrer: "referral-ams"}, partner.RoutePartner,
			[]partner.Role{partner.RoleSeller, partner.RoleReferrer}},
		{"marketplace", partner.Route{Marketplace: "distri-eu"}, partner.RouteMarketplace, []partner.Role{partner.RoleMarketplace}},
		{"co-sell", partner.Route{Seller: "reseller-nl", SellerWeight: ensemble.MustRatio("1/2"), CoSellers: []partner.CoSeller{
			{Partner: "sub-utrecht", Weight: ensemble.MustRatio("1/3")}, {Partner: "distri-eu", Weight: ensemble.MustRatio("1/6")}}}, partner.RouteCoSell,
			[]partner.Role{partner.RoleSeller, partner.RoleCoSeller, partner.RoleCoSeller}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := nlDraft()
			d.Route = tt.route
			d.Lines[1].Discount = order.Discount{}
			o, _, err := order.Order{}.Decide(ctx, env(t), order.Command{Kind: order.CmdCreate, Order: "r", Draft: d}, day("2026-03-01"))
			require.NoError(t, err)
			require.Equal(t, tt.want, o.Route.Kind)
			var roles []partner.Role
			for _, p := range o.Route.Parties() {
				roles = append(roles, p.Role)
			}
			require.Equal(t, tt.roles, roles)
			if tt.want == partner.RouteCoSell {
				require.Equal(t, partner.ID("distri-eu"), o.Route.CoSellers[0].Partner, "co-sellers sorted")
			}
			// The declared kind must agree with the parties.
			d.Route.Kind = tt.want%5 + 1
			_, _, err = order.Order{}.Decide(ctx, env(t), order.Command{Kind: order.CmdCreate, Order: "r", Draft: d}, day("2026-03-01"))
			require.ErrorIs(t, err, order.ErrInvalid)
		})
	}
}

func TestTransitionsRefused(t *testing.T) {
	e := env(t)
	active, _ := activeOrder(t)
	var evs []order.Event
	draft := step(t, e, order.Order{}, &evs, order.Command{Kind: order.CmdCreate, Order: "d", Draft: nlDraft()}, day("2026-03-01"))
	quoted := step(t, e, draft, &evs, order.Command{Kind: order.CmdQuote, ExpiresAt: day("2026-03-10")}, day("2026-03-01"))
	tests := []struct {
		name string
		o    order.Order
		cmd  order.Command
		at   time.Time
		want error
	}{
		{"accept a draft", draft, order.Command{Kind: order.CmdAccept}, day("2026-03-02"), order.ErrInvalidTransition},
		{"quote twice", quoted, order.Command{Kind: order.CmdQuote, ExpiresAt: day("2026-04-01")}, day("2026-03-02"), order.ErrInvalidTransition},
		{"accept an expired quote", quoted, order.Command{Kind: order.CmdAccept}, day("2026-03-10"), order.ErrQuoteExpired},
		{"expire a quote early", quoted, order.Command{Kind: order.CmdExpireQuote}, day("2026-03-09"), order.ErrNotExpired},
		{"act in the past", quoted, order.Command{Kind: order.CmdAccept}, day("2026-02-28"), order.ErrOutOfOrder},
		{"create twice", draft, order.Command{Kind: order.CmdCreate, Order: "d", Draft: nlDraft()}, day("2026-03-02"), order.ErrInvalidTransition},
		{"resume an active order", active, order.Command{Kind: order.CmdResume}, day("2026-04-01"), order.ErrInvalidTransition},
		{"change a draft", draft, order.Command{Kind: order.CmdChange, Change: &order.Change{Kind: order.ChangeQuantity, Line: "l1", Quantity: dec("2")}}, day("2026-03-02"), order.ErrInvalidTransition},
		{"a field the command does not use", active, order.Command{Kind: order.CmdSuspend, Task: "l2"}, day("2026-04-01"), order.ErrNotAllowed},
		{"a command without its data", active, order.Command{Kind: order.CmdChange}, day("2026-04-01"), order.ErrRequired},
		{"an unknown command", active, order.Command{Kind: 99}, day("2026-04-01"), order.ErrInvalid},
		{"a zero instant", active, order.Command{Kind: order.CmdSuspend}, time.Time{}, order.ErrRequired},
		{"fail a task without a reason", active, order.Command{Kind: order.CmdFailTask, Task: "l2"}, day("2026-04-01"), order.ErrRequired},
		{"terminate a draft", draft, order.Command{Kind: order.CmdTerminate}, day("2026-03-02"), order.ErrInvalidTransition},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, evs, err := tt.o.Decide(ctx, e, tt.cmd, tt.at)
			require.ErrorIs(t, err, tt.want)
			var te *order.TransitionError
			require.ErrorAs(t, err, &te)
			require.Equal(t, tt.o.Status, te.Status)
			require.Nil(t, evs)
			requireSame(t, got, tt.o)
		})
	}
	// Before the order exists, the error names the order the command
	// would create, and says so rather than "when none".
	_, _, err := order.Order{}.Decide(ctx, e, order.Command{Kind: order.CmdCreate, Order: "new-1", Draft: &order.Draft{}}, day("2026-03-02"))
	require.ErrorContains(t, err, `order "new-1": cannot create at 2026-03-02T00:00:00Z: `)
	_, _, err = order.Order{}.Decide(ctx, e, order.Command{Kind: order.CmdAccept}, day("2026-03-02"))
	require.ErrorIs(t, err, order.ErrInvalidTransition)
	require.ErrorContains(t, err, `order "": cannot accept an order not created yet (at 2026-03-02T00:00:00Z): `)
	t.Run("an expired quote is revised back into a draft", func(t *testing.T) {
		var evs []order.Event
		o := step(t, e, quoted, &evs, order.Command{Kind: order.CmdExpireQuote}, day("2026-03-10"))
		require.Equal(t, order.StatusExpired, o.Status)
		o = step(t, e, o, &evs, order.Command{Kind: order.CmdRevise, Draft: nlDraft()}, day("2026-03-11"))
		require.Equal(t, order.StatusDraft, o.Status)
		require.True(t, o.ExpiresAt.IsZero())
		require.Equal(t, catalog.Pin{Offer: "suite"}, o.Lines[0].Pin, "the pin is released")
	})
	t.Run("errors name the order, status and command", func(t *testing.T) {
		_, _, err := draft.Decide(ctx, e, order.Command{Kind: order.CmdAccept}, day("2026-03-02"))
		require.EqualError(t, err, `order "d": cannot accept when draft at 2026-03-02T00:00:00Z: order: invalid transition`)
		require.True(t, errors.Is(err, order.ErrInvalidTransition))
	})
}

func TestRoutesAgainstTheNetwork(t *testing.T) {
	e := env(t)
	run := func(t *testing.T, d *order.Draft, quoteAt, acceptAt time.Time) (order.Order, error) {
		t.Helper()
		var evs []order.Event
		o := step(t, e, order.Order{}, &evs, order.Command{Kind: order.CmdCreate, Order: "rt", Draft: d}, quoteAt)
		o = step(t, e, o, &evs, order.Command{Kind: order.CmdQuote, ExpiresAt: quoteAt.AddDate(0, 0, 20)}, quoteAt)
		next, _, err := o.Decide(ctx, e, order.Command{Kind: order.CmdAccept}, acceptAt)
		return next, err
	}
	t.Run("a sub-reseller's chain of three is captured", func(t *testing.T) {
		d := nlDraft()
		d.Route = partner.Route{Seller: "sub-utrecht", Referrer: "referral-ams"}
		d.Lines[1].Discount = order.Discount{}
		o, err := run(t, d, day("2026-03-01"), day("2026-03-02"))
		require.NoError(t, err)
		require.Equal(t, []partner.ID{"sub-utrecht", "reseller-nl", "distri-eu"}, o.Route.Chain)
		require.Equal(t, day("2026-03-02"), o.AcceptedAt)
	})
	t.Run("a seller suspended between quote and acceptance", func(t *testing.T) {
		d := nlDraft()
		d.Route = partner.Route{Seller: "reseller-de"}
		d.Customer.Country = "DE"
		_, err := run(t, d, day("2026-03-25"), day("2026-04-02"))
		require.ErrorIs(t, err, order.ErrCannotSell)
		require.ErrorContains(t, err, `partner "reseller-de" is suspended`)
	})
	t.Run("a marketplace sale is governed by the marketplace", func(t *testing.T) {
		d := nlDraft()
		d.Route = partner.Route{Marketplace: "distri-eu"}
		d.Lines[1].Discount.Ratio = ensemble.MustRatio("10%")
		o, err := run(t, d, day("2026-03-01"), day("2026-03-02"))
		require.NoError(t, err)
		require.Equal(t, partner.RouteMarketplace, o.Route.Kind)
		require.Equal(t, []partner.ID{"distri-eu"}, o.Route.Chain)
		require.Equal(t, order.BasisAllowance, o.Lines[0].Discount.Basis)
	})
	// quoteCoSold quotes, at t, an NL order reseller-nl co-sells with
	// reseller-de (3/4, 1/4).
	quoteCoSold := func(t *testing.T, at time.Time) error {
		d := nlDraft()
		d.Route = partner.Route{Seller: "reseller-nl", SellerWeight: ensemble.MustRatio("3/4"), CoSellers: []partner.CoSeller{{Partner: "reseller-de", Weight: ensemble.MustRatio("1/4")}}}
		o, _, err := order.Order{}.Decide(ctx, e, order.Command{Kind: order.CmdCreate, Order: "cs", Draft: d}, at)
		require.NoError(t, err)
		_, _, err = o.Decide(ctx, e, order.Command{Kind: order.CmdQuote, ExpiresAt: at.AddDate(0, 1, 0)}, at)
		return err
	}
	t.Run("a co-seller that cannot trade", func(t *testing.T) {
		err := quoteCoSold(t, day("2026-05-01"))
		require.ErrorIs(t, err, order.ErrCannotSell)
		require.ErrorContains(t, err, "route.co_sellers[0].partner")
		var ve *ensemble.ValidationError
		require.ErrorAs(t, err, &ve)
		require.Len(t, ve.Problems, 1, "reported once, at its place in the route: %v", err)
	})
	// A co-seller shares in the sale, so it must be allowed to make it as
	// the seller must: reseller-de covers DE only, and the customer is in
	// NL (from a new user's trial, where it co-sold unchecked).
	t.Run("a co-seller that may not sell to the customer", func(t *testing.T) {
		err := quoteCoSold(t, day("2026-03-01"))
		require.ErrorIs(t, err, order.ErrCannotSell)
		require.ErrorContains(t, err, `partner "reseller-de" may not sell`)
		require.ErrorContains(t, err, "does not cover NL")
	})
}

func TestSummarize(t *testing.T) {
	h := time.Hour
	ts := []order.CycleTimes{
		{QuoteToOrder: 4 * h, Ordered: true, OrderToActivation: 10 * h, Activated: true, Exceptions: 2},
		{QuoteToOrder: 1 * h, Ordered: true, OrderToActivation: 30 * h, Activated: true, Exceptions: 1, OpenExceptions: 1},
		{QuoteToOrder: 2 * h, Ordered: true, Exceptions: 3, OpenExceptions: 2},
		{},
	}
	s := order.Summarize(ts)
	require.Equal(t, 4, s.Orders)
	require.Equal(t, order.Durations{Count: 3, Total: 7 * h, Mean: 7 * h / 3, P50: 2 * h, P90: 4 * h, Max: 4 * h}, s.QuoteToOrder)
	require.Equal(t, order.Durations{Count: 2, Total: 40 * h, Mean: 20 * h, P50: 10 * h, P90: 30 * h, Max: 30 * h}, s.OrderToActivation)
	require.Equal(t, 6, s.Exceptions)
	require.Equal(t, 3, s.OpenExceptions)
	require.Equal(t, 2, s.OrdersWithOpenExceptions)
	slices.Reverse(ts)
	require.Equal(t, s, order.Summarize(ts), "independent of the input order")
	require.Equal(t, order.CycleSummary{}, order.Summarize(nil))
}

func TestQuotedPricesHold(t *testing.T) {
	e := env(t)
	d := nlDraft()
	d.Lines = append(d.Lines, order.Line{ID: "l3", Pin: catalog.Pin{Offer: "storage"}, Quantity: dec("1")})
	var evs []order.Event
	o := step(t, e, order.Order{}, &evs, order.Command{Kind: order.CmdCreate, Order: "h", Draft: d}, day("2026-06-25"))
	o = step(t, e, o, &evs, order.Command{Kind: order.CmdQuote, ExpiresAt: day("2026-07-15")}, day("2026-06-25"))
	l, _ := o.Line("l3")
	require.Equal(t, catalog.Pin{Offer: "storage", Version: 1}, l.Pin, "the version in force at the quote")

	// v1 stops being sold on July 1 (v2 takes over) and is even retired
	// early; the quote still holds and activation keeps v1.
	retired, err := e.Catalog.Retire(catalog.Pin{Offer: "storage", Version: 1}, day("2026-06-28"))
	require.NoError(t, err)
	later := order.Context{Catalog: retired, Governance: e.Governance}
	o = step(t, later, o, &evs, order.Command{Kind: order.CmdAccept}, day("2026-07-02"))
	o = step(t, later, o, &evs, order.Command{Kind: order.CmdBeginActivation}, day("2026-07-02"))
	for _, task := range o.Tasks {
		o = step(t, later, o, &evs, order.Command{Kind: order.CmdCompleteTask, Task: task.ID}, day("2026-07-03"))
	}
	s, ok := o.SegmentAt("l3", day("2026-07-03"))
	require.True(t, ok)
	require.Equal(t, catalog.Pin{Offer: "storage", Version: 1}, s.Pin)

	// Re-quoting after a revision pins the version in force then.
	var more []order.Event
	r := step(t, later, order.Order{}, &more, order.Command{Kind: order.CmdCreate, Order: "h2", Draft: d}, day("2026-07-02"))
	r = step(t, later, r, &more, order.Command{Kind: order.CmdQuote, ExpiresAt: day("2026-07-15")}, day("2026-07-02"))
	l, _ = r.Line("l3")
	require.Equal(t, catalog.Pin{Offer: "storage", Version: 2}, l.Pin)
}

func TestQuoteHonoursContextCancellation(t *testing.T) {
	e := env(t)
	o, _, err := order.Order{}.Decide(ctx, e, order.Command{Kind: order.CmdCreate, Order: "c", Draft: nlDraft()}, day("2026-03-01"))
	require.NoError(t, err)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	got, evs, err := o.Decide(cancelled, e, order.Command{Kind: order.CmdQuote, ExpiresAt: day("2026-04-01")}, day("2026-03-01"))
	require.ErrorIs(t, err, context.Canceled)
	require.NotErrorIs(t, err, order.ErrCannotSell, "a cancelled check is not a refusal")
	require.Nil(t, evs)
	requireSame(t, got, o)
}

// A co-sold route's weights cover the seller and its co-sellers together
// and are checked when the order is drafted, each problem at its field
// with a typed error (order's condition and partner's): the same rules a
// hand-filled settlement line follows.
func TestDraftCoSellWeights(t *testing.T) {
	w := ensemble.MustRatio
	for _, tt := range []struct {
		name  string
		route partner.Route
		path  string // "" when the draft is valid
		conds []error
	}{
		{"70/30", partner.Route{Seller: "reseller-nl", SellerWeight: w("0.7"), CoSellers: []partner.CoSeller{{Partner: "reseller-de", Weight: w("0.3")}}}, "", nil},
		{"no weights: equal", partner.Route{Seller: "reseller-nl", CoSellers: []partner.CoSeller{{Partner: "reseller-de"}}}, "", nil},
		{"the seller among its co-sellers", partner.Route{Seller: "reseller-nl", SellerWeight: w("0.5"),
			CoSellers: []partner.CoSeller{{Partner: "reseller-nl", Weight: w("0.5")}}},
			"route.co_sellers[0].partner", []error{order.ErrDuplicate, partner.ErrDuplicateParty}},
		{"a co-seller twice", partner.Route{Seller: "reseller-nl", SellerWeight: w("0.4"),
			CoSellers: []partner.CoSeller{{Partner: "reseller-de", Weight: w("0.3")}, {Partner: "reseller-de", Weight: w("0.3")}}},
			"route.co_sellers[1].partner", []error{order.ErrDuplicate, partner.ErrDuplicateParty}},
		{"relative weights", partner.Route{Seller: "reseller-nl", SellerWeight: w("7"), CoSellers: []partner.CoSeller{{Partner: "reseller-de", Weight: w("3")}}},
			"route.co_sellers", []error{order.ErrInvalid, partner.ErrCoSellWeights}},
		{"a negative seller weight", partner.Route{Seller: "reseller-nl", SellerWeight: w("-0.5"), CoSellers: []partner.CoSeller{{Partner: "reseller-de", Weight: w("1.5")}}},
			"route.seller_weight", []error{order.ErrInvalid, partner.ErrCoSellWeights, ensemble.ErrNegativeWeight}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := nlDraft()
			d.Route = tt.route
			d.Lines[1].Discount = order.Discount{}
			o, _, err := order.Order{}.Decide(ctx, env(t), order.Command{Kind: order.CmdCreate, Order: "cs", Draft: d}, day("2026-03-01"))
			if tt.path == "" {
				require.NoError(t, err)
				require.True(t, tt.route.SellerWeight.Equal(o.Route.SellerWeight))
				require.Equal(t, partner.RouteCoSell, o.Route.Kind)
				return
			}
			var ve *ensemble.ValidationError
			require.ErrorAs(t, err, &ve)
			require.Len(t, ve.Problems, 1, "%v", err)
			require.Equal(t, tt.path, ve.Problems[0].Path)
			for _, c := range tt.conds {
				require.ErrorIs(t, ve.Problems[0].Err, c)
			}
		})
	}
}

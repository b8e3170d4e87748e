package partner_test

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/rules"
)

func TestRuleDocumentsPassTheirOwnTests(t *testing.T) {
	env, err := partner.Env()
	require.NoError(t, err)
	b, err := os.ReadFile("testdata/rules.yaml")
	require.NoError(t, err)
	rs, err := env.LoadRuleSet(rules.File{Name: "rules.yaml", Data: b})
	require.NoError(t, err)
	require.NoError(t, rs.RunTests(ctx))
}

func TestCanSell(t *testing.T) {
	g := loadGovernance(t)
	backup := partner.Offer{ID: "cloud-backup", Category: "backup"}
	security := partner.Offer{ID: "managed-firewall", Category: "security"}
	smbNL := partner.Customer{ID: "c1", Country: "NL", Segment: "smb"}
	entNL := partner.Customer{ID: "c2", Country: "NL", Segment: "enterprise"}
	entAT := partner.Customer{ID: "c3", Country: "AT", Segment: "enterprise"}
	at := date(2026, 3, 1)
	tests := []struct {
		name    string
		sale    partner.Sale
		allowed bool
		reason  string
		rule    string
	}{
		{"reseller in its territory", partner.Sale{Partner: "reseller-nl", Offer: backup, Customer: entNL, At: at}, true, "", "rule:channel-sell@1"},
		{"outside the territory", partner.Sale{Partner: "reseller-nl", Offer: backup, Customer: entAT, At: at}, false, `partner "reseller-nl" does not cover AT`, ""},
		{"region covers the country", partner.Sale{Partner: "distri-eu", Offer: security, Customer: entAT, At: at}, true, "", "rule:channel-sell@1"},
		{"certification expired", partner.Sale{Partner: "distri-eu", Offer: security, Customer: entAT, At: date(2027, 2, 1)}, false, "security offers need the security-specialist certification", "rule:channel-sell@1"},
		{"bronze to enterprise", partner.Sale{Partner: "sub-utrecht", Offer: backup, Customer: entNL, At: at}, false, "bronze partners sell to SMB customers only", "rule:channel-sell@1"},
		{"bronze to smb", partner.Sale{Partner: "sub-utrecht", Offer: backup, Customer: smbNL, At: at}, true, "", "rule:channel-sell@1"},
		{"suspended partner", partner.Sale{Partner: "reseller-de", Offer: backup, Customer: partner.Customer{Country: "DE"}, At: date(2026, 5, 1)}, false, `partner "reseller-de" is suspended`, ""},
		{"no program", partner.Sale{Partner: "referral-ams", Offer: backup, Customer: smbNL, At: at}, true, "no program", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := g.CanSell(ctx, tt.sale)
			require.NoError(t, err)
			require.Equal(t, tt.allowed, d.Allowed, d.Reason)
			require.Equal(t, tt.reason, d.Reason)
			if tt.rule == "" {
				require.Equal(t, ensemble.Ref{}, d.Rule)
			} else {
				require.Equal(t, tt.rule, d.Rule.String())
			}
		})
	}
	_, err := g.CanSell(ctx, partner.Sale{Partner: "ghost", At: at})
	require.ErrorIs(t, err, partner.ErrUnknownPartner)
}

func TestDiscountAllowance(t *testing.T) {
	g := loadGovernance(t)
	for _, tt := range []struct {
		partner partner.ID
		at      string
		want    string
	}{
		{"reseller-nl", "2026-01-15", "0.10"}, // silver in January
		{"reseller-nl", "2026-03-15", "0.20"}, // gold from February
		{"reseller-de", "2026-03-15", "0.30"},
		{"referral-ams", "2026-03-15", "0"}, // no program: no discount without approval
	} {
		t.Run(string(tt.partner)+"@"+tt.at, func(t *testing.T) {
			at, _ := timeParse(tt.at)
			d, _, err := g.DiscountAllowance(ctx, tt.partner, partner.Offer{ID: "o"}, partner.Customer{Country: "NL"}, at)
			require.NoError(t, err)
			require.True(t, d.Equal(decimal.RequireFromString(tt.want)), "got %s want %s", d, tt.want)
		})
	}
}

func priceException(t *testing.T, id string, p partner.ID, list, price string) partner.Request {
	t.Helper()
	l, pr := ensemble.MustMoney(list, "EUR"), ensemble.MustMoney(price, "EUR")
	d, err := partner.PriceDiscount(l, pr)
	require.NoError(t, err)
	return partner.Request{ID: id, Kind: partner.RequestPriceException, Partner: p, Offer: partner.Offer{ID: "cloud-backup"},
		Customer: partner.Customer{ID: "c1", Country: "NL"}, ListPrice: l, Price: pr, Discount: d,
		RequestedBy: "seller-joe", RequestedAt: date(2026, 3, 1), ExpiresAt: date(2026, 3, 8)}
}

func TestApprovals(t *testing.T) {
	g := loadGovernance(t)
	manager := partner.Actor{ID: "cm-eva", Roles: []string{"channel_manager"}}
	vp := partner.Actor{ID: "vp-max", Roles: []string{"vp_sales"}}
	intern := partner.Actor{ID: "intern", Roles: []string{"viewer"}}

	t.Run("within the threshold no approval is needed", func(t *testing.T) {
		a, events, err := g.Submit(ctx, priceException(t, "r1", "reseller-nl", "100.00", "85.00"))
		require.NoError(t, err)
		require.Equal(t, partner.ApprovalApproved, a.Status)
		require.Len(t, events, 1)
		require.Equal(t, "approval not needed", events[0].Reason)
		require.Equal(t, "rule:channel-approval-needed@1", events[0].Rule.String())
	})
	t.Run("platinum partners need none even above it", func(t *testing.T) {
		a, _, err := g.Submit(ctx, priceException(t, "r2", "reseller-de", "100.00", "70.00"))
		require.NoError(t, err)
		require.Equal(t, partner.ApprovalApproved, a.Status)
	})
	t.Run("a manager approves 30%", func(t *testing.T) {
		a, events, err := g.Submit(ctx, priceException(t, "r3", "reseller-nl", "100.00", "70.00"))
		require.NoError(t, err)
		require.Equal(t, partner.ApprovalRequested, a.Status)
		a, more, err := g.Decide(ctx, a, true, manager, "strategic account", date(2026, 3, 2))
		require.NoError(t, err)
		require.Equal(t, partner.ApprovalApproved, a.Status)
		require.Equal(t, "cm-eva", a.DecidedBy)
		events = append(events, more...)
		require.Equal(t, partner.AuditEvent{Request: "r3", Partner: "reseller-nl", Action: "approve", From: partner.ApprovalRequested,
			To: partner.ApprovalApproved, At: date(2026, 3, 2), Actor: "cm-eva", Rule: ensemble.Ref{Kind: rules.RefKindRule, ID: "channel-approver", Version: "1"},
			Reason: "strategic account"}, events[1])
		folded, err := partner.FoldApproval(a.Request, events)
		require.NoError(t, err)
		require.Equal(t, a.Status, folded.Status)
		require.Equal(t, a.Events, folded.Events)
		require.Equal(t, a.DecidedBy, folded.DecidedBy)
	})
	t.Run("50% needs the VP; the manager is refused with the rule's reason", func(t *testing.T) {
		a, _, err := g.Submit(ctx, priceException(t, "r4", "reseller-nl", "100.00", "50.00"))
		require.NoError(t, err)
		same, events, err := g.Decide(ctx, a, true, manager, "", date(2026, 3, 2))
		var ae *partner.ApprovalError
		require.ErrorAs(t, err, &ae)
		require.ErrorIs(t, err, partner.ErrNotAuthorized)
		require.Equal(t, "channel-approver", ae.Rule.ID)
		require.Equal(t, "only a channel manager (up to 40%) or the VP of sales may decide", ae.Reason)
		require.Nil(t, events)
		require.Equal(t, partner.ApprovalRequested, same.Status, "nothing changed")
		a, _, err = g.Decide(ctx, a, false, vp, "margin too thin", date(2026, 3, 3))
		require.NoError(t, err)
		require.Equal(t, partner.ApprovalRejected, a.Status)
		_, _, err = g.Decide(ctx, a, true, vp, "", date(2026, 3, 4))
		require.ErrorIs(t, err, partner.ErrNotRequested)
	})
	t.Run("whoever requested it does not decide it, whatever the policy allows", func(t *testing.T) {
		req := priceException(t, "r6", "reseller-nl", "100.00", "70.00")
		req.RequestedBy = "cm-eva" // a channel manager, whom the policy allows 30%
		a, _, err := g.Submit(ctx, req)
		require.NoError(t, err)
		same, events, err := g.Decide(ctx, a, true, manager, "", date(2026, 3, 2))
		var ae *partner.ApprovalError
		require.ErrorAs(t, err, &ae)
		require.ErrorIs(t, err, partner.ErrNotAuthorized)
		require.ErrorContains(t, err, `"cm-eva" requested it, and a request is decided by someone else`)
		require.Nil(t, events)
		require.Equal(t, partner.ApprovalRequested, same.Status, "nothing changed")
		a, _, err = g.Decide(ctx, a, true, vp, "", date(2026, 3, 2))
		require.NoError(t, err, "another approver decides")
		require.Equal(t, partner.ApprovalApproved, a.Status)
	})
	t.Run("nobody decides in time", func(t *testing.T) {
		a, _, err := g.Submit(ctx, priceException(t, "r5", "reseller-nl", "100.00", "60.00"))
		require.NoError(t, err)
		_, _, err = g.Decide(ctx, a, true, intern, "", date(2026, 3, 2))
		require.ErrorIs(t, err, partner.ErrNotAuthorized)
		_, _, err = g.Decide(ctx, a, true, vp, "", date(2026, 3, 8))
		require.ErrorIs(t, err, partner.ErrRequestExpired)
		_, _, err = a.Expire(date(2026, 3, 7))
		require.Error(t, err, "not expired yet")
		a, events, err := a.Expire(date(2026, 3, 8))
		require.NoError(t, err)
		require.Equal(t, partner.ApprovalExpired, a.Status)
		require.Equal(t, "system", events[0].Actor)
	})
	t.Run("offer publications always need approval", func(t *testing.T) {
		req := partner.Request{ID: "p1", Kind: partner.RequestOfferPublication, Partner: "reseller-de", Offer: partner.Offer{ID: "x"},
			RequestedBy: "seller", RequestedAt: date(2026, 3, 1)}
		a, _, err := g.Submit(ctx, req)
		require.NoError(t, err)
		require.Equal(t, partner.ApprovalRequested, a.Status)
	})
	t.Run("invalid requests are rejected whole", func(t *testing.T) {
		_, _, err := g.Submit(ctx, partner.Request{Kind: partner.RequestPriceException, Discount: decimal.NewFromInt(2),
			ListPrice: ensemble.MustMoney("10", "EUR"), Price: ensemble.MustMoney("11", "USD"), RequestedAt: date(2026, 3, 1), ExpiresAt: date(2026, 2, 1)})
		var ve *ensemble.ValidationError
		require.ErrorAs(t, err, &ve)
		require.Len(t, ve.Problems, 6, "%v", err) // id, partner, requested_by, expires_at, discount, price
	})
}

func TestGovernanceValidation(t *testing.T) {
	env, err := partner.Env()
	require.NoError(t, err)
	b, err := os.ReadFile("testdata/rules.yaml")
	require.NoError(t, err)
	rs, err := env.LoadRuleSet(rules.File{Name: "rules.yaml", Data: b})
	require.NoError(t, err)
	_, err = partner.NewGovernance(loadNetwork(t), []partner.Program{
		{ID: "Channel", SellPolicy: "channel-discount", Approver: "missing"},
	}, env, rs)
	var ve *ensemble.ValidationError
	require.ErrorAs(t, err, &ve)
	var msgs []string
	for _, p := range ve.Problems {
		msgs = append(msgs, p.Error())
	}
	require.Contains(t, msgs, `programs[0].id: program id "Channel": want lowercase letters, digits, '_' or '-'`)
	require.Contains(t, msgs, `programs[0].sell_policy: no policy rule "channel-discount" in the rule set`)
	require.Contains(t, msgs, `programs[0].approver: no policy rule "missing" in the rule set`)
	require.Contains(t, msgs, `partners["distri-eu"].terms[0].program: unknown program "channel"`)
}

func TestAuditEventJSON(t *testing.T) {
	ev := partner.AuditEvent{Request: "r", Partner: "p", Action: "approve", From: partner.ApprovalRequested, To: partner.ApprovalApproved,
		At: date(2026, 1, 1), Actor: "a", Rule: ensemble.Ref{Kind: "rule", ID: "x", Version: "2"}, Reason: "ok"}
	b, err := json.Marshal(ev)
	require.NoError(t, err)
	require.JSONEq(t, `{"request":"r","partner":"p","action":"approve","from":"requested","to":"approved","at":"2026-01-01T00:00:00Z","actor":"a","rule":{"kind":"rule","id":"x","version":"2"},"reason":"ok"}`, string(b))
	var back partner.AuditEvent
	require.NoError(t, json.Unmarshal(b, &back))
	require.Equal(t, ev, back)
}

// TestGovernanceWithoutRules: programs that name no rule need no rule set
// (a new user's trial had to load an empty one); a program naming a rule
// without one is a problem at its field, and a rule set without its
// environment (or the reverse) is an error.
func TestGovernanceWithoutRules(t *testing.T) {
	g, err := partner.NewGovernance(loadNetwork(t), []partner.Program{{ID: "channel"}}, nil, nil)
	require.NoError(t, err)
	d, err := g.CanSell(ctx, partner.Sale{Partner: "distri-eu", Offer: partner.Offer{ID: "cloud-backup", Category: "backup"},
		Customer: partner.Customer{ID: "c1", Country: "NL", Segment: "smb"}, At: date(2026, 3, 1)})
	require.NoError(t, err)
	require.True(t, d.Allowed, d.Reason)

	_, err = partner.NewGovernance(loadNetwork(t), []partner.Program{{ID: "channel", SellPolicy: "channel-sell"}}, nil, nil)
	require.ErrorContains(t, err, `programs[0].sell_policy: no policy rule "channel-sell" in the rule set`)
	env, err := partner.Env()
	require.NoError(t, err)
	_, err = partner.NewGovernance(loadNetwork(t), []partner.Program{{ID: "channel"}}, env, nil)
	require.ErrorContains(t, err, "the rule set and the environment it was compiled in, or neither")
}

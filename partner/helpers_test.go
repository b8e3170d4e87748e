package partner_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/rules"
)

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func loadNetwork(t testing.TB) *partner.Network {
	t.Helper()
	b, err := os.ReadFile("testdata/network.yaml")
	require.NoError(t, err)
	net, err := partner.LoadNetwork(b)
	require.NoError(t, err)
	return net
}

var channel = partner.Program{
	ID: "channel", Name: "Channel program",
	SellPolicy: "channel-sell", DiscountAllowance: "channel-discount",
	ApprovalNeeded: "channel-approval-needed", Approver: "channel-approver",
}

func loadGovernance(t testing.TB) *partner.Governance {
	t.Helper()
	env, err := partner.Env()
	require.NoError(t, err)
	b, err := os.ReadFile("testdata/rules.yaml")
	require.NoError(t, err)
	rs, err := env.LoadRuleSet(rules.File{Name: "rules.yaml", Data: b})
	require.NoError(t, err)
	g, err := partner.NewGovernance(loadNetwork(t), []partner.Program{channel}, env, rs)
	require.NoError(t, err)
	return g
}

var ctx = context.Background()

func timeParse(day string) (time.Time, error) { return time.Parse(time.DateOnly, day) }

package settlement_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble/settlement"
)

func TestRuleReads(t *testing.T) {
	b := settlement.ReadBits
	tests := []struct {
		name string
		expr string
		want uint16
	}{
		{"one field", `route.referrer != ""`, b["route.referrer"]},
		{"several", `offer.id == "x" && customer.country == "NL" && route.kind == "partner"`, b["offer.id"] | b["customer.country"] | b["route.kind"]},
		{"partner only", `partner.tier == "gold"`, b["partner"]},
		{"root-scoped names", `.route.seller == "s" && .partner.tier == "gold"`, b["route.seller"] | b["partner"]},
		{"no partner", `route.depth > 1`, b["route.depth"]},
		{"whole variable", `[route][0].seller == "s"`, b["route"]},
		{"unknown field reads all of it", `route.nope == 1`, b["route"]},
		{"macro", `has(route.seller) && [1].exists(x, offer.version == x)`, b["route.seller"] | b["offer.version"]},
		{"unparseable", `route.(`, b["all"]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, settlement.Reads(tc.expr))
		})
	}
}

package order_test

import (
	"errors"
	"testing"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/order"
	"github.com/ensemble-commerce/ensemble/partner"
)

// TestDraftRouteKindIgnoresAChainWithoutSeller: a draft's route kind is
// what its named parties make; a chain alone names no seller (quoting looks
// the seller's chain up), so a draft of kind direct carrying a chain is not
// refused as "its parties make it partner", as it was for a moment when
// the kind was read with partner.Route.PartiesKind, which takes Chain[0]
// for the seller of a settlement line.
func TestDraftRouteKindIgnoresAChainWithoutSeller(t *testing.T) {
	d := nlDraft()
	d.Route = partner.Route{Kind: partner.RouteDirect, Chain: []partner.ID{"reseller-nl"}}
	_, _, err := order.Order{}.Decide(ctx, env(t), order.Command{Kind: order.CmdCreate, Order: "o1", Draft: d}, day("2026-03-01"))
	var ve *ensemble.ValidationError
	if errors.As(err, &ve) {
		for _, fe := range ve.Problems {
			if fe.Path == "route.kind" {
				t.Fatalf("route.kind refused: %v", fe)
			}
		}
	}
}

package partner_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/partner"
)

// ExampleRoute_Parties lists the roles settlement pays on a sub-reseller's
// order with a referral partner, from the chain captured at acceptance.
func ExampleRoute_Parties() {
	r := partner.Route{Kind: partner.RoutePartner, Seller: "sub-utrecht", Referrer: "referral-ams",
		Chain: []partner.ID{"sub-utrecht", "reseller-nl", "distri-eu"}}
	for _, p := range r.Parties() {
		fmt.Println(p.Role, p.Partner, p.Level)
	}
	// Output:
	// seller sub-utrecht 0
	// upline reseller-nl 1
	// upline distri-eu 2
	// referrer referral-ams 0
}

func TestRouteKindAndRoleText(t *testing.T) {
	kinds := map[partner.RouteKind]string{partner.RouteUnspecified: "unspecified", partner.RouteDirect: "direct",
		partner.RouteMarketplace: "marketplace", partner.RoutePartner: "partner", partner.RouteReferral: "referral", partner.RouteCoSell: "co_sell"}
	for k, name := range kinds {
		b, err := k.MarshalText()
		require.NoError(t, err)
		require.Equal(t, name, string(b))
		require.Equal(t, name, k.String())
		require.True(t, k.Valid())
		var back partner.RouteKind
		require.NoError(t, back.UnmarshalText(b))
		require.Equal(t, k, back)
	}
	bad := partner.RouteKind(len(kinds))
	require.False(t, bad.Valid())
	require.Equal(t, "route_kind(6)", bad.String())
	_, err := bad.MarshalText()
	require.ErrorIs(t, err, ensemble.ErrUnknownEnum)
	var k partner.RouteKind
	require.ErrorIs(t, k.UnmarshalText([]byte("diect")), ensemble.ErrUnknownEnum)
	require.NoError(t, k.UnmarshalText(nil))
	require.Equal(t, partner.RouteUnspecified, k)

	roles := map[partner.Role]string{partner.RoleUnspecified: "unspecified", partner.RoleSeller: "seller", partner.RoleUpline: "upline",
		partner.RoleMarketplace: "marketplace", partner.RoleReferrer: "referrer", partner.RoleCoSeller: "co_seller"}
	for r, name := range roles {
		b, err := r.MarshalText()
		require.NoError(t, err)
		require.Equal(t, name, string(b))
		var back partner.Role
		require.NoError(t, back.UnmarshalText(b))
		require.Equal(t, r, back)
	}
	_, err = partner.Role(len(roles)).MarshalText()
	require.ErrorIs(t, err, ensemble.ErrUnknownEnum)
}

func TestRouteJSON(t *testing.T) {
	r := partner.Route{Kind: partner.RouteCoSell, Seller: "reseller-nl", SellerWeight: ensemble.MustRatio("2/3"), Chain: []partner.ID{"reseller-nl", "distri-eu"},
		Referrer: "referral-ams", CoSellers: []partner.CoSeller{{Partner: "tech-1", Weight: ensemble.MustRatio("1/3")}}}
	b, err := json.Marshal(r)
	require.NoError(t, err)
	require.JSONEq(t, `{"kind":"co_sell","seller":"reseller-nl","seller_weight":"2/3","chain":["reseller-nl","distri-eu"],"referrer":"referral-ams",
		"co_sellers":[{"partner":"tech-1","weight":"1/3"}]}`, string(b))
	var back partner.Route
	require.NoError(t, json.Unmarshal(b, &back))
	require.Empty(t, cmp.Diff(r, back))
}

// problems returns the route's validation problems by path.
func problems(t require.TestingT, r partner.Route) map[string]error {
	if h, ok := t.(interface{ Helper() }); ok {
		h.Helper()
	}
	err := r.Validate()
	if err == nil {
		return nil
	}
	var ve *ensemble.ValidationError
	require.ErrorAs(t, err, &ve)
	got := map[string]error{}
	for _, p := range ve.Problems {
		require.NotContains(t, got, p.Path, "one problem per field: %v", err)
		got[p.Path] = p.Err
	}
	return got
}

func TestRouteValidate(t *testing.T) {
	w := ensemble.MustRatio
	for _, tt := range []struct {
		name  string
		route partner.Route
		want  map[string]error // path -> condition
	}{
		{"direct", partner.Route{Kind: partner.RouteDirect}, nil},
		{"seller and chain agree", partner.Route{Seller: "r", Chain: []partner.ID{"r", "d"}}, nil},
		{"a chain alone names its seller", partner.Route{Chain: []partner.ID{"r", "d"}}, nil},
		{"a seller alone", partner.Route{Seller: "r"}, nil},
		{"the seller is not the chain's first", partner.Route{Seller: "r", Chain: []partner.ID{"d", "r"}},
			map[string]error{"seller": partner.ErrInvalidRoute}},
		{"a chain naming a partner twice", partner.Route{Chain: []partner.ID{"r", "d", "r"}},
			map[string]error{"chain[2]": partner.ErrDuplicateParty}},
		{"an empty chain id", partner.Route{Chain: []partner.ID{"r", ""}},
			map[string]error{"chain[1]": partner.ErrMissingParty}},
		{"a co-seller listed twice", partner.Route{Seller: "r", CoSellers: []partner.CoSeller{{Partner: "a"}, {Partner: "a"}}},
			map[string]error{"co_sellers[1].partner": partner.ErrDuplicateParty}},
		{"an empty co-seller", partner.Route{Seller: "r", CoSellers: []partner.CoSeller{{Partner: ""}}},
			map[string]error{"co_sellers[0].partner": partner.ErrMissingParty}},

		// Co-sell: the split covers the seller and its co-sellers, a party
		// once, weights summing to one whole or all zero.
		{"70/30", partner.Route{Seller: "r", SellerWeight: w("0.7"), CoSellers: []partner.CoSeller{{Partner: "a", Weight: w("0.3")}}}, nil},
		{"thirds, exact", partner.Route{Seller: "r", SellerWeight: w("1/3"), CoSellers: []partner.CoSeller{{Partner: "a", Weight: w("1/3")}, {Partner: "b", Weight: w("1/3")}}}, nil},
		{"no weights: an equal split", partner.Route{Seller: "r", CoSellers: []partner.CoSeller{{Partner: "a"}, {Partner: "b"}}}, nil},
		{"a zero weight among weights summing to one", partner.Route{Seller: "r", SellerWeight: w("1"), CoSellers: []partner.CoSeller{{Partner: "a"}}}, nil},
		{"the seller's whole weight without co-sellers", partner.Route{Seller: "r", SellerWeight: w("1")}, nil},
		{"a chain's seller among its co-sellers", partner.Route{Chain: []partner.ID{"r", "d"}, SellerWeight: w("1/2"), CoSellers: []partner.CoSeller{{Partner: "r", Weight: w("1/2")}}},
			map[string]error{"co_sellers[0].partner": partner.ErrDuplicateParty}},
		{"the seller twice among its co-sellers", partner.Route{Seller: "r", CoSellers: []partner.CoSeller{{Partner: "r"}, {Partner: "r"}}},
			map[string]error{"co_sellers[0].partner": partner.ErrDuplicateParty, "co_sellers[1].partner": partner.ErrDuplicateParty}},
		{"co-sellers without a seller", partner.Route{CoSellers: []partner.CoSeller{{Partner: "a", Weight: w("1")}}},
			map[string]error{"seller": partner.ErrMissingParty}},
		{"a seller weight without a seller", partner.Route{Referrer: "f", SellerWeight: w("1")},
			map[string]error{"seller": partner.ErrMissingParty}},
		{"weights relative, not summing to one", partner.Route{Seller: "r", SellerWeight: w("2"), CoSellers: []partner.CoSeller{{Partner: "a", Weight: w("1")}}},
			map[string]error{"co_sellers": partner.ErrCoSellWeights}},
		{"the seller's weight forgotten", partner.Route{Seller: "r", CoSellers: []partner.CoSeller{{Partner: "a", Weight: w("0.3")}}},
			map[string]error{"co_sellers": partner.ErrCoSellWeights}},
		{"a seller weight short of one without co-sellers", partner.Route{Seller: "r", SellerWeight: w("0.5")},
			map[string]error{"seller_weight": partner.ErrCoSellWeights}},
		{"a negative weight", partner.Route{Seller: "r", SellerWeight: w("3/2"), CoSellers: []partner.CoSeller{{Partner: "a", Weight: w("-1/2")}}},
			map[string]error{"co_sellers[0].weight": ensemble.ErrNegativeWeight}},
		{"a negative seller weight", partner.Route{Seller: "r", SellerWeight: w("-1"), CoSellers: []partner.CoSeller{{Partner: "a", Weight: w("2")}}},
			map[string]error{"seller_weight": ensemble.ErrNegativeWeight}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := problems(t, tt.route)
			require.Len(t, got, len(tt.want), "%v", got)
			for path, cond := range tt.want {
				require.Contains(t, got, path)
				require.ErrorIs(t, got[path], cond, path)
				require.True(t, errors.Is(got[path], partner.ErrInvalidRoute) || errors.Is(got[path], partner.ErrMissingParty) ||
					errors.Is(got[path], partner.ErrDuplicateParty) || errors.Is(got[path], partner.ErrCoSellWeights), "every problem wraps one of the route's errors: %v", got[path])
			}
		})
	}
}

// The weights problem names every weight, so the host sees what to fix.
func TestRouteValidateWeightsMessage(t *testing.T) {
	r := partner.Route{Seller: "reseller-nl", CoSellers: []partner.CoSeller{{Partner: "tech-1", Weight: ensemble.MustRatio("0.3")}}}
	err := r.Validate()
	require.ErrorIs(t, err, partner.ErrCoSellWeights)
	require.ErrorContains(t, err, "co_sellers: partner: invalid co-sell weights: seller_weight and co-seller weights add up to 0.3, not one whole (seller reseller-nl 0, tech-1 0.3)")
}

// A route's parties carry the seller's co-sell weight beside the
// co-sellers'.
func TestRoutePartiesCarryCoSellWeights(t *testing.T) {
	r := partner.Route{Kind: partner.RouteCoSell, Seller: "reseller-nl", SellerWeight: ensemble.MustRatio("0.7"), Chain: []partner.ID{"reseller-nl", "distri-eu"},
		CoSellers: []partner.CoSeller{{Partner: "tech-1", Weight: ensemble.MustRatio("0.3")}}}
	want := []partner.Party{{Role: partner.RoleSeller, Partner: "reseller-nl", Weight: ensemble.MustRatio("0.7")},
		{Role: partner.RoleUpline, Partner: "distri-eu", Level: 1}, {Role: partner.RoleCoSeller, Partner: "tech-1", Weight: ensemble.MustRatio("0.3")}}
	require.Empty(t, cmp.Diff(want, r.Parties()))
}

// Weights summing to exactly one whole are accepted however they are cut;
// the same weights scaled by anything else are refused at co_sellers.
func TestPropertyRouteWeightsSumToOne(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 6).Draw(t, "co_sellers")
		raw := make([]int64, n+1)
		var sum int64
		for i := range raw {
			raw[i] = rapid.Int64Range(0, 1000).Draw(t, fmt.Sprintf("w%d", i))
			sum += raw[i]
		}
		if sum == 0 {
			raw[0], sum = 1, 1
		}
		scale := big.NewRat(1, 1)
		if rapid.Bool().Draw(t, "scaled") {
			scale = big.NewRat(rapid.Int64Range(1, 100).Draw(t, "num"), rapid.Int64Range(1, 100).Draw(t, "den"))
		}
		weight := func(i int) ensemble.Ratio {
			return ensemble.RatioFromRat(new(big.Rat).Mul(big.NewRat(raw[i], sum), scale))
		}
		r := partner.Route{Kind: partner.RouteCoSell, Seller: "s", SellerWeight: weight(0)}
		for i := 1; i <= n; i++ {
			r.CoSellers = append(r.CoSellers, partner.CoSeller{Partner: partner.ID(fmt.Sprintf("c%d", i)), Weight: weight(i)})
		}
		err := r.Validate()
		if scale.Cmp(big.NewRat(1, 1)) == 0 {
			require.NoError(t, err)
			return
		}
		require.ErrorIs(t, err, partner.ErrCoSellWeights)
		got := problems(t, r)
		require.Contains(t, got, "co_sellers")
	})
}

// TestRoutePartiesKind: the kind a route's parties make, which package
// order gives a draft's route without a kind and settlement.FromInvoice an
// order's: a marketplace first, then co-sellers, a seller (or a chain
// alone), a referrer, else direct.
func TestRoutePartiesKind(t *testing.T) {
	for _, c := range []struct {
		r    partner.Route
		want partner.RouteKind
	}{
		{partner.Route{Marketplace: "m", Seller: "s", CoSellers: []partner.CoSeller{{Partner: "c"}}}, partner.RouteMarketplace},
		{partner.Route{Seller: "s", CoSellers: []partner.CoSeller{{Partner: "c"}}}, partner.RouteCoSell},
		{partner.Route{Seller: "s", Referrer: "f"}, partner.RoutePartner},
		{partner.Route{Chain: []partner.ID{"s", "d"}}, partner.RoutePartner},
		{partner.Route{Referrer: "f"}, partner.RouteReferral},
		{partner.Route{}, partner.RouteDirect},
	} {
		if got := c.r.PartiesKind(); got != c.want {
			t.Errorf("%+v: %s, want %s", c.r, got, c.want)
		}
	}
}

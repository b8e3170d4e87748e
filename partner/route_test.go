package partner_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

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
	r := partner.Route{Kind: partner.RouteCoSell, Seller: "reseller-nl", Chain: []partner.ID{"reseller-nl", "distri-eu"},
		Referrer: "referral-ams", CoSellers: []partner.CoSeller{{Partner: "tech-1", Weight: ensemble.MustRatio("1/3")}}}
	b, err := json.Marshal(r)
	require.NoError(t, err)
	require.JSONEq(t, `{"kind":"co_sell","seller":"reseller-nl","chain":["reseller-nl","distri-eu"],"referrer":"referral-ams",
		"co_sellers":[{"partner":"tech-1","weight":"1/3"}]}`, string(b))
	var back partner.Route
	require.NoError(t, json.Unmarshal(b, &back))
	require.Empty(t, cmp.Diff(r, back))
}

// problems returns the route's validation problems by path.
func problems(t *testing.T, r partner.Route) map[string]error {
	t.Helper()
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
		{"a negative weight", partner.Route{Seller: "r", CoSellers: []partner.CoSeller{{Partner: "a", Weight: w("-1/2")}}},
			map[string]error{"co_sellers[0].weight": ensemble.ErrNegativeWeight}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := problems(t, tt.route)
			require.Len(t, got, len(tt.want), "%v", got)
			for path, cond := range tt.want {
				require.Contains(t, got, path)
				require.ErrorIs(t, got[path], cond, path)
				require.True(t, errors.Is(got[path], partner.ErrInvalidRoute) || errors.Is(got[path], partner.ErrMissingParty) ||
					errors.Is(got[path], partner.ErrDuplicateParty), "every problem wraps one of the route's errors: %v", got[path])
			}
		})
	}
}

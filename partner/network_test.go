package partner_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/partner"
)

func TestNetworkQueries(t *testing.T) {
	net := loadNetwork(t)
	require.Equal(t, 7, net.Len())

	t.Run("tier and parent are effective-dated", func(t *testing.T) {
		jan, err := net.At("reseller-nl", date(2026, 1, 15))
		require.NoError(t, err)
		require.Equal(t, partner.Tier("silver"), jan.Tier)
		mar, err := net.At("reseller-nl", date(2026, 3, 15))
		require.NoError(t, err)
		require.Equal(t, partner.Tier("gold"), mar.Tier)
		require.Equal(t, partner.ID("distri-eu"), mar.Parent)
		require.True(t, mar.TermsFrom.Equal(date(2026, 2, 1)))
		_, err = net.At("reseller-nl", date(2025, 1, 1))
		require.ErrorIs(t, err, partner.ErrNotYetPartner)
		_, err = net.At("nobody", date(2026, 1, 1))
		require.ErrorIs(t, err, partner.ErrUnknownPartner)
		var pe *partner.PartnerError
		require.ErrorAs(t, err, &pe)
		require.Equal(t, partner.ID("nobody"), pe.ID)
	})

	t.Run("status follows the lifecycle", func(t *testing.T) {
		before, err := net.At("reseller-de", date(2026, 3, 31))
		require.NoError(t, err)
		require.Equal(t, partner.StatusActive, before.Status)
		require.True(t, before.CanTrade())
		after, err := net.At("reseller-de", date(2026, 4, 1))
		require.NoError(t, err)
		require.Equal(t, partner.StatusSuspended, after.Status)
		require.False(t, after.CanTrade())
		noEvents, err := net.At("reseller-nl", date(2026, 4, 1))
		require.NoError(t, err)
		require.Equal(t, partner.StatusActive, noEvents.Status, "no lifecycle events: active from the first terms")
	})

	t.Run("certifications in force", func(t *testing.T) {
		s, err := net.At("distri-eu", date(2026, 12, 31))
		require.NoError(t, err)
		require.Equal(t, []string{"security-specialist"}, s.Certifications)
		s, err = net.At("distri-eu", date(2027, 1, 1))
		require.NoError(t, err)
		require.Empty(t, s.Certifications, "expired at the instant of expiry")
	})

	t.Run("chain, depth, children", func(t *testing.T) {
		chain, err := net.Chain("sub-utrecht", date(2026, 3, 1))
		require.NoError(t, err)
		require.Equal(t, []partner.ID{"sub-utrecht", "reseller-nl", "distri-eu"}, chain)
		depth, err := net.Depth("sub-utrecht", date(2026, 3, 1))
		require.NoError(t, err)
		require.Equal(t, 2, depth)
		depth, err = net.Depth("distri-eu", date(2026, 3, 1))
		require.NoError(t, err)
		require.Equal(t, 0, depth)
		kids, err := net.Children("distri-eu", date(2026, 3, 1))
		require.NoError(t, err)
		require.Equal(t, []partner.ID{"reseller-de", "reseller-nl"}, kids)
		kids, err = net.Children("distri-eu", date(2025, 2, 1))
		require.NoError(t, err)
		require.Empty(t, kids, "resellers joined in March 2025")
		_, err = net.Chain("sub-utrecht", date(2025, 1, 1))
		require.ErrorIs(t, err, partner.ErrNotYetPartner)
		_, err = net.Children("nobody", date(2026, 1, 1))
		require.ErrorIs(t, err, partner.ErrUnknownPartner)
		parent, err := net.Parent("reseller-de", date(2026, 1, 1))
		require.NoError(t, err)
		require.Equal(t, partner.ID("distri-eu"), parent)
	})

	t.Run("find and covers", func(t *testing.T) {
		at := date(2026, 3, 1)
		require.Equal(t, []partner.ID{"reseller-de", "reseller-nl"}, net.Find(partner.Query{Type: partner.TypeReseller}, at))
		require.Equal(t, []partner.ID{"distri-eu", "reseller-nl"}, net.Find(partner.Query{Tier: "gold"}, at))
		require.Equal(t, []partner.ID{"distri-eu", "referral-ams", "reseller-nl", "sub-utrecht"}, net.Find(partner.Query{Territory: "NL"}, at))
		require.Equal(t, []partner.ID{"reseller-de"}, net.Find(partner.Query{Status: partner.StatusSuspended}, date(2026, 5, 1)))
		ok, err := net.Covers("distri-eu", "AT", at)
		require.NoError(t, err)
		require.True(t, ok, "AT is in the dach region")
		ok, err = net.Covers("reseller-de", "AT", at)
		require.NoError(t, err)
		require.False(t, ok)
	})

	t.Run("returned values are copies", func(t *testing.T) {
		p, ok := net.Partner("reseller-nl")
		require.True(t, ok)
		p.Terms[0].Tier = "hacked"
		p.Attributes["segment"] = "hacked"
		again, _ := net.Partner("reseller-nl")
		require.Equal(t, partner.Tier("silver"), again.Terms[0].Tier)
		require.Equal(t, "smb", again.Attributes["segment"])
	})
}

func TestNetworkJSONRoundTrip(t *testing.T) {
	net := loadNetwork(t)
	b, err := json.Marshal(net)
	require.NoError(t, err)
	var back partner.Network
	require.NoError(t, json.Unmarshal(b, &back))
	b2, err := json.Marshal(&back)
	require.NoError(t, err)
	require.JSONEq(t, string(b), string(b2))
	s1, err := net.At("reseller-de", date(2026, 5, 1))
	require.NoError(t, err)
	s2, err := back.At("reseller-de", date(2026, 5, 1))
	require.NoError(t, err)
	require.Equal(t, s1, s2)
}

func base() partner.NetworkSpec {
	t0 := date(2025, 1, 1)
	return partner.NetworkSpec{
		Regions:     map[string][]partner.Territory{"dach": {"DE", "AT", "CH"}},
		ParentTypes: map[partner.Type][]partner.Type{partner.TypeReseller: {partner.TypeDistributor}},
		Partners: []partner.Partner{
			{ID: "d", Name: "D", Type: partner.TypeDistributor, Terms: []partner.Terms{{From: t0, Territories: []partner.Territory{"dach"}}}},
			{ID: "r", Name: "R", Type: partner.TypeReseller, Terms: []partner.Terms{{From: t0, Parent: "d"}}},
		},
	}
}

func TestNetworkValidation(t *testing.T) {
	t0 := date(2025, 1, 1)
	tests := []struct {
		name   string
		mutate func(*partner.NetworkSpec)
		want   []string // path: message fragments, one per problem
	}{
		{"empty id", func(s *partner.NetworkSpec) { s.Partners[1].ID = "" }, []string{`partners[1].id: ensemble: id "": empty`}},
		{"duplicate id", func(s *partner.NetworkSpec) { s.Partners[1].ID = "d"; s.Partners[1].Terms[0].Parent = "" }, []string{`partners[1].id: duplicate id "d" (also partners[0])`}},
		{"empty name", func(s *partner.NetworkSpec) { s.Partners[0].Name = " " }, []string{"partners[0].name: empty name"}},
		{"bad type", func(s *partner.NetworkSpec) { s.Partners[0].Type = "Big Distributor" }, []string{`partners[0].type: type "Big Distributor"`, `partners[1].terms[0].parent: a reseller's parent must be one of [distributor]`}},
		{"no terms", func(s *partner.NetworkSpec) { s.Partners[1].Terms = nil }, []string{"partners[1].terms: no terms"}},
		{"terms out of order", func(s *partner.NetworkSpec) {
			s.Partners[1].Terms = append(s.Partners[1].Terms, partner.Terms{From: t0.AddDate(0, 0, -1)})
		}, []string{"partners[1].terms[1].from: 2024-12-31T00:00:00Z is not after"}},
		{"zero from", func(s *partner.NetworkSpec) { s.Partners[0].Terms[0].From = time.Time{} }, []string{"partners[0].terms[0].from: zero instant"}},
		{"bad territory", func(s *partner.NetworkSpec) {
			s.Partners[0].Terms[0].Territories = []partner.Territory{"XX", "de", "emea"}
		}, []string{
			`partners[0].terms[0].territories[0]: "XX" is neither`, `partners[0].terms[0].territories[1]: "de" is neither`, `partners[0].terms[0].territories[2]: "emea" is neither`}},
		{"bad region", func(s *partner.NetworkSpec) { s.Regions["Nordics"] = []partner.Territory{"SE", "XX"} }, []string{
			`regions.Nordics: region name "Nordics"`, `regions.Nordics[1]: "XX" is not an ISO 3166-1 alpha-2 country code`}},
		{"unknown parent", func(s *partner.NetworkSpec) { s.Partners[1].Terms[0].Parent = "ghost" }, []string{`partners[1].terms[0].parent: unknown parent "ghost"`}},
		{"own parent", func(s *partner.NetworkSpec) { s.Partners[1].Terms[0].Parent = "r" }, []string{"partners[1].terms[0].parent: partner is its own parent"}},
		{"parent not yet a partner", func(s *partner.NetworkSpec) { s.Partners[0].Terms[0].From = t0.AddDate(0, 1, 0) }, []string{`partners[1].terms[0].parent: parent "d" is not a partner yet at 2025-01-01T00:00:00Z`}},
		{"parent type constraint", func(s *partner.NetworkSpec) { s.Partners[0].Type = partner.TypeReferral }, []string{`partners[1].terms[0].parent: a reseller's parent must be one of [distributor], "d" is a referral`}},
		{"bad tier", func(s *partner.NetworkSpec) { s.Partners[0].Terms[0].Tier = "Gold Plus" }, []string{`partners[0].terms[0].tier: tier "Gold Plus"`}},
		{"empty certification", func(s *partner.NetworkSpec) { s.Partners[0].Certifications = []partner.Certification{{}} }, []string{"partners[0].certifications[0].name: empty certification name"}},
		{"lifecycle that does not fold", func(s *partner.NetworkSpec) {
			s.Partners[0].Lifecycle = []partner.Event{{Partner: "d", Action: partner.ActionActivate, From: partner.StatusNone, To: partner.StatusActive, At: t0}}
		}, []string{"partners[0].lifecycle: lifecycle[0]"}},
		{"cycle later in time", func(s *partner.NetworkSpec) {
			s.ParentTypes = nil
			s.Partners[0].Terms = append(s.Partners[0].Terms, partner.Terms{From: t0.AddDate(1, 0, 0), Parent: "r"})
		}, []string{"partners[0].terms[1].parent: partner: parent chain forms a cycle at 2026-01-01T00:00:00Z"}},
		{"many problems at once", func(s *partner.NetworkSpec) {
			s.Partners[0].Name = ""
			s.Partners[1].Terms[0].Parent = "ghost"
		}, []string{"partners[0].name: empty name", `partners[1].terms[0].parent: unknown parent "ghost"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := base()
			tt.mutate(&spec)
			net, err := partner.NewNetwork(spec)
			require.Nil(t, net, "no partial result")
			var ve *ensemble.ValidationError
			require.ErrorAs(t, err, &ve)
			require.Len(t, ve.Problems, len(tt.want), "%v", err)
			for i, want := range tt.want {
				require.True(t, strings.HasPrefix(ve.Problems[i].Error(), want), "problem %d: got %q, want prefix %q", i, ve.Problems[i].Error(), want)
			}
		})
	}
	_, err := partner.NewNetwork(base())
	require.NoError(t, err, "the base spec is valid")
}

func TestCycleIsErrCycle(t *testing.T) {
	spec := base()
	spec.ParentTypes = nil
	spec.Partners[0].Terms[0].Parent = "r"
	_, err := partner.NewNetwork(spec)
	require.True(t, errors.Is(err, partner.ErrCycle), "%v", err)
}

func TestLoadNetworkRejects(t *testing.T) {
	for name, doc := range map[string]string{
		"unknown field":  "partners: []\nregion: {}\n",
		"not yaml":       "partners: [",
		"float-ish date": "partners:\n  - {id: a, name: A, type: reseller, terms: [{from: 12.5}]}\n",
		"bad partner":    "partners:\n  - {id: '', name: A, type: reseller, terms: [{from: 2025-01-01T00:00:00Z}]}\n",
	} {
		t.Run(name, func(t *testing.T) {
			net, err := partner.LoadNetwork([]byte(doc))
			require.Error(t, err)
			require.Nil(t, net)
		})
	}
}

// Partner ids follow the library's one id grammar: ':' and '#', which
// settlement joins payout entry ids on, are refused when the network is
// built, naming the field and the character, not when a line routed through
// the partner is settled.
func TestPartnerIDsRefuseEntrySeparators(t *testing.T) {
	for _, id := range []partner.ID{"r#1", "r:1"} {
		spec := base()
		spec.Partners[1].ID = id
		net, err := partner.NewNetwork(spec)
		require.Nil(t, net)
		var ve *ensemble.ValidationError
		require.ErrorAs(t, err, &ve)
		require.Len(t, ve.Problems, 1, "%v", err)
		require.Equal(t, "partners[1].id", ve.Problems[0].Path)
		var ie *ensemble.IDError
		require.ErrorAs(t, ve.Problems[0], &ie)
		require.Equal(t, string(id[1]), ie.Separator)
	}
}

// TestParentTypesOf: the types a parent of a type's partners has are the
// declared ones (parent_types), or else those the network's terms give
// partners of the type, over every terms (none for a type at the top);
// a parent a constraint forbids is a *ParentTypeError matching
// ErrParentType, with NewNetwork's message.
func TestParentTypesOf(t *testing.T) {
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	spec := partner.NetworkSpec{
		ParentTypes: map[partner.Type][]partner.Type{partner.TypeReseller: {partner.TypeDistributor}},
		Partners: []partner.Partner{
			{ID: "d", Name: "d", Type: partner.TypeDistributor, Terms: []partner.Terms{{From: at}}},
			{ID: "r", Name: "r", Type: partner.TypeReseller, Terms: []partner.Terms{{From: at, Parent: "d"}}},
			{ID: "m", Name: "m", Type: partner.TypeMSP, Terms: []partner.Terms{{From: at}}},
			{ID: "s", Name: "s", Type: partner.TypeSubReseller, Terms: []partner.Terms{{From: at, Parent: "r"}, {From: at.AddDate(0, 6, 0), Parent: "m"}}},
		}}
	net, err := partner.NewNetwork(spec)
	require.NoError(t, err)
	for _, tc := range []struct {
		typ      partner.Type
		want     []partner.Type
		declared bool
	}{
		{partner.TypeReseller, []partner.Type{partner.TypeDistributor}, true},
		{partner.TypeSubReseller, []partner.Type{partner.TypeMSP, partner.TypeReseller}, false}, // both terms', sorted
		{partner.TypeDistributor, nil, false},
		{partner.TypeReferral, nil, false},
	} {
		got, declared := net.ParentTypesOf(tc.typ)
		require.Equal(t, tc.want, got, tc.typ)
		require.Equal(t, tc.declared, declared, tc.typ)
	}

	spec.Partners[1].Terms[0].Parent = "m"
	_, err = partner.NewNetwork(spec)
	require.ErrorIs(t, err, partner.ErrParentType)
	var pe *partner.ParentTypeError
	require.ErrorAs(t, err, &pe)
	require.Equal(t, partner.ParentTypeError{Child: "r", ChildType: partner.TypeReseller, Parent: "m", ParentType: partner.TypeMSP,
		Allowed: []partner.Type{partner.TypeDistributor}}, *pe)
	require.ErrorContains(t, err, `partners[1].terms[0].parent: a reseller's parent must be one of [distributor], "m" is a managed_service_provider`)
}

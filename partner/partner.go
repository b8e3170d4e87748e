package partner

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/text/language"
)

// ID identifies a partner. IDs are compared byte-wise when sorted; the empty
// ID is invalid. An ID follows the library's id grammar (the root package
// doc's Ids section): no white space, ':' or '#', which NewNetwork refuses.
type ID string

// Type is the kind of business a partner is. The well-known types are
// declared below; hosts may use others (lowercase letters, digits and
// underscores).
type Type string

// The well-known partner types.
const (
	TypeDistributor       Type = "distributor"
	TypeReseller          Type = "reseller"
	TypeSubReseller       Type = "sub_reseller"
	TypeMSP               Type = "managed_service_provider"
	TypeISV               Type = "independent_software_vendor"
	TypeSupplier          Type = "supplier"
	TypeReferral          Type = "referral"
	TypeTechnology        Type = "technology"
	TypeSystemsIntegrator Type = "systems_integrator"
	TypeMarketplace       Type = "marketplace"
	TypePlatform          Type = "platform"
)

// Tier is a partner's level in its program, such as "gold". Tiers are
// named by the host.
type Tier string

// Territory is where a partner may sell: an ISO 3166-1 alpha-2 country code
// ("DE") or the name of a region the network declares ("dach", "emea").
type Territory string

// Certification is a qualification a partner holds until it expires.
// Programs may require certifications in force at the instant of a sale.
type Certification struct {
	Name    string    `json:"name"`
	Expires time.Time `json:"expires,omitzero"` // zero: never
}

// ValidAt reports whether the certification is held at t.
func (c Certification) ValidAt(t time.Time) bool {
	return c.Expires.IsZero() || t.Before(c.Expires)
}

// Terms are the effective-dated facts of a partner: from From on (until the
// next Terms), the partner has this tier, parent and territories. A payout
// for March uses March's terms.
type Terms struct {
	From        time.Time   `json:"from"`
	Tier        Tier        `json:"tier,omitempty"`
	Parent      ID          `json:"parent,omitempty"`
	Territories []Territory `json:"territories,omitempty"`
	// Program is the partner program whose policies govern the partner
	// under these terms (see Governance); empty for none.
	Program string `json:"program,omitempty"`
}

// Partner is one member of the network: who it is, and its terms over time.
// A partner exists from its first Terms on.
type Partner struct {
	ID             ID                `json:"id"`
	Name           string            `json:"name"`
	Type           Type              `json:"type"`
	Attributes     map[string]string `json:"attributes,omitempty"`
	Certifications []Certification   `json:"certifications,omitempty"`
	Terms          []Terms           `json:"terms"`
	// Lifecycle holds the partner's onboarding events, oldest first; the
	// partner's status at an instant is their fold (see Onboarding). A
	// partner with no events is treated as active from its first Terms.
	Lifecycle []Event `json:"lifecycle,omitempty"`
}

// Errors of the partner network.
var (
	// ErrUnknownPartner reports an ID the network does not hold.
	ErrUnknownPartner = errors.New("partner: unknown partner")
	// ErrNotYetPartner reports an instant before a partner's first terms.
	ErrNotYetPartner = errors.New("partner: not a partner yet at that instant")
	// ErrCycle reports a parent chain that comes back to where it started.
	ErrCycle = errors.New("partner: parent chain forms a cycle")
	// ErrParentType reports a parent whose type the network's type
	// constraints (NetworkSpec.ParentTypes) do not allow for the child's.
	// Every *ParentTypeError matches it.
	ErrParentType = errors.New("partner: parent of a type not allowed")
)

// ParentTypeError reports a parent whose type the network's ParentTypes
// do not allow for the child's type. It matches ErrParentType.
type ParentTypeError struct {
	Child      ID
	ChildType  Type
	Parent     ID
	ParentType Type
	Allowed    []Type // the types a parent of ChildType may have
	// Observed says that Allowed is not declared (NetworkSpec.ParentTypes
	// does not list ChildType) but the types the network's partners of
	// ChildType have had as parents (Network.ParentTypesOf).
	Observed bool
}

// Error says which types a parent may have, and which the parent has.
func (e *ParentTypeError) Error() string {
	if e.Observed && len(e.Allowed) == 0 {
		return fmt.Sprintf("a %s has no parent in the network's terms (parent_types does not list %s), %q is a %s",
			e.ChildType, e.ChildType, e.Parent, e.ParentType)
	}
	if e.Observed {
		return fmt.Sprintf("a %s's parent is one of %v in the network's terms (parent_types does not list %s), %q is a %s",
			e.ChildType, e.Allowed, e.ChildType, e.Parent, e.ParentType)
	}
	return fmt.Sprintf("a %s's parent must be one of %v, %q is a %s", e.ChildType, e.Allowed, e.Parent, e.ParentType)
}

// Is reports whether target is ErrParentType.
func (e *ParentTypeError) Is(target error) bool { return target == ErrParentType }

// PartnerError names the partner an error is about.
type PartnerError struct {
	ID  ID
	At  time.Time // zero when the error is not about an instant
	Err error
}

func (e *PartnerError) Error() string {
	if e.At.IsZero() {
		return fmt.Sprintf("partner %q: %v", e.ID, e.Err)
	}
	return fmt.Sprintf("partner %q at %s: %v", e.ID, e.At.Format(time.RFC3339), e.Err)
}

// Unwrap returns the condition, such as ErrUnknownPartner.
func (e *PartnerError) Unwrap() error { return e.Err }

func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// isCountry reports whether t is an ISO 3166-1 alpha-2 country code.
func isCountry(t Territory) bool {
	s := string(t)
	if len(s) != 2 || strings.ToUpper(s) != s {
		return false
	}
	r, err := language.ParseRegion(s)
	return err == nil && r.IsCountry()
}

// termsAt returns the index of the terms in force at t, or -1 before the
// first. terms must be sorted by From.
func termsAt(terms []Terms, t time.Time) int {
	i, found := slices.BinarySearchFunc(terms, t, func(x Terms, t time.Time) int { return x.From.Compare(t) })
	if found {
		return i
	}
	return i - 1
}

package partner

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ensemble-commerce/ensemble"
)

// MaxDepth bounds how many levels a partner chain may have (distributor ->
// reseller -> sub-reseller ... counts one level each). A deeper chain is a
// validation error, which also keeps hostile input from making validation
// quadratic.
const MaxDepth = 256

// NetworkSpec is the document a network is built from.
type NetworkSpec struct {
	Partners []Partner `json:"partners"`
	// Regions names groups of countries that territories may use, such as
	// "dach": [DE, AT, CH]. Region names are lowercase, so they never clash
	// with country codes.
	Regions map[string][]Territory `json:"regions,omitempty"`
	// ParentTypes constrains hierarchies: a partner of a listed type may only
	// have a parent of one of the given types (a sub-reseller's parent must be
	// a reseller or distributor). Types not listed may have any parent.
	ParentTypes map[Type][]Type `json:"parent_types,omitempty"`
}

// Network is a validated partner network. It answers questions about any
// instant: who a partner's parent was, which tier it held, whether it could
// trade. A Network is immutable and safe for concurrent use.
type Network struct {
	spec     NetworkSpec
	index    map[ID]int   // position in spec.Partners, which is sorted by ID
	children map[ID][]int // every partner that ever had this parent, sorted by ID
	regions  map[string]map[Territory]bool
}

// Snapshot is what a partner was at one instant: its terms then, its
// onboarding status then, and the certifications in force then.
type Snapshot struct {
	ID             ID                `json:"id"`
	Name           string            `json:"name"`
	Type           Type              `json:"type"`
	Tier           Tier              `json:"tier,omitempty"`
	Parent         ID                `json:"parent,omitempty"`
	Territories    []Territory       `json:"territories,omitempty"`
	Attributes     map[string]string `json:"attributes,omitempty"`
	Certifications []string          `json:"certifications,omitempty"`
	Program        string            `json:"program,omitempty"`
	Status         Status            `json:"status"`
	TermsFrom      time.Time         `json:"terms_from"` // when these terms took effect
}

// CanTrade reports whether the partner could sell and earn at the snapshot's
// instant.
func (s Snapshot) CanTrade() bool { return s.Status.CanTrade() }

// NewNetwork validates spec and builds a network from it. Every problem is
// reported at once in an *ensemble.ValidationError whose paths name the
// offending field (`partners[3].terms[1].parent`): empty or duplicate ids,
// invalid types, tiers or territories, terms out of order, unknown parents or
// parents that do not exist yet, parent types a constraint forbids
// (*ParentTypeError, ErrParentType), cycles at
// any instant, chains deeper than MaxDepth, and lifecycles that do not fold.
// Partners are kept sorted by ID; the spec is copied, not retained.
func NewNetwork(spec NetworkSpec) (*Network, error) {
	n := &Network{spec: cloneSpec(NetworkSpec{Regions: spec.Regions, ParentTypes: spec.ParentTypes})}
	n.spec.Partners = make([]Partner, len(spec.Partners))
	// Sort by ID, remembering each partner's place in the caller's document
	// so that problems are reported at the paths the caller wrote.
	order := make([]int, len(spec.Partners))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		return strings.Compare(string(spec.Partners[a].ID), string(spec.Partners[b].ID))
	})
	for i, o := range order {
		n.spec.Partners[i] = clonePartner(spec.Partners[o])
	}
	var p ensemble.Problems
	n.validateRegions(&p)
	n.buildIndex(&p, spec.Partners)
	for i := range n.spec.Partners {
		n.validatePartner(&p, i, ensemble.Path("partners", order[i]))
	}
	if p.Len() == 0 {
		n.validateChains(&p, order)
	}
	if err := p.Err("partner network"); err != nil {
		return nil, err
	}
	return n, nil
}

// LoadNetwork reads a NetworkSpec from a JSON or YAML document and builds
// the network. Decoding is strict (ensemble.YAMLToJSON, then
// ensemble.DecodeJSON): unknown fields, repeated or case-variant keys, empty
// input and byte-order marks are *ensemble.DecodeError, so a misspelt or
// smuggled field is never silently ignored.
func LoadNetwork(doc []byte) (*Network, error) {
	var spec NetworkSpec
	if err := ensemble.DecodeYAML("partner network", doc, &spec); err != nil {
		return nil, err
	}
	return NewNetwork(spec)
}

// Spec returns a copy of the network's document, partners sorted by ID.
func (n *Network) Spec() NetworkSpec { return cloneSpec(n.spec) }

// MarshalJSON writes the network's spec.
func (n *Network) MarshalJSON() ([]byte, error) { return json.Marshal(n.spec) }

// UnmarshalJSON reads a spec and validates it as NewNetwork does.
func (n *Network) UnmarshalJSON(b []byte) error {
	var spec NetworkSpec
	if err := ensemble.DecodeDocument("partner network", b, &spec); err != nil {
		return err
	}
	built, err := NewNetwork(spec)
	if err != nil {
		return err
	}
	*n = *built
	return nil
}

// Len returns the number of partners.
func (n *Network) Len() int { return len(n.spec.Partners) }

// Partner returns the partner with the given id.
func (n *Network) Partner(id ID) (Partner, bool) {
	i, ok := n.index[id]
	if !ok {
		return Partner{}, false
	}
	return clonePartner(n.spec.Partners[i]), true
}

// At returns what partner id was at instant t. An unknown id wraps
// ErrUnknownPartner; an instant before its first terms wraps
// ErrNotYetPartner.
func (n *Network) At(id ID, t time.Time) (Snapshot, error) {
	p, k, err := n.termsOf(id, t)
	if err != nil {
		return Snapshot{}, err
	}
	terms := p.Terms[k]
	s := Snapshot{
		ID: p.ID, Name: p.Name, Type: p.Type, Tier: terms.Tier, Parent: terms.Parent,
		Territories: slices.Clone(terms.Territories), Attributes: cloneMap(p.Attributes),
		Program: terms.Program, Status: n.status(p, t), TermsFrom: terms.From,
	}
	for _, c := range p.Certifications {
		if c.ValidAt(t) {
			s.Certifications = append(s.Certifications, c.Name)
		}
	}
	slices.Sort(s.Certifications)
	return s, nil
}

// status is the partner's onboarding status at t. A partner without
// lifecycle events is active from its first terms.
func (n *Network) status(p *Partner, t time.Time) Status {
	if len(p.Lifecycle) == 0 {
		return StatusActive
	}
	return statusAt(p.Lifecycle, t)
}

func (n *Network) termsOf(id ID, t time.Time) (*Partner, int, error) {
	i, ok := n.index[id]
	if !ok {
		return nil, 0, &PartnerError{ID: id, Err: ErrUnknownPartner}
	}
	p := &n.spec.Partners[i]
	k := termsAt(p.Terms, t)
	if k < 0 {
		return nil, 0, &PartnerError{ID: id, At: t, Err: ErrNotYetPartner}
	}
	return p, k, nil
}

// Parent returns partner id's parent at t ("" for a partner at the top).
func (n *Network) Parent(id ID, t time.Time) (ID, error) {
	p, k, err := n.termsOf(id, t)
	if err != nil {
		return "", err
	}
	return p.Terms[k].Parent, nil
}

// Chain returns the chain from partner id up to the top of its hierarchy at
// t: id first, then its parent, its parent's parent, and so on. The chain of
// a partner without a parent is just itself.
func (n *Network) Chain(id ID, t time.Time) ([]ID, error) {
	return n.AppendChain(nil, id, t)
}

// AppendChain appends the chain of id at t to dst, as Chain, so a caller in
// a loop can reuse one slice.
func (n *Network) AppendChain(dst []ID, id ID, t time.Time) ([]ID, error) {
	start := len(dst)
	for cur := id; cur != ""; {
		p, k, err := n.termsOf(cur, t)
		if err != nil {
			return dst[:start], err
		}
		dst = append(dst, cur)
		cur = p.Terms[k].Parent
	}
	return dst, nil
}

// ParentTypesOf returns the types a parent of a partner of type t has:
// the types NetworkSpec.ParentTypes lists for t (declared), or, when it
// does not list t, the types of the parents the network's partners of
// type t have under any of their terms, sorted (none when no such partner
// ever had a parent). A route captured from the network at any instant
// puts a partner of type t under one of these types only.
func (n *Network) ParentTypesOf(t Type) (types []Type, declared bool) {
	if allowed, ok := n.spec.ParentTypes[t]; ok {
		return slices.Clone(allowed), true
	}
	for i := range n.spec.Partners {
		p := &n.spec.Partners[i]
		if p.Type != t {
			continue
		}
		for _, tm := range p.Terms {
			if tm.Parent == "" {
				continue
			}
			if pt := n.spec.Partners[n.index[tm.Parent]].Type; !slices.Contains(types, pt) {
				types = append(types, pt)
			}
		}
	}
	slices.Sort(types)
	return types, false
}

// Depth returns how many levels lie above partner id at t: 0 at the top.
func (n *Network) Depth(id ID, t time.Time) (int, error) {
	depth := -1
	for cur := id; cur != ""; depth++ {
		p, k, err := n.termsOf(cur, t)
		if err != nil {
			return 0, err
		}
		cur = p.Terms[k].Parent
	}
	return depth, nil
}

// Children returns the partners whose parent is id at t, sorted by ID.
func (n *Network) Children(id ID, t time.Time) ([]ID, error) {
	if _, ok := n.index[id]; !ok {
		return nil, &PartnerError{ID: id, Err: ErrUnknownPartner}
	}
	var out []ID
	for _, ci := range n.children[id] {
		c := &n.spec.Partners[ci]
		if k := termsAt(c.Terms, t); k >= 0 && c.Terms[k].Parent == id {
			out = append(out, c.ID)
		}
	}
	return out, nil
}

// Query selects partners; each zero field matches every partner.
type Query struct {
	Type      Type      `json:"type,omitempty"`
	Tier      Tier      `json:"tier,omitempty"`
	Territory Territory `json:"territory,omitempty"` // a country the partner covers, or a region it holds
	Status    Status    `json:"status,omitempty"`
}

// Find returns the partners that match q at t, sorted by ID. Partners that
// did not exist yet at t never match.
func (n *Network) Find(q Query, t time.Time) []ID {
	var out []ID
	for i := range n.spec.Partners {
		p := &n.spec.Partners[i]
		k := termsAt(p.Terms, t)
		switch {
		case k < 0,
			q.Type != "" && p.Type != q.Type,
			q.Tier != "" && p.Terms[k].Tier != q.Tier,
			q.Status != StatusNone && n.status(p, t) != q.Status,
			q.Territory != "" && !n.covers(p.Terms[k].Territories, q.Territory):
			continue
		}
		out = append(out, p.ID)
	}
	return out
}

// Covers reports whether partner id may sell into country at t: one of its
// territories is the country or a region holding it.
func (n *Network) Covers(id ID, country Territory, t time.Time) (bool, error) {
	p, k, err := n.termsOf(id, t)
	if err != nil {
		return false, err
	}
	return n.covers(p.Terms[k].Territories, country), nil
}

func (n *Network) covers(territories []Territory, want Territory) bool {
	for _, have := range territories {
		if have == want || n.regions[string(have)][want] {
			return true
		}
	}
	return false
}

func (n *Network) validateRegions(p *ensemble.Problems) {
	n.regions = make(map[string]map[Territory]bool, len(n.spec.Regions))
	names := make([]string, 0, len(n.spec.Regions))
	for name := range n.spec.Regions {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		path := ensemble.Path("regions", name)
		if !validName(name) {
			p.Addf(path, "region name %q: want lowercase letters, digits, '_' or '-'", name)
		}
		members := make(map[Territory]bool, len(n.spec.Regions[name]))
		for j, c := range n.spec.Regions[name] {
			if !isCountry(c) {
				p.Addf(ensemble.Path("regions", name, j), "%q is not an ISO 3166-1 alpha-2 country code", c)
			}
			members[c] = true
		}
		n.regions[name] = members
	}
}

func (n *Network) buildIndex(p *ensemble.Problems, original []Partner) {
	n.index = make(map[ID]int, len(n.spec.Partners))
	// Report duplicates at their position in the caller's document.
	first := make(map[ID]int, len(original))
	for i, pt := range original {
		// ':' joins rule parties ("partner:acme") and, with '#', payout
		// entry ids ("line:root/channel/acme#reserve"): the root package
		// doc's Ids section.
		if err := ensemble.CheckID(string(pt.ID), ensemble.EntrySeparators); err != nil {
			p.Add(ensemble.Path("partners", i, "id"), err)
			continue
		}
		if j, dup := first[pt.ID]; dup {
			p.Addf(ensemble.Path("partners", i, "id"), "duplicate id %q (also partners[%d])", pt.ID, j)
			continue
		}
		first[pt.ID] = i
	}
	for i, pt := range n.spec.Partners {
		if _, dup := n.index[pt.ID]; !dup && pt.ID != "" {
			n.index[pt.ID] = i
		}
	}
	n.children = make(map[ID][]int)
	for i, pt := range n.spec.Partners {
		seen := map[ID]bool{}
		for _, t := range pt.Terms {
			if t.Parent != "" && !seen[t.Parent] {
				seen[t.Parent] = true
				n.children[t.Parent] = append(n.children[t.Parent], i)
			}
		}
	}
}

func (n *Network) validatePartner(p *ensemble.Problems, i int, path string) {
	pt := &n.spec.Partners[i]
	if strings.TrimSpace(pt.Name) == "" {
		p.Addf(path+".name", "empty name")
	}
	if !validName(string(pt.Type)) {
		p.Addf(path+".type", "type %q: want lowercase letters, digits, '_' or '-'", pt.Type)
	}
	for j, c := range pt.Certifications {
		if strings.TrimSpace(c.Name) == "" {
			p.Addf(ensemble.Path(path, "certifications", j, "name"), "empty certification name")
		}
	}
	if len(pt.Terms) == 0 {
		p.Addf(path+".terms", "no terms: a partner exists from its first terms")
	}
	allowed, constrained := n.spec.ParentTypes[pt.Type]
	for j, t := range pt.Terms {
		tp := fmt.Sprintf("%s.terms[%d]", path, j)
		switch {
		case t.From.IsZero():
			p.Addf(tp+".from", "zero instant")
		case j > 0 && !t.From.After(pt.Terms[j-1].From):
			p.Addf(tp+".from", "%s is not after the previous terms' %s", t.From.Format(time.RFC3339), pt.Terms[j-1].From.Format(time.RFC3339))
		}
		if t.Tier != "" && !validName(string(t.Tier)) {
			p.Addf(tp+".tier", "tier %q: want lowercase letters, digits, '_' or '-'", t.Tier)
		}
		for k, ter := range t.Territories {
			if !isCountry(ter) && n.regions[string(ter)] == nil {
				p.Addf(fmt.Sprintf("%s.territories[%d]", tp, k), "%q is neither an ISO 3166-1 alpha-2 country code nor a declared region", ter)
			}
		}
		if t.Parent == "" {
			continue
		}
		if t.Parent == pt.ID {
			p.Addf(tp+".parent", "partner is its own parent")
			continue
		}
		pi, ok := n.index[t.Parent]
		if !ok {
			p.Addf(tp+".parent", "unknown parent %q", t.Parent)
			continue
		}
		parent := &n.spec.Partners[pi]
		if len(parent.Terms) > 0 && termsAt(parent.Terms, t.From) < 0 {
			p.Addf(tp+".parent", "parent %q is not a partner yet at %s", t.Parent, t.From.Format(time.RFC3339))
		}
		if constrained && !slices.Contains(allowed, parent.Type) {
			p.Add(tp+".parent", &ParentTypeError{Child: pt.ID, ChildType: pt.Type, Parent: t.Parent, ParentType: parent.Type, Allowed: allowed})
		}
	}
	if len(pt.Lifecycle) > 0 {
		if _, err := Fold(pt.ID, pt.Lifecycle); err != nil {
			p.Add(path+".lifecycle", err)
		}
	}
}

// validateChains walks up from every partner at the start of each of its
// terms. A cycle at any instant must contain a partner whose terms started
// then, so this finds every cycle; each walk is bounded by MaxDepth.
func (n *Network) validateChains(p *ensemble.Problems, order []int) {
	for i := range n.spec.Partners {
		pt := &n.spec.Partners[i]
		for j, t := range pt.Terms {
			if t.Parent == "" {
				continue
			}
			depth, cur := 1, t.Parent
			for cur != "" {
				if cur == pt.ID {
					p.Add(ensemble.Path("partners", order[i], "terms", j, "parent"), fmt.Errorf("%w at %s", ErrCycle, t.From.Format(time.RFC3339)))
					break
				}
				if depth > MaxDepth {
					p.Addf(ensemble.Path("partners", order[i], "terms", j, "parent"), "chain deeper than %d levels at %s", MaxDepth, t.From.Format(time.RFC3339))
					break
				}
				q := &n.spec.Partners[n.index[cur]]
				k := termsAt(q.Terms, t.From)
				if k < 0 {
					break // reported as a parent that is not a partner yet
				}
				cur = q.Terms[k].Parent
				depth++
			}
		}
	}
}

func cloneSpec(s NetworkSpec) NetworkSpec {
	out := NetworkSpec{Partners: make([]Partner, len(s.Partners))}
	for i, p := range s.Partners {
		out.Partners[i] = clonePartner(p)
	}
	if s.Regions != nil {
		out.Regions = make(map[string][]Territory, len(s.Regions))
		for k, v := range s.Regions {
			out.Regions[k] = slices.Clone(v)
		}
	}
	if s.ParentTypes != nil {
		out.ParentTypes = make(map[Type][]Type, len(s.ParentTypes))
		for k, v := range s.ParentTypes {
			out.ParentTypes[k] = slices.Clone(v)
		}
	}
	return out
}

func clonePartner(p Partner) Partner {
	p.Attributes = cloneMap(p.Attributes)
	p.Certifications = slices.Clone(p.Certifications)
	p.Terms = slices.Clone(p.Terms)
	for i := range p.Terms {
		p.Terms[i].Territories = slices.Clone(p.Terms[i].Territories)
	}
	p.Lifecycle = slices.Clone(p.Lifecycle)
	return p
}

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

package ensemble

import "strings"

// RefKind names what a Ref points at. Packages declare their own kinds
// (catalog declares "offer", "charge" and "price", order declares
// "order_line", settlement declares "plan_node" and "rule", ...).
type RefKind string

// Ref is the one reference type every output uses to say where it came
// from: an invoice line refers to its offer, charge, price version, order
// line and usage aggregate; a payout entry to its invoice line, plan node and
// rule. Explain functions follow Refs; they never re-derive.
//
// Version is empty for things that are not versioned.
type Ref struct {
	Kind    RefKind `json:"kind"`
	ID      string  `json:"id"`
	Version string  `json:"version,omitempty"`
}

// String renders the reference as kind:id or kind:id@version.
func (r Ref) String() string {
	var b strings.Builder
	b.Grow(len(r.Kind) + len(r.ID) + len(r.Version) + 2)
	b.WriteString(string(r.Kind))
	b.WriteByte(':')
	b.WriteString(r.ID)
	if r.Version != "" {
		b.WriteByte('@')
		b.WriteString(r.Version)
	}
	return b.String()
}

// Compare orders references by kind, then id, then version, byte-wise, so
// collections of references can be sorted stably.
func (r Ref) Compare(o Ref) int {
	if c := strings.Compare(string(r.Kind), string(o.Kind)); c != 0 {
		return c
	}
	if c := strings.Compare(r.ID, o.ID); c != 0 {
		return c
	}
	return strings.Compare(r.Version, o.Version)
}

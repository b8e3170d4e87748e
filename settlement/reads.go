package settlement

import (
	"strings"

	"cel.dev/cel-go/common"
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/parser"
)

// readMask says which line-context facts a memoizable rule reads, so that
// its memo key holds only those: a rule reading route.referrer is reused
// across sellers.
type readMask uint16

const (
	readRouteKind readMask = 1 << iota
	readRouteSeller
	readRouteDepth
	readRouteLevel
	readRouteReferrer
	readRouteMarketplace
	readOfferID
	readOfferVersion
	readOfferCharge
	readCustomerCountry
	readPartner          // the node's partner facts (a context rule keys by them anyway)
	readAll     readMask = 1<<iota - 1
)

// fieldBit returns the bit of variable v's field f, whether v is a
// context variable, and whether f is one of its known fields.
func fieldBit(v, f string) (readMask, bool, bool) {
	switch v {
	case VarRoute:
		switch f {
		case "kind":
			return readRouteKind, true, true
		case "seller":
			return readRouteSeller, true, true
		case "depth":
			return readRouteDepth, true, true
		case "level":
			return readRouteLevel, true, true
		case "referrer":
			return readRouteReferrer, true, true
		case "marketplace":
			return readRouteMarketplace, true, true
		}
		return 0, true, false
	case VarOffer:
		switch f {
		case "id":
			return readOfferID, true, true
		case "version":
			return readOfferVersion, true, true
		case "charge":
			return readOfferCharge, true, true
		}
		return 0, true, false
	case VarCustomer:
		if f == "country" {
			return readCustomerCountry, true, true
		}
		return 0, true, false
	}
	return 0, false, false
}

// wholeBits returns every bit of a context variable.
func wholeBits(v string) readMask {
	switch v {
	case VarRoute:
		return readRouteKind | readRouteSeller | readRouteDepth | readRouteLevel | readRouteReferrer | readRouteMarketplace
	case VarOffer:
		return readOfferID | readOfferVersion | readOfferCharge
	case VarCustomer:
		return readCustomerCountry
	}
	return 0
}

// reads parses expr and returns the context fields it selects, and
// whether it reads the partner at all. A variable used other than as
// var.field counts as read whole; a root-scoped name (".route") counts as
// the variable; anything that cannot be parsed reads everything, so the
// mask never under-states what is read.
func reads(expr string) readMask {
	p, err := parser.NewParser(parser.Macros(parser.AllMacros...))
	if err != nil {
		return readAll
	}
	tree, errs := p.Parse(common.NewTextSource(expr))
	if errs != nil && len(errs.GetErrors()) > 0 {
		return readAll
	}
	var mask readMask
	selected := map[int64]bool{}
	ast.PreOrderVisit(tree.Expr(), ast.NewExprVisitor(func(e ast.Expr) {
		switch e.Kind() {
		case ast.SelectKind:
			sel := e.AsSelect()
			op := sel.Operand()
			if op.Kind() != ast.IdentKind {
				return
			}
			name := strings.TrimPrefix(op.AsIdent(), ".")
			if b, isVar, known := fieldBit(name, sel.FieldName()); isVar {
				selected[op.ID()] = true
				if known {
					mask |= b
				} else {
					mask |= wholeBits(name)
				}
			}
		case ast.IdentKind:
			name := strings.TrimPrefix(e.AsIdent(), ".")
			if name == VarPartner {
				mask |= readPartner
			}
			if w := wholeBits(name); w != 0 && !selected[e.ID()] {
				mask |= w
			}
		}
	}))
	return mask
}

package settlement

import (
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
	readAll readMask = 1<<iota - 1
)

var fieldBits = map[string]map[string]readMask{
	VarRoute: {"kind": readRouteKind, "seller": readRouteSeller, "depth": readRouteDepth, "level": readRouteLevel,
		"referrer": readRouteReferrer, "marketplace": readRouteMarketplace},
	VarOffer:    {"id": readOfferID, "version": readOfferVersion, "charge": readOfferCharge},
	VarCustomer: {"country": readCustomerCountry},
}

var wholeBits = map[string]readMask{
	VarRoute:    readRouteKind | readRouteSeller | readRouteDepth | readRouteLevel | readRouteReferrer | readRouteMarketplace,
	VarOffer:    readOfferID | readOfferVersion | readOfferCharge,
	VarCustomer: readCustomerCountry,
}

// reads parses expr and returns the context fields it selects. A variable
// used other than as var.field counts as read whole; anything that cannot
// be parsed reads everything, so the mask never under-states what is read.
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
			if bits, ok := fieldBits[op.AsIdent()]; ok {
				selected[op.ID()] = true
				if b, ok := bits[sel.FieldName()]; ok {
					mask |= b
				} else {
					mask |= wholeBits[op.AsIdent()]
				}
			}
		case ast.IdentKind:
			if _, ok := fieldBits[e.AsIdent()]; ok && !selected[e.ID()] {
				mask |= wholeBits[e.AsIdent()]
			}
		}
	}))
	return mask
}

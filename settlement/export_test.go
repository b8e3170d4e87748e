package settlement

// Reads exposes reads to the external tests: it decides what a memoized
// rule's result is keyed by, so it must never under-state what is read.
func Reads(expr string) uint16 { return uint16(reads(expr)) }

// ReadBits names the bits Reads sets.
var ReadBits = map[string]uint16{
	"route.kind": uint16(readRouteKind), "route.seller": uint16(readRouteSeller), "route.referrer": uint16(readRouteReferrer),
	"route": uint16(wholeBits(VarRoute)), "offer.id": uint16(readOfferID), "offer.version": uint16(readOfferVersion),
	"customer.country": uint16(readCustomerCountry), "route.depth": uint16(readRouteDepth), "partner": uint16(readPartner),
	"all": uint16(readAll),
}

// Fresh returns a copy of s that decides every level per line, sharing
// nothing between lines: tests compare it with s.
func Fresh(s *Settler) *Settler {
	c := *s
	c.fresh = true
	return &c
}

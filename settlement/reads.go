package settlement

import (
	"fmt"
	"hash/maphash"
	"strings"
)

// What a rule reads, as rules.Rule.Reads reports it from the rule's checked
// expression ("route.seller", "partner.tier", "line.amount"), decides how
// settling reuses its results and the level decisions it takes part in:
//
//   - a rule reading any line or volume fact (or a variable settlement
//     does not set) is evaluated for every line, and one reading a line
//     fact a line may leave unknown (its contract start, its service)
//     fails a line that does not give it (lineNeeds);
//   - a rule reading only the node's partner, or nothing, is memoized per
//     rule version and partner snapshot within a call (nil when it reads no
//     partner fact);
//   - a rule reading offer, route or customer facts is memoized by exactly
//     the fields it reads (a ctxKey), and the partner's snapshot when it
//     reads the partner too.
//
// A whole variable read ("route", as in `[route][0].seller`) keys on every
// field of it, and a path below a field ("partner.attributes.x") on the
// field. The partner is keyed by its snapshot, which stands for every field
// of it: snapshots are immutable, one per partner and stretch of time in
// which its terms, status and certifications hold (buildTimelines), and
// hashing a pointer costs less than hashing a partner's fields.

// memoLevel says how a rule version's results are reused.
type memoLevel uint8

const (
	memoNone    memoLevel = iota // reads line or volume: evaluated per line
	memoContext                  // reads offer, route or customer fields (and maybe the partner)
	memoPartner                  // reads only the node's partner, or nothing
)

// ruleReads is what one rule version reads, as settling keys it.
type ruleReads struct {
	perLine bool      // reads line or volume facts: evaluated for every line
	partner bool      // reads the node's partner: keyed by its snapshot
	ctx     ctxMask   // the offer, route and customer fields it reads
	needs   lineNeeds // the line facts it reads that a line may not give
}

// lineNeeds are the line facts a line may leave unknown (a zero
// Line.ContractStart or Line.Service), which a rule reading them needs: a
// sale that does not give them is refused when such a rule is evaluated
// for it (Line.gives), never read as the zero instant.
type lineNeeds uint8

const (
	needContract lineNeeds = 1 << iota // line.contract_start
	needService                        // line.service_start, line.service_end
)

// lineNeedsOf returns what reading field f of the line needs. A rule
// reading the whole line (`[line].all(l, ...)`, "" here) needs nothing:
// such rules were written before these facts existed, and refusing every
// line without them would break them; they read the facts as the line
// gives them, zero when it does not.
func lineNeedsOf(f string) lineNeeds {
	switch f {
	case "contract_start":
		return needContract
	case "service_start", "service_end":
		return needService
	}
	return 0
}

// gives returns nil when l gives the facts needs names, else an error
// wrapping ErrInvalidLine naming the first it lacks.
func (l *Line) gives(needs lineNeeds) error {
	switch {
	case needs&needContract != 0 && l.ContractStart.IsZero():
		return fmt.Errorf("%w: the rule reads line.contract_start, and the line gives no contract start "+
			"(Line.ContractStart; FromInvoice sets it from the invoice line's SubscriptionStart)", ErrInvalidLine)
	case needs&needService != 0 && l.Service.Start.IsZero():
		return fmt.Errorf("%w: the rule reads line.service_start or line.service_end, and the line gives no service period "+
			"(Line.Service; FromInvoice sets it from the invoice line's Period)", ErrInvalidLine)
	}
	return nil
}

// level returns how the rule's results are reused.
func (rd ruleReads) level() memoLevel {
	switch {
	case rd.perLine:
		return memoNone
	case rd.ctx != 0:
		return memoContext
	}
	return memoPartner
}

// ctxMask says which offer, route and customer fields a rule (or all the
// rules of a level) read. Each variable has a bit of its own, set when any
// of its fields is read: the key then starts from the whole variable and
// clears only the fields known here and not read, so a field ctxFields does
// not name is always part of the key (a key never under-states what is
// read; TestKeysCoverEveryFactField keeps it exact).
type ctxMask uint32

const (
	readOffer ctxMask = 1 << iota
	readOfferID
	readOfferVersion
	readOfferCharge
	readRoute
	readRouteKind
	readRouteSeller
	readRouteSellerTier
	readRouteDepth
	readRouteLevel
	readRouteReferrer
	readRouteMarketplace
	readCustomer
	readCustomerCountry
)

// ctxVars are the context variables, by their own bit.
var ctxVars = map[string]ctxMask{VarOffer: readOffer, VarRoute: readRoute, VarCustomer: readCustomer}

// ctxFields are the fields of the context facts by the paths rules read
// them at (their json names): the fields keyHasher.fill clears when unread.
var ctxFields = map[string]ctxMask{
	"offer.id":          readOfferID,
	"offer.version":     readOfferVersion,
	"offer.charge":      readOfferCharge,
	"route.kind":        readRouteKind,
	"route.seller":      readRouteSeller,
	"route.seller_tier": readRouteSellerTier,
	"route.depth":       readRouteDepth,
	"route.level":       readRouteLevel,
	"route.referrer":    readRouteReferrer,
	"route.marketplace": readRouteMarketplace,
	"customer.country":  readCustomerCountry,
}

// readsOf classifies the paths a rule version reads (rules.Rule.Reads).
func readsOf(paths []string) ruleReads {
	var rd ruleReads
	for _, p := range paths {
		v, f, _ := strings.Cut(p, ".")
		f, _, _ = strings.Cut(f, ".") // a path below a field reads the field
		switch v {
		case VarPartner:
			rd.partner = true
		case VarOffer, VarRoute, VarCustomer:
			if b, ok := ctxFields[v+"."+f]; ok {
				rd.ctx |= ctxVars[v] | b
			} else {
				rd.ctx |= wholeVar(v)
			}
		case VarLine:
			rd.perLine = true
			rd.needs |= lineNeedsOf(f)
		default: // volume, or a variable settlement does not set
			rd.perLine = true
		}
	}
	return rd
}

// wholeVar returns the bits of every field of context variable v.
func wholeVar(v string) ctxMask {
	m := ctxVars[v]
	for p, b := range ctxFields {
		if strings.HasPrefix(p, v+".") {
			m |= b
		}
	}
	return m
}

// ctxKey is the offer, route and customer facts a rule or a level reads,
// the fields it does not read left zero: two lines whose keys are equal
// give the rule the same result.
type ctxKey struct {
	offer    OfferFacts
	route    RouteFacts
	customer CustomerFacts
}

// key returns the facts of, rf and cf as m reads them.
func (m ctxMask) key(of *OfferFacts, rf *RouteFacts, cf *CustomerFacts) ctxKey {
	var k ctxKey
	kh := keyHasher{m: m}
	kh.fill(&k, of, rf, cf)
	return k
}

// keyInto sets *dst to the facts of, rf and cf as m reads them and returns
// a hash of the fields it names under seed (equal keys hash alike: a field
// m does not name is compared, never hashed), which decision keys look
// contexts up by.
func (m ctxMask) keyInto(dst *ctxKey, seed maphash.Seed, of *OfferFacts, rf *RouteFacts, cf *CustomerFacts) uint64 {
	*dst = ctxKey{}
	kh := keyHasher{m: m, seed: seed, hash: true, h: uint64(m)}
	kh.fill(dst, of, rf, cf)
	return kh.h
}

// fill sets k to the facts of, rf and cf as the hasher's mask reads them:
// the one place that names each field of the context facts.
func (kh *keyHasher) fill(k *ctxKey, of *OfferFacts, rf *RouteFacts, cf *CustomerFacts) {
	m := kh.m
	if m&readOffer != 0 {
		k.offer = *of
		kh.str(readOfferID, &k.offer.ID)
		kh.int(readOfferVersion, &k.offer.Version)
		kh.str(readOfferCharge, &k.offer.Charge)
	}
	if m&readRoute != 0 {
		k.route = *rf
		kh.str(readRouteKind, &k.route.Kind)
		kh.str(readRouteSeller, &k.route.Seller)
		kh.str(readRouteSellerTier, &k.route.SellerTier)
		kh.int(readRouteDepth, &k.route.Depth)
		kh.int(readRouteLevel, &k.route.Level)
		kh.str(readRouteReferrer, &k.route.Referrer)
		kh.str(readRouteMarketplace, &k.route.Marketplace)
	}
	if m&readCustomer != 0 {
		k.customer = *cf
		kh.str(readCustomerCountry, &k.customer.Country)
	}
}

// keyHasher clears the fields of a key its mask does not read and, when
// hash is set, hashes those it does.
type keyHasher struct {
	m    ctxMask
	seed maphash.Seed
	hash bool
	h    uint64
}

const keyPrime = 0x9e3779b97f4a7c15

func (kh *keyHasher) str(read ctxMask, s *string) {
	if kh.m&read == 0 {
		*s = ""
	} else if kh.hash {
		kh.h = (kh.h ^ maphash.String(kh.seed, *s)) * keyPrime
	}
}

func (kh *keyHasher) int(read ctxMask, n *int) {
	if kh.m&read == 0 {
		*n = 0
	} else if kh.hash {
		kh.h = (kh.h ^ uint64(*n)) * keyPrime
	}
}

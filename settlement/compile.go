package settlement

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shopspring/decimal"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/rules"
)

// DefaultPlatform is the party id of the platform when Config.Platform is
// empty.
const DefaultPlatform partner.ID = "platform"

// Config is what a Settler is built from.
type Config struct {
	// Plans are the split plans, validated together.
	Plans []PlanDocument
	// Rules holds every rule the plans name, compiled with Env: New uses
	// the set as compiled, with the options its environment was built with
	// (cost limits, TrustBounded), and compiles nothing again. A set
	// compiled in another environment is an *EnvError. It may be nil when
	// no plan names a rule.
	Rules *rules.RuleSet
	// Network answers partner types, tiers and status at each line's
	// date. Without one every partner is taken to trade, and New refuses a
	// plan paying a party found by partner type (distributor, reseller,
	// type:<name>) with ErrNoNetwork, since none would be found and its
	// share would go elsewhere on every line. New copies what it needs of
	// the network: a Settler never sees later changes to it (see New).
	Network *partner.Network
	// Platform is the platform's party id (DefaultPlatform when empty):
	// the party of its entries, and of every remaining or fallback share
	// paid to the platform. With a Network that holds partners of type
	// platform it must be one of them, and a partner of the network with
	// that id must be of type platform (else ErrPlatformParty), so that a
	// host whose network names its platform "itfirm" is not paid under
	// "platform" without a word.
	Platform partner.ID
	// Rates is the host's table of exchange rates. A plan's cumulative
	// tiers are in one currency; a line in another adds its basis to (and
	// reads) the partner's volume in the tiers' currency, converted at the
	// rate from the line's currency in force at the line's date (rounded
	// half away from zero to the minor unit). The line's cumulative shares
	// say the rate in their share text and the State records it on the
	// line's ledger (LedgerLine.Volumes). New checks every rate, and
	// refuses a plan that lists a currency with no rate to its tiers'
	// currency in force at any time the plan is; a table whose first rate
	// comes after the plan starts is accepted (examples/rulecheck -rates
	// warns about the gap), and a line dated in the gap, like any line
	// that finds no rate at its date, is refused when it is settled (a *LineError wrapping ErrCurrency and
	// an *ensemble.RateError naming the currencies), never given a volume
	// of zero.
	Rates ensemble.ExchangeRates
	// Suppliers, when not empty, are the only suppliers a sale's supplier
	// costs may name (catalog.SupplierCost.Supplier): a sale naming
	// another, such as a supplier id the catalog misspells, which would be
	// paid as a party of its own that no one pays out, is refused with
	// ErrUnknownSupplier (a *LineError naming the line and the cost).
	// Empty accepts any supplier: suppliers need not be partners of the
	// Network, and a supplier's status never moves its cost (see
	// Line.SupplierCosts).
	Suppliers []partner.ID
}

// Settler settles lines through compiled plans. It is safe for concurrent
// use and behaves as an immutable value: each call keeps its own scratch
// and memo state, and what calls share is three caches that depend only on
// the settler's own plans, rules and network: plan levels' decisions (who
// each child pays, with which weights, given the route's partners, the
// rule versions in force and the facts the level's rules read), routes (a
// seller's chain with its partners' snapshots over time) and the context
// facts decisions are keyed by. Each holds at most 16,384 values (a few
// MB); settling is exact with or without them.
type Settler struct {
	plans     []*cplan
	byOffer   map[catalog.OfferID][]*cplan
	anyOffer  []*cplan
	rules     *rules.RuleSet
	net       *partner.Network
	timelines map[partner.ID]*timeline
	// types holds every partner's type and parentTypes, for each type, the
	// types its partners' parents may have (Network.ParentTypesOf), nil
	// slices for types not checked: what a route's chain may put above a
	// partner (chainLinks).
	types       map[partner.ID]partner.Type
	parentTypes map[partner.Type]typeRule
	platform    partner.ID
	suppliers   map[string]struct{} // Config.Suppliers; nil: any
	rates       ensemble.ExchangeRates
	env         *rules.Env
	perLine     int // most entries a plan makes per line, for preallocation
	nodes       int // nodes of every plan
	// ruleVersions counts the versions of the rules plans name; each
	// crule's versions are numbered from its index.
	ruleVersions int
	// epochBounds are the instants rule versions or partners named by id
	// change at; levels' decisions are shared only within a span.
	epochBounds []time.Time
	fresh       bool                                      // decide every level per line (tests compare)
	reference   bool                                      // fresh, no memo, partners read with Network.At (see build)
	decisions   *sharedCache[dkey, *decision]             // level decisions shared between calls
	routes      *sharedCache[partner.ID, *chainTimelines] // chains shared between calls, by seller
	ctxKeys     *sharedCache[uint64, *ctxKey]             // context facts decision keys name, by hash, shared between calls
	seed        maphash.Seed                              // hashes context facts (ctxMask.keyInto)
	platSn      partner.Snapshot
	pool        *sync.Pool // idle runs, each with its decider and buffers (settle.go)
	// collects says that a plan pays on collection: the lines paid on
	// settlement keep what the customer owes on their invoice
	// (keepReceivable).
	collects bool
	// collectReserves says that a plan payable on collection has a leaf
	// with a reserve: collections then look their lines' plans up
	// (collectReserve).
	collectReserves bool
}

type shareKind uint8

const (
	shareNone shareKind = iota
	shareRemaining
	shareRatio
	shareAmount
	shareRule
	shareCumulative
)

type cplan struct {
	id       string
	doc      PlanDocument
	ref      ensemble.Ref
	root     *cnode
	gross    bool
	method   ensemble.AllocationMethod
	cums     []*cnode // nodes with cumulative shares
	leaves   int      // entries a line usually makes, for preallocation
	paths    []string // leaf paths in tree order, a leaf with a reserve's as its reserve's ("path#reserve", "path#release"); entry ids are built from them
	pathsLen int
	depth    int

	// The currency of its cumulative tiers' bounds, the volumes its rates
	// read (zero: no tier has a bound); the document path of the tier that
	// fixed it and the path of its node, for errors.
	volCur           ensemble.Currency
	volPath, volNode string
	// Whether credits of its lines take back from the volumes they added
	// to (Cumulative.Volume, which its shares agree on), and the path of
	// the first share that says so or not.
	netVolumes bool
	modePath   string
	// The path of its first node paid once per customer (Once); "":
	// none. Its lines must name their customer.
	once string
	// Whether its lines are payable on collection (PlanDocument.Payable).
	onCollection bool
	// Whether a leaf of it keeps a reserve of a ratio other than zero.
	leafReserves bool
	// funders are the nodes that fund discounts, by discount id, and
	// fundsRest the one that funds the others (PlanDocument.DiscountFunding);
	// nil when none.
	funders   map[string]*cnode
	fundsRest *cnode
	// reserves are the rolling reserves it holds, by party.
	reserves map[partner.ID]*cpartyReserve
	// reserveDays is the most days any of its reserves (a leaf's or a
	// rolling one) holds an earning, and lastSafe the last instant a line
	// can be dated at and have every release recorded (checkReleases).
	reserveDays int
	lastSafe    time.Time
}

type cnode struct {
	id, path  string
	ref       ensemble.Ref
	leaf      bool
	role      role
	kind      shareKind
	ratio     ensemble.Ratio
	amount    ensemble.Money
	shareRule string
	cond      string
	once      bool // Once: OncePerCustomer
	levelRule string
	// The same rules resolved to their versions when the settler is
	// built, so settling a line never looks a rule up by id.
	shareR, condR, levelR *crule
	cap, floor            ensemble.Money
	fallback              Fallback
	reserve               *Reserve
	cum                   *Cumulative
	cumOf                 role
	retro                 bool // a child's share is cumulative and retroactive: the level pays true-ups (split.trueUps)
	children              []*cnode
	remaining             int       // index of the remaining child, -1 for none
	leafIdx               int       // index in cplan.paths of a leaf
	idx                   int       // index among all the settler's nodes, for per-call caches
	meta                  *partMeta // ledger metadata of the leaf's parts
	platMeta              *partMeta // the same for parts paid to the platform as a fallback
	clawback              *Clawback // the node's own clawback window (Node.Clawback); nil: none
	shareText             string
	// What lines read of the reserve and the cumulative rate, worked out
	// once (see compileSplit).
	reserveNum, reserveDen uint64 // the reserve ratio, when both fit
	reserveFits            bool
	reserveText            string            // "reserve 10% until "
	tierBounds             []int64           // each cumulative tier's up_to in minor units of tierCur (the last: MaxInt64); nil: worked out per line
	tierCur                ensemble.Currency // the tiers' currency
	tierText               []string          // each tier's rate as a percentage
	shared                 bool              // the level's decision is shared by lines with equal facts
	deps                   depMask           // the partners of a line its decision depends on
	ctxReads               ctxMask           // the context facts its children's rules read
}

// New validates and compiles the plans of cfg, reporting every problem at
// once in an *ensemble.ValidationError with paths such as
// `plans[0].root.children[2].share`: empty or duplicate ids, bad node ids,
// unknown roles, leaves without a party, a level whose static ratios exceed
// 1 (or, without a remaining child, do not make exactly 1), a level whose
// shares can vary (conditions, rules, fixed amounts, caps, floors, parties
// that may be unable to trade) without a remaining child, rules that are
// unknown or of the wrong kind, a share rule that reads no fact (so decides
// every line alike) whose result no line could be paid by (a share below
// zero or above the whole, a negative amount), bad cumulative tiers and
// reserves, supplier ids (Suppliers) that are not ids; with a network, a
// partner:<id> it does not hold (ErrUnknownParty), and a platform id
// (Config.Platform) that is not its platform (ErrPlatformParty); without
// one, a party found by partner type (ErrNoNetwork).
//
// New also checks the plans' versions together, as ParsePlans does for
// one document, so plans built in code or read from several documents are
// checked too. Two plans that would tie for some line (equally specific,
// a common offer or both for any offer, a common route kind or both for
// any route, each its plan's highest version in force at common dates)
// are a *PlanConflictError matching ErrAmbiguousPlan, at plans[i] of the
// later one, naming both versions and the offers, route kinds and dates of
// the tie. A version that higher versions of its plan hide from every line
// it matches is a *PlanConflictError matching ErrShadowedPlan, naming
// every version that takes its place. A newer version taking over from
// its effective_from, and a plan listing offers or routes beating one for
// any, are not conflicts. A Settler New returns never fails a line with
// ErrAmbiguousPlan.
//
// Rules: New uses cfg.Rules as compiled, compiling nothing again, so the
// options of its environment (cost limits, TrustBounded) hold for every
// evaluation; a set compiled in an environment settlement.Env did not build
// is an *EnvError matching ErrForeignEnv, returned before the plans are
// checked. What each rule version reads (rules.Rule.Reads) decides how its
// results are reused (see Env).
//
// Partner terms: New copies what it needs of cfg.Network when it is built
// (every partner's snapshots over time: terms, status, certifications), and
// the settler's caches hold decisions made from them, so a Settler keeps
// the terms it was built with. When partner terms change, the host builds a
// new Network (a Network is immutable; decoding into the one the settler
// was given does not reach the copy) and a new Settler from it with New,
// and settles from then on with the new Settler; the old one goes on paying
// by the old terms, and entries already made are not revisited. Building a
// settler takes well under a millisecond for the examples' plans (README,
// Performance), so rebuild it when terms change, not per call.
func New(cfg Config) (*Settler, error) { return build(cfg, true, false) }

// build is New; checkVersions false skips the check of the plans'
// versions together, so tests can compare it with pick. reference builds
// the settler tests compare with, which shares nothing with the real one:
// it decides every level and evaluates every rule afresh (no memo, no
// interned shares, no shared caches) and reads partners from the network
// with Network.At at every use, never from precomputed snapshots.
func build(cfg Config, checkVersions, reference bool) (*Settler, error) {
	if cfg.Rules != nil {
		if err := checkEnv(cfg.Rules.Env()); err != nil {
			return nil, err
		}
	}
	s := &Settler{rules: cfg.Rules, net: cfg.Network, platform: cfg.Platform, rates: cfg.Rates, byOffer: map[catalog.OfferID][]*cplan{},
		decisions: &sharedCache[dkey, *decision]{}, routes: &sharedCache[partner.ID, *chainTimelines]{},
		ctxKeys: &sharedCache[uint64, *ctxKey]{}, seed: maphash.MakeSeed(), fresh: reference, reference: reference, pool: &sync.Pool{}}
	if s.platform == "" {
		s.platform = DefaultPlatform
	}
	s.platSn = partner.Snapshot{ID: s.platform, Type: partner.TypePlatform, Status: partner.StatusActive}
	var p ensemble.Problems
	seen := map[string]bool{}
	used := newRuleUse(cfg.Rules)
	for i, doc := range cfg.Plans {
		path := ensemble.Path("plans", i)
		key := string(doc.ID) + "@" + strconv.Itoa(doc.Version)
		if seen[key] {
			p.Addf(path+".id", "duplicate plan %q version %d", doc.ID, doc.Version)
		}
		seen[key] = true
		cp := s.compilePlan(&p, path, doc, used)
		if cp != nil {
			checkPlanRates(&p, path, cp, cfg.Rates)
			checkRetroactiveCurrencies(&p, path, cp)
			s.plans = append(s.plans, cp)
			s.collects = s.collects || cp.onCollection
			s.collectReserves = s.collectReserves || cp.onCollection && cp.leafReserves
		}
	}
	if checkVersions {
		checkPlanVersions(&p, cfg.Plans)
	}
	if err := cfg.Rates.Check(); err != nil {
		var ve *ensemble.ValidationError
		if errors.As(err, &ve) {
			for _, fe := range ve.Problems {
				p.Add(fe.Path, fe.Err)
			}
		}
	}

	if len(cfg.Suppliers) > 0 {
		s.suppliers = make(map[string]struct{}, len(cfg.Suppliers))
		for i, id := range cfg.Suppliers {
			if err := ensemble.CheckID(string(id), ensemble.EntrySeparators); err != nil {
				p.Add(ensemble.Path("suppliers", i), err)
			}
			s.suppliers[string(id)] = struct{}{}
		}
	}
	if cfg.Network != nil {
		checkPlatform(&p, cfg.Network, s.platform)
	}
	for i := range cfg.Plans {
		if cfg.Network != nil {
			checkParties(&p, ensemble.Path("plans", i, "root"), &cfg.Plans[i].Root, cfg.Network, s.platform)
			checkReserveParties(&p, ensemble.Path("plans", i), cfg.Plans[i].Reserves, cfg.Network, s.platform)
		} else {
			checkTypeRoles(&p, ensemble.Path("plans", i, "root"), &cfg.Plans[i].Root)
		}
	}
	if err := p.Err("plans"); err != nil {
		return nil, err
	}
	if s.net != nil && !reference {
		tl, err := buildTimelines(s.net)
		if err != nil {
			return nil, fmt.Errorf("settlement: network: %w", err)
		}
		s.timelines = tl
	}
	if s.net != nil {
		s.types, s.parentTypes = chainTypes(s.net)
	}
	byID := map[string]*crule{}
	if cfg.Rules != nil {
		// The host's rules as compiled; facts come from their environment.
		s.env = cfg.Rules.Env()
		// A rule's timeline, not its versions: a version that reads a
		// table is bound anew from each date the table changes.
		for _, id := range used.ids { // sorted
			if !used.used[id] {
				continue
			}
			cr := &crule{id: id, index: s.ruleVersions}
			byID[id] = cr
			for _, sp := range s.rules.Timeline(id) {
				r := sp.Rule
				s.ruleVersions++
				cr.versions = append(cr.versions, r)
				cr.spans = append(cr.spans, [2]time.Time{sp.From, sp.Until})
				cr.refs = append(cr.refs, ruleRef{Ref: r.Ref(), tables: r.Tables(), name: ruleName(r, id)})
				cr.reads = append(cr.reads, readsOf(r.Reads()))
			}
		}
		for _, cp := range s.plans {
			cp.root.resolveRules(byID)
		}
	}
	s.epochBounds = s.epochs(byID)
	for _, cp := range s.plans {
		setDecisionDeps(cp.root)
		s.perLine = max(s.perLine, cp.leaves)
		if len(cp.doc.Offers) == 0 {
			s.anyOffer = append(s.anyOffer, cp)
			continue
		}
		for _, o := range cp.doc.Offers {
			s.byOffer[o] = append(s.byOffer[o], cp)
		}
	}
	return s, nil
}

func (s *Settler) compilePlan(p *ensemble.Problems, path string, doc PlanDocument, used *ruleUse) *cplan {
	n0 := p.Len()
	if doc.ID == "" {
		p.Addf(path+".id", "empty id")
	} else if err := checkNodeID(string(doc.ID)); err != nil {
		p.Add(path+".id", err)
	}
	if doc.Version < 1 {
		p.Addf(path+".version", "version must be 1 or more")
	}
	if !doc.EffectiveUntil.IsZero() && !doc.EffectiveFrom.Before(doc.EffectiveUntil) {
		p.Addf(path+".effective_until", "empty effective span")
	}
	if int(doc.Basis) >= len(basisNames) {
		p.Addf(path+".basis", "unknown basis")
	}
	if !doc.Method.Valid() {
		p.Addf(path+".method", "unknown allocation method")
	}
	if int(doc.Payable) >= len(payableNames) {
		p.Addf(path+".payable", "unknown payable option")
	}
	for i, r := range doc.Routes {
		if r == partner.RouteUnspecified || !r.Valid() {
			p.Addf(ensemble.Path(path, "routes", i), "unspecified route kind")
		}
	}
	for i, o := range doc.Offers {
		if o == "" {
			p.Addf(ensemble.Path(path, "offers", i), "empty offer id")
		}
	}
	for i, c := range doc.Currencies {
		if c.IsZero() {
			p.Addf(ensemble.Path(path, "currencies", i), "empty currency")
		}
	}
	cp := &cplan{id: string(doc.ID), doc: doc, ref: doc.Ref(), gross: doc.Basis == BasisGross, method: doc.Method,
		onCollection: doc.Payable == PayableOnCollection}
	cp.reserves = compileReserves(p, path, doc.Reserves)
	for _, r := range doc.Reserves {
		cp.reserveDays = max(cp.reserveDays, r.Days)
	}
	if doc.Payable == PayableOnCollection && len(doc.Reserves) > 0 {
		p.Add(path+".reserves", fmt.Errorf("%w: a rolling reserve is held at the line's date of all the party earns and drawn on by credits; "+
			"on collection nothing is payable then: hold back part of what each collection makes payable with a leaf's reserve instead", ErrReserveOnCollection))
	}
	ids := map[string]bool{}
	cp.root = s.compileNode(p, path+".root", cp, &doc.Root, "", true, ids, used, 0)
	clawbackWindows(cp.root, nil)
	if p.Len() > n0 {
		return nil
	}
	checkWindowBearers(p, path+".root", &doc.Root, string(doc.Root.ID), nodePaths(&doc.Root, string(doc.Root.ID), nil))
	if p.Len() > n0 {
		return nil
	}
	compileFunding(p, path, cp)
	if p.Len() > n0 {
		return nil
	}
	// A line dated before lastInstant less the reserves' days (and two
	// more) releases in time; a later one is checked exactly.
	cp.lastSafe = lastInstant.AddDate(0, 0, -cp.reserveDays-2)
	return cp
}

// checkParties refuses a partner:<id> party or cumulative.of
// that names no partner of the network: a typo would otherwise pay the
// share to the fallback, or fail every line, without a word at load.
func checkParties(p *ensemble.Problems, path string, n *Node, net *partner.Network, platform partner.ID) {
	forEachParty(path, n, func(at, text string) {
		r, err := parseRole(text)
		if err != nil || r.kind != rolePartner || r.id == platform {
			return
		}
		if _, ok := net.Partner(r.id); !ok {
			p.Add(at, fmt.Errorf("%w: party %q names no partner of the network", ErrUnknownParty, text))
		}
	})
}

// checkPlatform refuses a platform party id (Config.Platform, or
// DefaultPlatform) that is not the network's platform: a network holding
// partners of type platform none of which is that id (the platform's
// shares would be paid to a party the network does not hold, every
// statement of the platform under another id than the host's), or a
// partner of that id of another type (the platform's shares would be
// paid to that partner's balance). A network with no partner of type
// platform is not checked: the platform need not be in it.
func checkPlatform(p *ensemble.Problems, net *partner.Network, platform partner.ID) {
	var platforms []string
	for _, pt := range net.Spec().Partners {
		if pt.ID == platform && pt.Type != partner.TypePlatform {
			p.Add("platform", fmt.Errorf("%w: the platform's party id %q (Config.Platform, %q when empty) is a partner of the network of type %q, not %q: its shares would be paid to that partner",
				ErrPlatformParty, platform, DefaultPlatform, pt.Type, partner.TypePlatform))
			return
		}
		if pt.Type == partner.TypePlatform {
			if pt.ID == platform {
				return
			}
			platforms = append(platforms, strconv.Quote(string(pt.ID)))
		}
	}
	if len(platforms) > 0 {
		p.Add("platform", fmt.Errorf("%w: the platform's party id %q (Config.Platform, %q when empty) is not a partner of the network, whose partners of type platform are %s: set Config.Platform to the one the platform's shares are paid to",
			ErrPlatformParty, platform, DefaultPlatform, strings.Join(platforms, ", ")))
	}
}

// checkTypeRoles refuses, for a settler without a network, a node whose
// party (or cumulative volume's owner) is found by partner type
// (distributor, reseller, type:<name>): without a network no partner has a
// type, so its share would go elsewhere on every line (ErrNoNetwork).
func checkTypeRoles(p *ensemble.Problems, path string, n *Node) {
	forEachParty(path, n, func(at, text string) {
		if r, err := parseRole(text); err == nil && r.kind == roleType {
			p.Add(at, fmt.Errorf("%w: party %q is found by partner type, which only Config.Network knows", ErrNoNetwork, text))
		}
	})
}

// forEachParty calls f with the path and text of every party node n and
// the nodes below it name: their parties and cumulative volumes' owners.
func forEachParty(path string, n *Node, f func(path, text string)) {
	if n.Party != "" {
		f(path+".party", n.Party)
	}
	if c := n.Share.Cumulative; c != nil && c.Of != "" {
		f(path+".share.cumulative.of", c.Of)
	}
	for k := range n.Children {
		forEachParty(ensemble.Path(path, "children", k), &n.Children[k], f)
	}
}

func (s *Settler) compileNode(p *ensemble.Problems, path string, cp *cplan, n *Node, parent string,
	root bool, ids map[string]bool, used *ruleUse, depth int) *cnode {
	if depth > partner.MaxDepth {
		p.Addf(path, "plan nests deeper than %d levels", partner.MaxDepth)
		return nil
	}
	if depth > cp.depth {
		cp.depth = depth
	}
	c := &cnode{id: string(n.ID), cond: n.Condition, levelRule: n.LevelWeight, cap: n.Cap, floor: n.Floor,
		fallback: n.Fallback, reserve: n.Reserve, remaining: -1, idx: s.nodes, once: n.Once == OncePerCustomer}
	s.nodes++
	if err := checkNodeID(string(n.ID)); err != nil {
		p.Add(path+".id", err)
	} else if root && n.ID == supplierCosts {
		p.Addf(path+".id", "root id %q is reserved: supplier costs' entries are under it; rename the root", n.ID)
	} else if ids[string(n.ID)] {
		p.Addf(path+".id", "duplicate node id %q", n.ID)
	}
	ids[string(n.ID)] = true
	c.path = string(n.ID)
	if parent != "" {
		c.path = parent + "/" + string(n.ID)
	}
	c.ref = ensemble.Ref{Kind: RefPlanNode, ID: string(cp.doc.ID) + "/" + c.path, Version: strconv.Itoa(cp.doc.Version)}
	if c.once && cp.once == "" {
		cp.once = c.path
	}
	c.leaf = len(n.Children) == 0
	if c.leaf {
		c.leafIdx = len(cp.paths)
		cp.leaves++
		if n.Reserve == nil {
			cp.paths = append(cp.paths, c.path)
			cp.pathsLen += len(c.path)
		} else {
			cp.reserveDays = max(cp.reserveDays, n.Reserve.Days)
			cp.leafReserves = cp.leafReserves || n.Reserve.Ratio.Sign() != 0
			cp.leaves += 2
			// The reserve's ids, of which the earning's is the beginning
			// of the first (entryID).
			cp.paths = append(cp.paths, c.path+"#reserve", c.path+"#release")
			cp.pathsLen += 2*len(c.path) + len("#reserve#release")
		}
	}
	if n.Party != "" {
		r, err := parseRole(n.Party)
		if err != nil {
			p.Add(path+".party", err)
		}
		c.role = r
		if !c.leaf {
			p.Addf(path+".party", "a node with children pays no party; give the party to a child")
		}
	} else if c.leaf {
		p.Addf(path+".party", "a leaf must name a party")
	}
	if !c.leaf && (n.Reserve != nil || n.Fallback != FallbackRemaining || n.LevelWeight != "") {
		p.Addf(path, "reserve, fallback and level_weight apply to leaves only")
	}
	if int(n.Fallback) >= len(fallbackNames) {
		p.Addf(path+".fallback", "unknown fallback")
	}
	if n.LevelWeight != "" {
		if c.role.kind != roleChainAll {
			p.Addf(path+".level_weight", "level_weight needs party chain[*]")
		}
		s.checkRule(p, path+".level_weight", n.LevelWeight, used, rules.Share)
	}
	if n.Condition != "" {
		s.checkRule(p, path+".condition", n.Condition, used, rules.Condition)
	}
	if n.Reserve != nil {
		if n.Reserve.Ratio.Sign() < 0 || n.Reserve.Ratio.Cmp(ensemble.RatioFromInt(1)) > 0 {
			p.Addf(path+".reserve.ratio", "reserve ratio must be within [0, 1]")
		}
		if n.Reserve.Days < 0 || n.Reserve.Days > 36600 {
			p.Addf(path+".reserve.days", "reserve days must be within [0, 36600]")
		}
	}
	for _, b := range []struct {
		name string
		m    ensemble.Money
	}{{"cap", n.Cap}, {"floor", n.Floor}} {
		if b.m.IsNegative() || !b.m.IsRounded() {
			p.Addf(path+"."+b.name, "%s must be whole, non-negative minor units", b.name)
		}
	}
	if !n.Cap.IsZero() && !n.Floor.IsZero() {
		if cmp, err := n.Floor.Cmp(n.Cap); err != nil || cmp > 0 {
			p.Addf(path+".floor", "floor must not exceed cap, in the cap's currency")
		}
	}
	checkAmountCurrencies(p, path, cp, n)
	// share
	sh := n.Share
	forms := 0
	if sh.Remaining {
		forms++
		c.kind = shareRemaining
		c.shareText = "remaining"
	}
	if sh.HasRatio {
		forms++
		c.kind, c.ratio = shareRatio, sh.Ratio
		c.shareText = sharePercent(sh.Ratio)
		if sh.Ratio.Sign() < 0 || sh.Ratio.Cmp(ensemble.RatioFromInt(1)) > 0 {
			p.Addf(path+".share", "ratio %s is outside [0, 1]", sh.Ratio)
		}
	}
	if !sh.Amount.IsZero() {
		forms++
		c.kind, c.amount = shareAmount, sh.Amount
		c.shareText = sh.Amount.String()
		if sh.Amount.IsNegative() || !sh.Amount.IsRounded() {
			p.Addf(path+".share.amount", "fixed amount must be whole, non-negative minor units")
		}
	}
	if sh.Rule != "" {
		forms++
		c.kind, c.shareRule = shareRule, sh.Rule
		c.shareText = "rule " + sh.Rule
		s.checkRule(p, path+".share.rule", sh.Rule, used, rules.Share, rules.Amount)
		if s.rules != nil {
			checkConstantShare(p, path+".share.rule", s.rules.Env(), used.versions[sh.Rule])
		}
	}
	if sh.Cumulative != nil {
		forms++
		c.kind, c.cum = shareCumulative, sh.Cumulative
		c.shareText = "cumulative"
		s.checkCumulative(p, path+".share.cumulative", sh.Cumulative, c, cp)
		if sh.Cumulative.Mode == Retroactive {
			// A true-up pays the node's one party and re-rates what its
			// rate applied to; a cap or floor would move part of it back.
			switch {
			case !c.leaf || c.role.multi():
				p.Addf(path+".share.cumulative.mode", "a retroactive share is a leaf paying one party: its true-ups pay that party")
			case !n.Cap.IsZero() || !n.Floor.IsZero():
				p.Addf(path+".share.cumulative.mode", "a retroactive share has no cap or floor: its true-ups re-rate what its rate applied to")
			case !sh.Cumulative.Window.calendar():
				p.Addf(path+".share.cumulative.window", "a retroactive share adds up a calendar window: the lines of a rolling window leave it, and what they were paid is not re-rated")
			case cp.onCollection:
				p.Addf(path+".share.cumulative.mode", "a retroactive share's true-ups are payable when settled; the plan pays on collection")
			}
		}
		cp.cums = append(cp.cums, c)
	}
	switch {
	case root && forms > 0:
		p.Addf(path+".share", "the root takes the whole basis; it has no share")
	case !root && forms == 0:
		p.Addf(path+".share", "missing share")
	case forms > 1:
		p.Addf(path+".share", "a share has exactly one form")
	}
	if root && n.Condition != "" {
		p.Addf(path+".condition", "the root has no condition")
	}
	switch {
	case n.Once > OncePerCustomer:
		p.Addf(path+".once", "unknown once option %s: the option is \"customer\" or none", n.Once)
	case root && n.Once != OnceUnlimited:
		p.Addf(path+".once", "the root is paid on every line; it has no once option")
	}
	for i := range n.Children {
		ch := s.compileNode(p, ensemble.Path(path, "children", i), cp, &n.Children[i], c.path, false, ids, used, depth+1)
		if ch != nil {
			c.children = append(c.children, ch)
			c.retro = c.retro || ch.cum != nil && ch.cum.Mode == Retroactive
		}
	}
	if len(c.children) == len(n.Children) && len(n.Children) > 0 {
		checkLevel(p, path, c, s.platform)
	}
	if n.Clawback != nil {
		n.Clawback.validate(p, path+".clawback")
		cw := *n.Clawback
		c.clawback = &cw
	}
	if c.leaf {
		c.meta = &partMeta{role: roleText(c), node: c.path, kind: KindEarning, multi: c.role.multi()}
		c.platMeta = &partMeta{role: "platform", node: c.path, kind: KindEarning}
	}
	c.compileSplit()
	return c
}

// nodePaths adds to paths the path of n (at) and of every node below it.
func nodePaths(n *Node, at string, paths map[string]bool) map[string]bool {
	if paths == nil {
		paths = map[string]bool{}
	}
	paths[at] = true
	for i := range n.Children {
		nodePaths(&n.Children[i], at+"/"+string(n.Children[i].ID), paths)
	}
	return paths
}

// checkWindowBearers records a clawback window at or below n (at path,
// its node path at) whose bearer names a node that is none of the plan's
// (paths) nor a supplier cost's ("supplier_costs" or below): it could bear
// no part of any line, so every reversal after the window would be
// refused (ErrBearerNotOnLine) instead of decided.
func checkWindowBearers(p *ensemble.Problems, path string, n *Node, at string, paths map[string]bool) {
	if w := n.Clawback; w != nil && w.BorneBy.Node != "" {
		b := w.BorneBy.Node
		if !paths[b] && b != string(supplierCosts) && !strings.HasPrefix(b, string(supplierCosts)+"/") {
			p.Add(path+".clawback.borne_by.node", fmt.Errorf("%w: node %q is no node of the plan (its root is %q) nor a supplier cost (%q): it would bear no part of any line",
				ErrBearerNotOnLine, b, at[:strings.IndexByte(at+"/", '/')], string(supplierCosts)+"/<component>"))
		}
	}
	for i := range n.Children {
		checkWindowBearers(p, ensemble.Path(path, "children", i), &n.Children[i], at+"/"+string(n.Children[i].ID), paths)
	}
}

// clawbackWindows gives the earnings of the leaves at or below c the
// clawback window of the nearest node at or above them that has one (w
// above c): their part meta keeps it (partMeta.window). A leaf's parts
// paid to the platform as its fallback have none.
func clawbackWindows(c *cnode, w *Clawback) {
	if c == nil {
		return
	}
	if c.clawback != nil {
		w = c.clawback
	}
	if c.leaf && c.meta != nil {
		c.meta.window = w
	}
	for _, ch := range c.children {
		clawbackWindows(ch, w)
	}
}

// compileSplit works out what every line reads of the node's reserve and
// cumulative rate, so that lines do no rational arithmetic or formatting
// of their own for them: the reserve ratio as integers and the start of its
// note, the tiers' bounds in minor units and their rates as percentages.
func (c *cnode) compileSplit() {
	if r := c.reserve; r != nil {
		num, den := r.Ratio.Num(), r.Ratio.Denom()
		if num.IsUint64() && den.IsUint64() && r.Ratio.Sign() >= 0 {
			c.reserveNum, c.reserveDen, c.reserveFits = num.Uint64(), den.Uint64(), true
		}
		c.reserveText = "reserve " + r.Ratio.Percent() + " until "
	}
	if cu := c.cum; cu != nil && len(cu.Tiers) > 0 {
		c.tierText = make([]string, len(cu.Tiers))
		for i, t := range cu.Tiers {
			c.tierText[i] = sharePercent(t.Rate)
		}
		bounds := make([]int64, len(cu.Tiers))
		for i, t := range cu.Tiers {
			if i == len(cu.Tiers)-1 {
				bounds[i] = math.MaxInt64
				continue
			}
			u, err := t.UpTo.MinorUnits()
			if err != nil || (i > 0 && t.UpTo.Currency() != c.tierCur) {
				return // left to each line, which reports it
			}
			c.tierCur, bounds[i] = t.UpTo.Currency(), u
		}
		c.tierBounds = bounds
	}
}

// roleText is the role a leaf's entries name: "seller", "chain[2]",
// "partner:<id>", ...
func roleText(n *cnode) string {
	switch n.role.kind {
	case rolePlatform:
		return "platform"
	case roleChain:
		if n.role.level == 0 {
			return "seller"
		}
		return fmt.Sprintf("chain[%d]", n.role.level)
	case roleTop:
		return "top"
	case roleChainAll:
		return "chain[*]"
	case roleType:
		// A type is written as the plan writes it: bare when the bare
		// name reads back as that type (reseller, distributor), else
		// type:<name>, so that no role text is another role's (a
		// type:supplier share is not a supplier cost, type:seller not
		// the seller).
		if r, err := parseRole(string(n.role.typ)); err == nil && r == n.role {
			return string(n.role.typ)
		}
		return "type:" + string(n.role.typ)
	case roleReferrer:
		return "referrer"
	case roleMarketplace:
		return "marketplace"
	case roleCoSellers:
		return "co_sellers"
	case rolePartner:
		return "partner:" + string(n.role.id)
	case roleAttributed:
		return "attributed"
	}
	return ""
}

// checkLevel rejects a level that could over-allocate or lose money: its
// ratios add up to more than the whole (ErrOverAllocation), or no child
// takes the remaining amount while the ratios add up to less or some share
// can vary (ErrUnallocated: what the shares leave would be lost), or the
// remaining child is given twice or conditionally (ErrRemainingChild).
func checkLevel(p *ensemble.Problems, path string, c *cnode, platform partner.ID) {
	sum := ensemble.Ratio{}
	var parts []string   // "reseller 60%"
	var varying []string // "referral (a condition)"
	for i, ch := range c.children {
		var why []string
		switch ch.kind {
		case shareRemaining:
			if c.remaining >= 0 {
				p.Add(ensemble.Path(path, "children", i, "share"), fmt.Errorf("%w: children %q and %q both take the remaining amount; a level has at most one",
					ErrRemainingChild, c.children[c.remaining].id, ch.id))
			}
			c.remaining = i
			if ch.cond != "" || ch.once || !ch.cap.IsZero() || !ch.floor.IsZero() {
				p.Add(ensemble.Path(path, "children", i), fmt.Errorf("%w: the remaining child takes no condition, once option, cap or floor", ErrRemainingChild))
			}
		case shareRatio:
			sum = sum.Add(ch.ratio)
			parts = append(parts, fmt.Sprintf("%s %s", ch.id, ch.ratio.Percent()))
		case shareNone:
			why = append(why, "no share")
		case shareAmount:
			why = append(why, "a fixed amount")
		case shareRule:
			why = append(why, "a rule")
		case shareCumulative:
			why = append(why, "a cumulative rate")
		}
		if ch.cond != "" {
			why = append(why, "a condition")
		}
		if ch.once {
			why = append(why, "once per customer")
		}
		if !ch.cap.IsZero() || !ch.floor.IsZero() {
			why = append(why, "a cap or floor")
		}
		if ch.leaf && ch.fallback == FallbackRemaining && ch.kind != shareRemaining && !alwaysPaid(ch.role, platform) {
			why = append(why, "a party that may not be paid")
		}
		if len(why) > 0 {
			varying = append(varying, fmt.Sprintf("%s (%s)", ch.id, strings.Join(why, ", ")))
		}
	}
	ratios := func() string {
		if len(parts) == 0 {
			return "no ratios"
		}
		return fmt.Sprintf("ratios adding up to %s (%s)", sum.Percent(), strings.Join(parts, " + "))
	}
	if sum.Cmp(ensemble.RatioFromInt(1)) > 0 {
		p.Add(path+".children", fmt.Errorf("%w: ratios add up to %s (%s), more than the whole", ErrOverAllocation, sum.Percent(), strings.Join(parts, " + ")))
		return
	}
	if c.remaining < 0 {
		if len(varying) > 0 {
			p.Add(path+".children", fmt.Errorf("%w: %s and shares that can vary, %s, but no child takes the remaining amount: what they leave would be lost; give one child share: remaining",
				ErrUnallocated, ratios(), strings.Join(varying, "; ")))
		} else if sum.Cmp(ensemble.RatioFromInt(1)) != 0 {
			p.Add(path+".children", fmt.Errorf("%w: %s and no child takes the remaining amount: give one child share: remaining, or make them add up to 100%%",
				ErrUnallocated, ratios()))
		}
	}
}

func alwaysPaid(r role, platform partner.ID) bool {
	return r.kind == rolePlatform || (r.kind == rolePartner && r.id == platform)
}

// ruleUse is what checking plans needs of the host's rule set, listed once
// per New (listing it per reference made New quadratic): each rule id's
// versions, the ids in order for the "did you mean" hint, and the ids the
// plans refer to.
type ruleUse struct {
	versions map[string][]*rules.Rule // by id, in version order
	ids      []string                 // sorted
	used     map[string]bool
}

func newRuleUse(rs *rules.RuleSet) *ruleUse {
	u := &ruleUse{versions: map[string][]*rules.Rule{}, used: map[string]bool{}}
	if rs == nil {
		return u
	}
	for _, r := range rs.Rules() { // by id, then version
		if len(u.ids) == 0 || u.ids[len(u.ids)-1] != r.ID() {
			u.ids = append(u.ids, r.ID())
		}
		u.versions[r.ID()] = append(u.versions[r.ID()], r)
	}
	return u
}

func (s *Settler) checkRule(p *ensemble.Problems, path, id string, used *ruleUse, kinds ...rules.Kind) {
	if s.rules == nil {
		p.Addf(path, "rule %q: no rule set given", id)
		return
	}
	used.used[id] = true
	versions := used.versions[id]
	found, ids := len(versions) > 0, used.ids
	var wrong []string
	for _, r := range versions {
		if !slices.Contains(kinds, r.Kind()) {
			wrong = append(wrong, fmt.Sprintf("v%d is %s", r.Version(), kindText(r.Kind())))
		}
	}
	want := make([]string, len(kinds))
	for i, k := range kinds {
		want[i] = kindText(k)
	}
	switch {
	case !found:
		hint := ""
		if near := ensemble.Nearest(id, ids); len(near) > 0 {
			hint = fmt.Sprintf(" (did you mean %q?)", near[0])
		}
		p.Add(path, fmt.Errorf("rule %q%s: %w", id, hint, rules.ErrUnknownRule))
	case len(wrong) > 0:
		p.Add(path, fmt.Errorf("rule %q must be %s, but %s: %w", id, strings.Join(want, " or "), strings.Join(wrong, ", "), rules.ErrWrongKind))
	}
}

// checkConstantShare refuses the versions of a node's share rule that
// read no fact and no table, and so decide every line alike, when what
// they decide no line could be paid: a negative share or one above the
// whole, a negative amount. (rules refuses one that fails to evaluate.)
func checkConstantShare(p *ensemble.Problems, path string, env *rules.Env, versions []*rules.Rule) {
	for _, r := range versions {
		if len(r.Reads()) > 0 || len(r.Tables()) > 0 || (r.Kind() != rules.Share && r.Kind() != rules.Amount) {
			continue
		}
		res, err := r.Eval(context.Background(), env.NewFacts())
		switch {
		case err != nil:
			p.Add(path, err)
		case r.Kind() == rules.Share && res.Decimal.Sign() < 0:
			p.Addf(path, "rule %q v%d is the constant share %s: a share is never negative", r.ID(), r.Version(), res.Decimal)
		case r.Kind() == rules.Share && res.Decimal.GreaterThan(decimal.NewFromInt(1)):
			p.Addf(path, "rule %q v%d is the constant share %s, more than the whole: the level would over-allocate on every line", r.ID(), r.Version(), res.Decimal)
		case r.Kind() == rules.Amount && res.Money.IsNegative():
			p.Addf(path, "rule %q v%d is the constant amount %s: an amount is never negative", r.ID(), r.Version(), res.Money)
		}
	}
}

// kindText is "a share rule", "an amount rule".
func kindText(k rules.Kind) string {
	if k == rules.Amount {
		return "an amount rule"
	}
	return "a " + k.String() + " rule"
}

func (s *Settler) checkCumulative(p *ensemble.Problems, path string, cu *Cumulative, c *cnode, cp *cplan) {
	of := cu.Of
	if of == "" {
		of = "seller"
	}
	r, err := parseRole(of)
	if err != nil {
		p.Add(path+".of", err)
	} else if r.multi() || r.kind == rolePlatform || r.kind == roleAttributed {
		p.Addf(path+".of", "volume is read for one partner; %q is not one", of)
	}
	c.cumOf = r
	if int(cu.Window) >= len(windowNames) {
		p.Addf(path+".window", "unknown window")
	}
	if int(cu.Mode) >= len(modeNames) {
		p.Addf(path+".mode", "unknown mode")
	}
	switch {
	case int(cu.Volume) >= len(volumeModeNames):
		p.Addf(path+".volume", "unknown volume mode")
	case cp.modePath == "":
		cp.netVolumes, cp.modePath = cu.Volume == VolumeNetOfCredits, path+".volume"
	case cp.netVolumes != (cu.Volume == VolumeNetOfCredits):
		p.Addf(path+".volume", "volume %s: the plan's cumulative shares agree on their volume, and %s is %s", cu.Volume, cp.modePath,
			map[bool]VolumeMode{true: VolumeNetOfCredits, false: VolumeOfSales}[cp.netVolumes])
	}
	if len(cu.Tiers) == 0 {
		p.Addf(path+".tiers", "no tiers")
	}
	var prev ensemble.Money
	for i, t := range cu.Tiers {
		tp := ensemble.Path(path, "tiers", i)
		if t.Rate.Sign() < 0 || t.Rate.Cmp(ensemble.RatioFromInt(1)) > 0 {
			p.Addf(tp+".rate", "rate %s is outside [0, 1]", t.Rate)
		}
		last := i == len(cu.Tiers)-1
		switch {
		case last && !t.UpTo.IsZero():
			p.Addf(tp+".up_to", "the last tier has no up_to")
		case !last && !t.UpTo.IsPositive():
			p.Addf(tp+".up_to", "up_to must be positive")
		case !last && !t.UpTo.IsRounded():
			p.Add(tp+".up_to", ensemble.ErrNotMinorUnits)
		case !last && i > 0 && t.UpTo.Currency() == prev.Currency():
			if cmp, err := t.UpTo.Cmp(prev); err != nil || cmp <= 0 {
				p.Addf(tp+".up_to", "up_to must rise")
			}
		}
		if !last {
			prev = t.UpTo
		}
		// A plan's tiers are in one currency: the volumes its rates read.
		switch cur := t.UpTo.Currency(); {
		case last || cur.IsZero():
		case cp.volCur.IsZero():
			cp.volCur, cp.volPath, cp.volNode = cur, tp+".up_to", c.path
		case cur != cp.volCur:
			p.Add(tp+".up_to", fmt.Errorf("%w: %s: the plan's cumulative tiers are in %s (%s); a plan's tiers are in one currency, the volumes its rates read",
				ErrCurrency, t.UpTo, cp.volCur.Key(), cp.volPath))
		}
	}
}

// checkAmountCurrencies refuses a node whose cap, floor or fixed amount is
// in a currency the plan's lines may not be in: a line in another
// currency could not be split (amounts are not converted), and finding
// out line by line at settle time is too late. A plan with such amounts
// lists its currencies, all of them the amounts'.
func checkAmountCurrencies(p *ensemble.Problems, path string, cp *cplan, n *Node) {
	for _, a := range []struct {
		name string
		m    ensemble.Money
	}{{"cap", n.Cap}, {"floor", n.Floor}, {"share.amount", n.Share.Amount}} {
		cur := a.m.Currency()
		if a.m.IsZero() || cur.IsZero() {
			continue
		}
		if len(cp.doc.Currencies) == 0 {
			p.Add(path+"."+a.name, fmt.Errorf("%w: %s is in %s, but the plan settles lines in any currency: list its currencies (currencies: [%s]), "+
				"and give lines in others a plan of their own", ErrCurrency, a.m, cur.Key(), cur.Key()))
			continue
		}
		for i, c := range cp.doc.Currencies {
			if !c.IsZero() && c != cur {
				p.Add(ensemble.Path(path+"."+a.name), fmt.Errorf("%w: %s is in %s, but the plan settles %s lines (currencies[%d]); amounts are not converted: "+
					"give %s lines a plan of their own", ErrCurrency, a.m, cur.Key(), c.Key(), i, c.Key()))
			}
		}
	}
}

// checkPlanRates refuses a plan that lists a currency its cumulative
// tiers are not in without any rate to the tiers' currency in force while
// the plan is: no line in that currency could be settled. A line dated
// before the first rate is refused when it is settled.
func checkPlanRates(p *ensemble.Problems, path string, cp *cplan, rates ensemble.ExchangeRates) {
	to := cp.volCur
	if to.IsZero() {
		return
	}
	until := cp.doc.EffectiveUntil
	for i, c := range cp.doc.Currencies {
		if c.IsZero() || c == to || slices.Contains(cp.doc.Currencies[:i], c) {
			continue
		}
		if slices.ContainsFunc(rates, func(r ensemble.ExchangeRate) bool {
			return r.From == c && r.To == to && (until.IsZero() || r.Since.Before(until))
		}) {
			continue
		}
		when := ""
		if !until.IsZero() {
			when = " before " + instantText(until) + ", when the plan ends"
		}
		p.Add(ensemble.Path(path, "currencies", i), fmt.Errorf("%w: the plan settles %s lines but its cumulative tiers are in %s (%s), and the exchange rates hold none from %s to %s%s: %w",
			ErrCurrency, c.Key(), to.Key(), cp.volPath, c.Key(), to.Key(), when, &ensemble.RateError{From: c, To: to, Err: ensemble.ErrNoRate}))
	}
}

// checkRetroactiveCurrencies refuses a plan with a retroactive share that
// lists currencies other than its cumulative tiers': a true-up re-rates
// what the window's lines were paid in the tiers' currency, and lines in
// another currency are not converted into it (decider.retroTier refuses
// them), so every such line would fail when settled. A plan that lists no
// currencies is left alone: its lines in the tiers' currency settle, and
// a line in another is refused when it is settled.
func checkRetroactiveCurrencies(p *ensemble.Problems, path string, cp *cplan) {
	to := cp.volCur
	if to.IsZero() || len(cp.doc.Currencies) == 0 {
		return
	}
	i := slices.IndexFunc(cp.cums, func(c *cnode) bool { return c.cum.Mode == Retroactive })
	if i < 0 {
		return
	}
	var others []ensemble.Currency
	for j, c := range cp.doc.Currencies {
		if !c.IsZero() && c != to && !slices.Contains(cp.doc.Currencies[:j], c) {
			others = append(others, c)
		}
	}
	if len(others) > 0 {
		p.Add(path+".currencies", &RetroactiveCurrencyError{Plan: PlanVersion{cp.doc.ID, cp.doc.Version}, Node: cp.cums[i].path, Tiers: to, Currencies: others})
	}
}

// pick returns the plan for a line: among plans in force at the line's
// date that match its offer, route kind and currency, the highest version
// of each plan id; an offer-specific plan beats one for any offer, a
// route-specific plan one for any route, a currency-specific plan one for
// any currency (specificity). Two equally specific plans are
// ErrAmbiguousPlan.
func (s *Settler) pick(l *Line) (*cplan, error) {
	var buf [8]*cplan
	cands := buf[:0]
	add := func(cp *cplan) {
		if !inForce(cp.doc.EffectiveFrom, cp.doc.EffectiveUntil, l.Date) || !cp.matchesRoute(l.Route.Kind) ||
			!currencyMatches(&cp.doc, l.Currency()) {
			return
		}
		for i, c := range cands {
			if c.id == cp.id {
				if cp.doc.Version > c.doc.Version {
					cands[i] = cp
				}
				return
			}
		}
		cands = append(cands, cp)
	}
	for _, cp := range s.byOffer[l.Offer.Offer] {
		add(cp)
	}
	for _, cp := range s.anyOffer {
		add(cp)
	}
	var best *cplan
	bestScore, tie := -1, false
	for _, cp := range cands {
		score := specificity(&cp.doc)
		switch {
		case score > bestScore:
			best, bestScore, tie = cp, score, false
		case score == bestScore:
			tie = true
		}
	}
	if best == nil {
		return nil, s.noPlan(l)
	}
	if tie {
		return nil, lineErr(l.ID, best.id, "", "", ErrAmbiguousPlan)
	}
	return best, nil
}

// specificity is how specific a plan is, as pick ranks plans: listing
// offers counts 4, listing routes 2, listing currencies 1, so that offers
// outrank routes and currencies together, and routes currencies.
func specificity(d *PlanDocument) int {
	score := 0
	if len(d.Offers) > 0 {
		score += 4
	}
	if len(d.Routes) > 0 {
		score += 2
	}
	if len(d.Currencies) > 0 {
		score++
	}
	return score
}

// currencyMatches reports whether plan d settles lines in cur.
// noPlan is the ErrNoPlan of line l, saying what it was matched on and
// why each plan for its offer (or for any offer) did not match: its dates,
// its route kinds or its currencies.
func (s *Settler) noPlan(l *Line) error {
	const most = 4
	var why []string
	more := 0
	for _, cps := range [...][]*cplan{s.byOffer[l.Offer.Offer], s.anyOffer} {
		for _, cp := range cps {
			d := &cp.doc
			var r string
			switch {
			case !inForce(d.EffectiveFrom, d.EffectiveUntil, l.Date):
				r = "is in force " + inForceText(d.EffectiveFrom, d.EffectiveUntil)
			case !cp.matchesRoute(l.Route.Kind):
				r = "is for routes " + listText(d.Routes)
			default:
				r = "settles lines in " + listText(d.Currencies) + " only"
			}
			if len(why) == most {
				more++
				continue
			}
			why = append(why, fmt.Sprintf("plan %q v%d %s", d.ID, d.Version, r))
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "offer %s, route %s, %s at %s", l.Offer.Offer, l.Route.Kind, l.Currency().Key(), instantText(l.Date))
	if len(why) == 0 {
		b.WriteString("; no plan is for this offer or for any offer")
	} else {
		b.WriteString(": " + strings.Join(why, "; "))
		if more > 0 {
			fmt.Fprintf(&b, "; and %d more", more)
		}
	}
	return lineErr(l.ID, "", "", "", fmt.Errorf("%w: %s", ErrNoPlan, b.String()))
}

// inForceText writes [from, until) with open ends said in words.
func inForceText(from, until time.Time) string {
	switch {
	case from.IsZero():
		return "until " + instantText(until)
	case until.IsZero():
		return "from " + instantText(from)
	}
	return "from " + instantText(from) + " until " + instantText(until)
}

// listText writes values separated by commas.
func listText[T fmt.Stringer](vs []T) string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.String()
	}
	return strings.Join(out, ", ")
}

func currencyMatches(d *PlanDocument, cur ensemble.Currency) bool {
	return len(d.Currencies) == 0 || slices.Contains(d.Currencies, cur)
}

func (cp *cplan) matchesRoute(k partner.RouteKind) bool {
	if len(cp.doc.Routes) == 0 {
		return true
	}
	for _, r := range cp.doc.Routes {
		if r == k {
			return true
		}
	}
	return false
}

func inForce(from, until, t time.Time) bool {
	return (from.IsZero() || !t.Before(from)) && (until.IsZero() || t.Before(until))
}

// Plans returns the plan documents the settler was built from, sorted by
// id then version.
func (s *Settler) Plans() []PlanDocument {
	out := make([]PlanDocument, len(s.plans))
	for i, cp := range s.plans {
		out[i] = cp.doc
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].ID != out[j].ID {
			return out[i].ID < out[j].ID
		}
		return out[i].Version < out[j].Version
	})
	return out
}

// crule is one rule id's timeline (rules.RuleSet.Timeline): the rule in
// force over each stretch of time, in time order, with what settling needs
// of each: what it reads, which decides how its results are memoized and
// which facts key them (reads.go).
type crule struct {
	id       string
	index    int // of the first stretch among the settler's rule versions
	versions []*rules.Rule
	spans    [][2]time.Time // each stretch's [from, until); zero: unbounded
	refs     []ruleRef      // each stretch's rule and tables, shared by the entries it decides
	reads    []ruleReads
}

// ruleRef is the trace of a rule that decided: its version, and the
// versions of the tables it read; and its name in texts and errors.
type ruleRef struct {
	ensemble.Ref
	tables []ensemble.Ref
	name   string // "id@version", as ruleName writes it
}

// at returns the index of the stretch holding t, whose rule is the one
// rules.RuleSet.At returns at t.
func (c *crule) at(t time.Time) (int, error) {
	for i, sp := range c.spans {
		if (sp[0].IsZero() || !t.Before(sp[0])) && (sp[1].IsZero() || t.Before(sp[1])) {
			return i, nil
		}
	}
	return 0, fmt.Errorf("%w: rule %q at %s", rules.ErrNotInForce, c.id, t.UTC().Format(time.RFC3339))
}

// resolveRules points the node and its descendants at their rules.
func (c *cnode) resolveRules(byID map[string]*crule) {
	c.shareR, c.condR, c.levelR = byID[c.shareRule], byID[c.cond], byID[c.levelRule]
	for _, ch := range c.children {
		ch.resolveRules(byID)
	}
}

// compileFunding resolves the plan's DiscountFunding to its nodes: each a
// node of the plan other than the root, each discount named once, one
// entry for the rest at most, under a net basis.
func compileFunding(p *ensemble.Problems, path string, cp *cplan) {
	funding := cp.doc.DiscountFunding
	if len(funding) == 0 {
		return
	}
	if cp.gross {
		p.Addf(path+".discount_funding", "discounts are taken before tax: a plan that funds them splits the net (basis: net)")
		return
	}
	nodes := map[NodeID]*cnode{}
	var index func(n *cnode)
	index = func(n *cnode) {
		nodes[NodeID(n.id)] = n
		for _, c := range n.children {
			index(c)
		}
	}
	index(cp.root)
	cp.funders = map[string]*cnode{}
	for i, f := range funding {
		at := ensemble.Path(path, "discount_funding", i)
		n, ok := nodes[f.Node]
		switch {
		case f.Node == "":
			p.Addf(at+".node", "no node")
		case !ok:
			p.Addf(at+".node", "no node %q in the plan", f.Node)
		case n == cp.root:
			p.Addf(at+".node", "the root splits the discounted line as it is: name the node that funds the discount")
		}
		switch _, named := cp.funders[f.Discount]; {
		case f.Discount == "" && cp.fundsRest != nil:
			p.Addf(at+".discount", "a second entry for every other discount")
		case f.Discount == "":
			cp.fundsRest = n
		case named:
			p.Addf(at+".discount", "discount %q funded twice", f.Discount)
		default:
			cp.funders[f.Discount] = n
		}
	}
}

// fundsDiscounts reports whether a node of the plan funds discounts.
func (cp *cplan) fundsDiscounts() bool { return cp.funders != nil || cp.fundsRest != nil }

// funderOf returns the node that funds discount id, or nil when the
// parties bear it in proportion.
func (cp *cplan) funderOf(id string) *cnode {
	if n, ok := cp.funders[id]; ok {
		return n
	}
	return cp.fundsRest
}

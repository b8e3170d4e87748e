package settlement_test

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/rules"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// celKind is how rules expose a Go field.
type celKind uint8

const (
	celString celKind = iota
	celInt
	celDecimal
	celMoney
	celTime
	celList
	celMap
)

func celKindOf(t *testing.T, typ reflect.Type) celKind {
	switch {
	case typ == reflect.TypeFor[time.Time]():
		return celTime
	case typ == reflect.TypeFor[ensemble.Money]():
		return celMoney
	case typ == reflect.TypeFor[decimal.Decimal]():
		return celDecimal
	case typ.Implements(reflect.TypeFor[encoding.TextMarshaler]()):
		return celString
	}
	switch typ.Kind() {
	case reflect.String:
		return celString
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return celInt
	case reflect.Slice:
		if typ.Elem().Kind() == reflect.String {
			return celList
		}
	case reflect.Map:
		if typ.Key().Kind() == reflect.String && typ.Elem().Kind() == reflect.String {
			return celMap
		}
	}
	t.Fatalf("no expressions for a field of type %s: teach celKindOf and atom", typ)
	return 0
}

// factField is one field rules can read, with how to write expressions on
// it.
type factField struct {
	path string
	kind celKind
}

// allFactFields lists every field of every fact struct, by reflection, so
// that a field added to one is drawn by the property below.
func allFactFields(t *testing.T) []factField {
	var out []factField
	for _, fs := range factStructs {
		for name, i := range ruleFields(fs.typ) {
			out = append(out, factField{path: fs.name + "." + name, kind: celKindOf(t, fs.typ.Field(i).Type)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out
}

// keyStrings are the values string facts take in the lines and networks
// drawn below, by the path of the field (or of the list or map holding
// them), so that comparisons are true as often as not; other fields draw
// from all of them.
var keyStrings = map[string][]string{
	"offer.id":               {"cloud-backup", "x"},
	"offer.charge":           {"seat", "usage"},
	"route.kind":             {"partner", "direct", "marketplace", "referral"},
	"route.seller":           {"", "sub-utrecht", "reseller-nl", "reseller-de", "distri-eu", "platform"},
	"route.referrer":         {"", "referral-ams", "sub-utrecht", "reseller-de"},
	"route.marketplace":      {"", "distri-eu", "reseller-nl", "sub-utrecht"},
	"route.seller_tier":      {"", "gold", "silver", "bronze"},
	"customer.country":       {"", "NL", "DE", "BE"},
	"partner.id":             {"", "sub-utrecht", "reseller-nl", "reseller-de", "distri-eu", "referral-ams", "platform"},
	"partner.name":           {"", "sub-utrecht", "reseller-nl", "distri-eu", "platform"},
	"partner.type":           {"", "reseller", "distributor", "sub_reseller", "platform", "referral"},
	"partner.tier":           {"", "gold", "silver", "bronze"},
	"partner.parent":         {""},
	"partner.territories":    {"NL", "DE", "BE"},
	"partner.attributes":     {"a", "b"},
	"partner.certifications": {"cloud", "security", "x"},
	"partner.program":        {"", "channel"},
	"partner.status":         {"active", "suspended", "offboarded", "applied"},
	"line.id":                {"L000", "L001", "L002"},
	"line.currency":          {"EUR", "USD"},
	"line.customer_id":       {"", "cust-1", "cust-2"},
	"line.attributes":        {"a", "reseller-nl", "sub-utrecht", "distri-eu"},
	"volume.partner":         {"", "sub-utrecht", "reseller-nl", "reseller-de", "distri-eu"},
}

// stringsFor returns the values to compare the strings at path with.
func stringsFor(path string) []string {
	if v, ok := keyStrings[path]; ok {
		return v
	}
	var all []string
	for _, v := range keyStrings {
		all = append(all, v...)
	}
	slices.Sort(all)
	return slices.Compact(all)
}

// atom draws a boolean expression reading field f.
func atom(t *rapid.T, f factField, label string) string {
	p := f.path
	s := func() string { return fmt.Sprintf("%q", rapid.SampledFrom(stringsFor(p)).Draw(t, label+".s")) }
	n := func(hi int) int { return rapid.IntRange(0, hi).Draw(t, label+".n") }
	form := rapid.IntRange(0, 4).Draw(t, label+".form")
	if rapid.IntRange(0, 15).Draw(t, label+".has") == 0 {
		return "has(" + p + ")" // true for every field but a map key
	}
	switch f.kind {
	case celString:
		return [...]string{p + " == " + s(), p + " != " + s(), "size(" + p + ") > 0", p + ".startsWith(" + s() + ")",
			fmt.Sprintf("%s in [%s, %s]", p, s(), s())}[form]
	case celInt:
		return [...]string{fmt.Sprintf("%s == %d", p, n(3)), fmt.Sprintf("%s > %d", p, n(3)), fmt.Sprintf("%s %% 2 == 0", p),
			fmt.Sprintf("%s < %d", p, n(3)), fmt.Sprintf("%s in [0, %d]", p, n(3))}[form]
	case celDecimal:
		return [...]string{fmt.Sprintf(`%s > dec("%d")`, p, n(5)), fmt.Sprintf(`%s == dec(%d)`, p, n(3)), fmt.Sprintf(`%s < dec("2.5")`, p),
			fmt.Sprintf(`%s.round(0) <= dec("%d")`, p, n(5)), fmt.Sprintf(`%s.sign() == 0`, p)}[form]
	case celMoney:
		return [...]string{fmt.Sprintf(`%s.amount() > dec("%d")`, p, n(3000)), p + `.currency() == "EUR"`, fmt.Sprintf(`%s.amount() >= dec("%d")`, p, n(50)),
			fmt.Sprintf(`%s.amount() <= dec("%d.50")`, p, n(2000)), fmt.Sprintf(`%s.sign() > 0`, p)}[form]
	case celTime:
		day := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, n(700)).Format(time.RFC3339)
		// months_since (env_version 3): from a date, from the contract's
		// start (as a program paying on its first months reads it), in UTC
		// or in a zone.
		return [...]string{fmt.Sprintf(`%s >= timestamp(%q)`, p, day), fmt.Sprintf(`%s < timestamp(%q)`, p, day), fmt.Sprintf(`%s.getDayOfWeek() < %d`, p, n(6)),
			fmt.Sprintf(`%s.getFullYear() == %d`, p, 2025+n(1)), fmt.Sprintf(`%s.getMonth() < %d`, p, n(11)),
			fmt.Sprintf(`months_since(timestamp(%q), %s) < %d`, day, p, n(24)-6), fmt.Sprintf(`months_since(%s, timestamp(%q), "Europe/Paris") >= %d`, p, day, n(12)-6),
			fmt.Sprintf(`months_since(line.contract_start, %s) < %d`, p, n(14))}[rapid.IntRange(0, 7).Draw(t, label+".time_form")]
	case celList:
		return [...]string{p + ".exists(x, x == " + s() + ")", p + ".all(x, x != " + s() + ")", s() + " in " + p,
			fmt.Sprintf("size(%s) == %d", p, n(2)), p + ".exists_one(x, x.startsWith(" + s() + "))"}[form]
	default: // map
		k := rapid.SampledFrom(attrKeys).Draw(t, label+".key")
		return [...]string{fmt.Sprintf("%q in %s", k, p), fmt.Sprintf("has(%s.%s)", p, k),
			fmt.Sprintf("%s.exists(k, k == %q)", p, k), fmt.Sprintf("%q in %s && %s[%q] == %s", k, p, p, k, s()),
			fmt.Sprintf("%s.all(k, %s[k] != %s)", p, p, s())}[form]
	}
}

var attrKeys = []string{"segment", "region", "uplift", "registered_by"}

// drawAttributes draws a line's attributes (Line.Attributes): none, or
// some of attrKeys, valued from keyStrings["line.attributes"], so that
// has(), in and a key's value compared with a partner's id are true as
// often as not.
func drawAttributes(t *rapid.T, id string) map[string]string {
	switch rapid.IntRange(0, 3).Draw(t, id+".attrs") {
	case 0:
		return nil
	case 1:
		return map[string]string{}
	}
	out := map[string]string{}
	for _, k := range attrKeys {
		if k == "registered_by" && rapid.IntRange(0, 3).Draw(t, id+".attr."+k) != 0 || rapid.Bool().Draw(t, id+".attr."+k+".set") {
			out[k] = rapid.SampledFrom(keyStrings["line.attributes"]).Draw(t, id+".attr."+k+".v")
		}
	}
	return out
}

// wholeAtom draws an expression that reads a variable whole.
func wholeAtom(t *rapid.T, label string) string {
	s := func(path string) string {
		return fmt.Sprintf("%q", rapid.SampledFrom(stringsFor(path)).Draw(t, label+".s"))
	}
	switch rapid.IntRange(0, 4).Draw(t, label) {
	case 0:
		return "[route][0].seller == " + s("route.seller")
	case 1:
		return `{"o": offer}.o.charge == ` + s("offer.charge")
	case 2:
		return "[customer].exists(c, c.country == " + s("customer.country") + ")"
	case 3:
		return "[partner][0].tier == " + s("partner.tier")
	}
	return "[line].all(l, l.currency == " + s("line.currency") + ")"
}

// condExpr draws a condition of one to three atoms over the fields of
// one or two variables (so that many rules read no line fact, and few
// fields, and are memoized).
func condExpr(t *rapid.T, fields []factField, label string) string {
	vars := rapid.SliceOfNDistinct(rapid.SampledFrom([]string{settlement.VarOffer, settlement.VarRoute, settlement.VarCustomer,
		settlement.VarPartner, settlement.VarLine, settlement.VarVolume}), 1, 2, rapid.ID).Draw(t, label+".vars")
	var pool []factField
	for _, f := range fields {
		if slices.Contains(vars, strings.Split(f.path, ".")[0]) {
			pool = append(pool, f)
		}
	}
	k := rapid.IntRange(1, 3).Draw(t, label+".atoms")
	var parts []string
	for i := range k {
		al := fmt.Sprintf("%s.%d", label, i)
		var a string
		if rapid.IntRange(0, 9).Draw(t, al+".whole") == 0 {
			a = wholeAtom(t, al)
		} else {
			a = atom(t, rapid.SampledFrom(pool).Draw(t, al+".field"), al)
		}
		if rapid.IntRange(0, 4).Draw(t, al+".not") == 0 {
			a = "!(" + a + ")"
		}
		parts = append(parts, "("+a+")")
	}
	op := rapid.SampledFrom([]string{" && ", " || "}).Draw(t, label+".op")
	return strings.Join(parts, op)
}

// drawRules draws condition, share and amount rules reading random fields
// (some with a second version from a later date), now and then a share
// paid on a contract's first months, and returns the
// documents with the ids of each kind.
func drawRules(t *rapid.T, fields []factField) (docs []rules.Document, conds, shares, amounts []string) {
	add := func(id string, kind rules.Kind, expr func(string) string) {
		d := rules.Document{ID: id, Version: 1, Kind: kind, EnvVersion: rules.LatestVersion, Expression: expr(id)}
		if rapid.IntRange(0, 3).Draw(t, id+".versions") == 0 {
			turn := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, rapid.IntRange(1, 699).Draw(t, id+".turn"))
			d.EffectiveUntil = turn
			d2 := rules.Document{ID: id, Version: 2, Kind: kind, EnvVersion: rules.LatestVersion, EffectiveFrom: turn, Expression: expr(id + ".v2")}
			docs = append(docs, d2)
		}
		docs = append(docs, d)
	}
	for i := range rapid.IntRange(1, 4).Draw(t, "conds") {
		id := fmt.Sprintf("c%d", i)
		conds = append(conds, id)
		add(id, rules.Condition, func(l string) string { return condExpr(t, fields, l) })
	}
	for i := range rapid.IntRange(1, 4).Draw(t, "shares") {
		id := fmt.Sprintf("s%d", i)
		shares = append(shares, id)
		add(id, rules.Share, func(l string) string {
			return fmt.Sprintf("%s ? percent(%d) : percent(%s)", condExpr(t, fields, l),
				rapid.IntRange(0, 25).Draw(t, l+".yes"), rapid.SampledFrom([]string{"0", "3", `"12.5"`, "1"}).Draw(t, l+".no"))
		})
	}
	// A partner program paying on the contract's first months, as hosts
	// write it: from the contract's start to the service's, in UTC or in a
	// zone.
	if rapid.Bool().Draw(t, "deal") {
		shares = append(shares, "deal")
		add("deal", rules.Share, func(l string) string {
			zone := rapid.SampledFrom([]string{"", `, "Europe/Paris"`, `, "+05:30"`}).Draw(t, l+".zone")
			return fmt.Sprintf(`months_since(line.contract_start, line.service_start%s) < %d ? percent(%d) : percent(0)`,
				zone, rapid.IntRange(0, 13).Draw(t, l+".months"), rapid.IntRange(1, 10).Draw(t, l+".percent"))
		})
	}
	// A deal-registration bonus: the host's fact of who registered the
	// deal, compared with the node's partner.
	if rapid.IntRange(0, 3).Draw(t, "dealreg") != 0 {
		shares = append(shares, "dealreg", "dealreg") // drawn as often as two other shares
		add("dealreg", rules.Share, func(l string) string {
			guard := rapid.SampledFrom([]string{`has(line.attributes.registered_by) && `, `"registered_by" in line.attributes && `}).Draw(t, l+".guard")
			return fmt.Sprintf(`%sline.attributes["registered_by"] == partner.id ? percent(%d) : percent(0)`, guard, rapid.IntRange(1, 15).Draw(t, l+".percent"))
		})
	}
	// A level weight: route.level tells chain levels apart (it is 0
	// outside level weights), beside any other fact.
	add("lw", rules.Share, func(l string) string {
		return fmt.Sprintf("route.level == %d || %s ? percent(%d) : percent(%d)", rapid.IntRange(0, 2).Draw(t, l+".level"),
			condExpr(t, fields, l), rapid.IntRange(0, 300).Draw(t, l+".yes"), rapid.IntRange(0, 100).Draw(t, l+".no"))
	})
	for i := range rapid.IntRange(0, 2).Draw(t, "amounts") {
		id := fmt.Sprintf("a%d", i)
		amounts = append(amounts, id)
		add(id, rules.Amount, func(l string) string {
			return fmt.Sprintf(`%s ? money("%d", "EUR") : money("0.50", "EUR")`, condExpr(t, fields, l), rapid.IntRange(0, 5).Draw(t, l+".eur"))
		})
	}
	return docs, conds, shares, amounts
}

// keyPartners are the partners drawNetwork makes, named as in wideChains.
var keyPartners = []struct {
	id  partner.ID
	typ partner.Type
}{
	{"distri-eu", partner.TypeDistributor}, {"reseller-nl", partner.TypeReseller}, {"reseller-de", partner.TypeReseller},
	{"sub-utrecht", partner.TypeSubReseller}, {"referral-ams", partner.TypeReferral}, {"dev-1", partner.TypeISV},
}

// drawNetwork draws a network of keyPartners whose terms (tier,
// territories, program), certifications and onboarding change at random
// dates over 2024-2026, some joining late.
func drawNetwork(t *rapid.T) *partner.Network {
	start := time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC)
	day := func(label string, from time.Time, span int) time.Time {
		return from.AddDate(0, 0, rapid.IntRange(1, span).Draw(t, label))
	}
	var spec partner.NetworkSpec
	for _, kp := range keyPartners {
		l := string(kp.id)
		p := partner.Partner{ID: kp.id, Name: l, Type: kp.typ}
		at := start
		if rapid.IntRange(0, 3).Draw(t, l+".late") == 0 {
			at = day(l+".from", start, 500)
		}
		for i := range rapid.IntRange(1, 3).Draw(t, l+".terms") {
			tl := fmt.Sprintf("%s.terms%d", l, i)
			if i > 0 {
				at = day(tl+".from", at, 300)
			}
			p.Terms = append(p.Terms, partner.Terms{From: at,
				Tier:        partner.Tier(rapid.SampledFrom([]string{"", "gold", "silver", "bronze"}).Draw(t, tl+".tier")),
				Territories: rapid.SliceOfNDistinct(rapid.SampledFrom([]partner.Territory{"NL", "DE", "BE"}), 0, 2, rapid.ID).Draw(t, tl+".territories"),
				Program:     rapid.SampledFrom([]string{"", "channel"}).Draw(t, tl+".program")})
		}
		if rapid.Bool().Draw(t, l+".attributes") {
			p.Attributes = map[string]string{}
			for _, k := range attrKeys {
				if rapid.Bool().Draw(t, l+".attr."+k) {
					p.Attributes[k] = rapid.SampledFrom(keyStrings["partner.attributes"]).Draw(t, l+".attr."+k+".v")
				}
			}
		}
		for i := range rapid.IntRange(0, 2).Draw(t, l+".certs") {
			c := partner.Certification{Name: rapid.SampledFrom([]string{"cloud", "security", "x"}).Draw(t, fmt.Sprintf("%s.cert%d", l, i))}
			if rapid.Bool().Draw(t, fmt.Sprintf("%s.cert%d.expires", l, i)) {
				c.Expires = day(fmt.Sprintf("%s.cert%d.day", l, i), start, 900)
			}
			p.Certifications = append(p.Certifications, c)
		}
		if rapid.Bool().Draw(t, l+".lifecycle") {
			st, when := partner.StatusNone, start.AddDate(0, 0, -10)
			steps := []partner.Action{partner.ActionApply, partner.ActionVet, partner.ActionActivate}
			steps = append(steps, rapid.SampledFrom([][]partner.Action{nil, {partner.ActionSuspend}, {partner.ActionSuspend, partner.ActionReinstate},
				{partner.ActionOffboard}}).Draw(t, l+".later")...)
			for i, a := range steps {
				if i >= 3 {
					when = day(fmt.Sprintf("%s.event%d", l, i), when, 300)
				}
				next := map[partner.Action]partner.Status{partner.ActionApply: partner.StatusApplied, partner.ActionVet: partner.StatusVetted,
					partner.ActionActivate: partner.StatusActive, partner.ActionSuspend: partner.StatusSuspended,
					partner.ActionReinstate: partner.StatusActive, partner.ActionOffboard: partner.StatusOffboarded}[a]
				p.Lifecycle = append(p.Lifecycle, partner.Event{Partner: kp.id, Action: a, From: st, To: next, At: when, Actor: "ops"})
				st = next
			}
		}
		spec.Partners = append(spec.Partners, p)
	}
	net, err := partner.NewNetwork(spec)
	if err != nil {
		t.Fatalf("drawn network: %v", err)
	}
	return net
}

// genKeyNode draws a plan node whose levels lean on rules: most children
// have a rule share and a condition; each level ends with a remaining child
// paid to the platform or the seller; chain[*] leaves may weigh levels by a
// rule; the root may hold a cumulative rate.
func genKeyNode(t *rapid.T, conds, shares, amounts []string, id string, depth int) settlement.Node {
	n := settlement.Node{ID: settlement.NodeID(id)}
	if depth > 0 {
		switch k := rapid.IntRange(0, 5).Draw(t, id+".share"); {
		case k == 0:
			n.Share = settlement.Share{Ratio: ensemble.MustRatio(rapid.SampledFrom([]string{"0", "1/7", "10%", "1/4"}).Draw(t, id+".ratio")), HasRatio: true}
		case k == 1 && len(amounts) > 0:
			n.Share = settlement.Share{Rule: rapid.SampledFrom(amounts).Draw(t, id+".amount_rule")}
		default:
			n.Share = settlement.Share{Rule: rapid.SampledFrom(shares).Draw(t, id+".rule")}
		}
		if rapid.IntRange(0, 2).Draw(t, id+".conditional") != 0 {
			n.Condition = rapid.SampledFrom(conds).Draw(t, id+".cond")
		}
		if rapid.IntRange(0, 7).Draw(t, id+".capped") == 0 {
			n.Cap = eur("3")
		}
	}
	if depth >= 2 || (depth > 0 && rapid.IntRange(0, 2).Draw(t, id+".leaf") != 0) {
		n.Party = "chain[*]"
		if rapid.IntRange(0, 3).Draw(t, id+".all_levels") != 0 {
			n.Party = rapid.SampledFrom(wideRoles).Draw(t, id+".party")
		}
		if rapid.Bool().Draw(t, id+".fallback") {
			n.Fallback = settlement.FallbackPlatform
		}
		if n.Party == "chain[*]" && rapid.Bool().Draw(t, id+".level_weight") {
			n.LevelWeight = rapid.SampledFrom(append([]string{"lw", "lw"}, shares...)).Draw(t, id+".level_rule")
		}
		return n
	}
	for i := range rapid.IntRange(1, 3).Draw(t, id+".children") {
		n.Children = append(n.Children, genKeyNode(t, conds, shares, amounts, fmt.Sprintf("%s%d", id, i), depth+1))
	}
	n.Children = append(n.Children, settlement.Node{ID: settlement.NodeID(id + "r"), Share: settlement.Share{Remaining: true},
		Party: rapid.SampledFrom([]string{"platform", "seller"}).Draw(t, id+".rest"), Fallback: settlement.FallbackPlatform})
	if depth == 0 && rapid.IntRange(0, 3).Draw(t, "cumulative") == 0 {
		n.Children = append(n.Children, settlement.Node{ID: "cum", Party: rapid.SampledFrom([]string{"seller", "platform"}).Draw(t, "cum.party"),
			Fallback: settlement.FallbackPlatform, Share: settlement.Share{Cumulative: &settlement.Cumulative{
				Mode:  rapid.SampledFrom([]settlement.RateMode{settlement.Marginal, settlement.Cliff}).Draw(t, "cum.mode"),
				Tiers: []settlement.Tier{{UpTo: eur("40"), Rate: ensemble.MustRatio("2%")}, {Rate: ensemble.MustRatio("5%")}}}}})
	}
	return n
}

// drawKeyLine draws a sale line over every fact a rule can read: in
// euros only when eur is set (amount rules and cumulative tiers are in
// euros), with a seller when seller is set (a cumulative rate reads the
// seller's volume).
func drawKeyLine(t *rapid.T, id string, eur, seller bool) settlement.Line {
	l := genWideLine(t, id)
	cur := l.Amount.Currency()
	if eur {
		cur = ensemble.MustCurrency("EUR")
	}
	for seller && (len(l.Route.Chain) == 0 || l.Route.Chain[0] == "platform") {
		l.Route.Chain = rapid.SampledFrom(wideChains).Draw(t, id+".seller")
	}
	l.Amount = ensemble.MoneyFromMinor(rapid.Int64Range(2_000, 300_000).Draw(t, id+".cents"), cur)
	if rapid.Bool().Draw(t, id+".taxed") {
		l.Tax = ensemble.MoneyFromMinor(rapid.Int64Range(0, 5_000).Draw(t, id+".tax"), cur)
	}
	l.Quantity = decimal.NewFromInt(int64(rapid.IntRange(0, 4).Draw(t, id+".qty")))
	l.Customer.ID = rapid.SampledFrom([]string{"", "cust-1", "cust-2"}).Draw(t, id+".customer")
	l.Customer.Country = partner.Territory(rapid.SampledFrom([]string{"", "NL", "DE", "BE"}).Draw(t, id+".country"))
	l.Attributes = drawAttributes(t, id)
	return l
}

// paysByType reports whether a node below n pays a party found by partner
// type (distributor, reseller, type:<name>).
func paysByType(n settlement.Node) bool {
	byType := func(p string) bool {
		switch partner.Type(p) {
		case partner.TypeDistributor, partner.TypeReseller, partner.TypeSubReseller, partner.TypeMSP, partner.TypeISV,
			partner.TypeTechnology, partner.TypeSystemsIntegrator:
			return true
		}
		return strings.HasPrefix(p, "type:")
	}
	if byType(n.Party) || n.Share.Cumulative != nil && byType(n.Share.Cumulative.Of) {
		return true
	}
	return slices.ContainsFunc(n.Children, paysByType)
}

// TestPropertyKeysFromReads: random rules over every fact field (map
// entries, lists, has(), macros, whole variables), in random plans over a
// random network, settle random lines with the real settler (in batches,
// after calls that warm its caches) exactly as a reference that shares no
// cache, memo or precomputed snapshot with it: a new reference settler per
// line, which decides every level and evaluates every rule afresh and reads
// partners with Network.At. Entries and state are compared as JSON, byte
// for byte, and errors by their text.
func TestPropertyKeysFromReads(t *testing.T) {
	fields := allFactFields(t)
	rapid.Check(t, func(t *rapid.T) {
		docs, conds, shares, amounts := drawRules(t, fields)
		// Budgets wide enough for any drawn rule: the property is about
		// keys, not costs.
		env, err := settlement.Env(rules.TrustBounded(rapid.Bool().Draw(t, "trusted")), rules.CostBudget(1_000_000), rules.CostLimit(1_000_000))
		require.NoError(t, err)
		rs, err := env.NewRuleSet(docs...)
		require.NoError(t, err)
		var net *partner.Network
		if rapid.IntRange(0, 4).Draw(t, "network") != 0 {
			net = drawNetwork(t)
		}
		root := genKeyNode(t, conds, shares, amounts, "n", 0)
		cumulative := root.Children[len(root.Children)-1].ID == "cum"
		cfg := settlement.Config{Plans: []settlement.PlanDocument{{ID: "rand", Version: 1, Currencies: []ensemble.Currency{eurCur}, Root: root}}, Rules: rs, Network: net}
		s, err := settlement.New(cfg)
		if net == nil && paysByType(root) {
			// Without a network no partner has a type: refused.
			require.ErrorIs(t, err, settlement.ErrNoNetwork)
			return
		}
		require.NoError(t, err)
		eurOnly := cumulative || len(amounts) > 0 || rapid.Bool().Draw(t, "eur")
		lines := make([]settlement.Line, rapid.IntRange(6, 24).Draw(t, "lines"))
		for i := range lines {
			lines[i] = drawKeyLine(t, fmt.Sprintf("L%03d", i), eurOnly, cumulative)
		}
		sort.Slice(lines, func(i, j int) bool { // canonical order
			if c := lines[i].Date.Compare(lines[j].Date); c != 0 {
				return c < 0
			}
			return lines[i].ID < lines[j].ID
		})
		// The reference: a new settler per line, the state carried.
		type step struct {
			entries []settlement.Entry // the line's entries
			state   []byte             // the state after it, as JSON
		}
		var ref []step
		var refErr error
		st := settlement.State{}
		for _, l := range lines {
			rs, err := settlement.NewReference(cfg)
			require.NoError(t, err)
			res, err := rs.Settle(ctx, st, []settlement.Line{l})
			if err != nil {
				refErr = err
				break
			}
			st = res.State
			ref = append(ref, step{entries: res.Entries, state: mustJSON(t, res.State)})
		}
		// Warm the real settler's shared caches with some of the lines.
		for i := range lines {
			if rapid.IntRange(0, 2).Draw(t, fmt.Sprintf("warm%d", i)) == 0 {
				_, _ = s.Settle(ctx, settlement.State{}, lines[i:i+1])
			}
		}
		// The real settler, in one call or in batches with the state
		// carried.
		st = settlement.State{}
		whole := rapid.Bool().Draw(t, "one_call")
		for done := 0; done < len(lines); {
			n := len(lines) - done
			if !whole {
				n = rapid.IntRange(1, n).Draw(t, fmt.Sprintf("batch%d", done))
			}
			res, err := s.Settle(ctx, st, lines[done:done+n])
			if len(ref) < done+n { // the reference failed within this batch
				require.Error(t, err, "the reference failed line %s: %v", lines[len(ref)].ID, refErr)
				require.Equal(t, refErr.Error(), err.Error())
				return
			}
			require.NoError(t, err)
			want := []settlement.Entry{}
			for _, sp := range ref[done : done+n] {
				want = append(want, sp.entries...)
			}
			if got, want := string(mustJSON(t, res.Entries)), string(mustJSON(t, want)); got != want {
				t.Fatalf("lines %d to %d: entries differ from the reference:\n%s", done, done+n-1, diffJSON(got, want))
			}
			require.Equal(t, string(ref[done+n-1].state), string(mustJSON(t, res.State)), "state after line %d", done+n-1)
			st = res.State
			done += n
		}
	})
}

func mustJSON(t require.TestingT, v any) []byte {
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

func diffJSON(got, want string) string {
	var g, w any
	_ = json.Unmarshal([]byte(got), &g)
	_ = json.Unmarshal([]byte(want), &w)
	return cmp.Diff(w, g)
}

// TestPropertySnapshotsMatchNetwork: a settler's precomputed snapshots of
// each partner, and of each route's chain, are what Network.At says at any
// date, for random networks whose terms, certifications and onboarding
// change over time.
func TestPropertySnapshotsMatchNetwork(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		net := drawNetwork(t)
		s, err := settlement.New(settlement.Config{Network: net})
		require.NoError(t, err)
		at := func(label string) time.Time {
			d := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, rapid.IntRange(0, 1300).Draw(t, label+".day"))
			return d.Add(time.Duration(rapid.IntRange(-1, 1).Draw(t, label+".nudge")) * time.Nanosecond)
		}
		want := func(id partner.ID, d time.Time) *partner.Snapshot {
			sn, err := net.At(id, d)
			if err != nil {
				require.ErrorIs(t, err, partner.ErrNotYetPartner)
				return nil
			}
			return &sn
		}
		for i := range 20 {
			id := rapid.SampledFrom(keyPartners).Draw(t, fmt.Sprintf("partner%d", i)).id
			d := at(fmt.Sprintf("at%d", i))
			got, notYet, err := settlement.SnapshotAt(s, id, d)
			require.NoError(t, err)
			w := want(id, d)
			require.Equal(t, w == nil, notYet, "%s at %s", id, d)
			if w != nil {
				require.Empty(t, cmp.Diff(*w, *got), "%s at %s", id, d)
			}
		}
		// Chains: the routes a settler keeps per seller, span by span,
		// read in random date order.
		chain := rapid.SliceOfNDistinct(rapid.SampledFrom(keyPartners), 1, 4, func(p struct {
			id  partner.ID
			typ partner.Type
		}) partner.ID {
			return p.id
		}).Draw(t, "chain")
		ids := make([]partner.ID, len(chain))
		for i, p := range chain {
			ids[i] = p.id
		}
		dates := make([]time.Time, 10)
		for i := range dates {
			dates[i] = at(fmt.Sprintf("chain_at%d", i))
		}
		got, err := settlement.ChainsAt(s, ids, dates)
		require.NoError(t, err)
		for i, d := range dates {
			require.Len(t, got[i], len(ids))
			for j, id := range ids {
				w := want(id, d)
				if w == nil {
					require.Nil(t, got[i][j], "%s at %s", id, d)
					continue
				}
				require.NotNil(t, got[i][j], "%s at %s", id, d)
				require.Empty(t, cmp.Diff(*w, *got[i][j]), "%s at %s", id, d)
			}
		}
	})
}

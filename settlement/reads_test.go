package settlement_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/rules"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// compileReads compiles a condition in settlement's environment and
// returns what it reads.
func compileReads(t *testing.T, env *rules.Env, expr string) []string {
	t.Helper()
	r, err := env.Compile(rules.Document{ID: "probe", Version: 1, Kind: rules.Condition, EnvVersion: rules.Version1, Expression: expr})
	require.NoError(t, err, expr)
	return r.Reads()
}

// TestRuleMemoLevels: how a rule's results are reused follows from what
// rules reports it reads: any line or volume fact makes it per line, the
// node's partner alone (or nothing) per partner snapshot, offer, route and
// customer facts by exactly those fields.
func TestRuleMemoLevels(t *testing.T) {
	env, err := settlement.Env()
	require.NoError(t, err)
	tests := []struct {
		name, expr string
		level      string
		partner    bool
	}{
		{"nothing", `true`, "partner", false},
		{"partner", `partner.tier == "gold"`, "partner", true},
		{"partner map entry", `partner.attributes["uplift"] == "yes"`, "partner", true},
		{"partner list macro", `partner.certifications.exists(c, c == "cloud")`, "partner", true},
		{"context field", `route.referrer != ""`, "context", false},
		{"context and partner", `route.depth > 1 && partner.tier == "gold"`, "context", true},
		{"root-scoped names", `.route.seller == "s" && .partner.tier == "gold"`, "context", true},
		{"whole variable", `[route][0].seller == "s"`, "context", false},
		{"has and macro", `has(route.seller) && [1].exists(x, offer.version == x)`, "context", false},
		{"a local named like a fact", `[1, 2].exists(line, line == 1)`, "partner", false},
		{"line", `line.amount >= money("10", "EUR")`, "line", false},
		{"line beside context", `customer.country == "NL" && line.currency == "EUR"`, "line", false},
		{"volume", `volume.amount > money("0", "EUR")`, "line", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			level, reads := settlement.MemoLevelOf(compileReads(t, env, tc.expr))
			require.Equal(t, tc.level, level)
			require.Equal(t, tc.partner, reads)
		})
	}
}

// TestContextKeysAreExact: a rule reading some context fields is keyed by
// those and no other: lines that differ only in a field it does not read
// share its result.
func TestContextKeysAreExact(t *testing.T) {
	a := settlement.RouteFacts{Kind: "partner", Seller: "s1", Referrer: "ref-1", Depth: 2}
	b := a
	b.Seller, b.Depth = "s2", 3
	of, cf := settlement.OfferFacts{ID: "o", Version: 1}, settlement.CustomerFacts{Country: "NL"}
	reads := []string{"route.referrer"}
	require.Equal(t, settlement.ContextKeyOf(reads, of, a, cf), settlement.ContextKeyOf(reads, of, b, cf))
	b.Referrer = "ref-2"
	require.NotEqual(t, settlement.ContextKeyOf(reads, of, a, cf), settlement.ContextKeyOf(reads, of, b, cf))
	// An unknown field of a context variable reads all of it.
	require.NotEqual(t, settlement.ContextKeyOf([]string{"route.nope"}, of, a, cf), settlement.ContextKeyOf([]string{"route.nope"}, of, b, cf))
}

// factStructs are the Go types of the variables settlement.Env declares.
var factStructs = []struct {
	name string
	typ  reflect.Type
}{
	{settlement.VarLine, reflect.TypeFor[settlement.LineFacts]()},
	{settlement.VarOffer, reflect.TypeFor[settlement.OfferFacts]()},
	{settlement.VarRoute, reflect.TypeFor[settlement.RouteFacts]()},
	{settlement.VarCustomer, reflect.TypeFor[settlement.CustomerFacts]()},
	{settlement.VarPartner, reflect.TypeFor[partner.Snapshot]()},
	{settlement.VarVolume, reflect.TypeFor[settlement.VolumeFacts]()},
}

// ruleFields returns the exported fields of struct type typ that rules can
// read, by the name rules gives them (the cel tag, else the json name; "-"
// hides a field), with their index.
func ruleFields(typ reflect.Type) map[string]int {
	out := map[string]int{}
	for i := range typ.NumField() {
		f := typ.Field(i)
		if !f.IsExported() {
			continue
		}
		name := strings.Split(f.Tag.Get("json"), ",")[0]
		if c := strings.Split(f.Tag.Get("cel"), ",")[0]; c != "" {
			name = c
		}
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = i
	}
	return out
}

// setSome gives field i of the struct v points to a value other than its
// zero value, failing for a kind the test does not know yet.
func setSome(t *testing.T, v reflect.Value, i int) {
	t.Helper()
	f := v.Elem().Field(i)
	switch f.Kind() {
	case reflect.String:
		f.SetString("x")
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		f.SetInt(1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		f.SetUint(1)
	case reflect.Bool:
		f.SetBool(true)
	default:
		if f.Type() == reflect.TypeFor[time.Time]() {
			f.Set(reflect.ValueOf(time.Unix(1, 0).UTC()))
			return
		}
		t.Fatalf("%s.%s: the test cannot set a %s; teach setSome", v.Elem().Type(), v.Elem().Type().Field(i).Name, f.Type())
	}
}

// TestKeysCoverEveryFactField reflects over every field rules can read of
// every fact struct, compiles a rule reading it and checks what settling
// keys it by: a line or volume field makes the rule per line; a partner
// field keys it by the partner's snapshot; an offer, route or customer
// field is in its key (lines differing in it do not share the result), in
// the key of a rule reading the whole variable, and in no key of a rule
// that does not read it. A field added to a fact struct that the key
// builder (keyHasher.fill) does not clear when unread, or that reads nothing
// a key names, fails here.
func TestKeysCoverEveryFactField(t *testing.T) {
	env, err := settlement.Env()
	require.NoError(t, err)
	var ctxPaths []string // every offer, route and customer field
	for _, fs := range factStructs {
		if fs.name == settlement.VarOffer || fs.name == settlement.VarRoute || fs.name == settlement.VarCustomer {
			for name := range ruleFields(fs.typ) {
				ctxPaths = append(ctxPaths, fs.name+"."+name)
			}
		}
	}
	for _, fs := range factStructs {
		for name, i := range ruleFields(fs.typ) {
			path := fs.name + "." + name
			t.Run(path, func(t *testing.T) {
				reads := compileReads(t, env, "has("+path+")")
				require.Equal(t, []string{path}, reads, "rules reports the field at another path")
				level, byPartner := settlement.MemoLevelOf(reads)
				switch fs.name {
				case settlement.VarLine, settlement.VarVolume:
					require.Equal(t, "line", level)
					return
				case settlement.VarPartner:
					require.Equal(t, "partner", level)
					require.True(t, byPartner, "a partner field must key by the snapshot")
					return
				}
				require.Equal(t, "context", level)
				require.False(t, byPartner)
				// a holds the zero facts, b the same with this field set.
				var a, b struct {
					of settlement.OfferFacts
					rf settlement.RouteFacts
					cf settlement.CustomerFacts
				}
				switch fs.name {
				case settlement.VarOffer:
					setSome(t, reflect.ValueOf(&b.of), i)
				case settlement.VarRoute:
					setSome(t, reflect.ValueOf(&b.rf), i)
				case settlement.VarCustomer:
					setSome(t, reflect.ValueOf(&b.cf), i)
				}
				key := func(paths []string, f struct {
					of settlement.OfferFacts
					rf settlement.RouteFacts
					cf settlement.CustomerFacts
				}) any {
					return settlement.ContextKeyOf(paths, f.of, f.rf, f.cf)
				}
				require.NotEqual(t, key(reads, a), key(reads, b), "reading %s: the key misses it", path)
				require.NotEqual(t, key([]string{fs.name}, a), key([]string{fs.name}, b), "reading %s whole: the key misses %s", fs.name, path)
				var others []string
				for _, p := range ctxPaths {
					if p != path {
						others = append(others, p)
					}
				}
				require.Equal(t, key(others, a), key(others, b), "a rule not reading %s is keyed by it: keyHasher.fill must clear it", path)
			})
		}
	}
}

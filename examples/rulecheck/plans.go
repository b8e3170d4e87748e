package main

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/rules"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// planFile is one -plans file as the report shows it.
type planFile struct {
	name  string
	src   yamlDoc
	diags []rules.Diagnostic // problems of the file as a whole, such as YAML that does not parse
	plans []int              // its plans, as indices into result.Plans
}

// planAt says where the i-th plan given to settlement.New came from.
type planAt struct {
	file   int // index into result.planFiles
	index  int // index of the plan in its file
	result int // index into result.Plans
}

// checkPlans parses each plan file on its own (ParsePlans), then checks
// every plan of every file together against the rule set and the exchange
// rates (settlement.New, so that two files' plans that tie for a line are
// seen, and a plan listing a currency its tiers cannot convert is
// refused), checks the partners they pay against the network, and warns
// about line currencies a plan's cumulative tiers may not read. set is nil
// when the rules do not load: the plans are then parsed and checked
// against the network, but not validated.
func checkPlans(res *result, files []file, netFile, ratesFile *file, set *rules.RuleSet) {
	net := checkNetwork(res, netFile)
	rates := checkRates(res, ratesFile)
	var all []settlement.PlanDocument
	var from []planAt
	for fi, f := range files {
		res.planFiles = append(res.planFiles, planFile{name: f.name, src: parseYAML(f.data)})
		pf := &res.planFiles[fi]
		docs, err := settlement.ParsePlans(f.data)
		if err != nil {
			for _, p := range problemsOf(err) {
				i, rest := planPath(p.path)
				at, path := i, rest
				var ce *settlement.PlanConflictError
				if errors.As(p.err, &ce) {
					p.hint = whereInFile(pf, ce.Plans)
					if h := pf.index(ce.Plans[len(ce.Plans)-1]); errors.Is(ce, settlement.ErrShadowedPlan) && len(ce.Plans) == 2 && h >= 0 {
						at, path = h, "effective_from"
					}
				}
				d := pf.src.diagnostic("error", f.name, p, at, path)
				d.Field = rest
				if i >= 0 {
					d.Field = joinField(planName(pf.src, i), rest)
				}
				res.Problems = append(res.Problems, d)
				pf.diags = append(pf.diags, d)
			}
			continue
		}
		for i, doc := range docs {
			pf.plans = append(pf.plans, len(res.Plans))
			from = append(from, planAt{file: fi, index: i, result: len(res.Plans)})
			res.Plans = append(res.Plans, planResult{File: f.name, ID: doc.ID, Version: doc.Version, OK: true})
			all = append(all, doc)
		}
	}
	for k, doc := range all {
		if net != nil {
			for _, p := range unknownPartners(doc, net, res.network) {
				res.add(from[k], "error", p)
			}
		}
		for _, p := range currencyBoundTiers(doc, rates, ratesFile != nil) {
			res.add(from[k], "warning", p)
		}
	}
	if len(all) == 0 {
		return
	}
	if set == nil {
		for k := range all {
			res.add(from[k], "error", problem{msg: "not validated: the rules it may name do not load (see the problems above)"})
		}
		return
	}
	_, err := settlement.New(settlement.Config{Plans: all, Rules: set, Network: net, Rates: rates})
	for _, p := range problemsOf(err) {
		if strings.HasPrefix(p.path, "rates[") {
			continue // reported in the rates file
		}
		if errors.Is(p.err, settlement.ErrPlatformParty) {
			continue // the host's Config.Platform, which rulecheck does not know, decides it
		}
		k, rest := planPath(p.path)
		if k < 0 || k >= len(all) {
			d := rules.Diagnostic{Severity: "error", Message: p.msg}
			res.Problems = append(res.Problems, d)
			res.loose = append(res.loose, d)
			continue
		}
		p.path = rest
		if errors.Is(p.err, settlement.ErrUnknownParty) {
			continue // reported above, with the nearest partners
		}
		if errors.Is(p.err, settlement.ErrNoNetwork) {
			continue // the host's settler is given its network; without -network there is none to check against
		}
		if re := (*ensemble.RateError)(nil); errors.As(p.err, &re) {
			p.hint = fmt.Sprintf("give the host's exchange rates with -rates rates.yaml (from %s to %s among them)", re.From.Code(), re.To.Code())
			if ratesFile != nil {
				p.hint = fmt.Sprintf("add a rate from %s to %s to %s, or settle %s lines through another plan", re.From.Code(), re.To.Code(), ratesFile.name, re.From.Code())
			}
		}
		var ce *settlement.PlanConflictError
		if !errors.As(p.err, &ce) {
			res.add(from[k], "error", p)
			continue
		}
		p.hint = res.whereAre(ce.Plans, all, from)
		if h := hider(ce, all); h >= 0 {
			// As for rules: at the effective_from of the one version
			// that hides it, where the typo usually is.
			res.addPlaced(from[k], from[h], "effective_from", "error", p)
			continue
		}
		res.add(from[k], "error", p)
	}
}

// hider returns the index in all of the one version that hides another
// entirely, or -1 when ce is not that.
func hider(ce *settlement.PlanConflictError, all []settlement.PlanDocument) int {
	if !errors.Is(ce, settlement.ErrShadowedPlan) || len(ce.Plans) != 2 {
		return -1
	}
	return slices.IndexFunc(all, func(d settlement.PlanDocument) bool {
		return d.ID == ce.Plans[1].ID && d.Version == ce.Plans[1].Version
	})
}

// add reports p about the plan at: placed in its file, on the plan's
// result (an error makes it not ok) and in the run's problems or warnings.
func (r *result) add(at planAt, severity string, p problem) {
	r.addPlaced(at, at, p.path, severity, p)
}

// addPlaced is add with the problem placed at path under the plan place,
// which may be another plan than the one it is about.
func (r *result) addPlaced(at, place planAt, path, severity string, p problem) {
	pf := &r.planFiles[place.file]
	pr := &r.Plans[at.result]
	d := pf.src.diagnostic(severity, pf.name, p, place.index, path)
	d.Field = joinField(fmt.Sprintf("plan %s@%d", pr.ID, pr.Version), p.path)
	pr.diags = append(pr.diags, d)
	if severity == "error" {
		pr.OK = false
		r.Problems = append(r.Problems, d)
	} else {
		r.Warnings = append(r.Warnings, d)
	}
}

// whereAre says in which file, line and column each plan version is, for
// a conflict between versions that may be in different files.
func (r *result) whereAre(versions []settlement.PlanVersion, all []settlement.PlanDocument, from []planAt) string {
	var out []string
	for _, v := range versions {
		for k, doc := range all {
			if doc.ID != v.ID || doc.Version != v.Version {
				continue
			}
			pf := r.planFiles[from[k].file]
			line, col := pf.src.place(from[k].index, "")
			out = append(out, fmt.Sprintf("%s@%d is at %s:%d:%d", v.ID, v.Version, pf.name, line, col))
			break
		}
	}
	return strings.Join(out, ", ")
}

// whereInFile says where each plan version is in a file that did not
// parse, from its YAML.
func whereInFile(pf *planFile, versions []settlement.PlanVersion) string {
	var out []string
	for _, v := range versions {
		if i := pf.index(v); i >= 0 {
			line, col := pf.src.place(i, "")
			out = append(out, fmt.Sprintf("%s@%d is at %s:%d:%d", v.ID, v.Version, pf.name, line, col))
		}
	}
	return strings.Join(out, ", ")
}

// index returns the index in the file of the plan version v, read from
// its YAML, or -1.
func (pf *planFile) index(v settlement.PlanVersion) int {
	for i := range pf.src.items {
		if pf.src.scalar(i, "id") == v.ID && pf.src.scalar(i, "version") == strconv.Itoa(v.Version) {
			return i
		}
	}
	return -1
}

// checkNetwork loads the -network file; its problems are the run's, placed
// in it. It returns nil without one or when it does not load.
func checkNetwork(res *result, f *file) *partner.Network {
	if f == nil {
		return nil
	}
	res.network = f.name
	net, err := partner.LoadNetwork(f.data)
	if err == nil {
		return net
	}
	src := parseYAML(f.data)
	for _, p := range problemsOf(err) {
		d := src.diagnostic("error", f.name, p, -1, p.path)
		res.Problems = append(res.Problems, d)
		res.networkDiags = append(res.networkDiags, d)
	}
	return nil
}

// unknownPartners reports every party (and cumulative volume) of the form
// partner:<id> whose id is not a partner of the network, with the nearest
// ids as a suggestion. A settler pays such a node's share to its fallback
// without an error, so a typo here silently moves money; a cumulative rate
// reading such a partner's volume fails every line.
func unknownPartners(doc settlement.PlanDocument, net *partner.Network, netName string) []problem {
	var ids []string
	for _, p := range net.Spec().Partners {
		ids = append(ids, string(p.ID))
	}
	var out []problem
	check := func(role, path, nodePath, reads, consequence string) {
		id, ok := strings.CutPrefix(role, "partner:")
		if !ok || id == string(settlement.DefaultPlatform) {
			return
		}
		if _, known := net.Partner(partner.ID(id)); known {
			return
		}
		p := problem{path: path, msg: fmt.Sprintf("node %s %s partner %q, which is not in the network %s: %s", nodePath, reads, id, netName, consequence)}
		if near := ensemble.Nearest(id, ids); len(near) > 0 {
			p.hint = "did you mean " + orList(near, "partner:") + "?"
		} else {
			p.hint = "partner:<id> names a partner by its id in " + netName
		}
		out = append(out, p)
	}
	walkNodes(&doc.Root, "root", string(doc.Root.ID), func(n *settlement.Node, path, nodePath string) {
		if n.Party != "" {
			check(n.Party, path+".party", nodePath, "pays", "settling would give its share to the node's fallback, without an error")
		}
		if c := n.Share.Cumulative; c != nil && c.Of != "" {
			check(c.Of, path+".share.cumulative.of", nodePath, "reads the volume of", "every line this plan settles would fail")
		}
	})
	return out
}

// currencyBoundTiers warns about line currencies a plan's cumulative
// tiers may not read. The tiers' bounds are in one currency, into which a
// line in another converts at the host's rates; settlement.New refuses a
// plan listing a currency with no rate at all, but a plan for any currency
// cannot be checked, and a rate that starts after the plan does leaves the
// lines before it to be refused when they are settled. A plan with a
// retroactive share converts no line (settlement.New refuses one that
// lists another currency than its tiers'): one for any currency is told
// that lines in others are refused.
func currencyBoundTiers(doc settlement.PlanDocument, rates ensemble.ExchangeRates, haveRates bool) []problem {
	var out []problem
	var cur ensemble.Currency
	retro := ""
	walkNodes(&doc.Root, "root", string(doc.Root.ID), func(n *settlement.Node, path, nodePath string) {
		if c := n.Share.Cumulative; c != nil && c.Mode == settlement.Retroactive && retro == "" {
			retro = nodePath
		}
	})
	walkNodes(&doc.Root, "root", string(doc.Root.ID), func(n *settlement.Node, path, nodePath string) {
		c := n.Share.Cumulative
		if c == nil || !cur.IsZero() {
			return
		}
		for i, t := range c.Tiers {
			if t.UpTo.Currency().IsZero() {
				continue
			}
			cur = t.UpTo.Currency()
			if len(doc.Currencies) > 0 {
				return
			}
			code := cur.Code()
			if retro != "" {
				// A retroactive share converts no line: settlement.New
				// refuses the plan once it lists another currency.
				out = append(out, problem{
					path: ensemble.Path(path+".share.cumulative.tiers", i) + ".up_to",
					msg: fmt.Sprintf("node %s: the cumulative tiers are in %s and the plan settles lines in any currency, but node %s pays retroactive tiers, which convert no line: a line in another currency than %s is refused when it is settled",
						nodePath, code, retro, code),
					hint: fmt.Sprintf("list the tiers' currency (currencies: [%s]) and give lines in others a plan of their own", code),
				})
				return
			}
			out = append(out, problem{
				path: ensemble.Path(path+".share.cumulative.tiers", i) + ".up_to",
				msg: fmt.Sprintf("node %s: the cumulative tiers are in %s and the plan settles lines in any currency: a line in another currency converts into %s at the host's exchange rates, and is refused when it is settled if none is in force",
					nodePath, code, code),
				hint: fmt.Sprintf("list the currencies the plan settles (currencies: [%s, ...]) so that each is checked against the rates", code),
			})
			return
		}
	})
	if cur.IsZero() || !haveRates {
		return out
	}
	for j, c := range doc.Currencies {
		if c == cur || slices.Contains(doc.Currencies[:j], c) {
			continue
		}
		var first time.Time
		found := false
		for _, r := range rates {
			if r.From == c && r.To == cur && (!found || r.Since.Before(first)) {
				first, found = r.Since, true
			}
		}
		if !found || !first.After(doc.EffectiveFrom) {
			continue // none at all is settlement.New's error
		}
		day := first.UTC().Format(time.DateOnly)
		out = append(out, problem{
			path: ensemble.Path("currencies", j),
			msg: fmt.Sprintf("the first rate from %s to %s is from %s: %s lines dated before it are refused when they are settled",
				c.Code(), cur.Code(), day, c.Code()),
			hint: fmt.Sprintf("start the plan then (effective_from: %s), or give the rates an earlier rate", first.UTC().Format(time.RFC3339)),
		})
	}
	return out
}

// checkRates loads the -rates file, the host's exchange rates (a list of
// {from, to, since, rate}); its problems are the run's, placed in it. It
// returns nil without one or when it does not decode.
func checkRates(res *result, f *file) ensemble.ExchangeRates {
	if f == nil {
		return nil
	}
	res.rates = f.name
	src := parseYAML(f.data)
	report := func(err error) {
		for _, p := range problemsOf(err) {
			i, rest := -1, p.path
			if r, ok := strings.CutPrefix(p.path, "rates["); ok {
				if end := strings.IndexByte(r, ']'); end > 0 {
					if n, err := strconv.Atoi(r[:end]); err == nil {
						i, rest = n, strings.TrimPrefix(r[end+1:], ".")
					}
				}
			}
			d := src.diagnostic("error", f.name, p, i, rest)
			res.Problems = append(res.Problems, d)
			res.ratesDiags = append(res.ratesDiags, d)
		}
	}
	js, err := ensemble.YAMLToJSON(f.data)
	var rates ensemble.ExchangeRates
	if err == nil {
		err = ensemble.DecodeJSON("rates", js, &rates)
	}
	if err != nil {
		report(err)
		return nil
	}
	report(rates.Check())
	return rates
}

// walkNodes calls visit for n and every node under it, depth first, with
// its path in the plan document ("root.children[1]") and its path of node
// ids as entries name it ("margin/channel").
func walkNodes(n *settlement.Node, path, nodePath string, visit func(n *settlement.Node, path, nodePath string)) {
	visit(n, path, nodePath)
	for i := range n.Children {
		c := &n.Children[i]
		walkNodes(c, ensemble.Path(path+".children", i), nodePath+"/"+string(c.ID), visit)
	}
}

// problem is one thing wrong with a document, at a path inside it.
type problem struct {
	path      string // "plans[0].root.children[2].party"; "" for the whole document
	line, col int    // when the error itself says where (a YAML syntax error)
	msg, hint string
	err       error // the error it came from, if any
}

// problemsOf lists the problems an error of package ensemble, settlement
// or partner gathers: each field of an *ensemble.ValidationError, or one.
func problemsOf(err error) []problem {
	if err == nil {
		return nil
	}
	var ve *ensemble.ValidationError
	if errors.As(err, &ve) {
		out := make([]problem, len(ve.Problems))
		for i, fe := range ve.Problems {
			out[i] = problem{path: fe.Path, msg: trimPackage(fe.Err.Error()), err: fe.Err}
			var de *ensemble.DecodeError
			if errors.As(fe.Err, &de) {
				// The library places decode errors in the YAML file itself.
				out[i].msg, out[i].line, out[i].col = de.Msg, de.Line, de.Column
			}
		}
		return out
	}
	var de *ensemble.DecodeError
	if errors.As(err, &de) {
		return []problem{{path: de.Path, msg: de.Msg, err: err, line: de.Line, col: de.Column}}
	}
	return []problem{{msg: trimPackage(err.Error()), err: err}}
}

// planPath splits "plans[3].root.share" into 3 and "root.share"; a path
// that does not start with a plan index gives -1.
func planPath(path string) (int, string) {
	rest, ok := strings.CutPrefix(path, "plans[")
	if !ok {
		return -1, path
	}
	end := strings.IndexByte(rest, ']')
	if end < 0 {
		return -1, path
	}
	i, err := strconv.Atoi(rest[:end])
	if err != nil {
		return -1, path
	}
	return i, strings.TrimPrefix(rest[end+1:], ".")
}

// planName names the i-th plan of a file that did not parse, from its
// YAML: "plan channel@1", or "plans[i]" when it cannot be told.
func planName(src yamlDoc, i int) string {
	id, version := src.scalar(i, "id"), src.scalar(i, "version")
	if id == "" {
		return ensemble.Path("plans", i)
	}
	return "plan " + id + "@" + version
}

func joinField(a, b string) string {
	if b == "" {
		return a
	}
	return a + ": " + b
}

func trimPackage(msg string) string {
	for _, p := range []string{"settlement: ", "partner: "} {
		msg = strings.TrimPrefix(msg, p)
	}
	return msg
}

func orList(names []string, prefix string) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = prefix + n
	}
	return strings.Join(quoted, " or ")
}

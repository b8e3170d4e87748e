// Package rules is the CEL language of Ensemble's partner-commerce rules:
// eligibility conditions, shares, amounts and approval policies written by
// finance and partner operations as data, with exact decimals and money.
//
// A consumer package declares the variables its rules read, as its own Go
// structs, and compiles rule documents once:
//
//	env, err := rules.NewEnv(rules.Var[settlement.Line]("line"), rules.Var[partner.Partner]("partner"))
//	set, err := env.LoadRuleSet(rules.File{Name: "shares.yaml", Data: yamlBytes})
//	rule, err := set.At("reseller-share", line.Date)
//	facts := env.NewFacts()
//	facts.Set("line", &line)
//	share, err := rule.Share(ctx, facts) // decimal.Decimal, exact
//
// Struct fields of type decimal.Decimal and ensemble.Money appear in rules as
// the decimal and money types (never as doubles), so a rule reads
// `line.amount > money("100", "EUR")`. The functions rule authors can use are
// documented on Library. Doubles, double() and dyn() are rejected when a rule
// is compiled, decimal literals are parsed then (and folded to constants), a
// rule that reads no fact and no table is evaluated then (one that fails,
// dividing by zero, say, would fail on every evaluation, so it is refused
// with the evaluation's error), and every rule is checked for its result type, its static cost against a
// budget, and its test cases' inputs: costs mean time, a unit about 50 ns,
// so a rule the default budget accepts takes at most about 50 µs. Evaluation
// runs under a runtime cost limit and honours context cancellation; an Env
// built with TrustBounded(true) skips cel-go's cost tracker for rules without
// comprehensions, whose cost is bounded by their estimate, which makes them
// several times faster.
//
// A Rule is immutable and safe for concurrent use; a Facts is reused by one
// goroutine across evaluations.
//
// Environments are versioned (Version): each document names the version it was
// written for, and functions introduced later stay invisible to it.
package rules

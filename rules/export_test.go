package rules

import "fmt"

// RuntimeCost evaluates r's expression with facts and returns the cost the
// runtime tracker charged for it.
func RuntimeCost(r *Rule, facts *Facts) (uint64, error) {
	if !r.main.tracked {
		return 0, fmt.Errorf("rule %q is not cost-tracked", r.doc.ID)
	}
	var in any = facts
	if facts == nil {
		in = map[string]any{}
	}
	_, det, err := r.main.prg.Eval(in)
	if det == nil || det.ActualCost() == nil {
		return 0, fmt.Errorf("no cost tracked: %v", err)
	}
	return *det.ActualCost(), err
}

// Price returns what the cost model charges a call of the library's
// overload id whose operands have a and b digits (or code points) and whose
// scale is scale.
func Price(id string, a, b, scale uint64) uint64 {
	return overloadCosts[id].price.of(sizes{a: a, b: b, scale: scale})
}

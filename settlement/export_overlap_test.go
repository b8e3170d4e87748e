package settlement

// NewUnchecked is New without the check of the plans' versions together,
// so tests can ask pick about plans New refuses.
func NewUnchecked(cfg Config) (*Settler, error) { return build(cfg, false, false) }

// Pick returns the plan version pick chooses for l.
func Pick(s *Settler, l Line) (PlanVersion, error) {
	cp, err := s.pick(&l)
	if err != nil {
		return PlanVersion{}, err
	}
	return PlanVersion{ID: cp.doc.ID, Version: cp.doc.Version}, nil
}

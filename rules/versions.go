package rules

import (
	"container/heap"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Sentinels of *VersionError.
var (
	// ErrShadowedVersion reports a rule version that is never in force:
	// higher versions cover its whole effective span, so RuleSet.At never
	// returns it (a mistyped effective_from does this).
	ErrShadowedVersion = errors.New("rules: version never in force")
	// ErrVersionGap reports a span with no version in force, between the
	// first and the last of a rule whose versions ask for continuity.
	ErrVersionGap = errors.New("rules: gap between versions")
)

// VersionError reports a problem between the versions of one rule, found
// when a rule set is loaded: a version hidden entirely by higher ones
// (ErrShadowedVersion), or a gap in a rule whose documents say continuous:
// true (ErrVersionGap). It names every version involved, and places the
// first in its file when it was read from one.
//
// For a hidden version the place is the effective_from of the one version
// that hides it (where the typo usually is), or of the hidden version when
// several do.
type VersionError struct {
	Source  string
	Line    int
	Column  int
	RuleID  string
	Version VersionSpan   // the hidden version; for a gap, the version before it
	By      []VersionSpan // the versions that hide it; for a gap, the version after it
	Gap     VersionSpan   // for a gap, the span with no version in force (Version 0)
	Err     error         // ErrShadowedVersion or ErrVersionGap
}

// VersionSpan is a rule version and its effective span (zero From: always;
// zero Until: forever).
type VersionSpan struct {
	Version int
	From    time.Time
	Until   time.Time
}

func (s VersionSpan) String() string {
	return fmt.Sprintf("v%d (%s)", s.Version, spanText(s.From, s.Until))
}

// Error renders the problem, naming the rule and every version involved.
func (e *VersionError) Error() string {
	name := fmt.Sprintf("rule %q", e.RuleID)
	if !errors.Is(e.Err, ErrVersionGap) {
		name += " " + e.Version.String()
	}
	return "rules: " + where(e.Source, e.Line, e.Column) + name + e.detail()
}

// detail is the message after the rule's name: what Diagnostic shows
// beside the rule it names.
func (e *VersionError) detail() string {
	by := make([]string, len(e.By))
	for i, v := range e.By {
		by[i] = v.String()
	}
	if errors.Is(e.Err, ErrVersionGap) {
		return fmt.Sprintf(": no version in force %s, between %s and %s (its versions ask for continuity)",
			spanText(e.Gap.From, e.Gap.Until), e.Version, strings.Join(by, ", "))
	}
	verb := "hides"
	if len(by) > 1 {
		verb = "hide"
	}
	return fmt.Sprintf(" is never in force: %s %s it entirely (check effective_from and effective_until)", strings.Join(by, " and "), verb)
}

// Unwrap returns ErrShadowedVersion or ErrVersionGap.
func (e *VersionError) Unwrap() error { return e.Err }

func spanText(from, until time.Time) string {
	f, u := "always", "forever"
	if !from.IsZero() {
		f = from.UTC().Format(time.RFC3339)
	}
	if !until.IsZero() {
		u = until.UTC().Format(time.RFC3339)
	}
	if from.IsZero() {
		return "until " + u
	}
	return "from " + f + " until " + u
}

// span is one version's effective span in a sweep: [from, until), with
// the zero times standing for the beginning and the end of time.
type span struct {
	version     int
	from, until time.Time
	doc         int // index of the document
}

// versionProblems checks the versions of every rule: a version whose whole
// span higher versions cover, and gaps in rules that ask for continuity.
// It sorts each rule's boundaries once and sweeps them, so it takes
// O(n log n) for n versions.
func versionProblems(docs []Document, maps []*sourceMap) []error {
	byID := map[string][]span{}
	var ids []string
	continuous := map[string]bool{}
	type key struct {
		id string
		v  int
	}
	seen := map[key]bool{} // a duplicate id and version is reported apart
	for i, d := range docs {
		if d.ID == "" || seen[key{d.ID, d.Version}] {
			continue
		}
		seen[key{d.ID, d.Version}] = true
		if _, ok := byID[d.ID]; !ok {
			ids = append(ids, d.ID)
		}
		byID[d.ID] = append(byID[d.ID], span{version: d.Version, from: d.EffectiveFrom, until: d.EffectiveUntil, doc: i})
		continuous[d.ID] = continuous[d.ID] || d.Continuous
	}
	var errs []error
	for _, id := range ids {
		spans := byID[id]
		if len(spans) < 2 {
			continue
		}
		hidden, gaps := sweep(spans)
		for _, h := range hidden {
			s := spans[h]
			by := hidersOf(s, spans)
			placed := s.doc
			if len(by) == 1 {
				placed = by[0].doc
			}
			at := mapAt(maps, placed, docs[placed])
			ve := &VersionError{Source: docs[placed].Source, Line: at.line, Column: at.column, RuleID: id,
				Version: s.versionSpan(), Err: ErrShadowedVersion}
			for _, b := range by {
				ve.By = append(ve.By, b.versionSpan())
			}
			errs = append(errs, ve)
		}
		if !continuous[id] {
			continue
		}
		for _, g := range gaps {
			before := spans[slices.IndexFunc(spans, func(s span) bool { return s.doc == g.before })]
			at := mapAt(maps, g.after, docs[g.after])
			after := docs[g.after]
			errs = append(errs, &VersionError{Source: after.Source, Line: at.line, Column: at.column, RuleID: id,
				Version: before.versionSpan(), By: []VersionSpan{{after.Version, after.EffectiveFrom, after.EffectiveUntil}},
				Gap: VersionSpan{From: g.from, Until: g.until}, Err: ErrVersionGap})
		}
	}
	return errs
}

// mapAt places a document's effective_from in its file.
func mapAt(maps []*sourceMap, i int, d Document) pos {
	if i >= len(maps) {
		return pos{}
	}
	if d.EffectiveFrom.IsZero() {
		return maps[i].at("")
	}
	return maps[i].at("effective_from")
}

func (s span) versionSpan() VersionSpan { return VersionSpan{s.version, s.from, s.until} }

// hidersOf lists the higher versions whose spans meet s's, by version.
func hidersOf(s span, spans []span) []span {
	var out []span
	for _, o := range spans {
		if o.version > s.version && startsBefore(o.from, s.until) && startsBefore(s.from, o.until) {
			out = append(out, o)
		}
	}
	slices.SortFunc(out, func(a, b span) int { return a.version - b.version })
	return out
}

// startsBefore reports from < until for span bounds, where a zero from is
// the beginning of time and a zero until the end.
func startsBefore(from, until time.Time) bool {
	return from.IsZero() || until.IsZero() || from.Before(until)
}

type gap struct {
	from, until   time.Time
	before, after int // document indexes of the versions either side
}

// sweep walks a rule's span boundaries in time order with the versions in
// force in a max-heap: a version is visible when it tops the heap over some
// stretch of time; a stretch with an empty heap between the first start and
// the last end is a gap. It returns the indexes (in spans) of the hidden
// versions, in version order, and the gaps.
func sweep(spans []span) (hidden []int, gaps []gap) {
	type event struct {
		at    time.Time
		start bool
		i     int
	}
	var evs []event
	for i, s := range spans {
		evs = append(evs, event{at: s.from, start: true, i: i})
		if !s.until.IsZero() {
			evs = append(evs, event{at: s.until, i: i})
		}
	}
	// Zero (the beginning of time) sorts first; ends sort before starts at
	// the same instant, as spans are half-open.
	slices.SortFunc(evs, func(a, b event) int {
		if c := a.at.Compare(b.at); c != 0 {
			if a.at.IsZero() {
				return -1
			}
			if b.at.IsZero() {
				return 1
			}
			return c
		}
		if a.start != b.start {
			if a.start {
				return 1
			}
			return -1
		}
		return 0
	})
	visible := make([]bool, len(spans))
	ended := make([]bool, len(spans))
	h := &versionHeap{spans: spans}
	lastEnd := -1 // the document index of the version that ended last, for gaps
	for k := 0; k < len(evs); {
		at := evs[k].at
		for ; k < len(evs) && evs[k].at.Equal(at); k++ {
			e := evs[k]
			if e.start {
				heap.Push(h, e.i)
			} else {
				ended[e.i] = true
				lastEnd = e.i
			}
		}
		for h.Len() > 0 && ended[h.idx[0]] {
			heap.Pop(h)
		}
		if h.Len() == 0 {
			if k < len(evs) && lastEnd >= 0 {
				next := evs[k]
				gaps = append(gaps, gap{from: at, until: next.at, before: spans[lastEnd].doc, after: spans[next.i].doc})
			}
			continue
		}
		// The top is in force from at until the next event (or forever:
		// after the last event only spans without an end remain).
		visible[h.idx[0]] = true
	}
	for i := range spans {
		if !visible[i] {
			hidden = append(hidden, i)
		}
	}
	slices.SortFunc(hidden, func(a, b int) int { return spans[a].version - spans[b].version })
	return hidden, gaps
}

// versionHeap is a max-heap of span indexes by version.
type versionHeap struct {
	spans []span
	idx   []int
}

func (h *versionHeap) Len() int { return len(h.idx) }
func (h *versionHeap) Less(i, j int) bool {
	return h.spans[h.idx[i]].version > h.spans[h.idx[j]].version
}
func (h *versionHeap) Swap(i, j int) { h.idx[i], h.idx[j] = h.idx[j], h.idx[i] }
func (h *versionHeap) Push(x any)    { h.idx = append(h.idx, x.(int)) }
func (h *versionHeap) Pop() any {
	x := h.idx[len(h.idx)-1]
	h.idx = h.idx[:len(h.idx)-1]
	return x
}

package partner_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/partner"
)

var epoch = date(2025, 1, 1)

// genForest draws a valid network: partners whose parents (when they change
// over time) always come earlier in the list, so no cycle can form, each
// with one to three effective-dated terms.
func genForest(t *rapid.T) partner.NetworkSpec {
	n := rapid.IntRange(1, 40).Draw(t, "partners")
	spec := partner.NetworkSpec{Partners: make([]partner.Partner, n)}
	tiers := []partner.Tier{"", "bronze", "silver", "gold"}
	for i := range spec.Partners {
		p := partner.Partner{ID: partner.ID(fmt.Sprintf("p%03d", i)), Name: fmt.Sprintf("Partner %d", i), Type: partner.TypeReseller}
		k := rapid.IntRange(1, 3).Draw(t, "terms")
		from := epoch
		for j := 0; j < k; j++ {
			if j > 0 {
				from = from.AddDate(0, rapid.IntRange(1, 12).Draw(t, "months"), 0)
			}
			var parent partner.ID
			if i > 0 && rapid.Bool().Draw(t, "hasParent") {
				parent = partner.ID(fmt.Sprintf("p%03d", rapid.IntRange(0, i-1).Draw(t, "parent")))
			}
			p.Terms = append(p.Terms, partner.Terms{From: from, Parent: parent, Tier: rapid.SampledFrom(tiers).Draw(t, "tier")})
		}
		spec.Partners[i] = p
	}
	// Shuffle the document order: validation must not depend on it.
	perm := rapid.Permutation(spec.Partners).Draw(t, "order")
	spec.Partners = perm
	return spec
}

func TestRandomForestsValidate(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		spec := genForest(t)
		net, err := partner.NewNetwork(spec)
		if err != nil {
			t.Fatalf("valid forest rejected: %v", err)
		}
		at := epoch.AddDate(0, 0, rapid.IntRange(0, 1500).Draw(t, "day"))
		for _, p := range spec.Partners {
			// The chain ends at a root and has no repeats.
			chain, err := net.Chain(p.ID, at)
			if err != nil {
				t.Fatal(err)
			}
			seen := map[partner.ID]bool{}
			for _, id := range chain {
				if seen[id] {
					t.Fatalf("chain of %s repeats %s: %v", p.ID, id, chain)
				}
				seen[id] = true
			}
			top, _ := net.Parent(chain[len(chain)-1], at)
			if top != "" {
				t.Fatalf("chain of %s ends at %s, whose parent is %s", p.ID, chain[len(chain)-1], top)
			}
			depth, _ := net.Depth(p.ID, at)
			if depth != len(chain)-1 {
				t.Fatalf("depth %d for a chain of %d", depth, len(chain))
			}
			// Effective-dated queries return the terms whose interval holds t.
			want := p.Terms[0]
			for _, tm := range p.Terms {
				if !tm.From.After(at) {
					want = tm
				}
			}
			snap, _ := net.At(p.ID, at)
			if snap.Tier != want.Tier || snap.Parent != want.Parent || !snap.TermsFrom.Equal(want.From) {
				t.Fatalf("%s at %s: got tier %q parent %q from %s, want %+v", p.ID, at, snap.Tier, snap.Parent, snap.TermsFrom, want)
			}
			// Children and Parent agree.
			if want.Parent != "" {
				kids, _ := net.Children(want.Parent, at)
				if !slices.Contains(kids, p.ID) {
					t.Fatalf("%s is not among the children %v of its parent %s", p.ID, kids, want.Parent)
				}
			}
		}
	})
}

func TestClosingACycleIsAlwaysRejected(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		spec := genForest(t)
		net, err := partner.NewNetwork(spec)
		if err != nil {
			t.Fatal(err)
		}
		// Pick a partner and an instant after every drawn term, and give one
		// of its ancestors then (or itself) new terms whose parent is that
		// partner.
		i := rapid.IntRange(0, len(spec.Partners)-1).Draw(t, "partner")
		at := epoch.AddDate(10, 0, rapid.IntRange(0, 100).Draw(t, "day"))
		chain, _ := net.Chain(spec.Partners[i].ID, at)
		ancestor := chain[rapid.IntRange(0, len(chain)-1).Draw(t, "ancestor")]
		for j := range spec.Partners {
			if spec.Partners[j].ID != ancestor {
				continue
			}
			spec.Partners[j].Terms = append(spec.Partners[j].Terms, partner.Terms{From: at, Parent: spec.Partners[i].ID})
		}
		_, err = partner.NewNetwork(spec)
		if err == nil {
			t.Fatalf("cycle %s -> ... -> %s accepted", ancestor, spec.Partners[i].ID)
		}
		// Either a cycle, or a parent that is its own parent when the
		// ancestor is the partner itself.
		var ve *ensemble.ValidationError
		if !errors.As(err, &ve) {
			t.Fatalf("not a validation error: %v", err)
		}
	})
}

// TestOnboardingStateMachine drives the onboarding lifecycle with random
// commands against a model and checks that replaying the events rebuilds
// the state.
func TestOnboardingStateMachine(t *testing.T) {
	next := map[partner.Status]map[partner.Action]partner.Status{
		partner.StatusNone:      {partner.ActionApply: partner.StatusApplied},
		partner.StatusApplied:   {partner.ActionVet: partner.StatusVetted, partner.ActionOffboard: partner.StatusOffboarded},
		partner.StatusVetted:    {partner.ActionActivate: partner.StatusActive, partner.ActionOffboard: partner.StatusOffboarded},
		partner.StatusActive:    {partner.ActionSuspend: partner.StatusSuspended, partner.ActionOffboard: partner.StatusOffboarded},
		partner.StatusSuspended: {partner.ActionReinstate: partner.StatusActive, partner.ActionOffboard: partner.StatusOffboarded},
	}
	rapid.Check(t, func(t *rapid.T) {
		state := partner.Onboarding{Partner: "p1"}
		model := partner.StatusNone
		clock := epoch
		var events []partner.Event
		t.Repeat(map[string]func(*rapid.T){
			"act": func(t *rapid.T) {
				action := partner.Action(rapid.IntRange(0, 7).Draw(t, "action"))
				clock = clock.Add(time.Duration(rapid.IntRange(0, 48).Draw(t, "hours")) * time.Hour)
				got, evs, err := state.Decide(partner.Command{Action: action, Actor: "ops"}, clock)
				want, ok := next[model][action]
				if !ok {
					if !errors.Is(err, partner.ErrInvalidTransition) || got != state || evs != nil {
						t.Fatalf("%s from %s: want ErrInvalidTransition and no change, got %v", action, model, err)
					}
					return
				}
				if err != nil || got.Status != want || len(evs) != 1 {
					t.Fatalf("%s from %s: got %s, %v", action, model, got.Status, err)
				}
				state, model = got, want
				events = append(events, evs...)
			},
			"back in time": func(t *rapid.T) {
				if state.Since.IsZero() {
					t.Skip("nothing happened yet")
				}
				_, _, err := state.Decide(partner.Command{Action: partner.ActionOffboard}, state.Since.Add(-time.Second))
				if !errors.Is(err, partner.ErrOutOfOrder) {
					t.Fatalf("want ErrOutOfOrder, got %v", err)
				}
			},
			"": func(t *rapid.T) {
				folded, err := partner.Fold("p1", events)
				if err != nil || folded != state {
					t.Fatalf("fold %+v != state %+v (%v)", folded, state, err)
				}
				if state.Status.CanTrade() != (model == partner.StatusActive) {
					t.Fatalf("CanTrade %v in %s", state.Status.CanTrade(), model)
				}
			},
		})
	})
}

// TestApprovalStateMachine drives approvals through the governance with
// random submissions, decisions by random actors and expiries, against a
// model of the channel program's rules.
func TestApprovalStateMachine(t *testing.T) {
	g := loadGovernance(t)
	actors := []partner.Actor{
		{ID: "cm", Roles: []string{"channel_manager"}},
		{ID: "vp", Roles: []string{"vp_sales"}},
		{ID: "intern"},
	}
	rapid.Check(t, func(t *rapid.T) {
		var (
			a      partner.Approval
			events []partner.AuditEvent
			model  partner.ApprovalStatus
			clock  time.Time
			pct    int64
			n      int
		)
		t.Repeat(map[string]func(*rapid.T){
			"submit": func(t *rapid.T) {
				if model != partner.ApprovalNone && model != partner.ApprovalRequested {
					// Start over with a new request once one is closed.
					model = partner.ApprovalNone
				}
				if model != partner.ApprovalNone {
					t.Skip("a request is open")
				}
				n++
				pct = int64(rapid.IntRange(0, 60).Draw(t, "pct"))
				p := rapid.SampledFrom([]partner.ID{"reseller-nl", "reseller-de"}).Draw(t, "partner")
				clock = date(2026, 3, 1)
				list := ensemble.MustMoney("100.00", "EUR")
				price, _ := list.Sub(ensemble.MoneyFromMinor(pct*100, list.Currency()))
				req := partner.Request{ID: fmt.Sprintf("r%d", n), Kind: partner.RequestPriceException, Partner: p, Offer: partner.Offer{ID: "o"},
					ListPrice: list, Price: price, Discount: decimal.New(pct, -2), RequestedBy: "seller",
					RequestedAt: clock, ExpiresAt: clock.AddDate(0, 0, 7)}
				got, evs, err := g.Submit(ctx, req)
				if err != nil {
					t.Fatal(err)
				}
				wantNeeded := pct > 20 && p != "reseller-de" // reseller-de is platinum
				model = partner.ApprovalApproved
				if wantNeeded {
					model = partner.ApprovalRequested
				}
				if got.Status != model {
					t.Fatalf("submit %d%% for %s: got %s want %s", pct, p, got.Status, model)
				}
				a, events = got, evs
			},
			"decide": func(t *rapid.T) {
				if model != partner.ApprovalRequested {
					t.Skip("nothing to decide")
				}
				actor := rapid.SampledFrom(actors).Draw(t, "actor")
				approve := rapid.Bool().Draw(t, "approve")
				clock = clock.Add(time.Duration(rapid.IntRange(1, 72).Draw(t, "hours")) * time.Hour)
				got, evs, err := g.Decide(ctx, a, approve, actor, "", clock)
				switch {
				case !clock.Before(a.Request.ExpiresAt):
					if !errors.Is(err, partner.ErrRequestExpired) {
						t.Fatalf("decision after expiry: %v", err)
					}
				case actor.ID == "vp" || (actor.ID == "cm" && pct <= 40):
					if err != nil {
						t.Fatal(err)
					}
					model = partner.ApprovalRejected
					if approve {
						model = partner.ApprovalApproved
					}
					a, events = got, append(events, evs...)
				default:
					if !errors.Is(err, partner.ErrNotAuthorized) || got.Status != partner.ApprovalRequested {
						t.Fatalf("%s deciding %d%%: want ErrNotAuthorized, got %v", actor.ID, pct, err)
					}
				}
			},
			"expire": func(t *rapid.T) {
				if model != partner.ApprovalRequested {
					t.Skip("nothing to expire")
				}
				clock = a.Request.ExpiresAt.Add(time.Duration(rapid.IntRange(0, 10).Draw(t, "hours")) * time.Hour)
				got, evs, err := a.Expire(clock)
				if err != nil {
					t.Fatal(err)
				}
				model = partner.ApprovalExpired
				a, events = got, append(events, evs...)
			},
			"": func(t *rapid.T) {
				if model == partner.ApprovalNone {
					return
				}
				if a.Status != model {
					t.Fatalf("status %s, model %s", a.Status, model)
				}
				folded, err := partner.FoldApproval(a.Request, events)
				if err != nil || folded.Status != a.Status || folded.Events != a.Events || folded.DecidedBy != a.DecidedBy {
					t.Fatalf("fold %+v != %+v (%v)", folded, a, err)
				}
			},
		})
	})
}

// Package numscript settles one sale line two ways, through public APIs
// only: with Ensemble's settlement.Settler (Ensemble) and with Formance
// Numscript (github.com/formancehq/numscript v0.2.0), by its interpreter
// (Numscript) or its compiled program on its VM (NumscriptVM), each running
// the same split (Plan and Script), so that a test can check that they pay
// every party the same minor units and a benchmark can compare what one
// line per call costs.
//
// The split is the static plan of settlement's benchmarks: the platform
// takes 20%, the referrer 5%, and the channel the remaining 75%, of which the
// distributor takes 6%, the reseller 10% and the seller the remaining 84%.
// The plan says method: numscript_order, Ensemble's reproduction of
// Numscript's rule for the minor units left over at each level (every part
// floored, then one unit each to the parts in declaration order).
//
// Both sides are set up once, as a host would: Ensemble's settler is built
// from the plan and a partner network; Numscript's script is parsed (or
// compiled) once and then run per line with the line's amount as its only
// variable against an in-memory store.
package numscript

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"time"

	formance "github.com/formancehq/numscript"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// The parties of the split. Each is a partner id on Ensemble's side (the
// platform's party id for Platform) and an account of the same name on
// Numscript's.
const (
	Platform    = "platform"
	Referrer    = "referrer"
	Distributor = "distributor"
	Reseller    = "reseller"
	Seller      = "seller"
)

// Plan is the split as an Ensemble plan document: settlement's static
// benchmark plan (root -> platform 20%, referral 5%, channel remaining ->
// distributor 6%, reseller 10%, seller remaining) with method:
// numscript_order.
const Plan = `
id: numscript-compare
version: 1
method: numscript_order
root:
  id: root
  children:
    - {id: platform, party: platform, share: "20%", fallback: platform}
    - {id: referral, party: referrer, share: "5%"}
    - id: channel
      share: remaining
      children:
        - {id: distributor, party: distributor, share: "6%"}
        - {id: reseller, party: reseller, share: "10%"}
        - {id: seller, party: seller, share: remaining}
`

// Asset is the Numscript asset of the line's currency: euros counted in
// cents (two decimals), as Ensemble counts EUR minor units.
const Asset = "EUR/2"

// Source is the Numscript account the sale's money comes from: the store
// holds its balance (StoreBalance).
const Source = "sales"

// StoreBalance is the balance of Source in the in-memory store, in cents:
// the largest int64, as much as any line can hold.
const StoreBalance = math.MaxInt64

// Script is the split in Numscript: the line's amount ($amount) sent from
// @sales to nested destinations in the order of Plan's nodes.
const Script = `vars {
  monetary $amount
}

send $amount (
  source = @sales
  destination = {
    20% to @platform
    5% to @referrer
    remaining to {
      6% to @distributor
      10% to @reseller
      remaining to @seller
    }
  }
)
`

// Split is what one line pays each party, in minor units (cents), keyed by
// party. A party paid nothing is absent: Numscript emits no posting of
// zero, so neither side's Split holds one.
type Split map[string]int64

// eur is the currency of every line.
var eur = ensemble.MustCurrency("EUR")

// saleDate is the date of every line, within the partners' terms.
var saleDate = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Route is the route of every line: the seller under its reseller under
// its distributor, and a referrer that brought the customer.
var Route = partner.Route{
	Kind:     partner.RoutePartner,
	Seller:   Seller,
	Chain:    []partner.ID{Seller, Reseller, Distributor},
	Referrer: Referrer,
}

// Ensemble settles lines with Ensemble's settlement package.
type Ensemble struct {
	// Settler is built once from Plan and the partners of Route.
	Settler *settlement.Settler
}

// NewEnsemble builds the settler of Plan over a network holding Route's
// partners: a distributor, a reseller under it, a sub-reseller (the
// seller) under that, and a referral partner.
func NewEnsemble() (*Ensemble, error) {
	from := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	net, err := partner.NewNetwork(partner.NetworkSpec{Partners: []partner.Partner{
		{ID: Distributor, Name: "Distributor", Type: partner.TypeDistributor, Terms: []partner.Terms{{From: from}}},
		{ID: Reseller, Name: "Reseller", Type: partner.TypeReseller, Terms: []partner.Terms{{From: from, Parent: Distributor}}},
		{ID: Seller, Name: "Seller", Type: partner.TypeSubReseller, Terms: []partner.Terms{{From: from, Parent: Reseller}}},
		{ID: Referrer, Name: "Referrer", Type: partner.TypeReferral, Terms: []partner.Terms{{From: from}}},
	}})
	if err != nil {
		return nil, fmt.Errorf("numscript: partner network: %w", err)
	}
	plans, err := settlement.ParsePlans([]byte(Plan))
	if err != nil {
		return nil, fmt.Errorf("numscript: plan: %w", err)
	}
	s, err := settlement.New(settlement.Config{Plans: plans, Network: net, Platform: Platform})
	if err != nil {
		return nil, fmt.Errorf("numscript: settler: %w", err)
	}
	return &Ensemble{Settler: s}, nil
}

// Line returns the sale line id of cents minor units of EUR on Route, as a
// host fills it from its billing system.
func (*Ensemble) Line(id string, cents int64) settlement.Line {
	return settlement.Line{
		ID:     settlement.LineID(id),
		Date:   saleDate,
		Amount: ensemble.MoneyFromMinor(cents, eur),
		Offer:  catalog.Pin{Offer: "cloud", Version: 1},
		Route:  Route,
		Trace:  []ensemble.Ref{{Kind: "invoice_line", ID: id}},
	}
}

// Settle settles line alone, from an empty State, and returns what it
// pays each party.
func (e *Ensemble) Settle(ctx context.Context, line settlement.Line) (Split, error) {
	res, err := e.Settler.Settle(ctx, settlement.State{}, []settlement.Line{line})
	if err != nil {
		return nil, err
	}
	return EntriesSplit(res.Entries)
}

// EntriesSplit sums entries by party, in minor units.
func EntriesSplit(entries []settlement.Entry) (Split, error) {
	out := Split{}
	for _, e := range entries {
		units, err := e.Amount.MinorUnits()
		if err != nil {
			return nil, fmt.Errorf("numscript: entry %s: %w", e.ID, err)
		}
		if units != 0 {
			out[string(e.Party)] += units
		}
	}
	return out, nil
}

// Numscript settles lines with Formance Numscript's interpreter.
type Numscript struct {
	// Program is Script, parsed once.
	Program formance.ParseResult
	// Store is the in-memory store the script runs against: Source's
	// balance of StoreBalance cents. Runs read it and never change it.
	Store formance.StaticStore
}

// NewNumscript parses Script and builds its store.
func NewNumscript() (*Numscript, error) {
	p := formance.Parse(Script)
	if errs := p.GetParsingErrors(); len(errs) != 0 {
		return nil, fmt.Errorf("numscript: parse: %s", formance.ParseErrorsToString(errs, Script))
	}
	return &Numscript{
		Program: p,
		Store: formance.StaticStore{Balances: formance.Balances{
			{Account: Source, Asset: Asset, Amount: big.NewInt(StoreBalance)},
		}},
	}, nil
}

// Vars returns the variables of one run: $amount, cents minor units of
// EUR.
func (*Numscript) Vars(cents int64) formance.VariablesMap {
	return formance.VariablesMap{"amount": Asset + " " + strconv.FormatInt(cents, 10)}
}

// Settle runs the parsed script on vars and returns what it pays each
// party.
func (n *Numscript) Settle(ctx context.Context, vars formance.VariablesMap) (Split, error) {
	res, err := n.Program.Run(ctx, vars, n.Store)
	if err != nil {
		return nil, err
	}
	return PostingsSplit(res.Postings)
}

// ErrPosting reports a posting the comparison does not expect: from
// another account than Source, or in another asset than Asset.
var ErrPosting = errors.New("numscript: unexpected posting")

// PostingsSplit sums postings by destination, in minor units.
func PostingsSplit(postings []formance.Posting) (Split, error) {
	out := Split{}
	for _, p := range postings {
		if p.Source != Source || p.Asset != Asset || !p.Amount.IsInt64() {
			return nil, fmt.Errorf("%w: %s %s %s to %s", ErrPosting, p.Asset, p.Amount, p.Source, p.Destination)
		}
		if units := p.Amount.Int64(); units != 0 {
			out[p.Destination] += units
		}
	}
	return out, nil
}

// NumscriptVM settles lines with Numscript's compiled program on its
// register VM (ExecVm), the faster of the two ways Numscript v0.2.0 runs a
// script. A NumscriptVM is not safe for concurrent use: its VM is reused
// from run to run.
type NumscriptVM struct {
	// Encoder encodes a run's variables for Program.
	Encoder formance.VarsEncoder
	// Program is Script, compiled once.
	Program formance.CompiledProgram
	// VM runs Program, reused from run to run.
	VM *formance.Vm
	// Store is the in-memory store the program runs against: Source's
	// balance of StoreBalance cents.
	Store VMStore
}

// NewNumscriptVM compiles Script and builds its VM and store.
func NewNumscriptVM() (*NumscriptVM, error) {
	enc, prog, err := formance.Compile(Script)
	if err != nil {
		return nil, fmt.Errorf("numscript: compile: %w", err)
	}
	if err := formance.VerifyCompiledProgram(prog); err != nil {
		return nil, fmt.Errorf("numscript: verify: %w", err)
	}
	return &NumscriptVM{Encoder: enc, Program: prog, VM: formance.NewVm(prog),
		Store: VMStore{Source: big.NewInt(StoreBalance)}}, nil
}

// Settle encodes vars (Numscript.Vars gives them) and runs the compiled
// script on them, returning what it pays each party.
func (n *NumscriptVM) Settle(ctx context.Context, vars formance.VariablesMap) (Split, error) {
	v, err := n.Encoder.Encode(vars)
	if err != nil {
		return nil, fmt.Errorf("numscript: vars: %w", err)
	}
	res, err := formance.ExecVm(ctx, n.VM, &v, n.Store)
	if err != nil {
		return nil, err
	}
	return PostingsSplit(res.Postings)
}

// VMStore is an in-memory store for Numscript's VM: the balance of each
// account, in Asset, without scopes, colors or metadata. The VM copies the
// balances it reads, so runs never change them.
type VMStore map[string]*big.Int

// GetBalance returns account's balance of asset (zero for any other asset
// or a scope or color).
func (s VMStore) GetBalance(_ context.Context, account, scope, asset, color string) (*big.Int, error) {
	if b, ok := s[account]; ok && scope == "" && asset == Asset && color == "" {
		return b, nil
	}
	return new(big.Int), nil
}

// GetMetadata finds no metadata.
func (VMStore) GetMetadata(context.Context, string, string, string) (string, bool, error) {
	return "", false, nil
}

// Package settlement turns billed lines into exact payout entries for every
// party of a deal, reverses them exactly when money comes back, and folds
// them into partner statements finance can audit.
//
// A host describes how a line's money splits as plans — trees of nodes whose
// parties are roles resolved from the line's route (platform, seller, each
// level of a reseller chain of any depth, distributor, referrer,
// marketplace, co-sellers, fixed partners) with ratio, fixed, rule-computed,
// cumulative-volume or remaining shares — and settles lines through them:
//
//	plans, err := settlement.ParsePlans(planYAML)
//	env, err := settlement.Env() // options such as rules.TrustBounded(true) hold for the settler
//	ruleSet, err := env.LoadRuleSet(rules.File{Name: "shares.yaml", Data: rulesYAML})
//	s, err := settlement.New(settlement.Config{Plans: plans, Rules: ruleSet, Network: net}) // rules used as compiled
//	res, err := s.Settle(ctx, settlement.State{}, lines)
//	// res.Entries: one earning per party, ids "line:node/path"; res.State: the ledger to keep
//
// The example Example_wiring wires a whole host from its documents (catalog,
// network, rules, plans) and bills and settles a month through the public
// API: order, usage, invoice and settlement.
//
// A line's Route (a partner.Route, as the order captured it) says who took
// part. A co-sold deal's attribution covers the seller and its co-sellers
// together: the route gives the seller's own weight beside the
// co-sellers', summing to one whole (equal shares when it gives none), and
// a co_sellers node pays each its weight's share of the node, naming the
// weight in the entry's share. A reseller co-selling 70/30 with a
// technology partner:
//
//	route: {kind: co_sell, seller: reseller-nl, seller_weight: "0.7", chain: [reseller-nl, distri-eu],
//	        co_sellers: [{partner: dev-1, weight: "0.3"}]}
//	plan:  {id: platform, party: platform, share: "20%"}, {id: deal, party: co_sellers, share: remaining}
//	       on EUR 100.00: platform 20.00, reseller-nl 56.00 ("remaining, co-sell weight 70%"),
//	       dev-1 24.00 ("remaining, co-sell weight 30%")
//
// Settle checks a hand-filled route as package order checks an order's
// (partner.Route.Validate): a party once, the seller not among its
// co-sellers, weights not negative and summing to one; and its chain
// against the network's partner types: it may differ from the network at
// the line's date (it was captured at the sale), but a link the network's
// types cannot form (a referral partner as a sub-reseller's parent, a
// distributor under a reseller) is ErrInvalidLine at route.chain[i] (see
// Line.Route).
//
// A minimum commitment's true-up that bills back discounts a node funds
// (Line.Recouped, which FromInvoice copies from invoice.Line.Recouped)
// pays what it bills back to that node: the root splits the rest, so the
// others are paid their shares of what the customer paid, as if the
// discounts had not been taken.
//
// Every level conserves its amount to the minor unit (largest remainder,
// ties by node id, a zero share gets zero), so every line's entries add up to
// exactly its basis. A credit line (Line.Credits) reverses the credited
// line's entries in proportion to what each party still has unreversed, so a
// full credit nets every party to exactly zero; a credit of part of a line
// whose discounts nodes funded (PlanDocument.DiscountFunding) is re-split
// as the sale was, each part giving back its share of the list price the
// credit gives back and the funded discounts it gives back coming back to
// their funders (Line.Discounts, LedgerPart.Funded); unless it names a
// Bearer (a party, plan node, role or bundle component) that bears it
// alone, as the supplier whose outage an SLA credit compensates does:
//
//	sla := settlement.Line{ID: "CN1", Credits: "L1", Date: at, Amount: minus60EUR,
//		Bearer: settlement.Bearer{Component: "suite/gpu/gpuco"}} // the SupplierCost's Component.ID; shortfall: an error unless ShortfallProportional
//
// or ShortfallBearerOwes, when the contract makes the bearer give back the
// whole credit even beyond its part of the line (an SLA credit of 800.00
// borne by a lead contractor paid 400.00 of the line): its part's
// unreversed amount goes negative in the ledger, and a credit of all the
// line has left gives it back, so every party ends at zero on a line
// credited in full.
//
// A plan node may keep its earnings after a clawback window
// (Node.Clawback, `clawback: {within_days: 90}`): a reversal in
// proportion dated more than that many days (UTC calendar days) after the
// line leaves the node's parts untouched, and the window's bearer (the
// platform by default) gives back their share on top of its own, beyond
// its part if need be; a reversal naming a Bearer takes it from the
// bearer, whatever the windows say.
//
// A plan node may be paid once per customer (Node.Once, `once: customer`),
// as a referral bounty on a customer's first order is: the first sale line
// of a customer (Line.Customer.ID) on which it takes a part pays it, the
// State records that line (State.OncePaid), and on the customer's later
// lines the node is exactly as a node whose condition does not hold. An
// invoice re-issued under new line ids pays no second bounty; a credit of
// the line that paid it claws it back and the record stays.
//
// Disputes hold a line's entries (what reserves hold of them already is
// not held again, until a reserve releases it while the dispute is open:
// the dispute holds it from the release on, so a disputed line pays
// nothing more), or each part's share of an amount disputed
// (Settler.DisputeAmount: the rest of the line stays payable, and while
// it is open the customer may pay, and be credited, what it does not
// dispute; beyond it, a *DisputedAmountError);
// ResolveDispute releases them and claws back a lost one,
// and ResolveDisputeWith a dispute lost in part, borne by a Bearer, with a
// dispute fee (KindFee) charged to a chosen party. A lost dispute is the
// partners' clawback: the customer's credit note for it says so
// (Line.Dispute DisputeDocuments) and reverses nothing more (on a line
// payable on collection, its own total replaces the share of the total the
// lost dispute took off what the customer owes, within MaxNoteRounding,
// else ErrDocumentedTotal; a note leaving the customer owing nothing takes
// back what still awaited its payment, as a credit closing the line does),
// and a credit
// of a line whose lost disputes no credit documents yet, that does not say
// whether it documents them, is ErrUndocumentedDispute. Reserves
// hold back part of an earning until a release date: a leaf's (Node.Reserve),
// or a party's rolling reserve (PlanDocument.Reserves), which refunds and lost
// disputes dated before its release draw on first, so what is payable falls
// only by the rest:
//
//	reserves: [{party: reseller-nl, ratio: "10%", days: 90}]
//
// A EUR 100.00 refund of a line that paid reseller-nl 300.00 (30.00 held for
// 90 days) claws back 30.00 and releases the 30.00 held to meet it; the
// scheduled release is lessened by as much (see PartyReserve).
//
// A plan can pay only what the customer paid (payable: on_collection, as
// cloud marketplaces and most channel programs do): every part of its
// lines is held back (KindUncollected) until Settler.Collect reports a
// payment of the invoice (Line.Invoice) or of lines; the same fraction of
// the line then becomes payable to every party (KindCollected), allocated
// by largest remainder so the parties add up to exactly the share paid.
// Settler.WriteOff claws back what will never be paid from what each
// party awaits, so each keeps to the cent what was collected for it (or
// from a bearer, as a credit would); credits come off what awaits payment
// first. A payment of an invoice that also holds lines paid on
// settlement is spread over all its lines in proportion to what each
// owes (LedgerLine.Receivable), those releasing nothing. A leaf's
// reserve on such a plan holds its ratio of what each payment makes
// payable, from the payment until its days after it (a reseller paid
// 20% of 1,000.00 with a 10% reserve for 90 days, paid 600.00 on March
// 10: 108.00 payable, 12.00 reserved until June 8), and of what a
// credit or write-off borne by others makes payable; credits and
// write-offs never draw on it, and a dispute does not hold it again
// (see PayableOnCollection). Rolling reserves
// are refused on such a plan (ErrReserveOnCollection). A
// collection id is applied once (ErrCollectionApplied), and more than is
// owed is ErrOverCollection. Statements show Earned, Collected and
// Awaiting apart, and Payable is only what can be paid. A line of
// EUR 100.00 + 19.00 tax split 25/15/60, paid 50.00 of its 119.00:
//
//	res, _ := s.Settle(ctx, st, []settlement.Line{line}) // payable: on_collection; line.Invoice = "INV-7"
//	paid, _ := s.Collect(res.State, settlement.Collection{ID: "PAY-1", Date: at, Amount: eur50, Invoice: "INV-7"})
//	// 42.02 of the basis payable (100.00 × 50/119): 10.51, 6.30, 25.21
//	lost, _ := s.WriteOff(paid.State, settlement.Collection{ID: "WO-1", Date: later, Amount: eur69, Lines: []settlement.LineID{"L1"}})
//	// the other 57.98 clawed back: 14.49, 8.70, 34.79; nothing awaits any more
//
// Cumulative-volume rates read a partner's volume over a window (a UTC
// calendar year, quarter or month, one figure per partner and period, or
// the rolling twelve months: see Window) in the currency of the
// plan's tiers: a line in another converts at the host's rate in force at
// its date (Config.Rates), which its share text and the State record, and
// a line that finds none is refused (ErrCurrency), never read as a volume
// of zero. A plan lists the currencies it settles; New refuses one listing
// a currency its tiers cannot convert. A share across tiers says what each
// took ("15% of EUR 200.00 + 30% of EUR 300.00 = 24% of EUR 500.00"); a
// cumulative share whose role names nobody follows its node's fallback;
// with volume net_of_credits, credits and lost disputes take back from the
// volume what they reverse of the credited line:
//
//	currencies: [EUR, USD]
//	root:
//	  id: root
//	  children:
//	    - id: bonus
//	      party: reseller
//	      fallback: platform
//	      share: {cumulative: {of: reseller, volume: net_of_credits,
//	              tiers: [{up_to: {amount: "1000.00", currency: EUR}, rate: "10%"}, {rate: "20%"}]}}
//	    - {id: platform, party: platform, share: remaining}
//
//	s, err := settlement.New(settlement.Config{Plans: plans, Network: net, Rates: rates}) // rates: ensemble.ExchangeRates
//
// Statements fold entries per partner, currency and period, with minimum
// payouts rolling balances forward and negative balances carrying; Merge adds
// statements of disjoint shards, so settlement shards across machines.
// Consolidate reports a partner's statements of several currencies in one,
// through the host's dated exchange rates, netting its balances across
// currencies when asked, and PayOutConsolidated pays the result; given the
// previous period's consolidation and the payouts, each opening is carried
// at the rate it was reported at, each payout counts at what it paid, and
// the difference to the period's rate is the period's Revaluation.
// ComputeMetrics, Density and PartnerRetention give ecosystem figures;
// Explain renders a line's settlement as a tree, ExplainEntry an entry's
// path back to its line and rules, and ExplainStatement a statement as the
// entries behind each of its figures.
//
// A State shards: SplitByLine keeps ledger lines and their credits,
// SplitByPartner (or Seed) cumulative volumes, MergeStates merges disjoint
// parts (an overlap is ErrStateOverlap, never a sum) and Prune drops lines
// past the credit window (and then refuses lines dated before it,
// ErrBeforeWindow, so a re-sent old sale is never paid twice). A credit settles against the credited line's
// part alone (with the partner's volumes when the plan's volume is
// net_of_credits), so hosts key sales by seller and credits by the line
// they credit; a part refuses a sale reading a volume it was not split for
// (ErrVolumeNotHeld), so a wrong key fails rather than pays differently:
//
//	shard, err := settlement.MergeStates(prev.Seed(sellers...), prev.SplitByLine(ledgerOfShard))
//	res, err := s.SettleWhatYouCan(ctx, shard, lines) // res.Rejections: the lines that failed
//	next, err := settlement.MergeStates(shardStates...)
//
// SettleWhatYouCan settles what it can and returns the rest as typed
// Rejections, each leaving nothing behind. State.MarshalBinary and
// EncodeEntries write a compact binary form (about 100 bytes per ledger
// line and 60 per entry, against 1.3 KB and 500 of JSON).
//
// Integrity holds by construction. Entry ids are unique across calls (see
// EntryID for their grammar and what keeps it: reserved separators and
// names, a partner once per route), and the settler refuses an id it would
// emit twice. Statements, Merge, ComputeMetrics, PartnerRetention and
// Explain add minor units exactly, in math/big past the int64 range, and
// return every Money error; those that read entries refuse an entry id
// given twice rather than count it twice. Readers follow typed references
// (Entry.Reverses and the RefLine reference that ends Entry.Trace), never
// the spelling of an id. A State records everything a later credit needs (each line's plan
// version and basis kind) and decodes only when every ledger invariant
// holds.
//
// Settlement keeps no clock, store or global state: cumulative volumes and
// the clawback ledger live in State, a value the host persists as JSON.
// (A Settler caches plan levels' decisions and routes between calls; they
// depend only on its own plans, rules and network, so results never depend
// on them. It copies the network's terms when built: when partner terms
// change, build a new Settler, as New says.)
//
// Speed: a Settler compiles each plan once, uses the host's rules as
// compiled, precomputes every partner's snapshots, and keeps each seller's
// route (its chain's snapshots, span by span between the instants any of
// them changes). A level's decision (which party each child pays,
// conditions, weights, fixed amounts, the compiled allocation) is a pure
// function of the route's partners as of the line's date, the rule
// versions in force, the route kind, the currency and exactly the offer,
// route and customer fields its rules read (rules.Rule.Reads), so lines
// that agree on those share it, within a call and across calls; only the
// amounts are split per line, in int64 minor units. Levels whose rules
// read the line itself (its amount, the cumulative volume) decide per
// line, with rules reading only partner, offer, route and customer facts
// still evaluated once per distinct value of the fields they read in the
// call. AppendSettle lets a host settling batch after batch reuse one
// entry buffer.
package settlement

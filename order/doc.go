// Package order keeps one order record from quote to active and through its
// changes: who it is for (Customer), how it was sold (Route: direct,
// marketplace, a partner at the bottom of a chain of any depth, a referral,
// a co-sale), what it sells (Lines pinning offer versions, with quantities,
// add-ons and discounts), its contract Term and Billing anchor — and the
// dated Segments invoicing prorates.
//
// An order is a value changed only by Decide, a pure transition function
// (state, command, instant) -> (new state, events, error). Fold rebuilds the
// state from the events exactly, without the catalog or the network, so a
// host stores events and replays them. Nothing here keeps a clock or a store.
// The first call a newcomer needs:
//
//	env := order.Context{Catalog: cat, Governance: gov} // gov may be nil for a direct order
//	o, events, err := order.Order{}.Decide(ctx, env, order.Command{
//		Kind:  order.CmdCreate,
//		Order: "ord-1",
//		Draft: &order.Draft{
//			Customer: order.Customer{ID: "acme", Country: "NL", TaxStatus: order.ReverseCharge, TaxID: "NL123B01"},
//			Route:    partner.Route{Seller: "reseller-nl"},
//			Lines:    []order.Line{{ID: "l1", Pin: catalog.Pin{Offer: "suite"}, Quantity: decimal.NewFromInt(10)}},
//		},
//	}, now)
//	o, more, err := o.Decide(ctx, env, order.Command{Kind: order.CmdQuote, ExpiresAt: now.AddDate(0, 0, 30)}, now)
//
// A route naming partners (a seller, a marketplace, a referrer) needs a
// Governance to check them, even when no partner program has rules: build
// one with an empty rule set, partner.NewGovernance(net, nil, env, set)
// where set, _ := env.NewRuleSet() and env, _ := partner.Env().
//
// # Lifecycle
//
//	draft -> quoted -> accepted -> activating -> active <-> suspended -> cancelled | terminated
//	           \-> expired -> (revise) draft
//
// Quoting checks every line at the quote's instant and pins the offer
// version in force, whose price then holds: the seller, and each co-seller
// (who shares in the sale), may sell the offer to the customer
// (partner.Governance.CanSell), the version is in force, the
// quantity and each add-on's quantity lie within the catalog's bounds (and
// are integers for an offer declaring catalog.QuantityWhole, else
// ErrFractionalQuantity), each
// add-on attaches to its offer, every line and add-on is priced in the
// order's currency (Draft.Currency; when empty the first line by ID sets
// it, its offer's Currency; a line in another is ErrCurrency naming that
// line, wrapping a *catalog.CurrencyError that lists the currencies of an
// offer priced in several, catalog price books),
// and a discount is either within the seller's allowance
// (partner.Governance.DiscountAllowance) or covered by an approved price
// exception (partner.Approval), and names only charges of its line's offer
// and add-ons when limited to some (Discount.Charges, ErrDiscountCharge). Every problem is reported at once in an
// *ensemble.ValidationError with paths such as lines[2].quantity, which
// index the order's Lines, sorted by ID, and not the draft as written (a
// draft with lines [jp, de] has them as [de, jp]); each names its line's
// ID too. Accepting
// checks the expiry and that the seller may still sell, and captures the
// seller's chain (partner.Network.Chain) into the route.
//
// Activation opens one Task per bundle component, for its supplier (one per
// product line, for the platform): pending -> done | failed, retried up to
// MaxAttempts, each failure an Exception that stays open until the task is
// done. The last task done activates the order and opens the segments.
//
// # Changes and segments
//
// While active, a change (quantity, another offer or version, an add-on
// attached or detached, a line added or removed) takes effect at an instant
// and splits the line's current segment there (a line added opens its first
// segment; a line removed leaves Lines and keeps its ended segments, and one
// removed back to its start, which keeps none, is recorded in Removed). Changes
// are checked as a quote is, at their effective instant (a change that
// sells more, another offer, a quantity increase, an add-on or a line,
// needs sellers who may make the sale then; one that sells less, none),
// which may be back-dated to the start of the line's current segment or future-dated. A cancellation takes effect at the end of the
// billing period (scheduled, then completed with CmdCompleteCancellation,
// or withdrawn before then with CmdRevokeCancellation) or immediately;
// either ends every line's last segment, and drops a segment a future-dated
// change would have opened after the stop. Segments are sorted by
// line ID then start, contiguous per line, never empty, and their IDs
// ("line/n") never change. SegmentsIn clips them to an invoice period.
//
// # Cycle times
//
// Order.CycleTimes and Measure (from events alone) give quote to order,
// order to activation, and activation exceptions opened and still open;
// Summarize folds many orders' into counts, means and percentiles.
//
// # JSON
//
// Orders, commands and events round-trip through encoding/json with
// snake_case fields, decimals and ratios as strings and enums as lowercase
// names; DecodeCommand, DecodeOrder and DecodeEvents read them strictly.
// Hosts store the events and rebuild with Fold.
//
// # What other packages read
//
// Invoicing reads, per line, the Segments (or SegmentsIn a period): each
// with its pin, quantity, add-ons, discount and the line's own anchor and
// term (LineTerms: a line can be billed on its own anniversaries, its anchor
// recorded at its activation), and when the events that opened and ended
// it were recorded (Segment.Recorded, Segment.EndRecorded: a change
// back-dated into a period a run already billed is caught up by the next
// run), and the lines removed back to their start (Removed); plus Billing (anchor, time
// zone), Term (TermAt), ActivatedAt, Cancellation (mode, effective instant,
// WithinTerm) and Suspensions. Settlement reads the Route (a
// partner.Route: its Kind, seller, each upline level of the captured Chain,
// marketplace, referrer, co-sellers with weights) and the Customer. Usage keys records by
// LineRef and takes LinePeriod as a line's active period.
package order

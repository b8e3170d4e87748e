package order

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
)

// Decide applies cmd to the order at instant at: it checks the command
// against the order's status and, where the command needs them, against the
// catalog and governance in env, and returns the new state and the events
// that record the transition. Decide is pure: the same order, env, command
// and instant give the same result, and o itself is never modified (the new
// order may share unchanged nested slices with o: treat orders as values and
// change them only through Decide).
//
// A refused command returns o unchanged, no events, and a *TransitionError
// that wraps the reason: ErrInvalidTransition for a command the status does
// not allow, ErrOutOfOrder for an instant before the last event, or an
// *ensemble.ValidationError listing every problem found (each a
// *LineError or a condition such as ErrQuantity, ErrCannotSell,
// ErrDiscountNotApproved, ErrNotInForce, ErrNotAttachable, ErrQuoteExpired).
//
// ctx bounds the partner rules the governance evaluates.
func (o Order) Decide(ctx context.Context, env Context, cmd Command, at time.Time) (Order, []Event, error) {
	at = at.UTC()
	fail := func(err error) (Order, []Event, error) {
		id := o.ID
		if id == "" { // a create names the order it would create
			id = cmd.Order
		}
		return o, nil, &TransitionError{Order: id, Status: o.Status, Command: cmd.Kind, At: at, Err: err}
	}
	if at.IsZero() {
		return fail(fmt.Errorf("%w: the instant is zero", ErrRequired))
	}
	if at.Before(o.UpdatedAt) {
		return fail(fmt.Errorf("%w: %s is before the last event at %s", ErrOutOfOrder, at.Format(time.RFC3339), o.UpdatedAt.Format(time.RFC3339)))
	}
	if err := checkFields(cmd); err != nil {
		return fail(err)
	}
	if !allowed(o.Status, cmd.Kind) {
		return fail(ErrInvalidTransition)
	}
	d := decider{o: &o, env: env, cmd: cmd, at: at, ctx: ctx}
	if d.ctx == nil {
		d.ctx = context.Background()
	}
	evs, err := d.decide()
	if err != nil {
		return fail(err)
	}
	next := o.clone()
	for i := range evs {
		evs[i].Order = next.ID
		if evs[i].Kind == EventCreated {
			evs[i].Order = cmd.Order
		}
		evs[i].Seq = next.Events + 1
		evs[i].At, evs[i].Actor = at, cmd.Actor
		if evs[i].Reason == "" {
			evs[i].Reason = cmd.Reason
		}
		evs[i].From = next.Status
		next.apply(&evs[i])
	}
	return next, evs, nil
}

// allowed is the lifecycle's transition table: which commands each status
// accepts. Commands may still be refused by their checks.
func allowed(s Status, k CommandKind) bool {
	switch k {
	case CmdCreate:
		return s == StatusNone
	case CmdRevise:
		return s == StatusDraft || s == StatusQuoted || s == StatusExpired
	case CmdQuote:
		return s == StatusDraft
	case CmdExpireQuote, CmdAccept:
		return s == StatusQuoted
	case CmdBeginActivation:
		return s == StatusAccepted
	case CmdCompleteTask, CmdFailTask, CmdRetryTask:
		return s == StatusActivating
	case CmdSuspend, CmdChange:
		return s == StatusActive
	case CmdResume:
		return s == StatusSuspended
	case CmdCancel:
		return s >= StatusDraft && !s.Final()
	case CmdCompleteCancellation, CmdRevokeCancellation:
		return s == StatusActive || s == StatusSuspended
	case CmdTerminate:
		return s == StatusActivating || s == StatusActive || s == StatusSuspended
	}
	return false
}

// checkFields rejects fields the command's kind does not use, so that a
// misdirected field is never silently ignored, and reports the fields it
// needs and lacks.
func checkFields(c Command) error {
	var p ensemble.Problems
	k := c.Kind
	if k == CmdUnspecified || int(k) >= len(commandKindNames) {
		p.Add("kind", fmt.Errorf("%w: command kind %s", ErrInvalid, k))
		return p.Err("command")
	}
	isTask := k == CmdCompleteTask || k == CmdFailTask || k == CmdRetryTask
	for _, f := range []struct {
		name         string
		set          bool
		used, needed bool
	}{
		{"order", c.Order != "", k == CmdCreate, k == CmdCreate},
		{"draft", c.Draft != nil, k == CmdCreate || k == CmdRevise, k == CmdCreate || k == CmdRevise},
		{"expires_at", !c.ExpiresAt.IsZero(), k == CmdQuote, k == CmdQuote},
		{"task", c.Task != "", isTask, isTask},
		{"max_attempts", c.MaxAttempts != 0, k == CmdBeginActivation, false},
		{"change", c.Change != nil, k == CmdChange, k == CmdChange},
		{"cancel", c.Cancel != nil, k == CmdCancel || k == CmdTerminate, false},
		{"reason", c.Reason != "", true, k == CmdFailTask},
	} {
		switch {
		case f.set && !f.used:
			p.Add(f.name, fmt.Errorf("%w: %s does not use %s", ErrNotAllowed, k, f.name))
		case !f.set && f.needed:
			p.Add(f.name, fmt.Errorf("%w: %s needs %s", ErrRequired, k, f.name))
		}
	}
	if c.MaxAttempts < 0 || c.MaxAttempts > MaxAttemptsLimit {
		p.Add("max_attempts", fmt.Errorf("%w: max attempts %d outside [0, %d]", ErrInvalid, c.MaxAttempts, MaxAttemptsLimit))
	}
	if c.Cancel != nil && int(c.Cancel.Mode) >= len(cancelModeNames) {
		p.Add("cancel.mode", fmt.Errorf("%w: cancel mode %d", ErrInvalid, c.Cancel.Mode))
	}
	return p.Err("command " + k.String())
}

type decider struct {
	ctx context.Context
	o   *Order
	env Context
	cmd Command
	at  time.Time
}

func (d *decider) decide() ([]Event, error) {
	switch d.cmd.Kind {
	case CmdCreate:
		return d.create()
	case CmdRevise:
		return d.revise()
	case CmdQuote:
		return d.quote()
	case CmdExpireQuote:
		if d.at.Before(d.o.ExpiresAt) {
			return nil, fmt.Errorf("%w: expires at %s", ErrNotExpired, d.o.ExpiresAt.Format(time.RFC3339))
		}
		return []Event{{Kind: EventQuoteExpired, To: StatusExpired}}, nil
	case CmdAccept:
		return d.accept()
	case CmdBeginActivation:
		return d.beginActivation()
	case CmdCompleteTask, CmdFailTask, CmdRetryTask:
		return d.task()
	case CmdSuspend:
		return []Event{{Kind: EventSuspended, To: StatusSuspended}}, nil
	case CmdResume:
		return []Event{{Kind: EventResumed, To: StatusActive}}, nil
	case CmdChange:
		return d.change()
	case CmdCancel:
		return d.cancel()
	case CmdCompleteCancellation:
		c := d.o.Cancellation
		if c == nil {
			return nil, fmt.Errorf("%w: no cancellation is scheduled", ErrCancellation)
		}
		if d.at.Before(c.EffectiveAt) {
			return nil, fmt.Errorf("%w: the cancellation takes effect at %s", ErrCancellation, c.EffectiveAt.Format(time.RFC3339))
		}
		cc := *c
		return []Event{{Kind: EventCancelled, To: StatusCancelled, Cancellation: &cc}}, nil
	case CmdTerminate:
		return d.terminate()
	case CmdRevokeCancellation:
		c := d.o.Cancellation
		if c == nil {
			return nil, fmt.Errorf("%w: no cancellation is scheduled", ErrCancellation)
		}
		if !d.at.Before(c.EffectiveAt) {
			return nil, fmt.Errorf("%w: the cancellation took effect at %s", ErrCancellation, c.EffectiveAt.Format(time.RFC3339))
		}
		cc := *c
		return []Event{{Kind: EventCancellationRevoked, To: d.o.Status, Cancellation: &cc}}, nil
	}
	return nil, ErrInvalidTransition
}

func (d *decider) create() ([]Event, error) {
	var p ensemble.Problems
	if err := checkID("order id", string(d.cmd.Order)); err != nil {
		p.Add("order", err)
	}
	n := checkDraft(&p, d.cmd.Draft)
	if err := p.Err(fmt.Sprintf("order %q", d.cmd.Order)); err != nil {
		return nil, err
	}
	return []Event{{Kind: EventCreated, To: StatusDraft, Draft: &n}}, nil
}

func (d *decider) revise() ([]Event, error) {
	var p ensemble.Problems
	n := checkDraft(&p, d.cmd.Draft)
	if err := p.Err(fmt.Sprintf("order %q", d.o.ID)); err != nil {
		return nil, err
	}
	return []Event{{Kind: EventRevised, To: StatusDraft, Draft: &n}}, nil
}

func (d *decider) quote() ([]Event, error) {
	c := checker{ctx: d.ctx, env: d.env, order: d.o, now: d.at}
	if !d.cmd.ExpiresAt.After(d.at) {
		c.p.Add("expires_at", fmt.Errorf("%w: the quote expires at %s, not after its instant %s", ErrInvalid,
			d.cmd.ExpiresAt.UTC().Format(time.RFC3339), d.at.Format(time.RFC3339)))
	}
	chain := c.checkParties(d.at)
	if !c.needCatalog() {
		return nil, c.p.Err(fmt.Sprintf("order %q", d.o.ID))
	}
	lines := make([]Line, len(d.o.Lines))
	// The first line (by ID) whose offer resolves sets the order's
	// currency; a line in another is refused, saying which line set it.
	// Paths index the order's lines, which are sorted by ID, not the
	// draft's.
	// A draft that names its currency (Draft.Currency) sets it instead,
	// and every line's offer must be priced in it (a price book).
	currency, setBy := d.o.Currency, "the draft"
	for i, l := range d.o.Lines {
		path := ensemble.Path("lines", i)
		pinned, off, ok := c.checkLine(path, l, d.at, currency)
		lines[i] = pinned
		if off.ID == "" {
			continue
		}
		if currency == "" {
			currency = off.Currency
			setBy = fmt.Sprintf("line %q (%s, %s; the first by ID: an order's lines are sorted by ID)", l.ID, path, off.Pin())
		} else if key, err := c.pricedIn(&off, currency); err != nil {
			if len(off.Currencies) == 0 {
				err = fmt.Errorf("%w: %s is in %s, but the order is in %s, set by %s", ErrCurrency, off.Pin(), off.Currency, currency, setBy)
			} else {
				err = fmt.Errorf("%w: %w, but the order is in %s, set by %s", ErrCurrency, err, currency, setBy)
			}
			c.line(path+".pin", l.ID, "", err) // the error names the currencies
		} else {
			currency = key
		}
		if ok {
			c.checkSale(path+".pin", l, &off, d.at)
		}
		lines[i].Discount = c.checkDiscount(path+".discount", l, &off, d.at)
		c.checkFeeUnits(path+".terms.term", l.ID, l.Terms.Term.EarlyTermination, currency)
	}
	c.checkFeeUnits("term", "", d.o.Term.EarlyTermination, currency)
	if err := c.p.Err(fmt.Sprintf("order %q", d.o.ID)); err != nil {
		return nil, err
	}
	return []Event{{Kind: EventQuoted, To: StatusQuoted, Lines: lines, Currency: currency, Chain: chain, ExpiresAt: d.cmd.ExpiresAt.UTC()}}, nil
}

func (d *decider) accept() ([]Event, error) {
	if !d.at.Before(d.o.ExpiresAt) {
		return nil, fmt.Errorf("%w: quote of order %q expired at %s", ErrQuoteExpired, d.o.ID, d.o.ExpiresAt.Format(time.RFC3339))
	}
	c := checker{ctx: d.ctx, env: d.env, order: d.o, now: d.at}
	chain := c.checkParties(d.at)
	if sellingPartner(d.o.Route) != "" && c.env.Governance != nil && c.needCatalog() {
		// The seller must still be allowed to sell at acceptance (it may
		// have been suspended since the quote); the pinned versions hold.
		for i, l := range d.o.Lines {
			off, err := d.env.Catalog.Offer(l.Pin)
			if err != nil {
				c.line(ensemble.Path("lines", i, "pin"), l.ID, l.Pin.String(), lookupErr(err, l.Pin))
				continue
			}
			c.checkSale(ensemble.Path("lines", i, "pin"), l, &off, d.at)
		}
	}
	if err := c.p.Err(fmt.Sprintf("order %q", d.o.ID)); err != nil {
		return nil, err
	}
	return []Event{{Kind: EventAccepted, To: StatusAccepted, Chain: chain}}, nil
}

func (d *decider) beginActivation() ([]Event, error) {
	c := checker{ctx: d.ctx, env: d.env, order: d.o, now: d.at}
	if !c.needCatalog() {
		return nil, c.p.Err(fmt.Sprintf("order %q", d.o.ID))
	}
	maxAttempts := d.cmd.MaxAttempts
	if maxAttempts == 0 {
		maxAttempts = DefaultMaxAttempts
	}
	var tasks []Task
	for i, l := range d.o.Lines {
		off, err := d.env.Catalog.Offer(l.Pin)
		if err != nil {
			c.line(ensemble.Path("lines", i, "pin"), l.ID, l.Pin.String(), lookupErr(err, l.Pin))
			continue
		}
		base := Task{Line: l.ID, Status: TaskPending, Attempts: 1, MaxAttempts: maxAttempts, UpdatedAt: d.at}
		if off.Kind != catalog.Bundle || len(off.Components) == 0 {
			base.ID = TaskID(l.ID)
			tasks = append(tasks, base)
			continue
		}
		for _, comp := range off.Components {
			t := base
			t.ID = TaskID(string(l.ID) + "/" + string(comp.Offer) + "/" + comp.Supplier)
			t.Component, t.Supplier = comp.Offer, partnerID(comp.Supplier)
			t.Ref = l.Pin.ComponentRef(comp.Offer, comp.Supplier)
			tasks = append(tasks, t)
		}
	}
	if err := c.p.Err(fmt.Sprintf("order %q", d.o.ID)); err != nil {
		return nil, err
	}
	slices.SortFunc(tasks, func(a, b Task) int { return strings.Compare(string(a.ID), string(b.ID)) })
	tasks = slices.CompactFunc(tasks, func(a, b Task) bool { return a.ID == b.ID })
	return []Event{{Kind: EventActivationStarted, To: StatusActivating, Tasks: tasks}}, nil
}

func (d *decider) task() ([]Event, error) {
	i := d.o.taskIndex(d.cmd.Task)
	if i < 0 {
		return nil, fmt.Errorf("%w: task %q of order %q", ErrUnknown, cut(string(d.cmd.Task)), d.o.ID)
	}
	t := d.o.Tasks[i]
	switch d.cmd.Kind {
	case CmdCompleteTask:
		if t.Status == TaskDone {
			return nil, fmt.Errorf("%w: task %q is already done", ErrInvalidTransition, t.ID)
		}
		evs := []Event{{Kind: EventTaskCompleted, To: StatusActivating, Task: t.ID}}
		if d.o.pendingTasks() == 1 {
			evs = append(evs, Event{Kind: EventActivated, To: StatusActive})
		}
		return evs, nil
	case CmdFailTask:
		if t.Status != TaskPending {
			return nil, fmt.Errorf("%w: task %q is %s, not pending", ErrInvalidTransition, t.ID, t.Status)
		}
		return []Event{{Kind: EventTaskFailed, To: StatusActivating, Task: t.ID}}, nil
	default: // CmdRetryTask
		if t.Status != TaskFailed {
			return nil, fmt.Errorf("%w: task %q is %s, not failed", ErrInvalidTransition, t.ID, t.Status)
		}
		if t.Attempts >= t.MaxAttempts {
			return nil, fmt.Errorf("%w: task %q made %d of %d attempts", ErrRetriesExhausted, t.ID, t.Attempts, t.MaxAttempts)
		}
		return []Event{{Kind: EventTaskRetried, To: StatusActivating, Task: t.ID}}, nil
	}
}

// lastStart is the latest segment start of a line (of any line for ""):
// no change may take effect before it.
func (o *Order) lastStart(line LineID) time.Time {
	var t time.Time
	for i := range o.Segments {
		s := &o.Segments[i]
		if (line == "" || s.Line == line) && s.Start.After(t) {
			t = s.Start
		}
	}
	return t
}

func (d *decider) change() ([]Event, error) {
	ch := *d.cmd.Change
	subject := fmt.Sprintf("order %q change", d.o.ID)
	var p ensemble.Problems
	if ch.Kind == ChangeUnspecified || int(ch.Kind) >= len(changeKindNames) {
		p.Add("change.kind", fmt.Errorf("%w: change kind %s", ErrInvalid, ch.Kind))
		return nil, p.Err(subject)
	}
	if ch.EffectiveAt.IsZero() {
		ch.EffectiveAt = d.at
	}
	ch.EffectiveAt = ch.EffectiveAt.UTC()
	if ch.Kind == ChangeAddLine {
		return d.addLine(ch, subject)
	}
	li := slices.IndexFunc(d.o.Lines, func(l Line) bool { return l.ID == ch.Line })
	if li < 0 {
		p.Add("change.line", fmt.Errorf("%w: line %q of order %q", ErrUnknown, cut(string(ch.Line)), d.o.ID))
		return nil, p.Err(subject)
	}
	l := d.o.Lines[li]
	if ch.Kind == ChangeRemoveLine && len(d.o.Lines) == 1 {
		p.Add("change.line", fmt.Errorf("%w: line %q is the order's last; cancel the order instead", ErrInvalid, l.ID))
	}
	if start := d.o.lastStart(ch.Line); ch.EffectiveAt.Before(start) {
		p.Add("change.effective_at", fmt.Errorf("%w: line %q changed at %s; a change cannot take effect before, at %s",
			ErrOutOfOrder, l.ID, start.Format(time.RFC3339), ch.EffectiveAt.Format(time.RFC3339)))
	}
	if c := d.o.Cancellation; c != nil && !ch.EffectiveAt.Before(c.EffectiveAt) {
		p.Add("change.effective_at", fmt.Errorf("%w: the order stops at %s", ErrCancellation, c.EffectiveAt.Format(time.RFC3339)))
	}
	forbid := func(field string, set bool) {
		if set {
			p.Add("change."+field, fmt.Errorf("%w: a %s change does not use %s", ErrNotAllowed, ch.Kind, field))
		}
	}
	forbid("quantity", (ch.Kind == ChangeOffer || ch.Kind == ChangeRemoveAddOn || ch.Kind == ChangeRemoveLine) && !ch.Quantity.IsZero())
	forbid("pin", (ch.Kind == ChangeQuantity || ch.Kind == ChangeRemoveAddOn || ch.Kind == ChangeRemoveLine) && ch.Pin != (catalog.Pin{}))
	forbid("add_on", ch.Kind != ChangeRemoveAddOn && ch.AddOn != "")
	forbid("add_ons", len(ch.AddOns) > 0)
	forbid("discount", ch.Kind != ChangeOffer && ch.Discount != nil)
	forbid("terms", !ch.Terms.IsZero())
	if p.Len() > 0 {
		return nil, p.Err(subject)
	}
	c := checker{ctx: d.ctx, env: d.env, order: d.o, now: d.at}
	if !c.needCatalog() {
		return nil, c.p.Err(subject)
	}
	switch ch.Kind {
	case ChangeQuantity:
		if err := checkQuantity(ch.Quantity, true); err != nil {
			c.line("change.quantity", l.ID, ch.Quantity.String(), err)
		} else if err := d.env.Catalog.CheckQuantity(l.Pin, ch.Quantity); err != nil {
			c.line("change.quantity", l.ID, ch.Quantity.String(), catalogErr(err))
		} else if ch.Quantity.GreaterThan(l.Quantity) {
			// More of the line is a sale: its sellers must be able to
			// make it then, as a quote's (a decrease needs no seller).
			if off, err := d.env.Catalog.Offer(l.Pin); err == nil {
				c.checkSale("change.quantity", l, &off, ch.EffectiveAt)
			}
		}
	case ChangeOffer:
		checkPin(&c.p, "change.pin", ch.Pin)
		if ch.Discount != nil {
			checkDiscountRatio(&c.p, "change.discount.ratio", l.ID, ch.Discount.Ratio)
			checkDiscountEntries(&c.p, "change.discount", l.ID, *ch.Discount)
		}
		if c.p.Len() > 0 {
			break
		}
		next := l
		next.Pin = ch.Pin
		if ch.Discount != nil {
			next.Discount = *ch.Discount
		}
		pinned, off, ok := c.checkLine("change", next, ch.EffectiveAt, d.o.Currency)
		if off.ID == "" {
			break
		}
		c.checkOrderCurrency(l.ID, &off)
		if pinned.Pin == l.Pin {
			c.line("change.pin", l.ID, l.Pin.String(), fmt.Errorf("%w: the line is already on %s", ErrInvalid, l.Pin))
		}
		if ok {
			c.checkSale("change.pin", next, &off, ch.EffectiveAt)
		}
		disc := c.checkDiscount("change.discount", next, &off, ch.EffectiveAt)
		ch.Pin = pinned.Pin
		ch.Discount = &disc
	case ChangeAddAddOn:
		checkPin(&c.p, "change.pin", ch.Pin)
		if err := checkQuantity(ch.Quantity, false); err != nil {
			c.line("change.quantity", l.ID, ch.Quantity.String(), err)
		}
		if c.p.Len() > 0 {
			break
		}
		if ch.Quantity.IsZero() {
			ch.Quantity = decimal.NewFromInt(1)
		}
		ao, err := resolvePin(d.env.Catalog, ch.Pin, ch.EffectiveAt)
		if err != nil {
			c.line("change.pin", l.ID, ch.Pin.String(), err)
			break
		}
		ch.Pin = ao.Pin()
		if _, err := c.pricedIn(&ao, d.o.Currency); err != nil {
			if len(ao.Currencies) == 0 {
				err = fmt.Errorf("%w: add-on %s in %s, the order in %s", ErrCurrency, ao.Pin(), ao.Currency, d.o.Currency)
			} else {
				err = fmt.Errorf("%w: add-on: %w, the order in %s", ErrCurrency, err, d.o.Currency)
			}
			c.line("change.pin", l.ID, "", err) // the error names the currencies
		}
		if err := d.env.Catalog.CheckAttach(ch.Pin, l.Pin, ch.Quantity); err != nil {
			c.line("change.pin", l.ID, ch.Pin.String()+" x "+ch.Quantity.String(), catalogErr(err))
		}
		c.checkSale("change.pin", l, &ao, ch.EffectiveAt) // an add-on is a sale, as a quote's
	case ChangeRemoveAddOn:
		if !slices.ContainsFunc(l.AddOns, func(a AddOn) bool { return a.Pin.Offer == ch.AddOn }) {
			c.line("change.add_on", l.ID, string(ch.AddOn), fmt.Errorf("%w: the line has no add-on %q", ErrUnknown, ch.AddOn))
		}
	}
	if err := c.p.Err(subject); err != nil {
		return nil, err
	}
	return []Event{{Kind: EventChanged, To: StatusActive, Change: &ch}}, nil
}

// addLine checks a line added while active, as a quote checks one, at the
// change's instant.
func (d *decider) addLine(ch Change, subject string) ([]Event, error) {
	var p ensemble.Problems
	if err := checkID("line id", string(ch.Line)); err != nil {
		p.Add("change.line", err)
	} else if slices.ContainsFunc(d.o.Lines, func(l Line) bool { return l.ID == ch.Line }) ||
		slices.ContainsFunc(d.o.Segments, func(s Segment) bool { return s.Line == ch.Line }) ||
		slices.ContainsFunc(d.o.Removed, func(r Removal) bool { return r.Line == ch.Line }) {
		p.Add("change.line", fmt.Errorf("%w: line %q is or was on order %q", ErrDuplicate, ch.Line, d.o.ID))
	}
	if ch.EffectiveAt.Before(d.o.ActivatedAt) {
		p.Add("change.effective_at", fmt.Errorf("%w: the order activated at %s; a line cannot start before, at %s",
			ErrOutOfOrder, d.o.ActivatedAt.Format(time.RFC3339), ch.EffectiveAt.Format(time.RFC3339)))
	}
	if c := d.o.Cancellation; c != nil && !ch.EffectiveAt.Before(c.EffectiveAt) {
		p.Add("change.effective_at", fmt.Errorf("%w: the order stops at %s", ErrCancellation, c.EffectiveAt.Format(time.RFC3339)))
	}
	if ch.AddOn != "" {
		p.Add("change.add_on", fmt.Errorf("%w: a %s change does not use add_on", ErrNotAllowed, ch.Kind))
	}
	l := Line{ID: ch.Line, Pin: ch.Pin, Quantity: ch.Quantity, AddOns: ch.AddOns, Terms: ch.Terms}
	if ch.Discount != nil {
		l.Discount = Discount{Ratio: ch.Discount.Ratio, Approval: ch.Discount.Approval, Charges: ch.Discount.Charges}
	}
	// The structural checks of a draft line, with paths under "change".
	var dp ensemble.Problems
	checked := checkDraft(&dp, &Draft{Customer: d.o.Customer, Route: d.o.Route, Lines: []Line{l}})
	for _, fe := range problemsOf(dp.Err("")) {
		if path, ok := strings.CutPrefix(fe.Path, "lines[0]"); ok {
			p.Add("change"+path, fe.Err)
		}
	}
	if p.Len() > 0 {
		return nil, p.Err(subject)
	}
	l = checked.Lines[0]
	ch.Terms = l.Terms
	c := checker{ctx: d.ctx, env: d.env, order: d.o, now: d.at}
	if !c.needCatalog() {
		return nil, c.p.Err(subject)
	}
	pinned, off, ok := c.checkLine("change", l, ch.EffectiveAt, d.o.Currency)
	c.checkFeeUnits("change.terms.term", l.ID, l.Terms.Term.EarlyTermination, d.o.Currency)
	if off.ID != "" {
		c.checkOrderCurrency(l.ID, &off)
		if ok {
			c.checkSale("change.pin", l, &off, ch.EffectiveAt)
		}
		disc := c.checkDiscount("change.discount", l, &off, ch.EffectiveAt)
		ch.Pin, ch.AddOns, ch.Quantity = pinned.Pin, pinned.AddOns, pinned.Quantity
		ch.Discount = &disc
	}
	if err := c.p.Err(subject); err != nil {
		return nil, err
	}
	return []Event{{Kind: EventChanged, To: StatusActive, Change: &ch}}, nil
}

// problemsOf returns the problems of a *ensemble.ValidationError.
func problemsOf(err error) []*ensemble.FieldError {
	var ve *ensemble.ValidationError
	if errors.As(err, &ve) {
		return ve.Problems
	}
	return nil
}

// periodEnd returns the end of the billing period holding t.
func (o *Order) periodEnd(t time.Time) (time.Time, error) {
	anchor := o.Billing.Anchor
	if anchor.IsZero() {
		anchor = o.ActivatedAt
	}
	p, _, err := o.Billing.cadence().PeriodAt(anchor, t, o.Billing.Location())
	if err != nil {
		return time.Time{}, err
	}
	return p.End.UTC(), nil
}

// stopAt builds the cancellation or termination of a running order.
func (d *decider) stopAt(mode CancelMode) (*Cancellation, error) {
	c := &Cancellation{Mode: mode, RequestedAt: d.at, Actor: d.cmd.Actor, Reason: d.cmd.Reason}
	switch {
	case mode == AtPeriodEnd:
		end, err := d.o.periodEnd(d.at)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		c.EffectiveAt = end
	case d.cmd.Cancel != nil && !d.cmd.Cancel.EffectiveAt.IsZero():
		c.EffectiveAt = d.cmd.Cancel.EffectiveAt.UTC()
		if c.EffectiveAt.After(d.at) {
			return nil, fmt.Errorf("%w: an immediate stop cannot take effect later, at %s; schedule a cancellation at period end",
				ErrInvalid, c.EffectiveAt.Format(time.RFC3339))
		}
	default:
		c.EffectiveAt = d.at
	}
	if c.EffectiveAt.Before(d.o.ActivatedAt) {
		return nil, fmt.Errorf("%w: the order activated at %s; it cannot stop before, at %s", ErrOutOfOrder,
			d.o.ActivatedAt.Format(time.RFC3339), c.EffectiveAt.Format(time.RFC3339))
	}
	if prev := d.o.Cancellation; prev != nil && c.EffectiveAt.After(prev.EffectiveAt) {
		if mode == AtPeriodEnd {
			return nil, fmt.Errorf("%w: already scheduled for %s", ErrCancellation, prev.EffectiveAt.Format(time.RFC3339))
		}
		// The lines already stop at the scheduled instant; an immediate
		// stop after it cannot extend them.
		c.EffectiveAt = prev.EffectiveAt
	}
	if p, ok := d.o.TermAt(c.EffectiveAt); ok && (c.EffectiveAt.After(p.Start) || c.EffectiveAt.Equal(d.o.ActivatedAt)) {
		c.WithinTerm = true
	}
	return c, nil
}

func (d *decider) cancel() ([]Event, error) {
	if d.o.Status != StatusActive && d.o.Status != StatusSuspended {
		// Abandoned before activation: nothing was billed.
		if d.cmd.Cancel != nil {
			return nil, fmt.Errorf("%w: an order that is %s is abandoned at once; cancel takes no mode", ErrNotAllowed, d.o.Status)
		}
		return []Event{{Kind: EventCancelled, To: StatusCancelled, Cancellation: &Cancellation{
			Mode: Immediately, RequestedAt: d.at, EffectiveAt: d.at, Actor: d.cmd.Actor, Reason: d.cmd.Reason}}}, nil
	}
	mode := AtPeriodEnd
	if d.cmd.Cancel != nil {
		mode = d.cmd.Cancel.Mode
		if mode == AtPeriodEnd && !d.cmd.Cancel.EffectiveAt.IsZero() {
			return nil, fmt.Errorf("%w: a cancellation at period end takes no effective_at", ErrNotAllowed)
		}
	}
	c, err := d.stopAt(mode)
	if err != nil {
		return nil, err
	}
	if mode == Immediately || !c.EffectiveAt.After(d.at) {
		return []Event{{Kind: EventCancelled, To: StatusCancelled, Cancellation: c}}, nil
	}
	if d.o.Cancellation != nil {
		return nil, fmt.Errorf("%w: already scheduled for %s", ErrCancellation, d.o.Cancellation.EffectiveAt.Format(time.RFC3339))
	}
	return []Event{{Kind: EventCancellationScheduled, To: d.o.Status, Cancellation: c}}, nil
}

func (d *decider) terminate() ([]Event, error) {
	if d.cmd.Cancel != nil && d.cmd.Cancel.Mode != Immediately {
		return nil, fmt.Errorf("%w: a termination is immediate", ErrNotAllowed)
	}
	if d.o.Status == StatusActivating {
		return []Event{{Kind: EventTerminated, To: StatusTerminated, Cancellation: &Cancellation{
			Mode: Immediately, RequestedAt: d.at, EffectiveAt: d.at, Actor: d.cmd.Actor, Reason: d.cmd.Reason, ByPlatform: true}}}, nil
	}
	c, err := d.stopAt(Immediately)
	if err != nil {
		return nil, err
	}
	c.ByPlatform = true
	return []Event{{Kind: EventTerminated, To: StatusTerminated, Cancellation: c}}, nil
}

// checkOrderCurrency reports, at change.pin, a line's offer that is not
// priced in the order's currency.
func (c *checker) checkOrderCurrency(id LineID, off *catalog.Offer) {
	cur := c.order.Currency
	_, err := c.pricedIn(off, cur)
	switch {
	case err == nil:
		return
	case len(off.Currencies) == 0:
		err = fmt.Errorf("%w: %s is in %s, the order in %s", ErrCurrency, off.Pin(), off.Currency, cur)
	default:
		err = fmt.Errorf("%w: %w, the order in %s", ErrCurrency, err, cur)
	}
	c.line("change.pin", id, "", err) // the error names the currencies
}

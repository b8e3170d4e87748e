package settlement_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/order"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// TestFromInvoiceRefusesAnotherOrdersLines: a host that looks the order of an
// invoice up by the wrong key passes FromInvoice another order. The lines say
// whose they are (invoice.Line.Customer, and the order they bill in their
// trace, order.RefOrder): settled under the other order's route, its referrer
// earned the commission of the right one (the telco trial: agent2 paid PLN
// 540.00 + 670.80 that were agent's). The lines are refused instead, naming
// the line, what it says and what the order says; a hand-filled order
// (order.Order{Customer, Route}, no ID) and lines without a customer or order
// trace are converted as before.
func TestFromInvoiceRefusesAnotherOrdersLines(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	line := invoice.Line{ID: "inv-1/l1", Date: at, Customer: "gmbh-berlin", Pin: catalog.Pin{Offer: "secure-office", Version: 1},
		Charge: "sites", Net: ensemble.MustMoney("8388.00", "PLN"), Tax: ensemble.MustMoney("0.00", "PLN"),
		Period: ensemble.Period{Start: at, End: at.AddDate(0, 1, 0)},
		Refs:   []ensemble.Ref{{Kind: "offer", ID: "secure-office", Version: "1"}, order.ID("ord-1").Ref()}}
	right := order.Order{ID: "ord-1", Customer: order.Customer{ID: "gmbh-berlin", Country: "DE"}, Route: partner.Route{Referrer: "agent"}}

	got, err := settlement.FromInvoice([]invoice.Line{line}, right)
	require.NoError(t, err)
	require.Equal(t, partner.ID("agent"), got[0].Route.Referrer)

	for name, o := range map[string]order.Order{
		"another order of the customer": {ID: "ord-2", Customer: right.Customer, Route: partner.Route{Referrer: "agent2"}},
		"another customer's order":      {ID: "ord-9", Customer: order.Customer{ID: "someone-else", Country: "PL"}, Route: partner.Route{Referrer: "agent2"}},
		"another customer, no order id": {Customer: order.Customer{ID: "someone-else", Country: "PL"}, Route: partner.Route{Referrer: "agent2"}},
	} {
		t.Run(name, func(t *testing.T) {
			out, err := settlement.FromInvoice([]invoice.Line{line}, o)
			require.Error(t, err)
			require.Nil(t, out, "no line of the batch is converted")
			require.True(t, errors.Is(err, settlement.ErrInvalidLine), err.Error())
			require.True(t, errors.Is(err, settlement.ErrOrderMismatch), err.Error())
			var le *settlement.LineError
			require.True(t, errors.As(err, &le))
			require.Equal(t, settlement.LineID("inv-1/l1"), le.Line)
			_, err = settlement.FromInvoiceWith([]invoice.Line{line}, o, settlement.InvoiceOptions{})
			require.True(t, errors.Is(err, settlement.ErrOrderMismatch))
		})
	}
	require.ErrorContains(t, func() error {
		_, err := settlement.FromInvoice([]invoice.Line{line}, order.Order{ID: "ord-2", Customer: right.Customer})
		return err
	}(), `bills order "ord-1", not order "ord-2"`)
	require.ErrorContains(t, func() error {
		_, err := settlement.FromInvoice([]invoice.Line{line}, order.Order{Customer: order.Customer{ID: "someone-else"}})
		return err
	}(), `bills customer "gmbh-berlin", not customer "someone-else"`)

	// A hand-filled order with the line's customer, and lines that name no
	// customer or order (a host's own billing), convert as before.
	_, err = settlement.FromInvoice([]invoice.Line{line}, order.Order{Customer: right.Customer, Route: right.Route})
	require.NoError(t, err)
	bare := line
	bare.Customer, bare.Refs = "", nil
	_, err = settlement.FromInvoice([]invoice.Line{bare}, order.Order{ID: "ord-2", Customer: order.Customer{ID: "x"}})
	require.NoError(t, err)
}

// TestPropertyFromInvoiceConvertsOnlyTheOrdersLines: whatever customer and
// order a line names and an order holds, FromInvoice converts the line
// exactly when each name both give agrees, and otherwise refuses it with
// ErrOrderMismatch, converting nothing.
func TestPropertyFromInvoiceConvertsOnlyTheOrdersLines(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		name := rapid.SampledFrom([]string{"", "a", "b"})
		lineCustomer, lineOrder := name.Draw(t, "lineCustomer"), name.Draw(t, "lineOrder")
		orderCustomer, orderID := name.Draw(t, "orderCustomer"), name.Draw(t, "orderID")
		at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		l := invoice.Line{ID: "l1", Date: at, Customer: invoice.CustomerID(lineCustomer), Net: ensemble.MustMoney("10.00", "PLN"),
			Tax: ensemble.MustMoney("0.00", "PLN"), Period: ensemble.Period{Start: at, End: at.AddDate(0, 1, 0)}}
		if lineOrder != "" {
			l.Refs = []ensemble.Ref{order.ID(lineOrder).Ref()}
		}
		o := order.Order{ID: order.ID(orderID), Customer: order.Customer{ID: order.CustomerID(orderCustomer)}}
		agree := (lineCustomer == "" || orderCustomer == "" || lineCustomer == orderCustomer) &&
			(lineOrder == "" || orderID == "" || lineOrder == orderID)
		out, err := settlement.FromInvoice([]invoice.Line{l, l}, o)
		if agree {
			if err != nil || len(out) != 2 {
				t.Fatalf("refused lines of the order: %v", err)
			}
			return
		}
		if !errors.Is(err, settlement.ErrOrderMismatch) || !errors.Is(err, settlement.ErrInvalidLine) || out != nil {
			t.Fatalf("converted lines of another order: %v, %d lines", err, len(out))
		}
	})
}

package invoice_test

import (
	"testing"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/stretchr/testify/require"
)

func TestSmoke(t *testing.T) {
	b := builder(t, invoice.Options{})
	s := sub("s1", date(2026, 3, 1), item("i1", seg(date(2026, 3, 1), time.Time{}, pin("basic", 1), "1")))
	inv := build1(t, b, invoice.Run{At: date(2026, 4, 1)}, s)
	for _, l := range inv.Lines {
		t.Log(invoice.Explain(l))
	}
	t.Log(amounts(inv))
	_ = ensemble.Money{}
	require.True(t, inv.Total.IsPositive())
}

// Command quickstart runs a small partner ecosystem through Ensemble and
// prints what each party earns, and why.
//
//	go run ./examples/quickstart
//
// Today it shows the foundation every package stands on: exact money, a
// billing cycle anchored on the 31st, a mid-month upgrade prorated under each
// basis billing teams ask for, and a revenue split that conserves every cent.
// It grows with each package into the full flow from catalog to partner
// statements.
package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/ensemble-commerce/ensemble"
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(w io.Writer) error {
	p := &printer{w: w}
	anchor := time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC)
	monthly := ensemble.Every(1, ensemble.Monthly)

	p.title("Billing cycle: a subscription anchored on January 31st")
	span := ensemble.MustPeriod(anchor, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
	periods, err := monthly.Periods(anchor, span, time.UTC)
	if err != nil {
		return err
	}
	for period := range periods {
		p.line("  %s -> %s", period.Start.Format("Mon Jan 02"), period.End.Format("Mon Jan 02"))
	}

	p.title("Upgrade from Standard (EUR 49.00/month) to Pro (EUR 99.00/month) on March 15th at 12:00")
	cycle, _, err := monthly.PeriodAt(anchor, time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC), time.UTC)
	if err != nil {
		return err
	}
	rest := ensemble.MustPeriod(time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC), cycle.End)
	standard, pro := ensemble.MustMoney("49.00", "EUR"), ensemble.MustMoney("99.00", "EUR")
	p.line("  cycle %s, unused part %s", cycle, rest)
	p.line("  %-20s %-8s %12s %12s %12s", "basis", "fraction", "credit", "charge", "net")
	var net ensemble.Money
	for _, basis := range []ensemble.ProrationBasis{ensemble.ProrateExactTime, ensemble.ProrateDaysEndExclusive, ensemble.ProrateDaysEndInclusive, ensemble.ProrateThirtyDayMonth} {
		f, err := ensemble.Prorate(rest, cycle, ensemble.ProrateOptions{Basis: basis, Location: time.UTC, Anchor: anchor})
		if err != nil {
			return err
		}
		credit := standard.MulRatio(f, ensemble.RoundHalfAwayFromZero).Neg()
		charge := pro.MulRatio(f, ensemble.RoundHalfAwayFromZero)
		n, err := charge.Add(credit)
		if err != nil {
			return err
		}
		if basis == ensemble.ProrateDaysEndExclusive {
			net = n
		}
		p.line("  %-20s %-8s %12s %12s %12s", basis, f, credit, charge, n)
	}

	p.title("Revenue split of the upgrade charge (days, end exclusive: " + net.String() + ")")
	shares := []ensemble.Share{
		{Key: "platform", Weight: ensemble.MustRatio("20%")},
		{Key: "distributor", Weight: ensemble.MustRatio("1/3")},
		{Key: "reseller", Weight: ensemble.MustRatio("1/3")},
		{Key: "referrer", Weight: ensemble.MustRatio("0%")},
		{Key: "supplier", Weight: ensemble.MustRatio("2/15")},
	}
	parts, err := ensemble.Allocate(net, shares, ensemble.AllocateOptions{})
	if err != nil {
		return err
	}
	for i, s := range shares {
		p.line("  %-12s %-6s %12s", s.Key, s.Weight, parts[i])
	}
	total, err := ensemble.Sum(parts...)
	if err != nil {
		return err
	}
	p.line("  %-12s %-6s %12s  (exactly the charge: largest remainder, ties by party id)", "total", "", total)

	p.title("The same split when the customer gets the charge back")
	refund, err := ensemble.Allocate(net.Neg(), shares, ensemble.AllocateOptions{})
	if err != nil {
		return err
	}
	for i, s := range shares {
		back, err := parts[i].Add(refund[i])
		if err != nil {
			return err
		}
		p.line("  %-12s %12s  nets to %s", s.Key, refund[i], back)
	}
	return p.err
}

// printer writes lines and remembers the first write error.
type printer struct {
	w   io.Writer
	err error
}

func (p *printer) line(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format+"\n", args...)
	}
}

func (p *printer) title(s string) {
	p.line("\n%s\n%s", s, strings.Repeat("-", len(s)))
}

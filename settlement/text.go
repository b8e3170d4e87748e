package settlement

import (
	"math"
	"strconv"
	"time"

	"github.com/ensemble-commerce/ensemble"
)

// Texts entries carry that change with every line (a reserve's release
// date, the volume a cumulative rate read, an amount a rule computed),
// written as the library writes them elsewhere (Money.String,
// time.DateOnly) without their general machinery: the properties in
// text_internal_test.go hold them to it.

// moneyText writes units minor units of cur as Money.String writes
// ensemble.MoneyFromMinor(units, cur) ("EUR 12.30"), without its decimal
// arithmetic.
func moneyText(units int64, cur ensemble.Currency) string {
	var buf [48]byte
	return string(appendMoney(buf[:0], units, cur))
}

// appendMoney appends moneyText(units, cur) to b.
func appendMoney(b []byte, units int64, cur ensemble.Currency) []byte {
	digits := int(cur.Digits())
	if units == math.MinInt64 || digits > 18 || cur.IsZero() {
		return append(b, ensemble.MoneyFromMinor(units, cur).String()...)
	}
	b = append(b, cur.Code()...)
	b = append(b, ' ')
	if units < 0 {
		b = append(b, '-')
		units = -units
	}
	var num [20]byte
	d := strconv.AppendInt(num[:0], units, 10)
	for range digits + 1 - len(d) { // at least one digit before the point
		b = append(b, '0')
	}
	b = append(b, d...)
	if digits > 0 { // the point before the last digits digits
		b = append(b, 0)
		copy(b[len(b)-digits:], b[len(b)-digits-1:len(b)-1])
		b[len(b)-digits-1] = '.'
	}
	return b
}

// appendDate appends t's date as time.DateOnly writes it: "2026-04-01".
func appendDate(b []byte, t time.Time) []byte {
	y, m, d := t.Date()
	if y < 0 || y > 9999 {
		return t.AppendFormat(b, time.DateOnly)
	}
	return append(b, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+m/10), byte('0'+m%10), '-', byte('0'+d/10), byte('0'+d%10))
}

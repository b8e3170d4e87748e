package ensemble

// Arith is Money arithmetic that keeps the first error, for a run of sums
// and comparisons that is checked once at its end (as bufio.Scanner keeps
// its error for Err). Library code uses it wherever it would otherwise drop
// the error of Money.Add, Money.Sub or Money.Cmp: an amount of another
// currency then surfaces from the public call as the *CurrencyMismatchError
// Err returns, never as a silent zero.
//
// Money arithmetic is exact and never overflows (amounts beyond int64 fall
// back to arbitrary precision), so a currency mismatch is the only error
// Arith sees. Once an error is kept, every result it returns is the zero
// Money or 0 and means nothing: check Err before using any. The zero value
// is ready to use; an Arith is not safe for concurrent use.
type Arith struct {
	err error
}

// Add returns a + b, or the zero Money after keeping the error of a
// currency mismatch.
func (x *Arith) Add(a, b Money) Money {
	m, err := a.Add(b)
	x.keep(err)
	return m
}

// Sub returns a - b, or the zero Money after keeping the error of a
// currency mismatch.
func (x *Arith) Sub(a, b Money) Money {
	m, err := a.Sub(b)
	x.keep(err)
	return m
}

// Cmp compares a and b as Money.Cmp does (-1, 0 or +1), or returns 0 after
// keeping the error of a currency mismatch.
func (x *Arith) Cmp(a, b Money) int {
	c, err := a.Cmp(b)
	x.keep(err)
	return c
}

// Err returns the first error kept (a *CurrencyMismatchError), or nil.
func (x *Arith) Err() error { return x.err }

func (x *Arith) keep(err error) {
	if x.err == nil {
		x.err = err
	}
}

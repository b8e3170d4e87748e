package usage_test

import (
	"runtime"
	"testing"

	"github.com/ensemble-commerce/ensemble/usage"
	"github.com/stretchr/testify/require"
)

// A hostile ledger blob of 13 bytes (no group, then a quantity table
// claiming 2^32 - 1 entries) made UnmarshalBinary size the table by the
// count, capped at 65,536 entries: about 5 MB allocated and 17 ms spent per
// call before it found the data ended, which stalled FuzzLedgerDecode (its
// minimizer ran thousands of such inputs). The count is now checked
// against the bytes left first: a *LedgerFormatError, at once.
func TestLedgerDecodeQuantityCountBeyondData(t *testing.T) {
	data := []byte("ENSL\x01\x02\x00\xff\xff\xff\xff\x0f")
	var l usage.Ledger
	err := l.UnmarshalBinary(data)
	var fe *usage.LedgerFormatError
	require.ErrorAs(t, err, &fe)
	require.ErrorIs(t, err, usage.ErrInvalidLedger)
	require.Contains(t, err.Error(), "quantity count 4294967295")

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 10 {
		_ = l.UnmarshalBinary(data)
	}
	runtime.ReadMemStats(&after)
	require.Less(t, (after.TotalAlloc-before.TotalAlloc)/10, uint64(64<<10), "bytes allocated per decode of a 13-byte blob")
}

//go:build race

package settlement_test

// raceEnabled: the race detector's sync.Pool drops what it is given at
// random, so allocation counts are not a settler's.
const raceEnabled = true

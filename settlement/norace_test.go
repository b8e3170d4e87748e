//go:build !race

package settlement_test

const raceEnabled = false

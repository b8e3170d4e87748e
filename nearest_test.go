package ensemble_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
)

func TestNearest(t *testing.T) {
	names := []string{"tier", "type", "id", "parent", "attributes", "Tier2"}
	for _, tt := range []struct {
		name string
		want []string
	}{
		{"teir", []string{"tier"}}, // a swap counts one
		{"TIER", []string{"tier"}}, // case does not count
		{"tpe", []string{"type"}},  // a deletion
		{"parnet", []string{"parent"}},
		{"attributs", []string{"attributes"}},
		{"xyz", nil},
		{"tier", nil},         // itself
		{"i", []string{"id"}}, // one edit is within reach of a short name
	} {
		require.Equal(t, tt.want, ensemble.Nearest(tt.name, names), tt.name)
	}
}

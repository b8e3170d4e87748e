package ensemble_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
)

// TestDecodeYAMLPlacesErrorsInTheYAML: a decode error of a YAML document
// names the YAML's own line and column, not those of the JSON it was
// converted to.
func TestDecodeYAMLPlacesErrorsInTheYAML(t *testing.T) {
	type item struct {
		Name  string `json:"name"`
		Count int    `json:"count"`
	}
	type doc struct {
		Items []item `json:"items"`
	}
	tests := []struct {
		name, src, path string
		line, column    int
	}{
		{"unknown field", "items:\n  - name: a\n    cuont: 2\n", "items[0].cuont", 3, 5},
		{"wrong type", "items:\n  - name: a\n  - name: b\n    count: many\n", "items[1].count", 4, 12},
		{"unknown top-level field", "# a comment\nitemz: []\n", "itemz", 2, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v doc
			err := ensemble.DecodeYAML("doc", []byte(tt.src), &v)
			var de *ensemble.DecodeError
			require.True(t, errors.As(err, &de), "%v", err)
			require.Equal(t, tt.path, de.Path)
			require.Equal(t, [2]int{tt.line, tt.column}, [2]int{de.Line, de.Column}, "%v", err)
			require.ErrorIs(t, err, ensemble.ErrDecode)
		})
	}
}

// TestPlaceYAMLWithAPrefix: an error decoding one item of a list is placed
// under the item's own path.
func TestPlaceYAMLWithAPrefix(t *testing.T) {
	src := []byte("- {a: 1}\n- a: 2\n  b: oops\n")
	raw := []byte(`{"a":2,"b":"oops"}`)
	var v struct {
		A int `json:"a"`
		B int `json:"b"`
	}
	err := ensemble.PlaceYAML(src, raw, "[1]", ensemble.DecodeJSON("item", raw, &v))
	var de *ensemble.DecodeError
	require.ErrorAs(t, err, &de)
	require.Equal(t, "[1].b", de.Path)
	require.Equal(t, [2]int{3, 6}, [2]int{de.Line, de.Column})
	require.NoError(t, ensemble.PlaceYAML(src, raw, "", nil))
}

func TestYAMLLines(t *testing.T) {
	require.Equal(t, []string{"a", "b", "c", "d", ""}, ensemble.YAMLLines([]byte("a\nb\r\nc\rd\n")))
	require.Equal(t, []string{"x\u2028"[:1], "y"}, ensemble.YAMLLines([]byte("x\u2028y")))
	require.Equal(t, []string{""}, ensemble.YAMLLines(nil))
}

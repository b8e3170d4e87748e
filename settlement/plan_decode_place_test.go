package settlement_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// TestParsePlansPlacesTypeErrorsInsideNodes: a value of the wrong JSON type
// inside a node or its share (which decode themselves) is reported at its
// own line, column and path. A trial wrote a fixed listing fee as
// `share: {amount: "2500.00", currency: USD}` and was told
// `decode 1:7 at [0].id: string where ensemble.moneyJSON belongs`, the
// plan's id; a rule given as a number, a cap as a string and reserve days
// as a string were put at the id, the id and the node's party.
func TestParsePlansPlacesTypeErrorsInsideNodes(t *testing.T) {
	const head = "- id: ok\n  version: 1\n  root: {id: root, party: platform}\n- id: fx\n  version: 1\n  root:\n    id: root\n    children:\n"
	for _, tc := range []struct {
		name, child, path string
		column            int
	}{
		{"money as a string", `{id: listing, party: platform, share: {amount: "2500.00", currency: USD}}`, "root.children[0].share.amount", 56},
		{"rule as a number", `{id: listing, party: platform, share: {rule: 5}}`, "root.children[0].share.rule", 54},
		{"cap as a string", `{id: listing, party: platform, share: "3%", cap: "50.00"}`, "root.children[0].cap", 58},
		{"reserve days as a string", `{id: listing, party: platform, share: "3%", reserve: {ratio: "10%", days: "x"}}`, "root.children[0].reserve.days", 83},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := head + "      - " + tc.child + "\n      - {id: vendor, party: \"partner:v\", share: remaining}\n"
			_, err := settlement.ParsePlans([]byte(doc))
			var ve *ensemble.ValidationError
			require.ErrorAs(t, err, &ve)
			require.Len(t, ve.Problems, 1)
			require.Equal(t, "plans[1]", ve.Problems[0].Path)
			var de *ensemble.DecodeError
			require.ErrorAs(t, err, &de)
			require.Equal(t, "[1]."+tc.path, de.Path, "%v", err)
			require.Equal(t, 9, de.Line, "%v", err)
			require.Equal(t, tc.column, de.Column, "%v", err)
			require.NotContains(t, err.Error(), "moneyJSON")
		})
	}
}

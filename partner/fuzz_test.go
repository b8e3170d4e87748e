package partner_test

import (
	"encoding/json"
	"errors"
	"github.com/ensemble-commerce/ensemble"
	"os"
	"testing"

	"github.com/ensemble-commerce/ensemble/partner"
)

// FuzzLoadNetwork checks that loading any document never panics, and that
// a network it accepts writes JSON that loads back to the same network.
func FuzzLoadNetwork(f *testing.F) {
	seed, err := os.ReadFile("testdata/network.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte(`{"partners":[{"id":"a","name":"A","type":"reseller","terms":[{"from":"2025-01-01T00:00:00Z","parent":"a"}]}]}`))
	f.Add([]byte("partners:\n  - {id: x, name: X, type: distributor, terms: [{from: 2025-01-01T00:00:00Z, territories: [ZZ]}]}\n"))
	f.Fuzz(func(t *testing.T, doc []byte) {
		net, err := partner.LoadNetwork(doc)
		if err != nil {
			var de *ensemble.DecodeError
			var ve *ensemble.ValidationError
			if !errors.As(err, &de) && !errors.As(err, &ve) {
				t.Fatalf("untyped error %T: %v", err, err)
			}
			return
		}
		js, err := json.Marshal(net)
		if err != nil {
			t.Fatal(err)
		}
		back, err := partner.LoadNetwork(js)
		if err != nil {
			t.Fatalf("accepted network does not load back: %v\n%s", err, js)
		}
		js2, _ := json.Marshal(back)
		if string(js) != string(js2) {
			t.Fatalf("round trip changed the network:\n%s\n%s", js, js2)
		}
	})
}

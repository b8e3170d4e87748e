package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/ensemble-commerce/ensemble/rules"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestRulecheck runs the command's check on a good and a broken rule file
// and compares its report with golden files, so the example never rots.
func TestRulecheck(t *testing.T) {
	tests := []struct {
		name   string
		env    string
		files  []string
		pass   bool
		golden string
	}{
		{"partner channel rules", "partner", []string{"../../partner/testdata/rules.yaml"}, true, "testdata/channel.golden"},
		{"broken rules", "partner", []string{"testdata/broken.yaml"}, false, "testdata/broken.golden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var files []rules.File
			for _, name := range tt.files {
				data, err := os.ReadFile(name)
				if err != nil {
					t.Fatal(err)
				}
				files = append(files, rules.File{Name: filepath.Base(name), Data: data})
			}
			var out bytes.Buffer
			pass, err := check(&out, tt.env, files)
			if err != nil {
				t.Fatal(err)
			}
			if pass != tt.pass {
				t.Errorf("pass = %v, want %v", pass, tt.pass)
			}
			if *update {
				if err := os.WriteFile(tt.golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(tt.golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.Bytes(), want) {
				t.Errorf("report differs from %s (go test ./examples/rulecheck -update to accept):\n%s", tt.golden, out.String())
			}
		})
	}
	for _, tt := range []struct {
		name, plans, golden string
		pass                bool
	}{
		{"quickstart plans", "../quickstart/data/plans.yaml", "testdata/plans.golden", true},
		{"over-allocating plan", "testdata/bad-plans.yaml", "testdata/bad-plans.golden", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rulesDoc, err := os.ReadFile("../quickstart/data/settlement-rules.yaml")
			if err != nil {
				t.Fatal(err)
			}
			plans, err := os.ReadFile(tt.plans)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			files := []rules.File{{Name: "settlement-rules.yaml", Data: rulesDoc}}
			pass, err := check(&out, "settlement", files)
			if err != nil || !pass {
				t.Fatalf("rules: pass %v, err %v\n%s", pass, err, out.String())
			}
			out.Reset()
			pass, err = checkPlans(&out, filepath.Base(tt.plans), plans, files)
			if err != nil {
				t.Fatal(err)
			}
			if pass != tt.pass {
				t.Errorf("pass = %v, want %v", pass, tt.pass)
			}
			if *update {
				if err := os.WriteFile(tt.golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(tt.golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.Bytes(), want) {
				t.Errorf("report differs from %s:\n%s", tt.golden, out.String())
			}
		})
	}
	if _, err := check(&bytes.Buffer{}, "nope", nil); err == nil {
		t.Error("an unknown environment must be an error")
	}
}

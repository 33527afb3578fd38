package train

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"testing"

	"grouprank/data"
	"grouprank/features"
	"grouprank/recommend"
)

// artefactDigest is the digest of every file Files encodes for a small
// artefact, by name.
func artefactDigest() (string, error) {
	a := &Artefact{
		Catalog: []data.Product{{SKU: 7, CategoryL1: "食品", CategoryL2: "零食", PriceCents: 990, GoodReviews: 9, Reviews: 10}, {SKU: 9, CategoryL1: "日用", CategoryL2: "纸品", PriceCents: 1990}},
		Stats:   &features.ItemStats{Pop: []float32{1, 2}, Conv: []float32{0.1, 0.2}, Rating: []float32{0.9, 0.8}},
	}
	files, err := a.Files()
	if err != nil {
		return "", err
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		fmt.Fprintf(h, "%s %x\n", n, sha256.Sum256(files[n]))
	}
	return fmt.Sprintf("%x", h.Sum(nil)), nil
}

// TestArtefactBytesAcrossProcesses: the same artefact encodes to the same
// bytes in every process. gob numbers types in the order a process first
// encodes them, so the files must be encoded in a fixed order; each run here
// is a fresh process (this test binary, run again), where the order in which
// the catalogue and the statistics are first met decides the numbers.
func TestArtefactBytesAcrossProcesses(t *testing.T) {
	if os.Getenv("GROUPRANK_ARTEFACT_DIGEST") == "1" {
		d, err := artefactDigest()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Println("digest", d)
		return
	}
	var first string
	for run := range 8 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestArtefactBytesAcrossProcesses$", "-test.count=1")
		cmd.Env = append(os.Environ(), "GROUPRANK_ARTEFACT_DIGEST=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("run %d: %v\n%s", run, err, out)
		}
		var d string
		if _, err := fmt.Sscanf(string(out), "digest %s", &d); err != nil {
			t.Fatalf("run %d: no digest in %q", run, out)
		}
		if run == 0 {
			first = d
		} else if d != first {
			t.Fatalf("run %d encoded the artefact to other bytes than run 0", run)
		}
	}
}

// TestPreferenceSpecColdWeights: a manifest written before the cold weights
// existed reads a group without orders at the consensus, as it was served
// then; a manifest with them reads them.
func TestPreferenceSpecColdWeights(t *testing.T) {
	var old PreferenceSpec
	if err := json.Unmarshal([]byte(`{"model":{},"consensus":0.3,"vector_consensus":0.2,"confidence":4}`), &old); err != nil {
		t.Fatal(err)
	}
	var p recommend.Preference
	old.apply(&p)
	if p.ColdConsensus != 0.3 || p.ColdVectorConsensus != 0.2 {
		t.Errorf("an older manifest's cold weights %g/%g, want the consensus 0.3/0.2", p.ColdConsensus, p.ColdVectorConsensus)
	}
	one, zero := float32(1), float32(0)
	cur := PreferenceSpec{Consensus: 0, VectorConsensus: 0, ColdConsensus: &one, ColdVectorConsensus: &zero}
	b, err := json.Marshal(cur)
	if err != nil {
		t.Fatal(err)
	}
	var back PreferenceSpec
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	back.apply(&p)
	if p.ColdConsensus != 1 || p.ColdVectorConsensus != 0 || p.Consensus != 0 {
		t.Errorf("cold weights %g/%g (consensus %g) from %s, want 1/0 (0)", p.ColdConsensus, p.ColdVectorConsensus, p.Consensus, b)
	}
}

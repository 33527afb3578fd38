package train

import (
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"testing"

	"grouprank/data"
	"grouprank/features"
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

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// groupRecFixture writes a small benchmark in the group-recommendation
// layout with string ids and a planted signal: group g is of type g mod 6
// and orders three of its type's four items; the fourth is its test item.
// Each group's two members bought one of the type's items alone.
func groupRecFixture(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	var members, train, own, test, neg strings.Builder
	for g := range 120 {
		k := g % 6
		item := func(j int) string { return fmt.Sprintf("i%d", 4*k+j) }
		fmt.Fprintf(&members, "grp%d m%d,m%d\n", g, 2*g, 2*g+1)
		hold := (g / 6) % 4
		for j := range 4 {
			if j != hold {
				fmt.Fprintf(&train, "grp%d %s\n", g, item(j))
			}
		}
		fmt.Fprintf(&own, "m%d %s\nm%d %s\n", 2*g, item((hold+1)%4), 2*g+1, item(hold))
		fmt.Fprintf(&test, "grp%d %s\n", g, item(hold))
		fmt.Fprintf(&neg, "(grp%d,%s)", g, item(hold))
		for n := range 10 {
			fmt.Fprintf(&neg, " i%d", (4*k+4+2*n)%24)
		}
		neg.WriteString("\n")
	}
	for name, b := range map[string]*strings.Builder{"groupMember.txt": &members, "groupRatingTrain.txt": &train,
		"userRatingTrain.txt": &own, "groupRatingTest.txt": &test, "groupRatingNegative.txt": &neg} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestEvalGroupRec(t *testing.T) {
	world := filepath.Join(t.TempDir(), "w")
	if _, stderr, err := runArgs(t, nil, "import", "grouprec", "--in", groupRecFixture(t), "--out", world); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	js := filepath.Join(t.TempDir(), "r.json")
	out, stderr, err := runArgs(t, nil, "eval", "grouprec", "--world", world, "--budget", "6", "--folds", "1", "--bootstrap", "100", "--json", js)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	for _, m := range []string{"| popular", "| members", "| ease", "| graph-filter", "| ials", "| item-knn", "| blend", "protocol 1", "protocol 2"} {
		if !strings.Contains(out, m) {
			t.Errorf("report lacks %q:\n%s", m, out)
		}
	}
	var rep struct {
		Chosen  string
		Methods []struct {
			Method string
			Test   struct{ P1NDCG10, P2NDCG10 float64 } `json:"test"`
		}
	}
	b, _ := os.ReadFile(js)
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	by := map[string]float64{}
	for _, m := range rep.Methods {
		by[m.Method] = m.Test.P2NDCG10
	}
	if rep.Chosen == "popular" || by[rep.Chosen] < 0.5 || by[rep.Chosen] <= by["popular"] {
		t.Errorf("chose %s (full-ranking NDCG@10 %.3f, popular %.3f): the planted types are learnable\n%s", rep.Chosen, by[rep.Chosen], by["popular"], out)
	}
}

// Command grouprecgen writes a seeded set in the file layout of the
// group-recommendation literature (groupMember.txt, groupRatingTrain.txt,
// userRatingTrain.txt, groupRatingTest.txt, groupRatingNegative.txt) at a
// given size, for measuring how "grouprank eval grouprec" and "train" scale
// to the public sets shipped in that layout (Weeplaces: 22,733 groups, 8,643
// users, 25,081 items). Items belong to topics and are Zipf-popular within
// them; a user favours three topics; a group's items are drawn from its
// members' tastes; each group with two or more items holds one of them out,
// at random, as its test line, with 100 sampled negatives. It measures cost, not
// quality: no method's figure on it stands for a real set's.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"log"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

func main() {
	groups := flag.Int("groups", 22733, "groups")
	users := flag.Int("users", 8643, "users (members)")
	items := flag.Int("items", 25081, "items")
	userLines := flag.Int("user-lines", 1358458, "users' own lines (about)")
	groupLines := flag.Int("group-lines", 180229, "groups' lines (about)")
	topics := flag.Int("topics", 60, "item topics")
	seed := flag.Uint64("seed", 1, "seed")
	out := flag.String("out", "grouprec-set", "output directory")
	flag.Parse()
	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}
	r := rand.New(rand.NewPCG(*seed, 0x67726563))
	byTopic := make([][]int, *topics)
	for i := range *items {
		t := r.IntN(*topics)
		byTopic[t] = append(byTopic[t], i)
	}
	taste := make([][3]int, *users)
	for u := range taste {
		for k := range taste[u] {
			taste[u][k] = r.IntN(*topics)
		}
	}
	pick := func(u int) int {
		if r.Float64() < 0.15 {
			return r.IntN(*items)
		}
		l := byTopic[taste[u][r.IntN(3)]]
		if len(l) == 0 {
			return r.IntN(*items)
		}
		return l[min(len(l)-1, int(float64(len(l))*math.Pow(r.Float64(), 2.5)))]
	}
	write := func(name string, fill func(w *bufio.Writer)) {
		f, err := os.Create(filepath.Join(*out, name))
		if err != nil {
			log.Fatal(err)
		}
		w := bufio.NewWriter(f)
		fill(w)
		if err := w.Flush(); err != nil {
			log.Fatal(err)
		}
		if err := f.Close(); err != nil {
			log.Fatal(err)
		}
	}
	write("userRatingTrain.txt", func(w *bufio.Writer) {
		per := float64(*userLines) / float64(*users)
		for u := range *users {
			for range max(1, int(r.ExpFloat64()*per)) {
				fmt.Fprintf(w, "%d %d\n", u, pick(u))
			}
		}
	})
	members := make([][]int, *groups)
	write("groupMember.txt", func(w *bufio.Writer) {
		for g := range members {
			members[g] = distinct(r, *users, 2+min(6, int(r.ExpFloat64())), -1)
			s := make([]string, len(members[g]))
			for k, m := range members[g] {
				s[k] = strconv.Itoa(m)
			}
			fmt.Fprintf(w, "%d %s\n", g, strings.Join(s, ","))
		}
	})
	type line struct{ g, i int }
	var test []line
	write("groupRatingTrain.txt", func(w *bufio.Writer) {
		per := float64(*groupLines) / float64(*groups)
		for g, ms := range members {
			var its []int
			seen := map[int]bool{}
			for range 2 + int(r.ExpFloat64()*per) {
				if i := pick(ms[r.IntN(len(ms))]); !seen[i] {
					seen[i] = true
					its = append(its, i)
				}
			}
			if len(its) >= 2 { // one of them, at random, is the test line
				k := r.IntN(len(its))
				test = append(test, line{g, its[k]})
				its = append(its[:k], its[k+1:]...)
			}
			for _, i := range its {
				fmt.Fprintf(w, "%d %d\n", g, i)
			}
		}
	})
	write("groupRatingTest.txt", func(w *bufio.Writer) {
		for _, l := range test {
			fmt.Fprintf(w, "%d %d\n", l.g, l.i)
		}
	})
	write("groupRatingNegative.txt", func(w *bufio.Writer) {
		for _, l := range test {
			fmt.Fprintf(w, "(%d,%d)", l.g, l.i)
			for _, n := range distinct(r, *items, 100, l.i) {
				fmt.Fprintf(w, " %d", n)
			}
			fmt.Fprintln(w)
		}
	})
}

// distinct draws k distinct values of 0..n-1 other than not (at most all).
func distinct(r *rand.Rand, n, k, not int) []int {
	k = min(k, n-1)
	seen := map[int]bool{not: true}
	out := make([]int, 0, k)
	for len(out) < k {
		if v := r.IntN(n); !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"grouprank/data/importer"
	"grouprank/train/pref"
)

// heldOutLine is one test line: a group, its held-out item and (protocol 1) its negatives.
type heldOutLine struct {
	group     int32
	item      int32
	negatives []int32
}

// readGroupTest reads heldout/groupRatingTest.txt and its negatives, in the
// user's ids, into matrix indexes.
func readGroupTest(ctx context.Context, p *prefWorld, dir string) ([]heldOutLine, error) {
	var lines []heldOutLine
	at := map[[2]int32][]int{} // a (group, item)'s test lines not yet given negatives, in file order
	held := filepath.Join(dir, importer.HeldOutDir)
	read := func(name string, optional bool, fn func(line int, g, i int32, negs []string) error) error {
		path := filepath.Join(held, name)
		return importer.EachHeldOut(ctx, held, name, optional, func(line int, owner, item string, negs []string) error {
			g, ok := p.groupIndex(owner)
			if !ok {
				return fmt.Errorf("%s:%d: column group: %q is not a group of the world", path, line, owner)
			}
			i, ok := p.itemIndex(item)
			if !ok {
				return fmt.Errorf("%s:%d: column item: %q is not an item of the world", path, line, item)
			}
			if err := fn(line, g, i, negs); err != nil {
				return fmt.Errorf("%s:%d: %w", path, line, err)
			}
			return nil
		})
	}
	if err := read(importer.GroupRecGroupTest, false, func(_ int, g, i int32, _ []string) error {
		at[[2]int32{g, i}] = append(at[[2]int32{g, i}], len(lines))
		lines = append(lines, heldOutLine{group: g, item: i})
		return nil
	}); err != nil {
		return nil, err
	}
	err := read(importer.GroupRecGroupNegative, true, func(_ int, g, i int32, negs []string) error {
		// a set may hold a (group, item) line twice: each of its negative
		// lines goes to the next of its test lines
		q := at[[2]int32{g, i}]
		if len(q) == 0 {
			return fmt.Errorf("(%s,%s) is not a line of %s, or has more negative lines than test lines there", p.groupName(g), p.itemName(i), importer.GroupRecGroupTest)
		}
		k := q[0]
		at[[2]int32{g, i}] = q[1:]
		for c, n := range negs {
			j, ok := p.itemIndex(n)
			if !ok {
				return fmt.Errorf("column %d: %q is not an item of the world", c+2, n)
			}
			lines[k].negatives = append(lines[k].negatives, j)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// in the world's order of groups and items, so that the bootstrap's
	// resamples depend on the lines a set holds, not on their order
	slices.SortStableFunc(lines, func(a, b heldOutLine) int {
		return cmp.Or(cmp.Compare(a.group, b.group), cmp.Compare(a.item, b.item), slices.Compare(a.negatives, b.negatives))
	})
	return lines, nil
}

// writePrefReport prints the report and writes it as Markdown and JSON when asked.
func writePrefReport(e *env, rep *pref.Report, mdOut, jsonOut string) error {
	b, err := json.MarshalIndent(jsonSafe(rep), "", "  ")
	if err != nil {
		return err
	}
	return writePrefFiles(e, rep.Markdown(), append(b, '\n'), mdOut, jsonOut)
}

// writePrefFiles prints a report's table and writes it to mdOut and its
// JSON to jsonOut when asked.
func writePrefFiles(e *env, table string, js []byte, mdOut, jsonOut string) error {
	fmt.Fprint(e.stdout, table)
	if mdOut != "" {
		if err := os.WriteFile(mdOut, []byte(table), 0o644); err != nil {
			return err
		}
	}
	if jsonOut != "" {
		return os.WriteFile(jsonOut, js, 0o644)
	}
	return nil
}

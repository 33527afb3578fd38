package importer

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"grouprank/data"
	"grouprank/data/parquetio"
)

// Options control one import.
type Options struct {
	// Comma separates fields: ',' for CSV (the default), '\t' for TSV.
	Comma rune
	// Mapping maps a target column (e.g. "price_cents") to the header of the
	// source column that holds it. Unmapped target columns are read from the
	// source column of the same name, when there is one.
	Mapping map[string]string
	// MaxErrors is how many bad rows are tolerated (and skipped). With more,
	// Import writes nothing and returns an error wrapping data.ErrInvalid.
	MaxErrors int
	// KeepProblems bounds the problems kept in the Report (0: 100).
	KeepProblems int
	// Whitespace splits fields on runs of spaces and tabs (Comma is then unused).
	Whitespace bool
	// IDs, when not nil, maps the file's ids (any text: 0-based numbers,
	// strings) of groups, members (and buyers), SKUs, promoters, orders and
	// pushes to internal ids, adding those it has not seen (nil: ids are
	// positive integers).
	IDs *data.IDMap
}

// idKinds are the columns that hold ids, and their kind.
var idKinds = map[string]string{"group": data.IDGroup, "member": data.IDMember, "buyer": data.IDMember, "sku": data.IDSKU,
	"promoter": data.IDPromoter, "order": data.IDOrder, "push": data.IDPush}

// records reads rows: a csv.Reader, or wsReader for whitespace-separated files.
type records interface {
	Read() ([]string, error)
	FieldPos(field int) (line, column int)
}

// wsReader splits lines on runs of spaces and tabs.
type wsReader struct {
	sc   *bufio.Scanner
	line int
}

func (r *wsReader) Read() ([]string, error) {
	for r.sc.Scan() {
		r.line++
		f := strings.Fields(r.sc.Text())
		if len(f) == 0 {
			continue
		}
		return f, nil
	}
	if err := r.sc.Err(); err != nil {
		return nil, err
	}
	return nil, io.EOF
}

func (r *wsReader) FieldPos(int) (int, int) { return r.line, 1 }

// Problem is one bad row, or a bad header.
type Problem struct {
	File   string `json:"file"`
	Line   int    `json:"line"`   // 1-based line of the source file
	Column string `json:"column"` // the source column's header ("" for the row as a whole)
	Reason string `json:"reason"`
}

// Error makes a Problem usable as an error (the BeiBei adapter fails on the first).
func (p *Problem) Error() string { return "importer: " + p.String() }

func (p Problem) String() string {
	if p.Column == "" {
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Reason)
	}
	return fmt.Sprintf("%s:%d: column %s: %s", p.File, p.Line, p.Column, p.Reason)
}

// Report says what an import did.
type Report struct {
	Table    string    `json:"table"`
	Rows     int       `json:"rows"`     // data rows read
	Written  int       `json:"written"`  // rows written (0 when the import failed)
	Bad      int       `json:"bad"`      // bad rows in all
	Problems []Problem `json:"problems"` // the first KeepProblems of them
	// Skipped rows were valid but left out with a warning (an order of
	// quantity 0); they do not count towards MaxErrors.
	Skipped  int       `json:"skipped"`
	Warnings []Problem `json:"warnings,omitempty"` // the first KeepProblems of them
}

// Tables lists the tables Import knows, sorted.
func Tables() []string {
	var out []string
	for k := range tableSchemas() {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Columns lists a table's target columns and whether each is required.
func Columns(table string) (map[string]bool, error) {
	s, ok := tableSchemas()[table]
	if !ok {
		return nil, fmt.Errorf("importer: unknown table %q: want one of %s", table, strings.Join(Tables(), ", "))
	}
	return s.columns(), nil
}

type importable interface {
	columns() map[string]bool
	run(ctx context.Context, r records, file, out string, o Options, rep *Report) error
}

// Import reads the CSV/TSV file in as table and writes it to out as Parquet.
// A bad header (a required column missing, a mapping naming no column) fails
// at once; bad rows are reported and skipped up to MaxErrors. On failure the
// destination is left as it was.
func Import(ctx context.Context, table, in, out string, o Options) (*Report, error) {
	s, ok := tableSchemas()[table]
	if !ok {
		return nil, fmt.Errorf("importer: unknown table %q: want one of %s", table, strings.Join(Tables(), ", "))
	}
	f, err := os.Open(in)
	if err != nil {
		return nil, fmt.Errorf("importer: %w", err)
	}
	defer f.Close()
	var r records
	if o.Whitespace {
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<16), 1<<24)
		r = &wsReader{sc: sc}
	} else {
		cr := csv.NewReader(f)
		cr.Comma = ','
		if o.Comma != 0 {
			cr.Comma = o.Comma
		}
		cr.FieldsPerRecord = -1
		cr.ReuseRecord = true
		r = cr
	}
	if o.KeepProblems <= 0 {
		o.KeepProblems = 100
	}
	rep := &Report{Table: table}
	err = s.run(ctx, r, filepath.Base(in), out, o, rep)
	return rep, err
}

func (s *schema[T]) columns() map[string]bool {
	m := make(map[string]bool, len(s.cols))
	for _, c := range s.cols {
		m[c.name] = c.required
	}
	return m
}

func (s *schema[T]) run(ctx context.Context, r records, file, out string, o Options, rep *Report) error {
	header, err := r.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("importer: %s: empty file, want a header row", file)
		}
		return fmt.Errorf("importer: %s: header: %w", file, err)
	}
	header = slices.Clone(header)
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\ufeff")
	}
	pos := map[string]int{}
	for i, h := range header {
		h = strings.TrimSpace(h)
		if j, dup := pos[h]; dup {
			return fmt.Errorf("importer: %s: line 1: column %d: header %q repeats column %d's (which one is meant?)", file, i+1, h, j+1)
		}
		pos[h] = i
	}
	// Resolve target column -> source index.
	known := s.columns()
	for target, src := range o.Mapping {
		if _, ok := known[target]; !ok {
			return fmt.Errorf("importer: mapping %s=%s: table %s has no column %q", target, src, rep.Table, target)
		}
		if _, ok := pos[src]; !ok {
			return fmt.Errorf("importer: %s: mapping %s=%s: the file has no column %q (header: %s)", file, target, src, src, strings.Join(header, ", "))
		}
	}
	idx := make([]int, len(s.cols))
	for i, c := range s.cols {
		src := c.name
		if m, ok := o.Mapping[c.name]; ok {
			src = m
		}
		j, ok := pos[src]
		if !ok {
			j = -1
			if c.required {
				return fmt.Errorf("importer: %s: line 1: required column %q is missing (map it with %s=<header>)", file, c.name, c.name)
			}
		}
		idx[i] = j
	}
	fieldToSource := map[string]string{}
	for i, c := range s.cols {
		if idx[i] >= 0 {
			fieldToSource[c.name] = strings.TrimSpace(header[idx[i]])
		}
	}
	multiCol := -1
	for i, c := range s.cols {
		if c.name == s.multi {
			multiCol = idx[i]
		}
	}
	w, err := parquetio.Create(out, s.pq, parquetio.Options{})
	if err != nil {
		return fmt.Errorf("importer: %w", err)
	}
	problem := func(p Problem) {
		rep.Bad++
		if len(rep.Problems) < o.KeepProblems {
			rep.Problems = append(rep.Problems, p)
		}
	}
	seen := map[int64]int{} // a unique key's value -> the line that had it
	buf := make([]T, 0, 4096)
	flush := func() error {
		err := w.Write(buf...)
		buf = buf[:0]
		return err
	}
	for {
		if rep.Rows%4096 == 0 {
			if err := ctx.Err(); err != nil {
				w.Abort()
				return err
			}
		}
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			rep.Rows++
			problem(Problem{File: file, Line: pe.Line, Reason: pe.Err.Error()})
			if rep.Bad > o.MaxErrors {
				break
			}
			continue
		}
		if err != nil {
			w.Abort()
			return fmt.Errorf("importer: %s: %w", file, err)
		}
		rep.Rows++
		line, _ := r.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			rep.Rows--
			continue // blank line
		}
		if len(rec) != len(header) {
			col := fmt.Sprintf("%d (beyond the header)", len(header)+1)
			if len(rec) < len(header) {
				col = strings.TrimSpace(header[len(rec)]) // the first column the row lacks
			}
			problem(Problem{File: file, Line: line, Column: col, Reason: fmt.Sprintf("row has %d fields, the header %d", len(rec), len(header))})
			if rep.Bad > o.MaxErrors {
				break
			}
			continue
		}
		// A multi-valued column (a members file's "m1,m2,...") makes one row per value.
		rows := [][]string{rec}
		if mj := multiCol; mj >= 0 && mj < len(rec) && strings.ContainsAny(rec[mj], ",;") {
			rows = rows[:0]
			for _, v := range strings.FieldsFunc(rec[mj], func(r rune) bool { return r == ',' || r == ';' }) {
				if v = strings.TrimSpace(v); v != "" {
					row := slices.Clone(rec)
					row[mj] = v
					rows = append(rows, row)
				}
			}
		}
		stop := false
		for _, rec := range rows {
			bad := s.parse(rec, header, idx, o, line, file, fieldToSource, seen, rep, problem, &buf)
			if bad && rep.Bad > o.MaxErrors {
				stop = true
				break
			}
			if len(buf) == cap(buf) {
				if err := flush(); err != nil {
					w.Abort()
					return fmt.Errorf("importer: %w", err)
				}
			}
		}
		if stop {
			break
		}
	}
	if rep.Bad > o.MaxErrors {
		w.Abort()
		return fmt.Errorf("importer: %s: %w: too many bad rows: more than --max-errors=%d (first: %s); nothing written", file, data.ErrInvalid, o.MaxErrors, rep.Problems[0])
	}
	if err := flush(); err != nil {
		w.Abort()
		return fmt.Errorf("importer: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("importer: %w", err)
	}
	rep.Written = int(w.Rows())
	return nil
}

// parse checks one record and appends its row to buf; it reports whether
// the record was bad (counted in rep) or left out with a warning.
func (s *schema[T]) parse(rec, header []string, idx []int, o Options, line int, file string, fieldToSource map[string]string,
	seen map[int64]int, rep *Report, problem func(Problem), buf *[]T) bool {
	var t T
	s.init(&t)
	for i, c := range s.cols {
		j := idx[i]
		if j < 0 {
			continue
		}
		v := rec[j]
		if strings.TrimSpace(v) == "" {
			if c.required {
				problem(Problem{File: file, Line: line, Column: header[j], Reason: "is empty"})
				return true
			}
			continue
		}
		if kind := idKinds[c.name]; kind != "" && o.IDs != nil {
			name := strings.TrimSpace(v)
			if len(name) > data.MaxNameBytes {
				problem(Problem{File: file, Line: line, Column: header[j], Reason: fmt.Sprintf("an id of %d bytes; at most %d", len(name), data.MaxNameBytes)})
				return true
			}
			v = strconv.FormatInt(o.IDs.Intern(kind, name), 10)
		}
		if err := c.set(&t, v); err != nil {
			problem(Problem{File: file, Line: line, Column: header[j], Reason: err.Error()})
			return true
		}
	}
	if s.skip != nil {
		if why := s.skip(&t); why != "" {
			rep.Skipped++
			if len(rep.Warnings) < o.KeepProblems {
				rep.Warnings = append(rep.Warnings, Problem{File: file, Line: line, Reason: why})
			}
			return false
		}
	}
	if err := s.validate(&t); err != nil {
		col := ""
		var fe *data.FieldError
		if errors.As(err, &fe) {
			col = fieldToSource[fe.Field]
			if col == "" {
				col = fe.Field
			}
			err = errors.New(fe.Reason)
		}
		problem(Problem{File: file, Line: line, Column: col, Reason: err.Error()})
		return true
	}
	if s.key != nil {
		name, k := s.key(&t)
		if first, dup := seen[k]; dup {
			problem(Problem{File: file, Line: line, Column: fieldToSource[name], Reason: fmt.Sprintf("%s %d repeats line %d's", name, k, first)})
			return true
		}
		seen[k] = line
	}
	*buf = append(*buf, t)
	return false
}

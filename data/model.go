package data

import (
	"fmt"
	"regexp"
	"time"
)

// ModelVersion describes one trained model: the manifest of its artefact
// directory and of every snapshot published from it. Versions are immutable.
type ModelVersion struct {
	Version string    `json:"version"` // e.g. "20261123-143005-3f2a9c"; see ValidVersion
	Created time.Time `json:"created"`
	Windows Windows   `json:"windows"`
	// Params are the settings it was trained with (seed, factors, windows in days, ...).
	Params map[string]any `json:"params"`
	// Metrics are its offline quality figures on the test window (auc, log_loss, ...).
	Metrics map[string]float64 `json:"metrics"`
	// Size counts what it serves (zero in manifests written before it was recorded).
	Size   ModelSize `json:"size"`
	Inputs []FileSum `json:"inputs"` // the data it read
	Files  []FileSum `json:"files"`  // the artefact's own files
}

// ModelSize counts the groups and products a model version serves.
type ModelSize struct {
	Groups   int `json:"groups"`
	Products int `json:"products"`
}

// Windows are the leakage-free time windows a model was built on: profiles,
// statistics and factors from [From, T1), the conversion model fitted on
// pushes in [T1, T2), calibrated on [T2, T3), tested on [T3, End).
// Pushes whose attribution window runs past their window's end are dropped.
// A model learnt from orders alone has T2 = T3 = 0 (OrdersOnly), one built
// on undated data no windows at all (Undated).
type Windows struct {
	From Timestamp `json:"from"`
	T1   Timestamp `json:"t1"`
	T2   Timestamp `json:"t2"`
	T3   Timestamp `json:"t3"`
	End  Timestamp `json:"end"`
	// Serve is the instant the served profiles, statistics and factors were rebuilt at (normally End).
	Serve Timestamp `json:"serve"`
	// Attribution is the attribution window.
	Attribution Timestamp `json:"attribution_ms"`
}

// Undated reports whether the model was built on data without times: no windows at all.
func (w Windows) Undated() bool {
	return w.From == 0 && w.T1 == 0 && w.T2 == 0 && w.T3 == 0 && w.End == 0
}

// OrdersOnly reports whether the windows are a model learnt from orders
// alone: history [From, T1), validation [T1, End), no push windows (T2 = T3 = 0).
func (w Windows) OrdersOnly() bool { return w.T2 == 0 && w.T3 == 0 && w.End > 0 }

// FileSum names a file with its size and SHA-256.
type FileSum struct {
	Name   string `json:"name"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

var versionRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ValidVersion checks that a version string can name a directory and a key:
// 1-64 letters, digits, '.', '_' or '-', not starting with a punctuation mark.
func ValidVersion(v string) error {
	if !versionRE.MatchString(v) {
		return fmt.Errorf("%w: model version %q: want 1-64 letters, digits, '.', '_' or '-'", ErrInvalid, v)
	}
	return nil
}

// Validate checks the manifest's version, windows and file list.
func (m *ModelVersion) Validate() error {
	if err := ValidVersion(m.Version); err != nil {
		return err
	}
	switch w := m.Windows; {
	case w.Undated():
	case w.OrdersOnly():
		if !(w.From <= w.T1 && w.T1 < w.End) {
			return invalid("model version", "windows", "want from <= t1 < end, got %d %d %d", w.From, w.T1, w.End)
		}
	case !(w.From <= w.T1 && w.T1 < w.T2 && w.T2 < w.T3 && w.T3 < w.End):
		return invalid("model version", "windows", "want from <= t1 < t2 < t3 < end, got %d %d %d %d %d", w.From, w.T1, w.T2, w.T3, w.End)
	}
	seen := map[string]bool{}
	for _, f := range m.Files {
		if f.Name == "" || seen[f.Name] || len(f.SHA256) != 64 || f.Bytes < 0 {
			return invalid("model version", "files", "bad entry %+v", f)
		}
		seen[f.Name] = true
	}
	return nil
}

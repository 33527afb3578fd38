package store

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"

	"grouprank/data"
)

// lock takes root/LOCK exclusively (flock), so one process at a time
// publishes, promotes or rolls back.
func lock(root string) (func(), error) {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(root, "LOCK"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("store: the snapshot root is locked by another publish, promote or rollback: %w", data.ErrConflict)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("store: sync %s: %w", dir, err)
	}
	return nil
}

// writeAtomic replaces path by content: a synced temporary file renamed over it, then the directory synced.
func writeAtomic(path string, content []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if _, err := f.Write(content); err != nil {
		f.Close()
		return fmt.Errorf("store: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("store: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return syncDir(filepath.Dir(path))
}

// Current is the current version: HISTORY's last line (HISTORY is the one
// file a promote or rollback commits by, so the current version and the
// history can never disagree); CURRENT is a copy written after it, for
// people and tools, and read only for a root that has no HISTORY yet.
// data.ErrNotFound when none was promoted.
func Current(root string) (string, error) {
	h, err := History(root)
	if err != nil {
		return "", err
	}
	v := ""
	if len(h) > 0 {
		v = h[len(h)-1]
	} else {
		b, err := os.ReadFile(filepath.Join(root, "CURRENT"))
		if os.IsNotExist(err) {
			return "", fmt.Errorf("store: the snapshot root has no current snapshot: %w", data.ErrNotFound)
		}
		if err != nil {
			return "", fmt.Errorf("store: %w", err)
		}
		v = strings.TrimSpace(string(b))
	}
	if err := data.ValidVersion(v); err != nil {
		return "", fmt.Errorf("store: the current version: %w", err)
	}
	return v, nil
}

// History lists the promoted versions, oldest first; the last is current.
func History(root string) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(root, "HISTORY"))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return strings.Fields(string(b)), nil
}

// commitHistory makes h the history, and so its last version current, in
// one atomic step (HISTORY replaced by rename), then copies the current
// version to CURRENT. The caller holds the lock.
func commitHistory(root string, h []string) error {
	if err := writeAtomic(filepath.Join(root, "HISTORY"), []byte(strings.Join(h, "\n")+"\n")); err != nil {
		return err
	}
	return writeAtomic(filepath.Join(root, "CURRENT"), []byte(h[len(h)-1]+"\n"))
}

// setCurrent makes v current (the caller holds the lock) by appending it to
// the history.
func setCurrent(root, v string) error {
	if _, err := os.Stat(filepath.Join(root, "snapshots", v)); err != nil {
		return fmt.Errorf("store: promote %s: %w: not published", v, data.ErrNotFound)
	}
	h, err := historyOf(root)
	if err != nil {
		return err
	}
	return commitHistory(root, append(h, v))
}

// historyOf is the history, with a root that has CURRENT but no HISTORY
// (written before HISTORY existed) read as a history of that one version.
func historyOf(root string) ([]string, error) {
	h, err := History(root)
	if err != nil || len(h) > 0 {
		return h, err
	}
	if v, err := Current(root); err == nil {
		return []string{v}, nil
	}
	return nil, nil
}

// Promote makes a published version current.
func Promote(root, version string) error {
	if err := data.ValidVersion(version); err != nil {
		return err
	}
	unlock, err := lock(root)
	if err != nil {
		return err
	}
	defer unlock()
	return setCurrent(root, version)
}

// Rollback makes the previously promoted version current again and returns
// it: the current version leaves the history, in one atomic step.
func Rollback(root string) (string, error) {
	unlock, err := lock(root)
	if err != nil {
		return "", err
	}
	defer unlock()
	h, prev, err := previous(root)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(root, "snapshots", prev)); err != nil {
		return "", fmt.Errorf("store: rollback to %s: %w: not published", prev, data.ErrNotFound)
	}
	return prev, commitHistory(root, h)
}

// Previous is the version Rollback would make current (it changes nothing).
func Previous(root string) (string, error) {
	_, prev, err := previous(root)
	return prev, err
}

// previous is the history Rollback leaves and the version it makes current.
func previous(root string) ([]string, string, error) {
	h, err := historyOf(root)
	if err != nil {
		return nil, "", err
	}
	cur, err := Current(root)
	if err != nil {
		return nil, "", err
	}
	// drop the current version from the end of the history, then whatever is left last is the target
	for len(h) > 0 && h[len(h)-1] == cur {
		h = h[:len(h)-1]
	}
	if len(h) == 0 {
		return nil, "", fmt.Errorf("store: rollback: %w: no version was promoted before %s", data.ErrNotFound, cur)
	}
	return h, h[len(h)-1], nil
}

// Published lists the published versions in name order.
func Published(root string) ([]string, error) {
	ents, err := os.ReadDir(filepath.Join(root, "snapshots"))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return slices.Clip(out), nil
}

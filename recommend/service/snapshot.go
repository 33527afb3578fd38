package service

import (
	"fmt"

	"grouprank/data"
	"grouprank/data/store"
	"grouprank/recommend"
	"grouprank/train"
)

// snapshotGroups reads group records from an open snapshot.
type snapshotGroups struct{ s *store.Snapshot }

func (g snapshotGroups) Group(id data.GroupID) (recommend.Group, error) {
	b, err := g.s.Group(id)
	if err != nil {
		return recommend.Group{}, err
	}
	return recommend.DecodeGroup(b)
}

// OpenModel opens a snapshot and builds the model that serves it.
func OpenModel(root, version string) (*recommend.Model, *store.Snapshot, error) {
	s, err := store.OpenSnapshot(root, version)
	if err != nil {
		return nil, nil, err
	}
	files := map[string][]byte{}
	for _, f := range s.Manifest.Files {
		if f.Name == train.GroupsFile {
			continue
		}
		b, err := s.Blob(f.Name)
		if err != nil {
			s.Close()
			return nil, nil, err
		}
		files[f.Name] = b
	}
	// Every byte served is checked against the manifest at open: the
	// artefact files by their checksums, the group records re-encoded as the
	// groups.bin they were published from (errors name the file, not a path).
	where := func(name string) string { return name }
	err = train.VerifyFiles(&s.Manifest, files, where)
	if err == nil {
		err = train.VerifyGroups(&s.Manifest, s.EachGroup, "the group records")
	}
	if err != nil {
		s.Close()
		return nil, nil, fmt.Errorf("snapshot %s is damaged: %w", version, err)
	}
	a, err := train.DecodeArtefact(s.Manifest, files, func(name string) string { return s.Dir + ": " + name })
	if err != nil {
		s.Close()
		return nil, nil, err
	}
	in, _ := a.Inputs()
	m := recommend.NewModel(a.Manifest.Version, recommend.NewRanker(recommend.NewScorer(in, &a.Spec.Conversion)), snapshotGroups{s})
	m.Manifest, m.CategoryNames, m.IDs, m.Members, m.Together = s.Manifest, a.Spec.CategoryNames, a.IDs, a.Members, a.Together
	switch f := a.Spec.FoldIn; {
	case a.Spec.Preference != nil:
		m.EnablePrefFoldIn(f.Alpha0, f.Lambda, f.Nu, a.Manifest.Windows.Serve)
	case f.Lambda > 0:
		m.EnableFoldIn(f.Alpha0, f.Lambda, f.Nu, f.Confidence, a.Manifest.Windows.Serve)
	}
	return m, s, nil
}

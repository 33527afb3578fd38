package main

import (
	"io"
	"os"

	"grouprank/data"
	"grouprank/data/parquetio"
	"grouprank/features"
	"grouprank/train"
)

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// randomLists streams the exposures file (when there is one) and returns the
// randomised lists' request ids.
func randomLists(path string) (map[string]bool, error) { return readExposures(path, nil) }

// readExposures streams the exposures file (when there is one), logs every
// exposure into sb (when not nil) and returns the randomised lists' request
// ids.
func readExposures(path string, sb *features.ShownBuilder) (map[string]bool, error) {
	var rl train.RandomLists
	if !fileExists(path) {
		return rl.Requests(), nil
	}
	r, err := parquetio.Open(path, parquetio.Exposures)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	if sb != nil {
		sb.Grow(int(r.NumRows()))
	}
	buf := make([]data.Exposure, 8192)
	for {
		n, err := r.Read(buf)
		for i := range buf[:n] {
			rl.Add(&buf[i])
			if sb != nil {
				sb.Add(&buf[i])
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	return rl.Requests(), nil
}

package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"grouprank/data"
	"grouprank/data/parquetio"
	"grouprank/train"
)

// inputSums checksums the world's tables.
func inputSums(dir string) ([]data.FileSum, error) {
	var out []data.FileSum
	for _, name := range []string{parquetio.Catalog.File, parquetio.Products.File, parquetio.Groups.File,
		parquetio.Orders.File, parquetio.Pushes.File, parquetio.Exposures.File, parquetio.Members.File, parquetio.IDs.File} {
		p := filepath.Join(dir, name)
		f, err := os.Open(p)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		h := sha256.New()
		n, err := io.Copy(h, f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		out = append(out, data.FileSum{Name: name, Bytes: n, SHA256: hex.EncodeToString(h.Sum(nil))})
	}
	return out, nil
}

// versionOf checksums the world's tables and names the version: --version,
// or the UTC time of training and the data's checksum.
func versionOf(f *trainFlags, now time.Time) (version string, created time.Time, inputs []data.FileSum, err error) {
	if inputs, err = inputSums(f.world); err != nil {
		return "", time.Time{}, nil, err
	}
	created = now.UTC()
	version = f.version
	if version == "" {
		h := sha256.New()
		for _, in := range inputs {
			h.Write([]byte(in.SHA256))
		}
		version = created.Format("20060102-150405") + "-" + hex.EncodeToString(h.Sum(nil))[:6]
	}
	return version, created, inputs, nil
}

// writeArtefact writes the trained model to --out, or a sharded train's
// part to --part (its groups; part 0's version and creation time).
func writeArtefact(ctx context.Context, e *env, f *trainFlags, w *world, tr *trained, part *trainPart) (string, error) {
	version, created, inputs, err := versionOf(f, e.now())
	if err != nil {
		return "", err
	}
	root := f.out
	if part != nil {
		if version, created, err = part.version(ctx, version, created); err != nil {
			return "", err
		}
		root = f.part
	}
	m := data.ModelVersion{Version: version, Created: created, Windows: tr.windows, Inputs: inputs,
		Params: map[string]any{"world": filepath.Base(filepath.Clean(f.world)), "seed": f.seed, "train_days": f.win.TrainDays, "calib_days": f.win.CalibDays,
			"test_days": f.win.TestDays, "attribution_hours": f.attributionHours, "factors": f.base.ALS.Factors,
			"epochs": f.base.ALS.Epochs, "half_life_days": f.base.Profile.HalfLifeDays, "taste_prior": f.base.Profile.TastePrior, "taste_half_life_days": f.base.Profile.TasteHalfLifeDays, "l2": f.conv.Logistic.L2,
			"calibration": tr.report.Calibration, "shuffle_labels": f.shuffleLabel, "picks": tr.hist.ReadShown(), "count": f.pref.count},
		Metrics: map[string]float64{}}
	for _, s := range tr.report.Sets {
		key := map[string]string{"train": "train", "calibration": "calib", "test": "test", "test, randomised lists": "random"}[s.Set]
		for k, v := range map[string]float64{"auc": s.AUC, "log_loss": s.LogLoss, "rate": s.Rate, "n": float64(s.N), "max_decile_error": s.MaxError} {
			if !math.IsNaN(v) {
				m.Metrics[key+"_"+k] = v
			}
		}
	}
	for _, b := range tr.report.Baselines {
		slug := strings.NewReplacer(" ", "_", "(", "", ")", "").Replace(b.Name)
		for k, v := range map[string]float64{"test_auc": b.AUC, "random_auc": b.RandomAUC} {
			if !math.IsNaN(v) {
				m.Metrics["baseline_"+slug+"_"+k] = v
			}
		}
	}
	a, err := train.NewArtefact(tr.hist, tr.serve, f.base, tr.fit.Conversion, m, trainReport{Attribution: tr.hist.Report, Conversion: tr.report, OffPolicy: tr.ope, Groups: tr.know})
	if err != nil {
		return "", err
	}
	if a.Spec.CategoryNames, err = data.ReadCategoryNames(f.world); err != nil {
		return "", err
	}
	a.IDs = w.ids
	return writeTrainArtefact(ctx, f, part, root, a)
}

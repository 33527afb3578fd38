// Package train fits grouprank's models and evaluates them: implicit ALS
// group and item vectors (TrainALS, solved row by row with the same
// recommend.RowProblem the online fold-in uses); the conversion model
// P(order | push) and its expected-orders companion, fitted on leakage-free
// windows (Windows, Fit), calibrated (Platt or isotonic) and measured
// (AUC, log loss, reliability tables); off-policy estimates over the
// randomised slice (OffPolicy); the true business value of each objective
// on the synthetic world (BusinessMetrics); versioned artefacts with
// checksummed manifests (WriteArtefact, ReadArtefact); the baselines; and the
// offline evaluation harness (Evaluate) that scores every method with the
// same metrics against held-out orders and, on the synthetic world, against
// the ground truth.
package train

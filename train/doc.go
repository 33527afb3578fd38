// Package train fits grouprank's models and evaluates them: implicit ALS
// group and item vectors (TrainALS, solved row by row with the same
// recommend.RowProblem the online fold-in uses), the baselines, and the
// offline evaluation harness (Evaluate) that scores every method with the
// same metrics against held-out orders and, on the synthetic world, against
// the ground truth.
package train

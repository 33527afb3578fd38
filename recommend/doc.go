// Package recommend ranks products for a group. It owns what the online
// service and offline training must compute identically: the implicit-ALS row
// solver (RowProblem: train solves every row with it, the service folds in a
// new or changed group with it); the profile model (ProfileModel), the
// ranking of groups with little or no history; the conversion model's
// features (Inputs.Features) and the calibrated scorer that evaluates them
// for every item at once (Scorer); the named objectives that blend expected
// orders with price, commission and rating (Objective, TopK); and the Ranker
// (candidates, calibrated p, blend, floors, top k). It does no I/O.
package recommend

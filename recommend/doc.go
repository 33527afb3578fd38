// Package recommend ranks products for a group. It owns what the online
// service and offline training must compute identically: the implicit-ALS row
// solver (RowProblem: train solves every row with it, the service folds in a
// new or changed group with it), and the profile model (ProfileModel), the
// ranking of groups with little or no history. It does no I/O.
package recommend

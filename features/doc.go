// Package features turns order and push history into what models read: dense
// indices over the catalogue and the groups (Catalog, Groups), time-decayed
// group profiles (Profiles: category, brand and price-band affinities, POP
// share, activity) and item statistics (ItemStats: popularity overall, per
// channel and per city tier, trending, shrunk good-review rate, shrunk
// conversion per push). Everything is a pure function of its inputs; features
// for an instant T use only events before T (events of unknown time count as
// history, so undated sets such as BeiBei stay usable).
package features

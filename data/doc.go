// Package data is grouprank's vocabulary: the catalogue (Product, CatalogChange),
// the groups and their members (Group, Membership), what happened in them
// (Exposure, Push, Order), the sentinel errors every layer shares, and today's
// practice (PracticeScore, RankByPractice), the one ranking every baseline and
// control arm refers to.
//
// The package imports only the standard library. Times are Timestamps
// (milliseconds since the Unix epoch, UTC); every field that real data may lack
// has an explicit Unknown value (UnknownTime, UnknownPrice, UnknownRate,
// ChannelUnknown, TierUnknown, UnknownMember, SellerUnknown), so imported sets
// without timestamps or prices load and stay usable.
package data

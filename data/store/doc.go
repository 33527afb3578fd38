// Package store owns grouprank's badger databases. A snapshot is one
// published model version: a badger directory written once with a
// StreamWriter into a new, empty directory, synced, then only ever opened
// read-only. The directory layout under a root (see Publish) keeps every
// published version for rollback and names the current one in a CURRENT
// file that is replaced atomically. keys.go documents every key.
package store

// Package parquetio owns grouprank's Parquet files: one typed table per record
// of package data (Products, Catalog, Groups, Members, Exposures, Pushes,
// Orders), written atomically with bounded row groups and zstd, read back
// row by row with validation, and scanned column by column (Scan) for the hot
// passes over orders, pushes and exposures.
//
// Files use plain Parquet types only (INT64 ids, INT64 TIMESTAMP(MILLIS) times,
// dictionary-encoded UTF-8 strings for enums) so that any Parquet tool reads
// them; docs/data.md documents every column. It is the only package that
// imports parquet-go.
package parquetio

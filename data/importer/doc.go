// Package importer turns CSV/TSV files into grouprank's Parquet tables with a
// column mapping and row-level validation (Import), and adapts public datasets
// (ImportBeiBei). Every bad row is reported with its file, line, column and
// reason; when more rows are bad than the caller tolerates, nothing is written.
package importer

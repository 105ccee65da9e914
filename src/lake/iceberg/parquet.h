// Iceberg data and delete files in Parquet, written by DuckDB's COPY and described for manifests.
//
// A data file of schema S is a Parquet file whose columns are S's fields in order, named
// ParquetColumnName(field.name), typed DuckTypeOf(field.type), carrying field.id as their
// Parquet field id (COPY's FIELD_IDS), with the key "iceberg.schema" = S's JSON in the footer
// (COPY's KV_METADATA; Iceberg's writers store it there too, and icebird needs it to project
// columns of older files by id). Every column is written optional. Compression ZSTD and row
// groups of 16,384 rows by default, as the lake's other files.
//
// A position delete file holds rows (file_path VARCHAR, pos BIGINT) with the reserved field ids
// 2147483546 and 2147483545, sorted by file_path then pos, without the deleted rows' values.
//
// The statistics of a written file come from its footer (parquet_metadata(), so the cost is that
// of the footer, not of the data): record count, file size, split offsets (row group starts),
// and per field id the column size, value count, null count and the lower and upper bounds
// (bounds.h; a bound is left out when a row group lacks statistics, e.g. a double column with
// NaN, or for binary and uuid). NaN counts are not known from the footer and are left out.
//
// Threading: functions run statements on the caller's connection; the REQUIRES of duck.h apply
// (one thread per connection). Files are written and fsynced; making their directory entries
// durable is the committer's (Table::Commit fsyncs data/).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "lake/duck.h"
#include "lake/iceberg/bounds.h"
#include "lake/iceberg/manifest.h"
#include "lake/iceberg/schema.h"

namespace migsbyu::iceberg {

struct ParquetOptions {
  std::string compression = "zstd";  // zstd, snappy, gzip, lz4, brotli or uncompressed
  uint64_t row_group_size = 16384;
  // String bounds longer than this many code points are truncated (0: never).
  size_t truncate_length = kDefaultTruncateLength;
};

// The option list of a COPY ... TO 'file' (...) that writes an Iceberg data file of `schema`
// ("FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 16384, FIELD_IDS {...}, KV_METADATA {...}").
// REQUIRES: the COPY's query yields DataFileColumns(schema) (for instance through
// DataFileQuery). kInvalidArgument for an unknown compression or a zero row group size.
Result<std::string> DataFileCopyOptions(const Schema& schema, const ParquetOptions& options = {});
// "SELECT CAST(<name> AS <type>) AS <column>, ..." over `source` (a table name or a
// parenthesized query) whose columns carry the schema's field names: the query a data file of
// `schema` is copied from. Columns of `source` not in the schema are left out.
std::string DataFileQuery(const Schema& schema, const std::string& source);

// Writes the rows of `source` (see DataFileQuery) as a new data file at `file_uri` (a "file://"
// location under the table's data/ directory), fsyncs it and returns its description. Errors:
// DuckDB's (a missing column, a value that does not fit the type) as kInvalidArgument naming the
// file; kAlreadyExists when the file exists.
Result<DataFile> WriteDataFile(duck::Connection& conn, const std::string& source,
                               const Schema& schema, const std::string& file_uri,
                               const ParquetOptions& options = {});

// Describes the Parquet file at `file_uri` for a manifest, taking field ids from `schema`'s
// columns (by their Parquet column names). `content` is the file's kind.
Result<DataFile> DescribeParquetFile(duck::Connection& conn, const std::string& file_uri,
                                     const Schema& schema, FileContent content,
                                     const ParquetOptions& options = {});

struct PositionDelete {
  std::string file_path;  // the data file's URI, as its manifest entry has it
  int64_t pos = 0;        // 0-based row position in that file
  auto operator<=>(const PositionDelete&) const = default;
};

// Writes a position delete file at `file_uri` holding `deletes` (sorted here; duplicates
// dropped) and returns its description (referenced_data_file set when all rows name one file;
// file_path bounds never truncated, so that a reader can tell which files it touches).
// kInvalidArgument for an empty list or a negative position.
Result<DataFile> WritePositionDeletes(duck::Connection& conn, std::vector<PositionDelete> deletes,
                                      const std::string& file_uri,
                                      const ParquetOptions& options = {});

}  // namespace migsbyu::iceberg

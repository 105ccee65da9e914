#include "lake/iceberg/parquet.h"

#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "lake/iceberg/files.h"

namespace migsbyu::iceberg {
namespace {

using nlohmann::json;

const std::set<std::string>& Compressions() {
  static const std::set<std::string> kNames = {"zstd", "snappy", "gzip",
                                               "lz4",  "brotli", "uncompressed"};
  return kNames;
}

// The delete file's columns, with their reserved ids (ValidateSchema would refuse the ids: they
// are outside a table schema's range by design).
const Schema& PositionDeleteSchema() {
  static const Schema schema{
      0,
      {Field{kDeleteFilePathId, "file_path", Type::Of(TypeId::kString), true, ""},
       Field{kDeletePosId, "pos", Type::Of(TypeId::kLong), true, ""}},
      {}};
  return schema;
}

Result<std::string> CopyOptions(const Schema& schema, const ParquetOptions& options) {
  if (!Compressions().count(options.compression)) {
    return Error::InvalidArgument("unknown Parquet compression '" + options.compression + "'");
  }
  if (options.row_group_size == 0) return Error::InvalidArgument("row group size must be > 0");
  std::string ids;
  for (const auto& f : schema.fields) {
    ids += (ids.empty() ? "" : ", ") + duck::QuoteString(ParquetColumnName(f.name)) + ": " +
           std::to_string(f.id);
  }
  return "FORMAT parquet, COMPRESSION " + options.compression + ", ROW_GROUP_SIZE " +
         std::to_string(options.row_group_size) + ", FIELD_IDS {" + ids +
         "}, KV_METADATA {'iceberg.schema': " + duck::QuoteString(SchemaToJsonText(schema)) + "}";
}

std::string Unhex(std::string_view hex) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return 0;
  };
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(nibble(hex[i]) * 16 + nibble(hex[i + 1])));
  }
  return out;
}

Result<int64_t> FileSize(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return Error::Internal("cannot stat " + path);
  return static_cast<int64_t>(st.st_size);
}

// Per-column totals while reading a footer.
struct ColumnStats {
  int64_t values = 0;
  int64_t nulls = 0;
  bool nulls_known = true;
  int64_t size = 0;
  std::optional<Literal> min, max;
  bool bounds_known = true;
};

Status CopyTo(duck::Connection& conn, const std::string& query, const std::string& path,
              const std::string& options) {
  if (::access(path.c_str(), F_OK) == 0) return Error::AlreadyExists(path + " exists");
  Status copied =
      conn.Execute("COPY (" + query + ") TO " + duck::QuoteString(path) + " (" + options + ")");
  if (!copied.ok()) {
    return Error::InvalidArgument("writing " + path + ": " + copied.error().message());
  }
  return SyncPath(path);
}

}  // namespace

Result<std::string> DataFileCopyOptions(const Schema& schema, const ParquetOptions& options) {
  return CopyOptions(schema, options);
}

std::string DataFileQuery(const Schema& schema, const std::string& source) {
  std::string select;
  for (const auto& f : schema.fields) {
    select += (select.empty() ? "" : ", ") + std::string("CAST(") + duck::QuoteIdentifier(f.name) +
              " AS " + DuckTypeOf(f.type) + ") AS " +
              duck::QuoteIdentifier(ParquetColumnName(f.name));
  }
  return "SELECT " + select + " FROM " + source;
}

Result<DataFile> WriteDataFile(duck::Connection& conn, const std::string& source,
                               const Schema& schema, const std::string& file_uri,
                               const ParquetOptions& options) {
  MIGSBYU_ASSIGN(std::string path, LocalPath(file_uri));
  MIGSBYU_ASSIGN(std::string copy_options, CopyOptions(schema, options));
  MIGSBYU_TRY(CopyTo(conn, DataFileQuery(schema, source), path, copy_options));
  return DescribeParquetFile(conn, file_uri, schema, FileContent::kData, options);
}

Result<DataFile> DescribeParquetFile(duck::Connection& conn, const std::string& file_uri,
                                     const Schema& schema, FileContent content,
                                     const ParquetOptions& options) {
  MIGSBYU_ASSIGN(std::string path, LocalPath(file_uri));
  std::map<std::string, const Field*> by_column;
  for (const auto& f : schema.fields) by_column[ParquetColumnName(f.name)] = &f;

  auto rows = conn.Query(
      "SELECT row_group_id, row_group_num_rows, column_id, path_in_schema, num_values, "
      "stats_null_count, hex(stats_min_value), hex(stats_max_value), total_compressed_size, "
      "coalesce(least(dictionary_page_offset, data_page_offset), data_page_offset) "
      "FROM parquet_metadata(" +
      duck::QuoteString(path) + ") ORDER BY row_group_id, column_id");
  if (!rows.ok())
    return Error::Corruption("reading the footer of " + path + ": " + rows.error().message());

  DataFile file;
  file.content = content;
  file.file_path = file_uri;
  std::map<int32_t, ColumnStats> stats;
  int64_t last_group = -1;
  for (uint64_t r = 0; r < rows->RowCount(); ++r) {
    int64_t group = rows->GetInt64(0, r);
    if (group != last_group) {
      last_group = group;
      file.record_count += rows->GetInt64(1, r);
      file.split_offsets.push_back(rows->GetInt64(9, r));
    }
    auto field = by_column.find(rows->GetString(3, r));
    if (field == by_column.end()) {
      return Error::Corruption(path + ": column '" + rows->GetString(3, r) + "' is not in schema " +
                               std::to_string(schema.schema_id));
    }
    const Field& f = *field->second;
    ColumnStats& s = stats[f.id];
    int64_t values = rows->GetInt64(4, r);
    s.values += values;
    s.size += rows->GetInt64(8, r);
    int64_t nulls = rows->IsNull(5, r) ? -1 : rows->GetInt64(5, r);
    if (nulls < 0) {
      s.nulls_known = false;
    } else {
      s.nulls += nulls;
    }
    if (nulls == values) continue;  // only nulls here: nothing to bound
    std::optional<Literal> min, max;
    if (!rows->IsNull(6, r)) min = ParseDuckText(f.type, Unhex(rows->GetString(6, r)));
    if (!rows->IsNull(7, r)) max = ParseDuckText(f.type, Unhex(rows->GetString(7, r)));
    if (!min || !max) {
      s.bounds_known = false;
      continue;
    }
    if (!s.min || CompareLiterals(*min, *s.min) < 0) s.min = std::move(min);
    if (!s.max || CompareLiterals(*max, *s.max) > 0) s.max = std::move(max);
  }
  for (const auto& [id, s] : stats) {
    const Field& f = *schema.FindId(id);
    file.value_counts[id] = s.values;
    file.column_sizes[id] = s.size;
    if (s.nulls_known) file.null_value_counts[id] = s.nulls;
    if (!s.bounds_known || !s.min || !s.max) continue;
    file.lower_bounds[id] = LowerBound(f.type, *s.min, options.truncate_length);
    if (auto upper = UpperBound(f.type, *s.max, options.truncate_length)) {
      file.upper_bounds[id] = std::move(*upper);
    }
  }
  MIGSBYU_ASSIGN(file.file_size_in_bytes, FileSize(path));
  return file;
}

Result<DataFile> WritePositionDeletes(duck::Connection& conn, std::vector<PositionDelete> deletes,
                                      const std::string& file_uri, const ParquetOptions& options) {
  if (deletes.empty())
    return Error::InvalidArgument("a position delete file needs at least one row");
  std::sort(deletes.begin(), deletes.end());
  deletes.erase(std::unique(deletes.begin(), deletes.end()), deletes.end());
  for (const auto& d : deletes) {
    if (d.pos < 0) {
      return Error::InvalidArgument("negative position " + std::to_string(d.pos) + " in " +
                                    d.file_path);
    }
  }
  MIGSBYU_ASSIGN(std::string path, LocalPath(file_uri));
  const std::string staging = "iceberg_position_deletes_staging";
  MIGSBYU_TRY(
      conn.Execute("CREATE OR REPLACE TEMP TABLE " + staging + " (file_path VARCHAR, pos BIGINT)"));
  struct Drop {
    duck::Connection& conn;
    const std::string& table;
    ~Drop() { (void)conn.Execute("DROP TABLE IF EXISTS " + table); }
  } drop{conn, staging};
  {
    MIGSBYU_ASSIGN(duck::Appender appender, conn.MakeAppender(staging));
    for (const auto& d : deletes) {
      MIGSBYU_TRY(appender.AppendString(d.file_path));
      MIGSBYU_TRY(appender.AppendInt64(d.pos));
      MIGSBYU_TRY(appender.EndRow());
    }
    MIGSBYU_TRY(appender.Close());
  }
  MIGSBYU_ASSIGN(std::string copy_options, CopyOptions(PositionDeleteSchema(), options));
  MIGSBYU_TRY(CopyTo(conn, "SELECT file_path, pos FROM " + staging + " ORDER BY file_path, pos",
                     path, copy_options));
  ParquetOptions untruncated = options;
  untruncated.truncate_length = 0;
  MIGSBYU_ASSIGN(DataFile file, DescribeParquetFile(conn, file_uri, PositionDeleteSchema(),
                                                    FileContent::kPositionDeletes, untruncated));
  if (deletes.front().file_path == deletes.back().file_path) {
    file.referenced_data_file = deletes.front().file_path;
  }
  return file;
}

}  // namespace migsbyu::iceberg

#include "lake/iceberg/scan.h"

#include <algorithm>
#include <map>

#include "lake/duck.h"

namespace migsbyu::iceberg {
namespace {

std::string InternalName(int32_t id) { return "__iceberg_" + std::to_string(id); }

std::string FileList(const std::vector<const ScanFile*>& files) {
  std::string list;
  for (const ScanFile* f : files) list += (list.empty() ? "" : ", ") + duck::QuoteString(f->path);
  return "[" + list + "]";
}

std::string FieldIdMap(const Schema& schema) {
  std::string map;
  for (const auto& f : schema.fields) {
    map += (map.empty() ? "" : ", ") + std::to_string(f.id) +
           ": {name: " + duck::QuoteString(InternalName(f.id)) +
           ", type: " + duck::QuoteString(DuckTypeOf(f.type)) + ", default_value: NULL}";
  }
  return "MAP {" + map + "}";
}

std::string Projection(const Schema& schema, const std::string& alias) {
  std::string select;
  for (const auto& f : schema.fields) {
    select += (select.empty() ? "" : ", ") + alias + "." +
              duck::QuoteIdentifier(InternalName(f.id)) + " AS " + duck::QuoteIdentifier(f.name);
  }
  return select;
}

}  // namespace

Result<std::string> ScanQuery(const ScanPlan& plan) { return ScanQuery(plan, plan.schema); }

Result<std::string> ScanQuery(const ScanPlan& plan, const Schema& schema) {
  if (plan.data_files.empty()) {
    std::string select;
    for (const auto& f : schema.fields) {
      select += (select.empty() ? "" : ", ") + std::string("CAST(NULL AS ") + DuckTypeOf(f.type) +
                ") AS " + duck::QuoteIdentifier(f.name);
    }
    return "SELECT " + select + " WHERE false";
  }
  std::vector<const ScanFile*> deletes;
  for (const auto& d : plan.delete_files) {
    if (d.content == FileContent::kEqualityDeletes) {
      return Error::InvalidArgument("snapshot holds equality delete file " + d.path +
                                    ", which this reader does not apply");
    }
    deletes.push_back(&d);
  }
  std::sort(deletes.begin(), deletes.end(), [](const ScanFile* a, const ScanFile* b) {
    return a->sequence_number < b->sequence_number;
  });
  // Data files by the first delete file (in sequence order) that applies to them: all from there
  // on apply too. deletes.size() means none.
  std::map<size_t, std::vector<const ScanFile*>> groups;
  for (const auto& f : plan.data_files) {
    size_t first =
        std::lower_bound(deletes.begin(), deletes.end(), f.sequence_number,
                         [](const ScanFile* d, int64_t seq) { return d->sequence_number < seq; }) -
        deletes.begin();
    groups[first].push_back(&f);
  }
  std::string ids = FieldIdMap(schema);
  std::string query;
  for (const auto& [first, files] : groups) {
    std::string part = "SELECT " + Projection(schema, "d") + " FROM read_parquet(" +
                       FileList(files) + ", schema = " + ids + ", hive_partitioning = false";
    if (first == deletes.size()) {
      part += ") AS d";
    } else {
      std::vector<const ScanFile*> applying(deletes.begin() + static_cast<std::ptrdiff_t>(first),
                                            deletes.end());
      part +=
          ", filename = '__iceberg_file', file_row_number = true) AS d ANTI JOIN read_parquet(" +
          FileList(applying) + ", schema = MAP {" + std::to_string(kDeleteFilePathId) +
          ": {name: 'file_path', type: 'VARCHAR', default_value: NULL}, " +
          std::to_string(kDeletePosId) +
          ": {name: 'pos', type: 'BIGINT', default_value: NULL}}, hive_partitioning = false) AS p "
          "ON p.file_path = d.__iceberg_file AND p.pos = d.file_row_number";
    }
    query += (query.empty() ? "" : " UNION ALL ") + part;
  }
  return query;
}

}  // namespace migsbyu::iceberg

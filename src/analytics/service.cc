#include "analytics/service.h"

#include <algorithm>
#include <set>
#include <utility>
#include <variant>
#include <vector>

#include "analytics/instant.h"
#include "analytics/query.h"
#include "analytics/tables.h"
#include "common/actor.h"
#include "lake/catalog.h"

namespace migsbyu::analytics {
namespace {

// Conditions joined by AND; "" when there are none.
std::string WhereClause(const std::vector<std::string>& conditions) {
  std::string out;
  for (const auto& c : conditions) out += (out.empty() ? " WHERE " : " AND ") + c;
  return out;
}

// Runs `fn` on one lake snapshot and hands back its result.
template <typename T>
Result<T> OnSnapshot(LakeAccess& lake, const std::function<Result<T>(duck::Connection&)>& fn) {
  std::optional<Result<T>> out;
  Status status = lake.Read([&](duck::Connection& conn) -> Status {
    out.emplace(fn(conn));
    if (!out->ok()) return out->error();
    return OkStatus();
  });
  if (!status.ok()) return std::move(status).error();
  return std::move(*out);
}

// The columns of a view, in order.
Result<std::vector<std::string>> ViewColumns(duck::Connection& conn, const std::string& view) {
  MIGSBYU_ASSIGN(auto result,
                 conn.Query("SELECT * FROM " + duck::QuoteIdentifier(view) + " LIMIT 0"));
  std::vector<std::string> names;
  for (uint64_t c = 0; c < result.ColumnCount(); ++c) names.push_back(result.ColumnName(c));
  return names;
}

// Whether the snapshot has a view (or, in a fixture, a table) called `name`.
Result<bool> HasView(duck::Connection& conn, const std::string& name) {
  MIGSBYU_ASSIGN(auto stmt, conn.Prepare("SELECT count(*) FROM information_schema.tables WHERE "
                                         "table_name = $1"));
  MIGSBYU_TRY(stmt.BindString(1, name));
  MIGSBYU_ASSIGN(auto rows, stmt.Execute());
  return rows.GetInt64(0, 0) > 0;
}

// `max_limit`: the audit trail's pages (its CSV downloads) may be larger than other listings'.
Status CheckPaging(const Paging& paging, int64_t max_limit = kMaxPageSize) {
  if (paging.skip < 0) {
    return Error::InvalidArgument("skip: " + std::to_string(paging.skip) + " is negative");
  }
  if (paging.limit < 1 || paging.limit > max_limit) {
    return Error::InvalidArgument("limit: " + std::to_string(paging.limit) +
                                  " is not between 1 and " + std::to_string(max_limit));
  }
  return OkStatus();
}

// count(*) of `from` (a FROM clause with its WHERE), then one page of `select` from it.
Result<Page> PageOf(duck::Connection& conn, const std::string& select, const std::string& from,
                    const Sql& sql, const std::string& order_by, const Paging& paging) {
  MIGSBYU_ASSIGN(auto count, RunRaw(conn, "SELECT count(*) " + from, sql.params()));
  Page page;
  page.total = count.GetInt64(0, 0);
  Sql paged = sql;
  std::string limit = paged.Bind(paging.limit);
  std::string offset = paged.Bind(paging.skip);
  MIGSBYU_ASSIGN(auto rows, RunQuery(conn,
                                     "SELECT " + select + " " + from + " ORDER BY " + order_by +
                                         " LIMIT " + limit + " OFFSET " + offset,
                                     paged.params()));
  page.rows = RowsToObjects(rows);
  return page;
}

// A dimension version in force at the instant bound as `at` (half-open effective interval).
std::string InForceAt(const std::string& prefix, const std::string& at) {
  return prefix + "row_effective_start <= " + at + " AND " + at + " < " + prefix +
         "row_effective_end";
}

std::string Join(const std::vector<std::string>& parts, const std::string& separator) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? separator : "") + parts[i];
  return out;
}

// The operational table's rows at the instant bound as `at`, replayed from its change log.
Result<std::string> ReplaySql(duck::Connection& conn, const OperationalTable& table,
                              const std::string& at, std::vector<std::string>* key_columns) {
  MIGSBYU_ASSIGN(auto view_columns, ViewColumns(conn, table.changes_view));
  std::vector<std::string> columns;
  for (const auto& name : view_columns) {
    std::string column = ColumnOfAfter(name);
    if (!column.empty()) columns.push_back(column);
  }
  for (const auto& key : table.key_columns) {
    bool has_before = std::find(view_columns.begin(), view_columns.end(), BeforeColumn(key)) !=
                      view_columns.end();
    if (std::find(columns.begin(), columns.end(), key) == columns.end() || !has_before) {
      return Error::Corruption("analytics: change log " + table.changes_view + " lacks " +
                               BeforeColumn(key) + " or " + AfterColumn(key));
    }
  }
  auto q = [](const std::string& id) { return duck::QuoteIdentifier(id); };
  std::vector<std::string> presence, removal, keys, key_moved;
  for (const auto& c : columns) {
    bool is_key =
        std::find(table.key_columns.begin(), table.key_columns.end(), c) != table.key_columns.end();
    presence.push_back(q(AfterColumn(c)) + " AS " + q(c));
    removal.push_back((is_key ? q(BeforeColumn(c)) : "NULL") + " AS " + q(c));
  }
  std::vector<std::string> selected;
  for (const auto& c : columns) selected.push_back(q(c));
  for (const auto& k : table.key_columns) {
    keys.push_back(q(k));
    key_moved.push_back(q(BeforeColumn(k)) + " IS DISTINCT FROM " + q(AfterColumn(k)));
  }
  std::string changes = q(table.changes_view);
  std::string first_key_before = q(BeforeColumn(table.key_columns.front()));
  *key_columns = keys;
  // Every change either puts a row at its after-key (read, insert, update) or takes one away
  // from its before-key (delete, or an update that moved the row to another key); the last such
  // event per key wins, unless a later truncate emptied the table.
  return "WITH events AS ("
         "SELECT commit_lsn, position, 1 AS event_rank, true AS present, " +
         Join(presence, ", ") + " FROM " + changes + " WHERE commit_time <= " + at +
         " AND op IN ('r', 'c', 'u') "
         "UNION ALL "
         "SELECT commit_lsn, position, 0 AS event_rank, false AS present, " +
         Join(removal, ", ") + " FROM " + changes + " WHERE commit_time <= " + at +
         " AND (op = 'd' OR (op = 'u' AND " + first_key_before + " IS NOT NULL AND (" +
         Join(key_moved, " OR ") +
         ")))), "
         "last_truncate AS (SELECT commit_lsn AS t_lsn, position AS t_position FROM " +
         changes + " WHERE op = 't' AND commit_time <= " + at +
         " ORDER BY commit_lsn DESC, position DESC LIMIT 1), "
         "latest AS (SELECT * FROM events QUALIFY row_number() OVER (PARTITION BY " +
         Join(keys, ", ") +
         " ORDER BY commit_lsn DESC, position DESC, event_rank DESC) = 1) "
         "SELECT " +
         Join(selected, ", ") +
         " FROM latest WHERE present AND NOT EXISTS (SELECT 1 FROM last_truncate WHERE "
         "latest.commit_lsn < t_lsn OR (latest.commit_lsn = t_lsn AND latest.position < "
         "t_position))";
}

// The operational tables whose change log the snapshot shows (the lake shows all five; a reader
// over other data may lack some).
Result<std::vector<const OperationalTable*>> ChangeLogs(duck::Connection& conn) {
  MIGSBYU_ASSIGN(auto views, conn.Query("SELECT view_name FROM duckdb_views()"));
  std::set<std::string> names;
  for (uint64_t r = 0; r < views.RowCount(); ++r) names.insert(views.GetString(0, r));
  std::vector<const OperationalTable*> out;
  for (const auto& table : OperationalTables()) {
    if (names.count(table.changes_view)) out.push_back(&table);
  }
  return out;
}

// `columns` of a change log view as a JSON object text, {'c': <side>c, ...} (NULL unless
// `present`, the SQL condition of the image existing).
std::string ImageJson(const std::vector<std::string>& columns, const std::string& side,
                      const std::string& present) {
  std::vector<std::string> fields;
  for (const auto& c : columns) {
    fields.push_back(duck::QuoteString(c) + ": " + duck::QuoteIdentifier(side + c));
  }
  return "CASE WHEN " + present + " THEN to_json({" + Join(fields, ", ") + "}) END";
}

// The part of the audit trail's UNION ALL that reads `table`'s change log: its rows in the
// trail's shape, filtered by `query` (values bound into `sql`).
Result<std::string> AuditBranch(duck::Connection& conn, const OperationalTable& table,
                                const AuditQuery& query, Sql& sql) {
  MIGSBYU_ASSIGN(auto view_columns, ViewColumns(conn, table.changes_view));
  std::vector<std::string> columns;
  for (const auto& name : view_columns) {
    if (std::string column = ColumnOfAfter(name); !column.empty()) columns.push_back(column);
  }
  auto q = [](const std::string& id) { return duck::QuoteIdentifier(id); };
  std::vector<std::string> key, values, sides;
  for (const auto& k : table.key_columns) {
    const std::string value = "coalesce(" + q(AfterColumn(k)) + ", " + q(BeforeColumn(k)) + ")";
    key.push_back(duck::QuoteString(k) + ": " + value);
    values.push_back(value);
    sides.push_back(q(BeforeColumn(k)));
    sides.push_back(q(AfterColumn(k)));
  }
  std::vector<std::string> where;
  if (query.user) where.push_back("changed_by = " + sql.Bind(*query.user));
  if (query.origin) where.push_back("origin = " + sql.Bind(*query.origin));
  if (query.op) where.push_back("op = " + sql.Bind(*query.op));
  if (query.record) where.push_back(sql.Bind(*query.record) + " IN (" + Join(sides, ", ") + ")");
  if (query.from_micros) where.push_back("commit_time >= " + sql.Bind(Micros{*query.from_micros}));
  if (query.to_micros) where.push_back("commit_time < " + sql.Bind(Micros{*query.to_micros}));
  return "SELECT " + duck::QuoteString(table.name) +
         " AS \"table\", op, commit_time, changed_by, origin, commit_lsn, position, xid, "
         "to_json({" +
         Join(key, ", ") + "}) AS \"key\", concat_ws(' / ', " + Join(values, ", ") +
         ") AS record, " + ImageJson(columns, "before_", "op IN ('u', 'd')") + " AS \"before\", " +
         ImageJson(columns, "after_", "op IN ('r', 'c', 'u')") + " AS \"after\" FROM " +
         q(table.changes_view) + WhereClause(where);
}

std::string OperationName(const std::string& op) {
  if (op == "r") return "snapshot";
  if (op == "c") return "insert";
  if (op == "u") return "update";
  if (op == "d") return "delete";
  if (op == "t") return "truncate";
  return op;
}

// A JSON text column (to_json) as JSON; null stays null.
nlohmann::json ParsedJson(const nlohmann::json& text) {
  if (!text.is_string()) return nullptr;
  return nlohmann::json::parse(text.get<std::string>(), nullptr, /*allow_exceptions=*/false);
}

// [{"field", "old", "new"}] for each field whose value differs between two images (objects or
// null), in the after image's field order, then the before image's own.
nlohmann::json ImageChanges(const nlohmann::json& before, const nlohmann::json& after) {
  nlohmann::json changes = nlohmann::json::array();
  const nlohmann::json empty = nlohmann::json::object();
  const nlohmann::json& b = before.is_object() ? before : empty;
  const nlohmann::json& a = after.is_object() ? after : empty;
  for (const auto& [field, value] : a.items()) {
    nlohmann::json old_value = b.contains(field) ? b[field] : nlohmann::json(nullptr);
    if (old_value != value)
      changes.push_back({{"field", field}, {"old", old_value}, {"new", value}});
  }
  for (const auto& [field, value] : b.items()) {
    if (!a.contains(field) && !value.is_null()) {
      changes.push_back({{"field", field}, {"old", value}, {"new", nullptr}});
    }
  }
  return changes;
}

// Enrollment events of the fact, once each however many professors the fact pairs them with.
constexpr const char* kEnrollmentEvents =
    "WITH enrollments AS (SELECT DISTINCT source_lsn, student_key, course_key, semester, "
    "course_enrollment_count FROM course_enrollment_fact WHERE student_key IS NOT NULL) ";

}  // namespace

Service::Service(LakeAccess& lake, StatusProvider status)
    : lake_(lake), status_(std::move(status)) {}

Result<Page> Service::Dimension(const DimensionQuery& query) {
  const DimensionTable* dim = FindDimension(query.entity);
  // A captured table outside the contract: its dimension, when the lake has one.
  DimensionTable generic;
  if (const lake::KnownTable* t = dim ? nullptr : lake::CapturedDimension(query.entity);
      t && t->generic) {
    generic = {t->name, t->DimName(), t->KeyColumn(), {}};
    dim = &generic;
    if (query.id || query.q) {
      return Error::InvalidArgument("id, q: filters of the portal's dimensions; " + t->DimName() +
                                    " has no id column of the contract");
    }
  }
  if (!dim) {
    return Error::NotFound("analytics: no dimension '" + query.entity +
                           "' (students, professors, courses or a captured table's; "
                           "GET /analytics/lake-dimensions lists them)");
  }
  MIGSBYU_TRY(CheckPaging(query.paging));
  return OnSnapshot<Page>(lake_, [&](duck::Connection& conn) -> Result<Page> {
    if (dim == &generic) {
      MIGSBYU_ASSIGN(bool present, HasView(conn, dim->view));
      if (!present) {
        return Error::NotFound("analytics: the lake has no dimension " + dim->view + " (is " +
                               dim->entity + " captured, with a primary key?)");
      }
    }
    Sql sql;
    std::vector<std::string> where;
    if (query.id) where.push_back("id = " + sql.Bind(*query.id));
    if (query.q) {
      std::string needle = sql.Bind(*query.q);
      std::vector<std::string> names;
      for (const auto& c : dim->name_columns) names.push_back(duck::QuoteIdentifier(c));
      where.push_back("(contains(lower(id), lower(" + needle +
                      ")) OR contains(lower(concat_ws(' ', " + Join(names, ", ") + ")), lower(" +
                      needle + ")))");
    }
    if (query.current) {
      where.push_back(std::string("current_row_indicator ") + (*query.current ? "=" : "<>") +
                      " 'yes'");
    }
    if (query.deleted) where.push_back("is_deleted = " + sql.Bind(*query.deleted));
    if (query.as_of_micros) where.push_back(InForceAt("", sql.Bind(Micros{*query.as_of_micros})));
    std::string key = duck::QuoteIdentifier(dim->key_column);
    std::string order = key;
    if (query.sort && *query.sort != dim->key_column) {
      MIGSBYU_ASSIGN(auto columns, ViewColumns(conn, dim->view));
      if (std::find(columns.begin(), columns.end(), *query.sort) == columns.end()) {
        return Error::InvalidArgument("sort: '" + *query.sort + "' is not a column of " +
                                      dim->view);
      }
      order = duck::QuoteIdentifier(*query.sort) + (query.descending ? " DESC" : " ASC") +
              " NULLS LAST, " + key;
    } else if (query.descending) {
      order = key + " DESC";
    }
    return PageOf(conn, "*", "FROM " + duck::QuoteIdentifier(dim->view) + WhereClause(where), sql,
                  order, query.paging);
  });
}

Result<nlohmann::json> Service::LakeDimensions() {
  return OnSnapshot<nlohmann::json>(lake_, [&](duck::Connection& conn) -> Result<nlohmann::json> {
    MIGSBYU_ASSIGN(auto names,
                   conn.Query("SELECT DISTINCT table_name FROM information_schema.tables "
                              "WHERE table_name LIKE '%\\_dim' ESCAPE '\\' "
                              "ORDER BY 1"));
    nlohmann::json out = nlohmann::json::array();
    for (uint64_t r = 0; r < names.RowCount(); ++r) {
      const std::string view = names.GetString(0, r);
      const lake::KnownTable* t = lake::DimensionOfDataset(view);
      if (!t) continue;
      const DimensionTable* portal = FindDimensionByView(view);
      MIGSBYU_ASSIGN(auto columns, ViewColumns(conn, view));
      MIGSBYU_ASSIGN(auto counts,
                     conn.Query("SELECT count(*), count(*) FILTER (WHERE current_row_indicator = "
                                "'yes') FROM " +
                                duck::QuoteIdentifier(view)));
      out.push_back({{"entity", portal ? portal->entity : t->name},
                     {"table", t->name},
                     {"view", view},
                     {"key_column", portal ? portal->key_column : t->KeyColumn()},
                     {"portal", portal != nullptr},
                     {"columns", columns},
                     {"versions", counts.GetInt64(0, 0)},
                     {"current_versions", counts.GetInt64(1, 0)}});
    }
    return out;
  });
}

Result<nlohmann::json> Service::History(const std::string& entity, const std::string& id) {
  const DimensionTable* dim = FindDimension(entity);
  if (!dim) {
    return Error::NotFound("analytics: no dimension '" + entity +
                           "' (students, professors or courses)");
  }
  return OnSnapshot<nlohmann::json>(lake_, [&](duck::Connection& conn) -> Result<nlohmann::json> {
    Sql sql;
    std::string where = "id = " + sql.Bind(id);
    MIGSBYU_ASSIGN(auto result,
                   RunQuery(conn,
                            "SELECT * FROM " + duck::QuoteIdentifier(dim->view) + " WHERE " +
                                where + " ORDER BY source_lsn, source_position, " +
                                duck::QuoteIdentifier(dim->key_column),
                            sql.params()));
    if (result.result.RowCount() == 0) {
      return Error::NotFound("analytics: " + entity + " '" + id + "' has no version in the lake");
    }
    std::vector<std::string> attributes;
    for (const auto& column : result.columns) {
      const auto& scd = ScdColumns();
      if (column.name != dim->key_column && column.name != "id" &&
          std::find(scd.begin(), scd.end(), column.name) == scd.end()) {
        attributes.push_back(column.name);
      }
    }
    nlohmann::json versions = RowsToObjects(result);
    // The changes that removed this id (a delete, a truncate, its key moving away), in order:
    // each deleted version was closed by the first of them after it.
    const OperationalTable* log = FindOperationalTable(entity);
    nlohmann::json removals = nlohmann::json::array();
    if (log) {
      Sql removal_sql;
      std::string key = removal_sql.Bind(id);
      MIGSBYU_ASSIGN(auto removed,
                     RunQuery(conn,
                              "SELECT commit_lsn, position, changed_by, origin FROM " +
                                  duck::QuoteIdentifier(log->changes_view) +
                                  " WHERE op = 't' OR (before_id = " + key +
                                  " AND (op = 'd' OR (op = 'u' AND after_id IS DISTINCT FROM " +
                                  key + "))) ORDER BY commit_lsn, position",
                              removal_sql.params()));
      removals = RowsToObjects(removed);
    }
    auto removal_after = [&](const nlohmann::json& version) -> const nlohmann::json* {
      if (!version["source_lsn"].is_number() || !version["source_position"].is_number()) {
        return nullptr;
      }
      const auto at = std::make_pair(version["source_lsn"].get<uint64_t>(),
                                     version["source_position"].get<uint64_t>());
      for (const auto& r : removals) {
        if (std::make_pair(r["commit_lsn"].get<uint64_t>(), r["position"].get<uint64_t>()) > at) {
          return &r;
        }
      }
      return nullptr;
    };
    const nlohmann::json* previous = nullptr;
    for (auto& version : versions) {
      nlohmann::json changes = nlohmann::json::array();
      for (const auto& field : attributes) {
        nlohmann::json old_value = previous ? (*previous)[field] : nlohmann::json(nullptr);
        const nlohmann::json& new_value = version[field];
        if (old_value != new_value) {
          changes.push_back({{"field", field}, {"old", old_value}, {"new", new_value}});
        }
      }
      bool after_delete = previous && (*previous)["is_deleted"] == true;
      version["operation"] = !previous ? "insert" : after_delete ? "reinsert" : "update";
      version["commit_time"] = version["row_effective_start"];
      version["lsn"] =
          version["source_lsn"].is_number_unsigned() || version["source_lsn"].is_number_integer()
              ? nlohmann::json(Lsn(version["source_lsn"].get<uint64_t>()).ToString())
              : nlohmann::json(nullptr);
      version["deleted_at"] =
          version["is_deleted"] == true ? version["row_effective_end"] : nlohmann::json(nullptr);
      const nlohmann::json* removal =
          version["is_deleted"] == true ? removal_after(version) : nullptr;
      version["deleted_by"] = removal ? (*removal)["changed_by"] : nlohmann::json(nullptr);
      version["deleted_origin"] = removal ? (*removal)["origin"] : nlohmann::json(nullptr);
      version["changes"] = std::move(changes);
      previous = &version;
    }
    return nlohmann::json{{"entity", entity}, {"id", id}, {"versions", std::move(versions)}};
  });
}

Result<Page> Service::AsOf(const std::string& table, int64_t at_micros, const Paging& paging) {
  if (const DimensionTable* dim = FindDimensionByView(table)) {
    DimensionQuery query;
    query.entity = dim->entity;
    query.as_of_micros = at_micros;
    query.paging = paging;
    return Dimension(query);
  }
  const OperationalTable* operational = FindOperationalTable(table);
  if (!operational) {
    return Error::NotFound("analytics: no table '" + table +
                           "' (students, professors, courses, takes, teaches, students_dim, "
                           "professors_dim or courses_dim)");
  }
  MIGSBYU_TRY(CheckPaging(paging));
  return OnSnapshot<Page>(lake_, [&](duck::Connection& conn) -> Result<Page> {
    Sql sql;
    std::string at = sql.Bind(Micros{at_micros});
    std::vector<std::string> keys;
    MIGSBYU_ASSIGN(auto replay, ReplaySql(conn, *operational, at, &keys));
    return PageOf(conn, "*", "FROM (" + replay + ") AS as_of", sql, Join(keys, ", "), paging);
  });
}

Result<int64_t> Service::SnapshotInstant(int64_t snapshot_id) {
  MIGSBYU_ASSIGN(auto record, lake_.RecordOfSnapshot(snapshot_id));
  if (!record) {
    return Error::NotFound("analytics: snapshot " + std::to_string(snapshot_id) +
                           " is named by no retained lake commit (unknown or expired)");
  }
  return record->commit_time_us;
}

namespace {

std::string WithoutNamespace(const std::string& qualified) {
  size_t dot = qualified.find('.');
  return dot == std::string::npos ? qualified : qualified.substr(dot + 1);
}

}  // namespace

Result<nlohmann::json> Service::Snapshots() {
  MIGSBYU_ASSIGN(auto points, lake_.IcebergPoints());
  nlohmann::json out = nlohmann::json::array();
  for (auto p = points.rbegin(); p != points.rend(); ++p) {
    const lake::CommitRecord& r = p->record;
    nlohmann::json snapshots = nlohmann::json::object();
    for (const auto& [name, state] : r.tables) {
      snapshots[WithoutNamespace(name)] = std::to_string(state.snapshot_id);
    }
    nlohmann::json changes = nlohmann::json::array();
    for (const auto& c : p->changes) {
      changes.push_back({{"table", WithoutNamespace(c.table)},
                         {"snapshot_id", std::to_string(c.snapshot_id)},
                         {"operation", c.operation},
                         {"added_rows", c.added_rows},
                         {"deleted_rows", c.deleted_rows},
                         {"rows", c.rows},
                         {"complete", c.complete}});
    }
    out.push_back({{"lake_version", r.lake_version},
                   {"commit_time", r.commit_time_us
                                       ? nlohmann::json(FormatInstant(FromMicros(r.commit_time_us)))
                                       : nlohmann::json(nullptr)},
                   {"written_at", FormatInstant(FromMicros(r.written_at_us))},
                   {"lsn", r.commit_lsn.ToString()},
                   {"end_lsn", r.end_lsn.ToString()},
                   {"snapshots", std::move(snapshots)},
                   {"changes", std::move(changes)}});
  }
  return out;
}

Result<Page> Service::Audit(const AuditQuery& query) {
  MIGSBYU_TRY(CheckPaging(query.paging, kMaxAuditPageSize));
  if (query.table && !FindOperationalTable(*query.table)) {
    return Error::InvalidArgument("table: '" + *query.table +
                                  "' is not students, professors, courses, takes or teaches");
  }
  if (query.op && (query.op->size() != 1 ||
                   std::string_view("rcudt").find((*query.op)[0]) == std::string_view::npos)) {
    return Error::InvalidArgument("op: '" + *query.op + "' is not r, c, u, d or t");
  }
  if (query.origin) {
    if (Status valid = CheckActor(Actor{std::nullopt, *query.origin}); !valid.ok()) {
      return Error::InvalidArgument("origin: " + valid.error().message());
    }
  }
  if (query.from_micros && query.to_micros && *query.from_micros > *query.to_micros) {
    return Error::InvalidArgument("from: after to");
  }
  return OnSnapshot<Page>(lake_, [&](duck::Connection& conn) -> Result<Page> {
    Sql sql;
    std::vector<std::string> branches;
    MIGSBYU_ASSIGN(auto logs, ChangeLogs(conn));
    for (const OperationalTable* table : logs) {
      if (query.table && *query.table != table->name) continue;
      MIGSBYU_ASSIGN(auto branch, AuditBranch(conn, *table, query, sql));
      branches.push_back(std::move(branch));
    }
    if (branches.empty()) return Page{};
    const char* direction = query.oldest_first ? " ASC" : " DESC";
    MIGSBYU_ASSIGN(Page page, PageOf(conn, "*", "FROM (" + Join(branches, " UNION ALL ") + ")", sql,
                                     std::string("commit_lsn") + direction + ", position" +
                                         direction + ", \"table\"",
                                     query.paging));
    for (auto& row : page.rows) {
      for (const char* image : {"key", "before", "after"}) row[image] = ParsedJson(row[image]);
      const std::string op = row["op"].is_string() ? row["op"].get<std::string>() : "";
      row["operation"] = OperationName(op);
      row["lsn"] = row["commit_lsn"].is_number()
                       ? nlohmann::json(Lsn(row["commit_lsn"].get<uint64_t>()).ToString())
                       : nlohmann::json(nullptr);
      row.erase("commit_lsn");
      row["changes"] = ImageChanges(row["before"], row["after"]);
    }
    return page;
  });
}

Result<nlohmann::json> Service::AuditActors() {
  return OnSnapshot<nlohmann::json>(lake_, [&](duck::Connection& conn) -> Result<nlohmann::json> {
    std::vector<std::string> branches;
    MIGSBYU_ASSIGN(auto logs, ChangeLogs(conn));
    for (const OperationalTable* table : logs) {
      branches.push_back("SELECT changed_by, origin, commit_time FROM " +
                         duck::QuoteIdentifier(table->changes_view));
    }
    if (branches.empty()) return nlohmann::json::array();
    MIGSBYU_ASSIGN(auto result,
                   RunQuery(conn,
                            "SELECT changed_by, origin, count(*) AS changes, max(commit_time) AS "
                            "last_change FROM (" +
                                Join(branches, " UNION ALL ") +
                                ") GROUP BY ALL ORDER BY changes DESC, changed_by NULLS LAST, "
                                "origin NULLS LAST"));
    return RowsToObjects(result);
  });
}

Result<Page> Service::Fact(const FactQuery& query) {
  MIGSBYU_TRY(CheckPaging(query.paging));
  return OnSnapshot<Page>(lake_, [&](duck::Connection& conn) -> Result<Page> {
    Sql sql;
    std::vector<std::string> where;
    if (query.semester) where.push_back("semester = " + sql.Bind(*query.semester));
    // Natural ids select surrogate keys first, so the fact is filtered without joining it.
    auto keys_of = [&](const std::string& key, const std::string& view, const std::string& id) {
      where.push_back(key + " IN (SELECT " + key + " FROM " + view + " WHERE id = " + sql.Bind(id) +
                      ")");
    };
    if (query.student_id) keys_of("student_key", "students_dim", *query.student_id);
    if (query.course_id) keys_of("course_key", "courses_dim", *query.course_id);
    if (query.professor_id) keys_of("professor_key", "professors_dim", *query.professor_id);
    const std::string from = "FROM course_enrollment_fact" + WhereClause(where);
    const std::string order =
        "source_lsn, event_time, student_key NULLS FIRST, course_key, professor_key NULLS FIRST";
    MIGSBYU_ASSIGN(auto count, RunRaw(conn, "SELECT count(*) " + from, sql.params()));
    Page page;
    page.total = count.GetInt64(0, 0);
    Sql paged = sql;
    std::string limit = paged.Bind(query.paging.limit);
    std::string offset = paged.Bind(query.paging.skip);
    // One page of the fact, then its keys' natural ids: the joins touch only that page.
    MIGSBYU_ASSIGN(
        auto rows,
        RunQuery(conn,
                 "SELECT f.*, s.id AS student_id, p.id AS professor_id, c.id AS course_id, "
                 "c.name AS course_name FROM (SELECT * " +
                     from + " ORDER BY " + order + " LIMIT " + limit + " OFFSET " + offset +
                     ") f "
                     "LEFT JOIN students_dim s ON s.student_key = f.student_key "
                     "LEFT JOIN professors_dim p ON p.professor_key = f.professor_key "
                     "LEFT JOIN courses_dim c ON c.course_key = f.course_key "
                     "ORDER BY f.source_lsn, f.event_time, f.student_key NULLS FIRST, "
                     "f.course_key, f.professor_key NULLS FIRST",
                 paged.params()));
    page.rows = RowsToObjects(rows);
    return page;
  });
}

Result<nlohmann::json> Service::EnrollmentsPerSemester() {
  return OnSnapshot<nlohmann::json>(lake_, [&](duck::Connection& conn) -> Result<nlohmann::json> {
    MIGSBYU_ASSIGN(
        auto result,
        RunQuery(conn,
                 std::string(kEnrollmentEvents) +
                     "SELECT semester AS label, sum(course_enrollment_count)::BIGINT AS value "
                     "FROM enrollments GROUP BY semester "
                     "ORDER BY try_cast(split_part(semester, ' ', 2) AS INTEGER) NULLS LAST, "
                     "CASE split_part(semester, ' ', 1) WHEN 'Winter' THEN 0 WHEN 'Spring' THEN 1 "
                     "WHEN 'Summer' THEN 2 WHEN 'Fall' THEN 3 ELSE 4 END, semester"));
    return RowsToObjects(result);
  });
}

Result<nlohmann::json> Service::EnrollmentsPerDepartment() {
  return OnSnapshot<nlohmann::json>(lake_, [&](duck::Connection& conn) -> Result<nlohmann::json> {
    MIGSBYU_ASSIGN(
        auto result,
        RunQuery(conn, std::string(kEnrollmentEvents) +
                           "SELECT coalesce(c.department, '(none)') AS label, "
                           "sum(e.course_enrollment_count)::BIGINT AS value FROM enrollments e "
                           "LEFT JOIN courses_dim c ON c.course_key = e.course_key "
                           "GROUP BY ALL ORDER BY value DESC, label"));
    return RowsToObjects(result);
  });
}

Result<nlohmann::json> Service::GpaDistribution(std::optional<int64_t> at_micros) {
  return OnSnapshot<nlohmann::json>(lake_, [&](duck::Connection& conn) -> Result<nlohmann::json> {
    Sql sql;
    std::string in_force =
        at_micros ? InForceAt("", sql.Bind(Micros{*at_micros})) : "current_row_indicator = 'yes'";
    MIGSBYU_ASSIGN(
        auto result,
        RunQuery(conn,
                 "WITH s AS (SELECT gpa FROM students_dim WHERE " + in_force +
                     " AND gpa IS NOT NULL), bins AS (SELECT range AS i FROM range(16)) "
                     "SELECT printf('%.2f–%.2f', i * 0.25, (i + 1) * 0.25) AS label, "
                     "(i * 0.25)::DOUBLE AS lower, ((i + 1) * 0.25)::DOUBLE AS upper, "
                     "count(s.gpa) AS value FROM bins "
                     "LEFT JOIN s ON least(greatest(floor(s.gpa * 4), 0), 15)::BIGINT = bins.i "
                     "GROUP BY i ORDER BY i",
                 sql.params()));
    return RowsToObjects(result);
  });
}

Result<nlohmann::json> Service::Headcount(HeadcountInterval interval, int64_t now_micros) {
  const bool daily = interval == HeadcountInterval::kDay;
  const std::string unit = daily ? "'day'" : "'month'";
  const std::string step = daily ? "INTERVAL 1 DAY" : "INTERVAL 1 MONTH";
  const std::string label = daily ? "'%Y-%m-%d'" : "'%Y-%m'";
  auto bucket = [&](const std::string& instant) {
    // UTC wall-clock time through integer microseconds: no time-zone lookup per row.
    return "date_trunc(" + unit + ", make_timestamp(epoch_us(" + instant + ")))";
  };
  return OnSnapshot<nlohmann::json>(lake_, [&](duck::Connection& conn) -> Result<nlohmann::json> {
    Sql sql;
    std::string now = sql.Bind(Micros{now_micros});
    std::string cap = sql.Bind(kMaxHeadcountBuckets);
    // Versions of one id never overlap, so the students in force at t are the versions started
    // at or before t minus those ended at or before t: a running sum of per-bucket deltas, one
    // pass over the dimension instead of a join per bucket. Buckets are UTC calendar days or
    // months; each is counted at its last microsecond, or at `now` for the current one.
    MIGSBYU_ASSIGN(
        auto result,
        RunQuery(conn,
                 "WITH deltas AS (SELECT b, sum(d) AS d FROM ("
                 "SELECT " +
                     bucket("row_effective_start") +
                     " AS b, count(*) AS d "
                     "FROM students_dim WHERE row_effective_start <= " +
                     now +
                     " GROUP BY ALL UNION ALL "
                     "SELECT " +
                     bucket("row_effective_end") +
                     " AS b, -count(*) AS d "
                     "FROM students_dim WHERE row_effective_end <= " +
                     now +
                     " GROUP BY ALL) GROUP BY b), "
                     "bounds AS (SELECT min(b) AS lo, " +
                     bucket(now + "::TIMESTAMPTZ") +
                     " AS hi FROM deltas), "
                     "buckets AS (SELECT unnest(generate_series(lo, hi, " +
                     step +
                     ")) AS b FROM bounds WHERE lo IS NOT NULL AND lo <= hi), "
                     "series AS (SELECT buckets.b, sum(coalesce(deltas.d, 0)) OVER (ORDER BY "
                     "buckets.b ROWS UNBOUNDED PRECEDING) AS value FROM buckets "
                     "LEFT JOIN deltas ON deltas.b = buckets.b), "
                     "latest AS (SELECT * FROM series ORDER BY b DESC LIMIT " +
                     cap +
                     ") "
                     "SELECT strftime(b, " +
                     label + ") AS label, least(timezone('UTC', b + " + step +
                     ") - INTERVAL 1 MICROSECOND, " + now +
                     "::TIMESTAMPTZ) AS at, value::BIGINT AS value FROM latest ORDER BY b",
                 sql.params()));
    return RowsToObjects(result);
  });
}

PipelineStatus Service::CurrentStatus() {
  PipelineStatus status = status_ ? status_() : PipelineStatus{};
  LakeCommit latest = lake_.Latest();
  if (!status.lake_version) status.lake_version = latest.version;
  if (!status.last_committed_lsn && latest.version > 0) status.last_committed_lsn = latest.end_lsn;
  if (!status.last_commit_time) status.last_commit_time = latest.commit_time;

  if (auto counts = lake_.RowCounts()) {
    for (const auto& [view, rows] : *counts) status.table_rows.emplace(view, rows);
    return status;
  }
  std::lock_guard lock(counts_mu_);
  if (counts_version_ != latest.version) {
    std::vector<std::string> views;
    for (const auto& d : Dimensions()) views.push_back(d.view);
    views.push_back("course_enrollment_fact");
    for (const auto& t : OperationalTables()) views.push_back(t.changes_view);
    std::map<std::string, int64_t> counts;
    // A view the snapshot lacks (nothing captured yet) is left out rather than failing status.
    migsbyu::Status read = lake_.Read([&](duck::Connection& conn) -> migsbyu::Status {
      for (const auto& view : views) {
        auto result = conn.Query("SELECT count(*) FROM " + duck::QuoteIdentifier(view));
        if (result.ok()) counts[view] = result->GetInt64(0, 0);
      }
      return OkStatus();
    });
    if (read.ok()) {
      counts_ = std::move(counts);
      counts_version_ = latest.version;
    }
  }
  for (const auto& [view, rows] : counts_) status.table_rows.emplace(view, rows);
  return status;
}

}  // namespace migsbyu::analytics

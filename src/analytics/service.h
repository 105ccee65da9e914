// analytics::Service: the read side of the lake, as JSON for the analytics API.
//
// It answers, over the lake's contract views (see lake_access.h) at one committed snapshot per
// call: each dimension and the enrollment fact, filtered, sorted and paginated; one entity's
// full history with the fields each version changed; any table as it was at an instant (the
// dimensions through their effective intervals, the operational tables replayed from their
// change logs); aggregates for charts; and the pipeline status, from the integrator's
// StatusProvider plus the row counts it reads from the lake.
//
// As-of semantics (the lake's read contract): a version is in force at instant t when
// row_effective_start <= t < row_effective_end. A delete closes the current version, so a
// deleted id has no version in force after its delete. An operational row exists at t when the
// last change to its key committed at or before t (in (commit_lsn, position) order) was an
// insert, snapshot read or update that did not move it to another key, and no truncate of the
// table came after that change.
//
// Every value reaches SQL through prepared-statement parameters; identifiers (view, column and
// sort names) only from the table descriptions in tables.h or after being checked against the
// view's actual columns.
//
// Threading: all methods are thread-safe (each call opens its own lake snapshot); the Service
// holds no lock while querying. The LakeAccess must outlive the Service.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "analytics/lake_access.h"
#include "analytics/status.h"
#include "common/result.h"

namespace migsbyu::analytics {

// Largest page any listing returns.
inline constexpr int64_t kMaxPageSize = 10000;

struct Paging {
  int64_t skip = 0;
  int64_t limit = 100;  // 1..kMaxPageSize
};

// One page of rows (JSON objects) and how many rows match in all.
struct Page {
  nlohmann::json rows = nlohmann::json::array();
  int64_t total = 0;
};

struct DimensionQuery {
  std::string entity{};                   // students | professors | courses
  std::optional<std::string> id{};        // exact id
  std::optional<std::string> q{};         // case-insensitive substring of the id or the name
  std::optional<bool> current{};          // true: current versions only; false: past ones only
  std::optional<bool> deleted{};          // is_deleted equals this
  std::optional<int64_t> as_of_micros{};  // versions in force at this instant
  std::optional<std::string> sort{};      // a column of the dimension; default the surrogate key
  bool descending = false;
  Paging paging{};
};

struct FactQuery {
  std::optional<std::string> semester{};
  std::optional<std::string> student_id{};
  std::optional<std::string> course_id{};
  std::optional<std::string> professor_id{};
  Paging paging{};
};

// A filter of the audit trail: every condition set must hold.
struct AuditQuery {
  std::optional<std::string> user{};     // changed_by equals this
  std::optional<std::string> origin{};   // portal | simulator | cli | snapshot | database
  std::optional<std::string> table{};    // students | professors | courses | takes | teaches
  std::optional<std::string> op{};       // r | c | u | d | t
  std::optional<std::string> record{};   // a key column of the row equals this, before or after
  std::optional<int64_t> from_micros{};  // committed at or after this instant
  std::optional<int64_t> to_micros{};    // committed before this instant
  bool oldest_first = false;             // default: newest first
  Paging paging{};
};

// The most rows one audit page may hold (the CSV download's page; JSON pages stop at
// kMaxPageSize).
inline constexpr int64_t kMaxAuditPageSize = 100000;

enum class HeadcountInterval { kDay, kMonth };

class Service {
 public:
  // `status` may be empty (no pipeline): status then reports only what the lake says.
  Service(LakeAccess& lake, StatusProvider status);
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Versions of one dimension, filtered and sorted, one page. Rows carry every column of the
  // dimension view. `entity` is students, professors, courses, or a captured table outside the
  // portal's five that has a dimension in the lake (<table>_dim; id and q then do not apply: it
  // has no id column of the contract). kNotFound for an unknown entity, kInvalidArgument for an
  // unknown sort column, id or q on such a table's dimension, or paging out of range.
  Result<Page> Dimension(const DimensionQuery& query);

  // Every dimension the lake holds at one snapshot, the portal's three and those of any other
  // captured table (docs/LAKE.md "Dimensions of any captured table"), ordered by view:
  //   [{"entity": the Dimension() entity, "table", "view", "key_column", "portal": bool,
  //     "columns": [the view's columns], "versions", "current_versions"}]
  Result<nlohmann::json> LakeDimensions();

  // {"entity", "id", "versions": [row + {"operation": "insert"|"update"|"reinsert",
  //   "commit_time", "lsn": "X/Y", "deleted_at": instant|null, "deleted_by", "deleted_origin",
  //   "changes": [{"field", "old", "new"}, ...]}, ...]} in (source_lsn, source_position) order.
  // A version's changes compare its attributes with the previous version's (all non-null
  // attributes, old null, for the first). Each version carries who made it (its row's
  // changed_by and origin); a version closed by a delete (or a truncate, or its key changing)
  // also says who made that change, from the change log (deleted_by, deleted_origin; null when
  // the change log does not hold it). kNotFound when the id has no version.
  Result<nlohmann::json> History(const std::string& entity, const std::string& id);

  // `table` as it was at `at_micros`: an operational table (students, professors, courses,
  // takes, teaches; its columns, ordered by primary key) or a dimension view (students_dim, ...;
  // the versions in force, ordered by surrogate key). kNotFound for an unknown table.
  Result<Page> AsOf(const std::string& table, int64_t at_micros, const Paging& paging);

  // Time travel by Iceberg snapshot id: the instant of the lake commit whose Iceberg point
  // first names `snapshot_id` (of any of the lake's tables), i.e. the PostgreSQL commit time of
  // the last transaction that point holds. Every as-of read at that instant shows the lake as
  // that point holds it: a version or row is in force there exactly when its change committed at
  // or before the point's last transaction (commit times follow commit order; two transactions
  // committed in the same microsecond on either side of a point would both count).
  // kNotFound when no retained point names the id (never made, expired, or the lake publishes
  // no Iceberg tables).
  Result<int64_t> SnapshotInstant(int64_t snapshot_id);

  // The lake's Iceberg points, newest first: [{"lake_version", "commit_time", "written_at",
  //   "lsn": "X/Y" (the commit's), "end_lsn", "snapshots": {table: "id"},
  //   "changes": [{"table", "snapshot_id", "operation", "added_rows", "deleted_rows", "rows",
  //   "complete"}]}], tables named without the namespace ("students_dim"), snapshot ids as
  // decimal strings (they exceed JavaScript's exact integers). `changes` lists the tables whose
  // snapshot differs from the previous point's (lake/iceberg_history.h).
  Result<nlohmann::json> Snapshots();

  // The audit trail: the changes of the five operational tables from their change logs, one page
  // filtered by `query`, newest first (or oldest first), each
  //   {"table", "op", "operation": "snapshot"|"insert"|"update"|"delete"|"truncate",
  //    "commit_time", "changed_by", "origin", "lsn": "X/Y" (the commit's), "position", "xid",
  //    "key": {key column: value}, "record": the key's values joined by " / " in key order
  //    ("S1 / PHY101 / Fall 2026"), "before": {...}|null, "after": {...}|null,
  //    "changes": [{"field", "old", "new"}]}
  // where changes compare the before and after images (every non-null value of an insert's
  // after image or a delete's before image). kInvalidArgument for an unknown table, origin
  // syntax or op, a from after its to, or paging out of range (limit up to kMaxAuditPageSize).
  Result<Page> Audit(const AuditQuery& query);
  // Who changed anything, for the audit view's filters: [{"changed_by", "origin", "changes",
  // "last_change"}], most changes first.
  Result<nlohmann::json> AuditActors();

  // Fact rows, in commit order, each with the natural ids of its keys added: student_id,
  // professor_id, course_id, course_name (null where a key is null).
  Result<Page> Fact(const FactQuery& query);

  // Aggregates, each an array of {"label", "value", ...} objects:
  // - per semester: label = semester ("Fall 2026"), value = net enrollments (enrollments minus
  //   drops), in calendar order (year, then Spring, Summer, Fall). Each enrollment event is
  //   counted once even when the fact repeats it for several professors of the course.
  // - per department: label = the course's department, value = net enrollments, largest first.
  Result<nlohmann::json> EnrollmentsPerSemester();
  Result<nlohmann::json> EnrollmentsPerDepartment();
  // GPA histogram of the students in force at `at_micros`, or of the current ones: 16 bins of
  // 0.25 from 0 to 4 (4.00 falls in the last), each {"label": "3.50–3.75", "lower", "upper",
  // "value": students}; empty bins included.
  Result<nlohmann::json> GpaDistribution(std::optional<int64_t> at_micros);
  // Students in force at the end of each day or month, from the first version's to `now`'s:
  // {"label": "2026-11" | "2026-11-25", "at": instant counted, "value"}; the latest
  // kMaxHeadcountBuckets buckets at most.
  Result<nlohmann::json> Headcount(HeadcountInterval interval, int64_t now_micros);
  static constexpr int64_t kMaxHeadcountBuckets = 1000;

  // The provider's figures, the lake's latest commit when the provider left it unset, and the
  // rows of every contract view (recounted only when the lake's version changes).
  PipelineStatus CurrentStatus();

  LakeAccess& lake() { return lake_; }

 private:
  LakeAccess& lake_;
  StatusProvider status_;

  std::mutex counts_mu_;
  std::optional<uint64_t> counts_version_;  // GUARDED_BY(counts_mu_)
  std::map<std::string, int64_t> counts_;   // GUARDED_BY(counts_mu_)
};

}  // namespace migsbyu::analytics

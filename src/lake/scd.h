// ScdBuilder: turns the ordered stream of changes into SCD Type 2 dimension versions and
// enrollment fact rows. Pure logic, no I/O: the writer feeds it changes in (commit_lsn, position)
// order and stores what it emits; a rebuild feeds it the change log in the same order and so
// emits the same versions with the same surrogate keys.
//
// Dimensions (students, professors, courses, and every other captured table whose changes carry
// a primary key, keyed by it; see docs/LAKE.md "SCD semantics"):
//   insert / snapshot read  → a new version, key = the entity's next key, start = commit time;
//   update of a tracked column → the current version closes at the commit time, a new one opens
//     (several changes in one transaction give versions with empty intervals, start = end);
//   update touching only untracked columns → nothing (without a before image, as from a table
//     with the default replica identity: compared with the current version's tracked values);
//   delete → the current version closes at the commit time and is marked deleted;
//   truncate → every current version closes as deleted.
// Reconciling snapshots (docs/CDC.md "Reconciling snapshots"): a snapshot read of an id whose
//   current version has the same tracked values makes nothing; a different one closes it and
//   opens a version (origin 'snapshot' from the change's actor). Between BeginSnapshot and
//   SnapshotDeletes the builder notes which ids and links the snapshot read; SnapshotDeletes
//   gives, for the keys current in the lake that the snapshot lacks, delete changes that the
//   writer stores and applies like any change (so a rebuild from the change log sees them).
// Every close is checked: a version whose end would precede its start is refused (kInvalidArgument
//   naming the table, id and instants), so a clock that moved back never writes an inverted
//   interval.
// Fact (course_enrollment_fact): the net count per (student, professor, course, semester) always
// equals 1 for an enrolled student and each professor assigned to that course in that semester
// (or a NULL professor when none is), 0 otherwise. Enrolling emits +1 per assigned professor
// (or one +1 with NULL); dropping emits −1 likewise; assigning a professor emits +1 for each
// enrolled student (and −1 with NULL if that was the first professor); unassigning the reverse.
// Each row carries the keys of the versions current at that change.
//
// Threading: one thread (REQUIRES: external synchronization).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/result.h"
#include "events/change_event.h"
#include "lake/catalog.h"
#include "lake/manifest.h"

namespace migsbyu::lake {

struct DimVersion {
  const KnownTable* table = nullptr;
  int64_t key = 0;
  std::shared_ptr<const events::TableSchema> schema;
  events::Row values;
  int64_t start_us = 0;
  int64_t end_us = kEndOfTimeUs;
  bool is_deleted = false;
  uint64_t source_lsn = 0;
  uint64_t source_position = 0;
  uint32_t source_xid = 0;
  Actor actor;  // of the change that made the version: changed_by and origin
};

struct DimClose {
  const KnownTable* table = nullptr;
  int64_t key = 0;
  int64_t end_us = 0;
  bool is_deleted = false;
  uint64_t source_lsn = 0;
  uint64_t source_position = 0;
};

struct FactRow {
  std::optional<int64_t> student_key;
  std::optional<int64_t> professor_key;
  std::optional<int64_t> course_key;
  std::string semester;
  int32_t count = 0;
  int64_t event_time_us = 0;
  uint64_t source_lsn = 0;
  uint64_t source_position = 0;
  std::string student_id;
  std::optional<std::string> professor_id;
  std::string course_id;
};

// Receives what the builder emits, in order. An error stops the builder's Apply.
class ScdOutput {
 public:
  virtual ~ScdOutput() = default;
  virtual Status OnVersion(DimVersion version) = 0;
  // Closes version `close.key`, which was emitted earlier (maybe by an earlier process).
  virtual Status OnClose(const DimClose& close) = 0;
  virtual Status OnFact(FactRow row) = 0;
};

// Columns whose change makes a new version, per table name; a table absent from the map tracks
// every column.
using TrackedColumns = std::map<std::string, std::set<std::string>>;

// Adds one `--scd` value to `tracked` (docs/LAKE.md "SCD options"): "TABLE:track=a,b" (only
// changes of a or b, and of the key, make versions of TABLE). Given twice for a table, the
// columns add up. kInvalidArgument naming the value when it is malformed or a name is not a plain
// identifier; `tracked` is then unchanged.
Status AddScdOption(const std::string& spec, TrackedColumns* tracked);
// Adds the options of a file (`--scd-config`): one `--scd` value per line; blank lines and lines
// starting with '#' are skipped. kInvalidArgument naming the file and line, kNotFound when the
// file cannot be read; `tracked` is then unchanged.
Status LoadScdConfig(const std::string& path, TrackedColumns* tracked);

// The natural key of a generic dimension's version: its key columns' texts (ValueToText) joined
// by U+001F; a single-column key's text as it is.
std::string KeyText(const std::vector<std::string>& key_texts);

class ScdBuilder {
 public:
  ScdBuilder(ScdOutput* output, TrackedColumns tracked = {});

  // Applies one change. REQUIRES: changes in (commit_lsn, position) order. A table outside the
  // five known ones makes a generic dimension (catalog.h CapturedDimension) when its schema
  // flags key columns, and is ignored otherwise.
  Status Apply(const events::ChangeEvent& change);

  // Starts noting what a snapshot transaction reads (a snapshot whose rows follow).
  void BeginSnapshot();
  // The deletes that reconcile the snapshot begun with BeginSnapshot, for the known tables in
  // `tables`: one per current entity id and per present link the snapshot did not read, links
  // first, stamped as changes of `tx` at positions from `first_position` (origin 'snapshot',
  // before = the key columns, other columns NULL). Ends the noting. Does not apply them.
  std::vector<events::ChangeEvent> SnapshotDeletes(const events::TransactionInfo& tx,
                                                   const std::vector<std::string>& tables,
                                                   uint64_t first_position);

  // State, for restoring after a restart and for recording in the manifest. A restored current
  // version has no known values: a snapshot read of it opens a new version (the writer replays
  // the change log before a snapshot so that the values are known).
  void RestoreCurrent(const std::string& entity, const std::string& id, int64_t key,
                      int64_t start_us = 0, events::Row key_values = {});
  // A generic dimension's current version as the lake holds it: `values` in the order of
  // `schema`'s columns, whose key columns are flagged. The builder knows its id, key values and
  // tracked values as if it had made it. kInvalidArgument when the key has no value.
  Status RestoreCurrentVersion(std::shared_ptr<const events::TableSchema> schema,
                               events::Row values, int64_t key, int64_t start_us);
  void RestoreEnrollment(const std::string& student, const std::string& course,
                         const std::string& semester);
  void RestoreAssignment(const std::string& professor, const std::string& course,
                         const std::string& semester);
  void SetNextKey(const std::string& entity, int64_t next) { next_key_[entity] = next; }
  // Drops the current keys of `entity` (before restoring them anew).
  void ForgetEntity(const std::string& entity) { current_.erase(entity); }
  const std::map<std::string, int64_t>& next_keys() const { return next_key_; }
  std::optional<int64_t> CurrentKey(const std::string& entity, const std::string& id) const;

 private:
  using Offering = std::pair<std::string, std::string>;  // (course_id, semester)
  struct Link {                                          // a takes or teaches row
    std::string person;
    std::string course;
    std::string semester;
  };

  Status ApplyDimension(const KnownTable& table, const events::ChangeEvent& change);
  Status ApplyLink(bool enrollment, const events::ChangeEvent& change);
  Status OpenVersion(const KnownTable& table, const events::ChangeEvent& change,
                     const std::string& id);
  Status CloseCurrent(const KnownTable& table, const events::ChangeEvent& change,
                      const std::string& id, bool deleted);
  bool TrackedChange(const events::ChangeEvent& change) const;
  // The natural key of `row` as text: "id" for the contract's tables, the primary key columns'
  // values (KeyText) for the others; nullopt when a key value is missing.
  std::optional<std::string> IdOf(const KnownTable& table, const events::ChangeEvent& change,
                                  const events::Row& row) const;
  int64_t TakeKey(const std::string& entity);
  Status Enroll(const Link& link, int sign, const events::ChangeEvent& change);
  Status Assign(const Link& link, int sign, const events::ChangeEvent& change);
  Status EmitFact(const std::string& student, const std::optional<std::string>& professor,
                  const Offering& offering, int sign, const events::ChangeEvent& change);

  // The current version of an entity id.
  struct Current {
    int64_t key = 0;
    int64_t start_us = 0;
    std::optional<uint64_t> fingerprint;  // of its tracked values, when known
    events::Row key_values;  // generic tables: the key columns' values (others NULL), when known
  };
  // A hash of the tracked columns' values of `row` (names and text), for snapshot comparison.
  uint64_t Fingerprint(const events::ChangeEvent& change, const events::Row& row) const;
  // Whether a change of `schema`'s column `column` makes a version (the key always does).
  bool Tracks(const events::TableSchema& schema, size_t column) const;

  ScdOutput* output_;
  TrackedColumns tracked_;
  std::map<std::string, int64_t> next_key_;                                  // per entity
  std::map<std::string, std::unordered_map<std::string, Current>> current_;  // entity → id
  // Generic tables: the schema of the last change, for a reconciling snapshot's deletes.
  std::map<std::string, std::shared_ptr<const events::TableSchema>> generic_schemas_;
  // During a snapshot: the ids (per entity) and links (per link table) it read.
  bool in_snapshot_ = false;
  std::map<std::string, std::set<std::string>> snapshot_ids_;
  std::map<std::string, std::set<std::tuple<std::string, std::string, std::string>>>
      snapshot_links_;
  std::map<Offering, std::set<std::string>> enrolled_;  // → students
  std::map<Offering, std::set<std::string>> assigned_;  // → professors
};

}  // namespace migsbyu::lake

#include "lake/scd.h"

#include <algorithm>

namespace migsbyu::lake {
namespace {

std::optional<std::string> TextOf(const events::ChangeEvent& change, const events::Row& row,
                                  const std::string& column) {
  int i = change.table->ColumnIndex(column);
  if (i < 0 || static_cast<size_t>(i) >= row.size() || row[i].is_null()) return std::nullopt;
  return events::ValueToText(change.table->columns[i].type, row[i]);
}

}  // namespace

ScdBuilder::ScdBuilder(ScdOutput* output, TrackedColumns tracked)
    : output_(output), tracked_(std::move(tracked)) {
  for (const auto& t : KnownTables()) {
    if (!t.entity.empty()) next_key_[t.entity] = 1;
  }
}

void ScdBuilder::RestoreCurrent(const std::string& entity, const std::string& id, int64_t key,
                                int64_t start_us) {
  current_[entity][id] = Current{key, start_us, std::nullopt};
}

void ScdBuilder::BeginSnapshot() {
  in_snapshot_ = true;
  snapshot_ids_.clear();
  snapshot_links_.clear();
}

std::vector<events::ChangeEvent> ScdBuilder::SnapshotDeletes(const events::TransactionInfo& tx,
                                                             const std::vector<std::string>& tables,
                                                             uint64_t first_position) {
  std::vector<events::ChangeEvent> out;
  uint64_t position = first_position;
  // The contract's columns and types (so the change log keeps one file layout), one schema
  // object per table.
  std::map<const KnownTable*, std::shared_ptr<const events::TableSchema>> schemas;
  auto schema_of = [&](const KnownTable& table) {
    auto& schema = schemas[&table];
    if (!schema) {
      auto made = std::make_shared<events::TableSchema>();
      made->schema = "public";
      made->name = table.name;
      for (size_t i = 0; i < table.columns.size(); ++i) {
        made->columns.push_back(
            ColumnFromDuckType(table.columns[i].name, table.columns[i].duck_type));
        made->columns.back().key = table.entity.empty() || i == 0;
      }
      schema = std::move(made);
    }
    return schema;
  };
  auto deletion = [&](const KnownTable& table, std::vector<std::string> key) {
    events::Row before;
    for (size_t i = 0; i < table.columns.size(); ++i) {
      before.push_back(i < key.size() ? events::Value::Text(std::move(key[i]))
                                      : events::Value::Null());
    }
    events::ChangeEvent e;
    e.op = events::Operation::kDelete;
    e.table = schema_of(table);
    e.before = std::move(before);
    e.commit_lsn = tx.commit_lsn;
    e.lsn = tx.commit_lsn;
    e.position = position++;
    e.xid = tx.xid;
    e.commit_time_us = tx.commit_time_us;
    e.actor = Actor::Snapshot();
    out.push_back(std::move(e));
  };
  auto listed = [&](const KnownTable& t) {
    return std::find(tables.begin(), tables.end(), t.name) != tables.end();
  };
  // Links first, so that the fact's −1 rows carry the keys of the versions still current.
  for (const auto& t : KnownTables()) {
    if (!t.entity.empty() || !listed(t)) continue;
    const auto& state = t.name == "takes" ? enrolled_ : assigned_;
    const auto& seen = snapshot_links_[t.name];
    for (const auto& [offering, people] : state) {
      for (const auto& person : people) {
        if (seen.count({person, offering.first, offering.second})) continue;
        deletion(t, {person, offering.first, offering.second});
      }
    }
  }
  for (const auto& t : KnownTables()) {
    if (t.entity.empty() || !listed(t)) continue;
    const auto& seen = snapshot_ids_[t.entity];
    std::vector<std::string> gone;
    for (const auto& [id, current] : current_[t.entity]) {
      if (!seen.count(id)) gone.push_back(id);
    }
    std::sort(gone.begin(), gone.end());  // a stable order, so that positions are reproducible
    for (auto& id : gone) deletion(t, {std::move(id)});
  }
  in_snapshot_ = false;
  snapshot_ids_.clear();
  snapshot_links_.clear();
  return out;
}

bool ScdBuilder::Tracks(const std::string& table, const std::string& column) const {
  auto tracked = tracked_.find(table);
  return tracked == tracked_.end() || tracked->second.count(column) || column == "id";
}

uint64_t ScdBuilder::Fingerprint(const events::ChangeEvent& change, const events::Row& row) const {
  // FNV-1a over (name, text) of the tracked non-NULL values: a column the schema lacks and a
  // NULL one hash alike, so change logs with more columns (an old, dropped one) still compare.
  uint64_t h = 1469598103934665603ULL;
  auto mix = [&](std::string_view bytes) {
    for (unsigned char c : bytes) {
      h ^= c;
      h *= 1099511628211ULL;
    }
    h ^= 0xff;
    h *= 1099511628211ULL;
  };
  for (size_t i = 0; i < change.table->columns.size() && i < row.size(); ++i) {
    const auto& column = change.table->columns[i];
    if (row[i].is_null() || !Tracks(change.table->name, column.name)) continue;
    mix(column.name);
    mix(events::ValueToText(column.type, row[i]));
  }
  return h;
}

void ScdBuilder::RestoreEnrollment(const std::string& student, const std::string& course,
                                   const std::string& semester) {
  enrolled_[{course, semester}].insert(student);
}

void ScdBuilder::RestoreAssignment(const std::string& professor, const std::string& course,
                                   const std::string& semester) {
  assigned_[{course, semester}].insert(professor);
}

std::optional<int64_t> ScdBuilder::CurrentKey(const std::string& entity,
                                              const std::string& id) const {
  auto e = current_.find(entity);
  if (e == current_.end()) return std::nullopt;
  auto it = e->second.find(id);
  if (it == e->second.end()) return std::nullopt;
  return it->second.key;
}

Status ScdBuilder::Apply(const events::ChangeEvent& change) {
  const KnownTable* table = FindKnownTable(change.table->name);
  if (!table) return OkStatus();
  if (!table->entity.empty()) return ApplyDimension(*table, change);
  return ApplyLink(table->name == "takes", change);
}

bool ScdBuilder::TrackedChange(const events::ChangeEvent& change) const {
  const auto& before = *change.before;
  const auto& after = *change.after;
  for (size_t i = 0; i < change.table->columns.size(); ++i) {
    if (!Tracks(change.table->name, change.table->columns[i].name)) continue;
    const events::Value none;
    const auto& b = i < before.size() ? before[i] : none;
    const auto& a = i < after.size() ? after[i] : none;
    if (!(a == b)) return true;
  }
  return false;
}

Status ScdBuilder::ApplyDimension(const KnownTable& table, const events::ChangeEvent& change) {
  using events::Operation;
  switch (change.op) {
    case Operation::kRead:
    case Operation::kInsert: {
      auto id = change.after ? TextOf(change, *change.after, "id") : std::nullopt;
      if (!id)
        return Error::InvalidArgument(table.name + " change without an id at " +
                                      change.commit_lsn.ToString());
      if (change.op == Operation::kRead) {
        if (in_snapshot_) snapshot_ids_[table.entity].insert(*id);
        auto& ids = current_[table.entity];
        auto it = ids.find(*id);
        if (it != ids.end() && it->second.fingerprint &&
            *it->second.fingerprint == Fingerprint(change, *change.after)) {
          return OkStatus();  // the lake already holds this row as it is
        }
      }
      if (CurrentKey(table.entity, *id)) MIGSBYU_TRY(CloseCurrent(table, change, *id, false));
      return OpenVersion(table, change, *id);
    }
    case Operation::kUpdate: {
      if (!change.after) return OkStatus();
      auto id = TextOf(change, *change.after, "id");
      if (!id)
        return Error::InvalidArgument(table.name + " update without an id at " +
                                      change.commit_lsn.ToString());
      auto old_id = change.before ? TextOf(change, *change.before, "id") : std::nullopt;
      if (old_id && *old_id != *id) {
        if (CurrentKey(table.entity, *old_id)) {
          MIGSBYU_TRY(CloseCurrent(table, change, *old_id, true));
        }
      } else if (change.before && !TrackedChange(change)) {
        return OkStatus();
      }
      if (CurrentKey(table.entity, *id)) MIGSBYU_TRY(CloseCurrent(table, change, *id, false));
      return OpenVersion(table, change, *id);
    }
    case Operation::kDelete: {
      auto id = change.before ? TextOf(change, *change.before, "id") : std::nullopt;
      if (!id || !CurrentKey(table.entity, *id)) return OkStatus();
      return CloseCurrent(table, change, *id, true);
    }
    case Operation::kTruncate: {
      std::vector<std::string> ids;
      for (const auto& [id, key] : current_[table.entity]) ids.push_back(id);
      for (const auto& id : ids) MIGSBYU_TRY(CloseCurrent(table, change, id, true));
      return OkStatus();
    }
  }
  return OkStatus();
}

Status ScdBuilder::OpenVersion(const KnownTable& table, const events::ChangeEvent& change,
                               const std::string& id) {
  DimVersion v;
  v.table = &table;
  v.key = next_key_[table.entity]++;
  v.schema = change.table;
  v.values = *change.after;
  v.start_us = change.commit_time_us;
  v.source_lsn = change.commit_lsn.value();
  v.source_position = change.position;
  v.source_xid = change.xid;
  v.actor = change.actor;
  current_[table.entity][id] = Current{v.key, v.start_us, Fingerprint(change, v.values)};
  return output_->OnVersion(std::move(v));
}

Status ScdBuilder::CloseCurrent(const KnownTable& table, const events::ChangeEvent& change,
                                const std::string& id, bool deleted) {
  auto& ids = current_[table.entity];
  auto it = ids.find(id);
  if (it == ids.end()) return OkStatus();
  if (change.commit_time_us < it->second.start_us) {
    return Error::InvalidArgument(
        table.name + " id " + id + ": the change at " + change.commit_lsn.ToString() +
        " would end version " + std::to_string(it->second.key) + " at " +
        std::to_string(change.commit_time_us) + " µs, before its start at " +
        std::to_string(it->second.start_us) + " µs (a clock that moved back); refused");
  }
  DimClose close{
      &table,         it->second.key, change.commit_time_us, deleted, change.commit_lsn.value(),
      change.position};
  ids.erase(it);
  return output_->OnClose(close);
}

Status ScdBuilder::ApplyLink(bool enrollment, const events::ChangeEvent& change) {
  const char* person = enrollment ? "student_id" : "professor_id";
  auto link_of = [&](const events::Row& row) -> std::optional<Link> {
    auto p = TextOf(change, row, person);
    auto c = TextOf(change, row, "course_id");
    auto s = TextOf(change, row, "semester");
    if (!p || !c || !s) return std::nullopt;
    return Link{*p, *c, *s};
  };
  auto apply = [&](const Link& link, int sign) {
    return enrollment ? Enroll(link, sign, change) : Assign(link, sign, change);
  };
  using events::Operation;
  if (change.op == Operation::kTruncate) {
    auto& state = enrollment ? enrolled_ : assigned_;
    std::vector<Link> all;
    for (const auto& [offering, people] : state) {
      for (const auto& p : people) all.push_back({p, offering.first, offering.second});
    }
    for (const auto& link : all) MIGSBYU_TRY(apply(link, -1));
    return OkStatus();
  }
  std::optional<Link> before = change.before ? link_of(*change.before) : std::nullopt;
  std::optional<Link> after = change.after ? link_of(*change.after) : std::nullopt;
  if (change.op == Operation::kUpdate && before && after && before->person == after->person &&
      before->course == after->course && before->semester == after->semester) {
    return OkStatus();
  }
  if (change.op == Operation::kRead && in_snapshot_ && after) {
    snapshot_links_[change.table->name].insert({after->person, after->course, after->semester});
  }
  if (before && change.op != Operation::kInsert && change.op != Operation::kRead) {
    MIGSBYU_TRY(apply(*before, -1));
  }
  if (after && change.op != Operation::kDelete) MIGSBYU_TRY(apply(*after, +1));
  return OkStatus();
}

Status ScdBuilder::Enroll(const Link& link, int sign, const events::ChangeEvent& change) {
  Offering offering{link.course, link.semester};
  auto& students = enrolled_[offering];
  if (sign > 0 ? !students.insert(link.person).second : !students.erase(link.person)) {
    return OkStatus();  // already in that state: nothing changes
  }
  const auto& professors = assigned_[offering];
  if (professors.empty()) return EmitFact(link.person, std::nullopt, offering, sign, change);
  for (const auto& p : professors) MIGSBYU_TRY(EmitFact(link.person, p, offering, sign, change));
  return OkStatus();
}

Status ScdBuilder::Assign(const Link& link, int sign, const events::ChangeEvent& change) {
  Offering offering{link.course, link.semester};
  auto& professors = assigned_[offering];
  bool was_empty = professors.empty();
  if (sign > 0 ? !professors.insert(link.person).second : !professors.erase(link.person)) {
    return OkStatus();
  }
  bool now_empty = professors.empty();
  for (const auto& s : enrolled_[offering]) {
    MIGSBYU_TRY(EmitFact(s, link.person, offering, sign, change));
    if (sign > 0 && was_empty) MIGSBYU_TRY(EmitFact(s, std::nullopt, offering, -1, change));
    if (sign < 0 && now_empty) MIGSBYU_TRY(EmitFact(s, std::nullopt, offering, +1, change));
  }
  return OkStatus();
}

Status ScdBuilder::EmitFact(const std::string& student, const std::optional<std::string>& professor,
                            const Offering& offering, int sign, const events::ChangeEvent& change) {
  FactRow row;
  row.student_key = CurrentKey("student", student);
  if (professor) row.professor_key = CurrentKey("professor", *professor);
  row.course_key = CurrentKey("course", offering.first);
  row.semester = offering.second;
  row.count = sign;
  row.event_time_us = change.commit_time_us;
  row.source_lsn = change.commit_lsn.value();
  row.source_position = change.position;
  row.student_id = student;
  row.professor_id = professor;
  row.course_id = offering.first;
  return output_->OnFact(std::move(row));
}

}  // namespace migsbyu::lake

#include "lake/scd.h"

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

void ScdBuilder::RestoreCurrent(const std::string& entity, const std::string& id, int64_t key) {
  current_[entity][id] = key;
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
  return it->second;
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
  auto tracked = tracked_.find(change.table->name);
  for (size_t i = 0; i < change.table->columns.size(); ++i) {
    if (tracked != tracked_.end() && !tracked->second.count(change.table->columns[i].name) &&
        change.table->columns[i].name != "id") {
      continue;
    }
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
  current_[table.entity][id] = v.key;
  return output_->OnVersion(std::move(v));
}

Status ScdBuilder::CloseCurrent(const KnownTable& table, const events::ChangeEvent& change,
                                const std::string& id, bool deleted) {
  auto& ids = current_[table.entity];
  auto it = ids.find(id);
  if (it == ids.end()) return OkStatus();
  DimClose close{
      &table,         it->second, change.commit_time_us, deleted, change.commit_lsn.value(),
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

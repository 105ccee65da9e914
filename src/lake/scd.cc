#include "lake/scd.h"

#include <algorithm>
#include <fstream>

namespace migsbyu::lake {
namespace {

std::optional<std::string> TextOf(const events::ChangeEvent& change, const events::Row& row,
                                  const std::string& column) {
  int i = change.table->ColumnIndex(column);
  if (i < 0 || static_cast<size_t>(i) >= row.size() || row[i].is_null()) return std::nullopt;
  return events::ValueToText(change.table->columns[i].type, row[i]);
}

bool HasKey(const events::TableSchema& schema) {
  return std::any_of(schema.columns.begin(), schema.columns.end(),
                     [](const events::Column& c) { return c.key; });
}

}  // namespace

namespace {

bool PlainName(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || c == '_' || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

}  // namespace

Status AddScdOption(const std::string& spec, TrackedColumns* tracked) {
  auto bad = [&](const std::string& why) {
    return Error::InvalidArgument("--scd " + spec + ": " + why +
                                  " (expected TABLE:track=COLUMN,COLUMN...)");
  };
  auto colon = spec.find(':');
  if (colon == std::string::npos) return bad("no ':' after the table");
  std::string table = spec.substr(0, colon);
  if (!PlainName(table)) return bad("'" + table + "' is not a table name");
  std::string rest = spec.substr(colon + 1);
  auto eq = rest.find('=');
  if (eq == std::string::npos) return bad("no '=' after the option");
  std::string option = rest.substr(0, eq);
  if (option != "track") return bad("unknown option '" + option + "'");
  std::set<std::string> columns;
  std::string list = rest.substr(eq + 1);
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string::npos) comma = list.size();
    std::string column = list.substr(start, comma - start);
    if (!PlainName(column)) return bad("'" + column + "' is not a column name");
    columns.insert(column);
    start = comma + 1;
  }
  (*tracked)[table].merge(columns);
  return OkStatus();
}

Status LoadScdConfig(const std::string& path, TrackedColumns* tracked) {
  std::ifstream in(path);
  if (!in) return Error::NotFound("--scd-config " + path + ": cannot read the file");
  TrackedColumns read = *tracked;
  int line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    size_t first = line.find_first_not_of(' ');
    if (first == std::string::npos || line[first] == '#') continue;
    Status added = AddScdOption(line.substr(first), &read);
    if (!added.ok()) {
      return Error::InvalidArgument(path + ":" + std::to_string(line_no) + ": " +
                                    added.error().message());
    }
  }
  *tracked = std::move(read);
  return OkStatus();
}

std::string KeyText(const std::vector<std::string>& key_texts) {
  // The unit separator cannot occur in a PostgreSQL text value's normal use, and a single-column
  // key is its value's text as it is (as the portal tables' "id").
  std::string text;
  for (size_t i = 0; i < key_texts.size(); ++i) {
    if (i) text += '\x1f';
    text += key_texts[i];
  }
  return text;
}

ScdBuilder::ScdBuilder(ScdOutput* output, TrackedColumns tracked)
    : output_(output), tracked_(std::move(tracked)) {
  for (const auto& t : KnownTables()) {
    if (!t.entity.empty()) next_key_[t.entity] = 1;
  }
}

void ScdBuilder::RestoreCurrent(const std::string& entity, const std::string& id, int64_t key,
                                int64_t start_us, events::Row key_values) {
  current_[entity][id] = Current{key, start_us, std::nullopt, std::move(key_values)};
}

Status ScdBuilder::RestoreCurrentVersion(std::shared_ptr<const events::TableSchema> schema,
                                         events::Row values, int64_t key, int64_t start_us) {
  const KnownTable* table = CapturedDimension(schema->name);
  if (!table || !table->generic) {
    return Error::InvalidArgument("lake: " + schema->name + " is not a generic dimension's table");
  }
  events::ChangeEvent like;
  like.op = events::Operation::kRead;
  like.table = schema;
  like.after = std::move(values);
  auto id = IdOf(*table, like, *like.after);
  if (!id) {
    return Error::InvalidArgument("lake: " + table->DimName() + " version " + std::to_string(key) +
                                  " has no value for its key");
  }
  events::Row key_values(schema->columns.size());
  for (size_t i = 0; i < key_values.size() && i < like.after->size(); ++i) {
    if (schema->columns[i].key) key_values[i] = (*like.after)[i];
  }
  current_[table->entity][*id] =
      Current{key, start_us, Fingerprint(like, *like.after), std::move(key_values)};
  generic_schemas_.try_emplace(table->name, std::move(schema));
  return OkStatus();
}

int64_t ScdBuilder::TakeKey(const std::string& entity) {
  auto [it, added] = next_key_.try_emplace(entity, 1);
  return it->second++;
}

std::optional<std::string> ScdBuilder::IdOf(const KnownTable& table,
                                            const events::ChangeEvent& change,
                                            const events::Row& row) const {
  if (!table.generic) return TextOf(change, row, "id");
  std::vector<std::string> texts;
  for (size_t i = 0; i < change.table->columns.size(); ++i) {
    if (!change.table->columns[i].key) continue;
    if (i >= row.size() || row[i].is_null()) return std::nullopt;
    texts.push_back(events::ValueToText(change.table->columns[i].type, row[i]));
  }
  if (texts.empty()) return std::nullopt;
  return KeyText(texts);
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
  // Tables outside the contract: the delete carries the key values in the schema last seen.
  for (const auto& [name, schema] : generic_schemas_) {
    const KnownTable* t = CapturedDimension(name);
    if (!t || !listed(*t)) continue;
    const auto& seen = snapshot_ids_[t->entity];
    std::vector<std::pair<std::string, const Current*>> gone;
    for (const auto& [id, current] : current_[t->entity]) {
      if (!seen.count(id) && current.key_values.size() == schema->columns.size()) {
        gone.emplace_back(id, &current);
      }
    }
    std::sort(gone.begin(), gone.end());
    for (const auto& [id, current] : gone) {
      events::ChangeEvent e;
      e.op = events::Operation::kDelete;
      e.table = schema;
      e.before = current->key_values;
      e.commit_lsn = tx.commit_lsn;
      e.lsn = tx.commit_lsn;
      e.position = position++;
      e.xid = tx.xid;
      e.commit_time_us = tx.commit_time_us;
      e.actor = Actor::Snapshot();
      out.push_back(std::move(e));
    }
  }
  in_snapshot_ = false;
  snapshot_ids_.clear();
  snapshot_links_.clear();
  return out;
}

bool ScdBuilder::Tracks(const events::TableSchema& schema, size_t column) const {
  const events::Column& c = schema.columns[column];
  auto tracked = tracked_.find(schema.name);
  return tracked == tracked_.end() || tracked->second.count(c.name) || c.name == "id" || c.key;
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
    if (row[i].is_null() || !Tracks(*change.table, i)) continue;
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
  if (const KnownTable* table = FindKnownTable(change.table->name)) {
    if (!table->entity.empty()) return ApplyDimension(*table, change);
    return ApplyLink(table->name == "takes", change);
  }
  // Any other captured table with a primary key: a dimension of its own.
  const KnownTable* table = CapturedDimension(change.table->name);
  if (!table || !HasKey(*change.table)) return OkStatus();
  generic_schemas_[table->name] = change.table;
  return ApplyDimension(*table, change);
}

bool ScdBuilder::TrackedChange(const events::ChangeEvent& change) const {
  const auto& before = *change.before;
  const auto& after = *change.after;
  for (size_t i = 0; i < change.table->columns.size(); ++i) {
    if (!Tracks(*change.table, i)) continue;
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
      auto id = change.after ? IdOf(table, change, *change.after) : std::nullopt;
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
      auto id = IdOf(table, change, *change.after);
      if (!id)
        return Error::InvalidArgument(table.name + " update without an id at " +
                                      change.commit_lsn.ToString());
      auto old_id = change.before ? IdOf(table, change, *change.before) : std::nullopt;
      if (old_id && *old_id != *id) {
        if (CurrentKey(table.entity, *old_id)) {
          MIGSBYU_TRY(CloseCurrent(table, change, *old_id, true));
        }
      } else if (change.before && !TrackedChange(change)) {
        return OkStatus();
      } else if (!change.before) {
        // No before image (a table with the default replica identity): the current version's
        // tracked values tell whether anything tracked changed.
        auto& ids = current_[table.entity];
        auto it = ids.find(*id);
        if (it != ids.end() && it->second.fingerprint &&
            *it->second.fingerprint == Fingerprint(change, *change.after)) {
          return OkStatus();
        }
      }
      if (CurrentKey(table.entity, *id)) MIGSBYU_TRY(CloseCurrent(table, change, *id, false));
      return OpenVersion(table, change, *id);
    }
    case Operation::kDelete: {
      auto id = change.before ? IdOf(table, change, *change.before) : std::nullopt;
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
  v.key = TakeKey(table.entity);
  v.schema = change.table;
  v.values = *change.after;
  v.start_us = change.commit_time_us;
  v.source_lsn = change.commit_lsn.value();
  v.source_position = change.position;
  v.source_xid = change.xid;
  v.actor = change.actor;
  events::Row key_values;
  if (table.generic) {
    // Only the key's values, for a reconciling snapshot's delete of this id.
    key_values.resize(change.table->columns.size());
    for (size_t i = 0; i < key_values.size() && i < v.values.size(); ++i) {
      if (change.table->columns[i].key) key_values[i] = v.values[i];
    }
  }
  current_[table.entity][id] =
      Current{v.key, v.start_us, Fingerprint(change, v.values), std::move(key_values)};
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

#include "lake/column_changes.h"

#include <set>

namespace migsbyu::lake {

std::vector<ColumnChange> DiffColumns(const std::vector<RelationColumn>& before,
                                      const std::vector<RelationColumn>& after) {
  std::set<std::string> old_names, new_names;
  for (const auto& c : before) old_names.insert(c.name);
  for (const auto& c : after) new_names.insert(c.name);
  auto fits = [](const iceberg::Type& from, const iceberg::Type& to) {
    return from == to || iceberg::CanPromote(from, to);
  };
  std::vector<ColumnChange> renames, others, adds;
  auto kept = [&](const RelationColumn& o, const RelationColumn& n) {
    if (o.type == n.type) return;
    others.push_back({iceberg::CanPromote(o.type, n.type) ? ColumnChange::Kind::kWiden
                                                          : ColumnChange::Kind::kRetype,
                      o.name, "", n.type});
  };
  size_t i = 0, j = 0;
  while (i < before.size() && j < after.size()) {
    const RelationColumn& o = before[i];
    const RelationColumn& n = after[j];
    if (o.name == n.name) {
      kept(o, n);
      ++i, ++j;
      continue;
    }
    const bool gone = !new_names.count(o.name), fresh = !old_names.count(n.name);
    const bool lined_up =
        i + 1 == before.size() || j + 1 == after.size() || before[i + 1].name == after[j + 1].name;
    if (gone && fresh && fits(o.type, n.type) && lined_up) {
      renames.push_back({ColumnChange::Kind::kRename, o.name, n.name, n.type});
      ++i, ++j;
    } else if (gone) {
      others.push_back({ColumnChange::Kind::kDrop, o.name, "", o.type});
      ++i;
    } else if (fresh) {
      adds.push_back({ColumnChange::Kind::kAdd, n.name, "", n.type});
      ++j;
    } else {
      // Both names exist elsewhere: columns reordered, which PostgreSQL never does. Match the
      // old column where it stands in the new list; the new one is met again later.
      ++j;
    }
  }
  for (; i < before.size(); ++i) {
    if (!new_names.count(before[i].name)) {
      others.push_back({ColumnChange::Kind::kDrop, before[i].name, "", before[i].type});
    }
  }
  for (; j < after.size(); ++j) {
    if (!old_names.count(after[j].name)) {
      adds.push_back({ColumnChange::Kind::kAdd, after[j].name, "", after[j].type});
    }
  }
  renames.insert(renames.end(), others.begin(), others.end());
  renames.insert(renames.end(), adds.begin(), adds.end());
  return renames;
}

}  // namespace migsbyu::lake

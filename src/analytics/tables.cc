#include "analytics/tables.h"

namespace migsbyu::analytics {
namespace {

constexpr std::string_view kBeforePrefix = "before_";
constexpr std::string_view kAfterPrefix = "after_";

template <typename T>
const T* FindBy(const std::vector<T>& all, std::string_view value, std::string T::*member) {
  for (const auto& t : all) {
    if (t.*member == value) return &t;
  }
  return nullptr;
}

}  // namespace

const std::vector<DimensionTable>& Dimensions() {
  static const std::vector<DimensionTable> kDimensions = {
      {"students", "students_dim", "student_key", {"first_name", "last_name"}},
      {"professors", "professors_dim", "professor_key", {"first_name", "last_name"}},
      {"courses", "courses_dim", "course_key", {"name"}},
  };
  return kDimensions;
}

const std::vector<OperationalTable>& OperationalTables() {
  static const std::vector<OperationalTable> kTables = {
      {"students", "students_changes", {"id"}},
      {"professors", "professors_changes", {"id"}},
      {"courses", "courses_changes", {"id"}},
      {"takes", "takes_changes", {"student_id", "course_id", "semester"}},
      {"teaches", "teaches_changes", {"professor_id", "course_id", "semester"}},
  };
  return kTables;
}

const DimensionTable* FindDimension(std::string_view entity) {
  return FindBy(Dimensions(), entity, &DimensionTable::entity);
}

const DimensionTable* FindDimensionByView(std::string_view view) {
  return FindBy(Dimensions(), view, &DimensionTable::view);
}

const OperationalTable* FindOperationalTable(std::string_view name) {
  return FindBy(OperationalTables(), name, &OperationalTable::name);
}

const std::vector<std::string>& ScdColumns() {
  static const std::vector<std::string> kColumns = {
      "row_effective_start", "row_effective_end", "current_row_indicator",
      "is_deleted",          "source_lsn",        "source_position",
      "source_xid",          "changed_by",        "origin"};
  return kColumns;
}

std::string BeforeColumn(std::string_view column) {
  return std::string(kBeforePrefix) + std::string(column);
}

std::string AfterColumn(std::string_view column) {
  return std::string(kAfterPrefix) + std::string(column);
}

std::string ColumnOfAfter(std::string_view name) {
  if (!name.starts_with(kAfterPrefix)) return "";
  return std::string(name.substr(kAfterPrefix.size()));
}

}  // namespace migsbyu::analytics

#include "analytics/query.h"

#include <algorithm>
#include <cstdlib>

namespace migsbyu::analytics {
namespace {

bool IsSignedInteger(const std::string& t) {
  return t == "TINYINT" || t == "SMALLINT" || t == "INTEGER" || t == "BIGINT";
}
bool IsUnsignedInteger(const std::string& t) {
  return t == "UTINYINT" || t == "USMALLINT" || t == "UINTEGER" || t == "UBIGINT";
}
bool IsReal(const std::string& t) {
  return t == "FLOAT" || t == "DOUBLE" || t.starts_with("DECIMAL");
}
// Types the C value API reads as they are.
bool IsReadable(const std::string& t) {
  return t == "BOOLEAN" || IsSignedInteger(t) || IsUnsignedInteger(t) || IsReal(t) ||
         t == "VARCHAR" || t == "DATE" || t == "TIMESTAMP";
}

Status BindParam(duck::PreparedStatement& stmt, uint64_t index, const Param& param) {
  return std::visit(
      [&](const auto& v) -> Status {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string>)
          return stmt.BindString(index, v);
        else if constexpr (std::is_same_v<T, int64_t>)
          return stmt.BindInt64(index, v);
        else if constexpr (std::is_same_v<T, bool>)
          return stmt.BindBool(index, v);
        else
          return stmt.BindTimestampTz(index, v.value);
      },
      param);
}

nlohmann::json CellToJson(duck::QueryResult& result, uint64_t column, uint64_t row,
                          const std::string& type) {
  if (result.IsNull(column, row)) return nullptr;
  if (type == "BOOLEAN") return result.GetBool(column, row);
  if (IsSignedInteger(type)) return result.GetInt64(column, row);
  if (IsUnsignedInteger(type)) return result.GetUint64(column, row);
  if (IsReal(type)) {
    // Through the exact text, so DECIMAL 3.10 reads back as 3.1, not 3.0999999.
    std::string text = result.GetString(column, row);
    char* end = nullptr;
    double v = std::strtod(text.c_str(), &end);
    if (end == text.c_str() || *end != '\0' || text.find_first_of("nN") != std::string::npos) {
      return text;  // nan, inf: not JSON numbers
    }
    return v;
  }
  return result.GetString(column, row);
}

// Characters on screen, counted as UTF-8 code points (continuation bytes are not counted).
size_t DisplayWidth(std::string_view text) {
  return std::count_if(text.begin(), text.end(), [](char c) { return (c & 0xC0) != 0x80; });
}

std::string CsvField(std::string_view text) {
  if (text.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(text);
  std::string out = "\"";
  for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string FormatTable(Rows& rows) {
  const uint64_t n = rows.result.RowCount();
  std::vector<std::vector<std::string>> cells(n + 1);
  std::vector<size_t> widths;
  for (const auto& column : rows.columns) {
    cells[0].push_back(column.name);
    widths.push_back(DisplayWidth(column.name));
  }
  for (uint64_t r = 0; r < n; ++r) {
    for (uint64_t c = 0; c < rows.columns.size(); ++c) {
      cells[r + 1].push_back(CellText(rows, c, r).value_or("NULL"));
      widths[c] = std::max(widths[c], DisplayWidth(cells[r + 1].back()));
    }
  }
  std::string out;
  auto line = [&](const std::vector<std::string>& row, bool header) {
    for (size_t c = 0; c < row.size(); ++c) {
      const std::string& type = rows.columns[c].type;
      bool right = !header && (IsSignedInteger(type) || IsUnsignedInteger(type) || IsReal(type));
      std::string pad(widths[c] - DisplayWidth(row[c]), ' ');
      out += c ? " | " : "";
      out += right ? pad + row[c] : row[c] + (c + 1 < row.size() ? pad : "");
    }
    out += '\n';
  };
  line(cells[0], true);
  for (size_t c = 0; c < widths.size(); ++c) out += (c ? "-+-" : "") + std::string(widths[c], '-');
  out += '\n';
  for (uint64_t r = 0; r < n; ++r) line(cells[r + 1], false);
  out += "(" + std::to_string(n) + (n == 1 ? " row)\n" : " rows)\n");
  return out;
}

std::string FormatCsv(Rows& rows) {
  std::string out;
  for (size_t c = 0; c < rows.columns.size(); ++c) {
    out += (c ? "," : "") + CsvField(rows.columns[c].name);
  }
  out += "\r\n";
  for (uint64_t r = 0; r < rows.result.RowCount(); ++r) {
    for (uint64_t c = 0; c < rows.columns.size(); ++c) {
      out += (c ? "," : "") + CsvField(CellText(rows, c, r).value_or(""));
    }
    out += "\r\n";
  }
  return out;
}

std::string FormatJson(Rows& rows) {
  nlohmann::json objects = RowsToObjects(rows);
  if (objects.empty()) return "[]\n";
  std::string out;
  for (size_t r = 0; r < objects.size(); ++r) out += (r ? ",\n " : "[") + objects[r].dump();
  return out + "]\n";
}

}  // namespace

std::optional<std::string> CellText(Rows& rows, uint64_t column, uint64_t row) {
  if (rows.result.IsNull(column, row)) return std::nullopt;
  return rows.result.GetString(column, row);
}

Result<RowsFormat> ParseRowsFormat(std::string_view name) {
  if (name == "table") return RowsFormat::kTable;
  if (name == "csv") return RowsFormat::kCsv;
  if (name == "json") return RowsFormat::kJson;
  return Error::InvalidArgument("format: expected table, csv or json, got '" + std::string(name) +
                                "'");
}

std::string FormatRows(Rows& rows, RowsFormat format) {
  switch (format) {
    case RowsFormat::kCsv:
      return FormatCsv(rows);
    case RowsFormat::kJson:
      return FormatJson(rows);
    case RowsFormat::kTable:
      break;
  }
  return FormatTable(rows);
}

std::string Sql::Bind(Param value) {
  params_.push_back(std::move(value));
  return "$" + std::to_string(params_.size());
}

Result<duck::QueryResult> RunRaw(duck::Connection& conn, const std::string& sql,
                                 const std::vector<Param>& params) {
  MIGSBYU_ASSIGN(auto stmt, conn.Prepare(sql));
  for (size_t i = 0; i < params.size(); ++i) MIGSBYU_TRY(BindParam(stmt, i + 1, params[i]));
  return stmt.Execute();
}

Result<Rows> RunQuery(duck::Connection& conn, const std::string& sql,
                      const std::vector<Param>& params) {
  // The newlines keep a trailing -- comment in `sql` from swallowing the parenthesis.
  const std::string inner = "(\n" + sql + "\n) AS analytics_query";
  // DESCRIBE plans the query without running it and names each column's exact type.
  MIGSBYU_ASSIGN(auto shape, RunRaw(conn, "DESCRIBE SELECT * FROM " + inner, params));
  std::vector<ResultColumn> columns;
  std::string projection;
  bool all_readable = true;
  for (uint64_t c = 0; c < shape.RowCount(); ++c) {
    ResultColumn column{shape.GetString(0, c), shape.GetString(1, c)};
    std::string ref = "#" + std::to_string(c + 1);
    std::string expr = ref;
    if (column.type == "TIMESTAMP WITH TIME ZONE") {
      expr = "strftime(timezone('UTC', " + ref + "), '%Y-%m-%dT%H:%M:%S.%fZ')";
    } else if (!IsReadable(column.type)) {
      expr = "CAST(" + ref + " AS VARCHAR)";
    }
    all_readable = all_readable && expr == ref;
    projection += (c ? ", " : "") + expr + " AS " + duck::QuoteIdentifier(column.name);
    columns.push_back(std::move(column));
  }
  std::string run = all_readable ? sql : "SELECT " + projection + " FROM " + inner;
  MIGSBYU_ASSIGN(auto result, RunRaw(conn, run, params));
  return Rows{std::move(columns), std::move(result)};
}

nlohmann::json RowsToObjects(Rows& rows) {
  nlohmann::json out = nlohmann::json::array();
  uint64_t n = rows.result.RowCount();
  for (uint64_t r = 0; r < n; ++r) {
    nlohmann::json row = nlohmann::json::object();
    for (uint64_t c = 0; c < rows.columns.size(); ++c) {
      row[rows.columns[c].name] = CellToJson(rows.result, c, r, rows.columns[c].type);
    }
    out.push_back(std::move(row));
  }
  return out;
}

nlohmann::json RowsToArrays(Rows& rows, uint64_t from, uint64_t count) {
  nlohmann::json out = nlohmann::json::array();
  uint64_t end = std::min(rows.result.RowCount(), from + count);
  for (uint64_t r = from; r < end; ++r) {
    nlohmann::json row = nlohmann::json::array();
    for (uint64_t c = 0; c < rows.columns.size(); ++c) {
      row.push_back(CellToJson(rows.result, c, r, rows.columns[c].type));
    }
    out.push_back(std::move(row));
  }
  return out;
}

}  // namespace migsbyu::analytics

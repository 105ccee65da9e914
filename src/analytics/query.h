// Running analytics SQL on DuckDB and turning its rows into JSON, in one place.
//
// Values reach SQL only as parameters (Param, bound through Sql::Bind placeholders). RunQuery
// returns the rows with their JSON-ready forms: DuckDB's C value API cannot read every type
// (TIMESTAMP WITH TIME ZONE, lists, structs, UUIDs, ...), so RunQuery first learns the column
// types (DESCRIBE of the query: planned, not run), then reads the query through a projection
// that turns those columns into text in SQL.
//
// JSON forms: NULL → null; BOOLEAN → bool; integers → numbers (UBIGINT LSNs exact, unsigned);
// DECIMAL, FLOAT, DOUBLE → numbers (NaN and infinities as text); DATE → "YYYY-MM-DD";
// TIMESTAMP → "YYYY-MM-DD HH:MM:SS[.f]"; TIMESTAMP WITH TIME ZONE → ISO-8601 in UTC with
// microseconds ("2026-11-25T16:15:00.000000Z", as instant.h formats); anything else → DuckDB's
// text form.
//
// Text forms (CellText, FormatRows): the JSON form's text, except that DECIMALs keep their scale
// ("4.00", not 4) and text is not quoted; NULL is nullopt. Lists, structs, maps, blobs, intervals
// and UUIDs read as DuckDB prints them ("[1, 2]", "{'x': 1}", "\xAA\xBB", "1 day").
//
// Threading: functions over a connection owned by the calling thread.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/result.h"
#include "lake/duck.h"

namespace migsbyu::analytics {

// A TIMESTAMPTZ parameter, µs since the Unix epoch.
struct Micros {
  int64_t value;
};
using Param = std::variant<std::string, int64_t, bool, Micros>;

// A statement's parameters under construction: Bind adds a value and returns its placeholder.
class Sql {
 public:
  std::string Bind(Param value);
  const std::vector<Param>& params() const { return params_; }

 private:
  std::vector<Param> params_;
};

struct ResultColumn {
  std::string name;
  std::string type;  // DuckDB's type name: "BIGINT", "DECIMAL(3,2)", "INTEGER[]", ...
};

struct Rows {
  std::vector<ResultColumn> columns;  // the query's own names and types
  duck::QueryResult result;           // the same columns in their JSON-ready forms
};

// Prepares `sql`, binds `params` ($1, $2, ... in order) and runs it.
Result<duck::QueryResult> RunRaw(duck::Connection& conn, const std::string& sql,
                                 const std::vector<Param>& params);

// Runs a query (one SELECT, without a trailing semicolon) for JSON; see above.
Result<Rows> RunQuery(duck::Connection& conn, const std::string& sql,
                      const std::vector<Param>& params = {});

// Every row as an object {"column": value, ...}, in result order.
nlohmann::json RowsToObjects(Rows& rows);

// Rows [from, from + count) (clamped to the result) as arrays of values in column order.
nlohmann::json RowsToArrays(Rows& rows, uint64_t from, uint64_t count);

// One cell's text form (see above); nullopt for NULL.
std::optional<std::string> CellText(Rows& rows, uint64_t column, uint64_t row);

// How FormatRows prints a result:
//   kTable: the column names, a rule, the rows in aligned columns (NULL as "NULL"), then
//           "(N rows)";
//   kCsv:   RFC 4180: a header of the column names, one line per row, CRLF line ends; cells
//           holding a comma, a double quote, CR or LF quoted with their quotes doubled; NULL as
//           an empty cell;
//   kJson:  a JSON array of one object per row ({"column": JSON form}), one row per line.
enum class RowsFormat { kTable, kCsv, kJson };

// "table", "csv" or "json"; kInvalidArgument naming the text otherwise.
Result<RowsFormat> ParseRowsFormat(std::string_view name);

// Every row of `rows` in `format`, ending with a newline.
std::string FormatRows(Rows& rows, RowsFormat format);

}  // namespace migsbyu::analytics

// The SQL console's policy: what a query may contain, judged on DuckDB's own syntax tree of it.
//
// The console's worker has DuckDB parse the query (json_serialize_sql: the parser only; nothing
// is bound, planned or run) and hands the tree here. The query may run only if it is exactly one
// SELECT statement (SELECT, FROM-first, WITH, VALUES, set operations, PIVOT/UNPIVOT with an IN
// list, DESCRIBE or SUMMARIZE of a view or query, SHOW TABLES) and every part of it is on an
// allow-list:
//   - tables: the lake's views (unqualified or under main), and names a WITH clause defines where
//     it is in scope (a CTE sees the ones before it, and itself only when recursive). Anything else
//     is refused: a string or path used as a table ('x.parquet', '/etc/passwd'), DuckDB's catalog
//     views (duckdb_settings, information_schema.*, pg_catalog.*), another database;
//   - table functions: range, generate_series, unnest. Every other is refused: the file and glob
//     readers (read_parquet, read_csv, read_json, read_text, read_blob, glob, parquet_metadata,
//     sniff_csv, ...), query() and query_table(), the duckdb_*() catalog and settings functions,
//     duckdb_secrets(), enable_logging, checkpoint, pragma_*, json_execute_serialized_sql, ...;
//   - functions (scalar, aggregate, window, built-in macros, operators): a fixed list of pure
//     ones. Everything else is refused, among them current_setting, getvariable, nextval and
//     currval, setseed, write_log, json_serialize_sql and the catalog and session functions;
//   - expressions of the usual kinds; parameters ($1, ?) are refused, and so is any node kind the
//     policy does not know (a newer DuckDB's syntax is refused until it is looked at), and time
//     travel (AT (VERSION => ...)).
// What the allowed functions can still do (repeat, lpad, range, list_sort, levenshtein, regular
// expressions, recursive CTEs) is bounded by the worker's memory, CPU and time limits, not here.
//
// Threading: pure functions over constant tables; thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace migsbyu::analytics {

// What the console runs, as its refusals say.
inline constexpr const char* kConsoleRunsOnlyReads =
    "the console runs a single read-only query (SELECT) over the lake's views";

// Why the parsed query may not run in the console, as an "sql: ..." message; nullopt when it may.
// `serialized` is json_serialize_sql's answer for the query's text, parsed; `views` are the
// names a query may read, in lower case.
std::optional<std::string> RefuseParsedQuery(const nlohmann::json& serialized,
                                             const std::set<std::string>& views);

// The allow-lists (names in lower case), for tests.
bool IsAllowedFunction(std::string_view name);
bool IsAllowedTableFunction(std::string_view name);

}  // namespace migsbyu::analytics

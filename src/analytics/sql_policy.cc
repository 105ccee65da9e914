#include "analytics/sql_policy.h"

#include <algorithm>
#include <cctype>
#include <unordered_set>
#include <vector>

namespace migsbyu::analytics {
namespace {

// Pure functions: they read their arguments and nothing else, and change nothing.
// clang-format off
constexpr std::string_view kFunctions[] = {
    // Operators (as the parser names them).
    "+", "-", "*", "/", "//", "%", "**", "^", "&", "|", "<<", ">>", "~", "!__postfix", "@", "||",
    "~~", "!~~", "~~*", "!~~*", "~~~", "^@", "@>", "<@", "&&", "->>", "<->", "<=>",
    // Numbers.
    "abs", "acos", "acosh", "add", "asin", "asinh", "atan", "atan2", "atanh", "bit_count", "cbrt",
    "ceil", "ceiling", "cos", "cosh", "cot", "degrees", "divide", "equi_width_bins", "even", "exp",
    "factorial", "fdiv", "floor", "fmod", "gamma", "gcd", "greatest", "greatest_common_divisor",
    "isfinite", "isinf", "isnan", "lcm", "least", "least_common_multiple", "lgamma", "ln", "log",
    "log10", "log2", "mod", "multiply", "nextafter", "pi", "pow", "power", "radians", "random",
    "round", "round_even", "roundbankers", "sign", "signbit", "sin", "sinh", "sqrt", "subtract",
    "tan", "tanh", "trunc", "xor", "bar", "format_bytes", "formatreadabledecimalsize",
    "formatreadablesize", "to_base", "bin", "hex", "unbin", "unhex",
    // Text.
    "ascii", "bit_length", "char_length", "character_length", "chr", "concat", "concat_ws",
    "contains", "damerau_levenshtein", "editdist3", "ends_with", "format", "hamming",
    "ilike_escape", "instr", "jaccard", "jaro_similarity", "jaro_winkler_similarity", "lcase",
    "left", "left_grapheme", "len", "length", "length_grapheme", "levenshtein", "like_escape",
    "lower", "lpad", "ltrim", "md5", "md5_number", "md5_number_lower", "md5_number_upper",
    "mismatches", "nfc_normalize", "not_ilike_escape", "not_like_escape", "octet_length", "ord",
    "parse_dirname", "parse_dirpath", "parse_filename", "parse_path", "position", "prefix",
    "printf", "regexp_escape", "regexp_extract", "regexp_extract_all", "regexp_full_match",
    "regexp_matches", "regexp_replace", "regexp_split_to_array", "regexp_split_to_table", "repeat",
    "replace", "reverse", "right", "right_grapheme", "rpad", "rtrim", "sha1", "sha256", "split",
    "split_part", "starts_with", "str_split", "str_split_regex", "string_split",
    "string_split_regex", "string_to_array", "strip_accents", "strlen", "strpos", "substr",
    "substring", "substring_grapheme", "suffix", "translate", "trim", "ucase", "unicode", "upper",
    "url_decode", "url_encode", "base64", "to_base64", "from_base64", "encode", "decode",
    "from_binary", "from_hex", "to_binary", "to_hex", "hash", "bitstring", "bit_position",
    "get_bit", "set_bit",
    // Dates and times.
    "age", "century", "current_date", "current_localtime", "current_localtimestamp", "date_add",
    "date_diff", "date_part", "date_sub", "date_trunc", "datediff", "datepart", "datesub",
    "datetrunc", "day", "dayname", "dayofmonth", "dayofweek", "dayofyear", "decade", "epoch",
    "epoch_ms", "epoch_ns", "epoch_us", "era", "get_current_time", "get_current_timestamp", "hour",
    "isodow", "isoyear", "julian", "last_day", "make_date", "make_time", "make_timestamp",
    "make_timestamp_ms", "make_timestamp_ns", "make_timestamptz", "microsecond", "millennium",
    "millisecond", "minute", "month", "monthname", "nanosecond", "normalized_interval", "now",
    "quarter", "second", "strftime", "strptime", "time_bucket", "timezone", "timezone_hour",
    "timezone_minute", "to_centuries", "to_days", "to_decades", "to_hours", "to_microseconds",
    "to_millennia", "to_milliseconds", "to_minutes", "to_months", "to_quarters", "to_seconds",
    "to_timestamp", "to_weeks", "to_years", "today", "transaction_timestamp", "try_strptime",
    "week", "weekday", "weekofyear", "year", "yearweek",
    // Lists, arrays, maps, structs, unions.
    "aggregate", "apply", "array_aggr", "array_aggregate", "array_append", "array_apply",
    "array_cat", "array_concat", "array_contains", "array_cosine_distance",
    "array_cosine_similarity", "array_cross_product", "array_distance", "array_distinct",
    "array_dot_product", "array_extract", "array_filter", "array_grade_up", "array_has",
    "array_has_all", "array_has_any", "array_indexof", "array_inner_product", "array_intersect",
    "array_length", "array_negative_dot_product", "array_negative_inner_product", "array_pop_back",
    "array_pop_front", "array_position", "array_prepend", "array_push_back", "array_push_front",
    "array_reduce", "array_resize", "array_reverse", "array_reverse_sort", "array_select",
    "array_slice", "array_sort", "array_to_string", "array_transform", "array_unique",
    "array_value", "array_where", "array_zip", "cardinality", "element_at", "filter", "flatten",
    "generate_series", "generate_subscripts", "grade_up", "list_aggr", "list_aggregate",
    "list_any_value", "list_append", "list_apply", "list_approx_count_distinct", "list_avg",
    "list_bit_and", "list_bit_or", "list_bit_xor", "list_bool_and", "list_bool_or", "list_cat",
    "list_concat", "list_contains", "list_cosine_distance", "list_cosine_similarity", "list_count",
    "list_distance", "list_distinct", "list_dot_product", "list_element", "list_entropy",
    "list_extract", "list_filter", "list_first", "list_grade_up", "list_has", "list_has_all",
    "list_has_any", "list_histogram", "list_indexof", "list_inner_product", "list_intersect",
    "list_kurtosis", "list_kurtosis_pop", "list_last", "list_mad", "list_max", "list_median",
    "list_min", "list_mode", "list_negative_dot_product", "list_negative_inner_product",
    "list_pack", "list_position", "list_prepend", "list_product", "list_reduce", "list_resize",
    "list_reverse", "list_reverse_sort", "list_select", "list_sem", "list_skewness", "list_slice",
    "list_sort", "list_stddev_pop", "list_stddev_samp", "list_string_agg", "list_sum",
    "list_transform", "list_unique", "list_value", "list_var_pop", "list_var_samp", "list_where",
    "list_zip", "map", "map_concat", "map_contains", "map_contains_entry", "map_contains_value",
    "map_entries", "map_extract", "map_extract_value", "map_from_entries", "map_keys", "map_values",
    "range", "reduce", "row", "struct_concat", "struct_contains", "struct_extract",
    "struct_extract_at", "struct_has", "struct_indexof", "struct_insert", "struct_pack",
    "struct_position", "struct_update", "union_extract", "union_tag", "union_value", "unnest",
    "unpivot_list",
    // JSON values (no reading of files).
    "array_to_json", "from_json", "from_json_strict", "json", "json_array", "json_array_length",
    "json_contains", "json_exists", "json_extract", "json_extract_path", "json_extract_path_text",
    "json_extract_string", "json_group_array", "json_group_object", "json_group_structure",
    "json_keys", "json_merge_patch", "json_object", "json_pretty", "json_quote", "json_structure",
    "json_transform", "json_transform_strict", "json_type", "json_valid", "json_value",
    "row_to_json", "to_json",
    // Other values.
    "enum_code", "enum_first", "enum_last", "enum_range", "enum_range_boundary", "gen_random_uuid",
    "nullif", "typeof", "uuid", "uuid_extract_timestamp", "uuid_extract_version", "uuidv4",
    "uuidv7", "variant_extract", "variant_typeof",
    // Aggregates.
    "any_value", "approx_count_distinct", "approx_quantile", "approx_top_k", "arbitrary", "arg_max",
    "arg_max_null", "arg_min", "arg_min_null", "argmax", "argmin", "array_agg", "avg", "bit_and",
    "bit_or", "bit_xor", "bitstring_agg", "bool_and", "bool_or", "corr", "count", "count_if",
    "count_star", "countif", "covar_pop", "covar_samp", "entropy", "favg", "first", "fsum",
    "geomean", "geometric_mean", "group_concat", "histogram", "histogram_exact", "kahan_sum",
    "kurtosis", "kurtosis_pop", "last", "list", "listagg", "mad", "max", "max_by", "mean", "median",
    "min", "min_by", "mode", "product", "quantile", "quantile_cont", "quantile_disc", "regr_avgx",
    "regr_avgy", "regr_count", "regr_intercept", "regr_r2", "regr_slope", "regr_sxx", "regr_sxy",
    "regr_syy", "reservoir_quantile", "sem", "skewness", "stddev", "stddev_pop", "stddev_samp",
    "string_agg", "sum", "sum_no_overflow", "sumkahan", "var_pop", "var_samp", "variance", "wavg",
    "weighted_avg",
    // Window functions.
    "row_number", "rank", "dense_rank", "rank_dense", "percent_rank", "cume_dist", "ntile", "lag",
    "lead", "first_value", "last_value", "nth_value", "fill",
};
// clang-format on

constexpr std::string_view kTableFunctions[] = {"range", "generate_series", "unnest"};

// Query node, modifier and table reference kinds the policy knows.
// clang-format off
constexpr std::string_view kNodeTypes[] = {
    "SELECT_NODE", "SET_OPERATION_NODE", "RECURSIVE_CTE_NODE", "CTE_NODE", "ORDER_MODIFIER",
    "LIMIT_MODIFIER", "LIMIT_PERCENT_MODIFIER", "DISTINCT_MODIFIER", "ORDER_DEFAULT", "ASCENDING",
    "DESCENDING", "BASE_TABLE", "TABLE_FUNCTION", "SUBQUERY", "JOIN", "EMPTY", "EXPRESSION_LIST",
    "PIVOT", "SHOW_REF",
};
// clang-format on

// Expression kinds that only hold other expressions (checked in turn) or nothing at all.
// clang-format off
constexpr std::string_view kExpressionClasses[] = {
    "COLUMN_REF", "CONSTANT",   "POSITIONAL_REFERENCE", "OPERATOR",   "CAST",       "CASE",
    "BETWEEN",    "COMPARISON", "CONJUNCTION", "SUBQUERY",   "STAR",       "LAMBDA",
    "COLLATE",    "FUNCTION",   "WINDOW",
};
// clang-format on

// The tree of a very deep query is refused rather than walked: the parser bounds expression depth
// (max_expression_depth) but not every kind of nesting.
constexpr int kMaxDepth = 3000;

using NameSet = std::unordered_set<std::string_view>;

template <size_t N>
NameSet SetOf(const std::string_view (&names)[N]) {
  return NameSet(std::begin(names), std::end(names));
}

// The allow-lists as sets, built once.
struct AllowLists {
  NameSet functions = SetOf(kFunctions);
  NameSet table_functions = SetOf(kTableFunctions);
  NameSet node_types = SetOf(kNodeTypes);
  NameSet expression_classes = SetOf(kExpressionClasses);
};

const AllowLists& Allowed() {
  static const AllowLists lists;
  return lists;
}

std::string Lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// A string member of `node`, or "" when absent or not a string.
std::string Text(const nlohmann::json& node, const char* key) {
  auto it = node.find(key);
  return it != node.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool IsNullOrAbsent(const nlohmann::json& node, const char* key) {
  auto it = node.find(key);
  return it == node.end() || it->is_null();
}

class Checker {
 public:
  explicit Checker(const std::set<std::string>& views) : views_(views) {}

  // Walks `value`; the first refusal found is kept in refusal_.
  void Walk(const nlohmann::json& value, int depth) {
    if (refusal_) return;
    if (depth > kMaxDepth) {
      Refuse("the query is nested too deeply");
      return;
    }
    if (value.is_array()) {
      for (const auto& item : value) Walk(item, depth + 1);
      return;
    }
    if (!value.is_object()) return;
    if (value.contains("class")) return Expression(value, depth);
    auto type = value.find("type");
    if (type != value.end() && type->is_string()) return Node(value, depth);
    // A constant's value ({"type": {...}, "value": ...}) or a type ({"id": ...}): data, no query.
    if (type != value.end() || value.contains("id")) return;
    WalkMembers(value, depth, {});
  }

  const std::optional<std::string>& refusal() const { return refusal_; }

 private:
  void Refuse(std::string why) {
    if (!refusal_) refusal_ = "sql: " + std::move(why);
  }

  void WalkMembers(const nlohmann::json& object, int depth,
                   std::initializer_list<const char*> skip) {
    for (const auto& [key, member] : object.items()) {
      if (std::find_if(skip.begin(), skip.end(), [&](const char* s) { return key == s; }) !=
          skip.end()) {
        continue;
      }
      Walk(member, depth + 1);
    }
  }

  void Expression(const nlohmann::json& e, int depth) {
    std::string kind = Text(e, "class");
    if (kind == "PARAMETER") return Refuse("parameters ($1, ?) are not supported in the console");
    if (!Allowed().expression_classes.count(kind)) {
      return Refuse("refused: the console does not allow " + Lower(kind) + " expressions");
    }
    if (kind == "CONSTANT" || kind == "COLUMN_REF" || kind == "POSITIONAL_REFERENCE") return;
    if (kind == "FUNCTION" || kind == "WINDOW") {
      std::string name = Lower(Text(e, "function_name"));
      if (!Qualified(e, "catalog", "system") || !Qualified(e, "schema", "main") ||
          !Allowed().functions.count(name)) {
        return Refuse("the function " + name +
                      "() is refused: it is not on the console's list of allowed functions "
                      "(file readers, settings, logging, sequences and catalog functions are "
                      "never allowed)");
      }
    }
    WalkMembers(e, depth, {});
  }

  // True when `node[key]` is empty or `allowed` (any case).
  static bool Qualified(const nlohmann::json& node, const char* key, const char* allowed) {
    std::string value = Lower(Text(node, key));
    return value.empty() || value == allowed;
  }

  void Node(const nlohmann::json& n, int depth) {
    std::string type = Text(n, "type");
    if (!Allowed().node_types.count(type)) {
      return Refuse("refused: the console does not allow " + Lower(type) + " here");
    }
    if (type == "BASE_TABLE") return Table(n);
    if (type == "TABLE_FUNCTION") return TableFunction(n, depth);
    if (type == "SHOW_REF") return Show(n, depth);
    size_t scope = scope_.size();
    // A recursive CTE's query sees itself.
    if (type == "RECURSIVE_CTE_NODE") scope_.push_back(Lower(Text(n, "cte_name")));
    std::vector<std::string> defined = CteMap(n, depth);
    if (type == "CTE_NODE") {
      // WITH x AS MATERIALIZED (...): the node holds x's query, which sees only what was visible
      // before, and the rest of the statement (`child`), which sees x too.
      if (auto query = n.find("query"); query != n.end()) Walk(*query, depth + 1);
      defined.push_back(Lower(Text(n, "cte_name")));
    }
    scope_.insert(scope_.end(), defined.begin(), defined.end());
    if (type == "CTE_NODE") {
      WalkMembers(n, depth, {"cte_map", "query"});
    } else {
      WalkMembers(n, depth, {"cte_map"});
    }
    scope_.resize(scope);
  }

  // Walks the CTEs that `n`'s WITH defines, each seeing the ones before it, and returns their
  // names (visible in the rest of `n`).
  std::vector<std::string> CteMap(const nlohmann::json& n, int depth) {
    std::vector<std::string> names;
    auto map = n.find("cte_map");
    if (map == n.end() || !map->is_object()) return names;
    auto entries = map->find("map");
    if (entries == map->end() || !entries->is_array()) return names;
    size_t scope = scope_.size();
    for (const auto& entry : *entries) {
      if (!entry.is_object() || !entry.contains("value")) {
        Refuse("refused: an unreadable WITH clause");
        break;
      }
      Walk(entry["value"], depth + 2);
      names.push_back(Lower(Text(entry, "key")));
      scope_.push_back(names.back());
    }
    scope_.resize(scope);
    return names;
  }

  void Table(const nlohmann::json& t) {
    std::string name = Lower(Text(t, "table_name"));
    std::string schema = Lower(Text(t, "schema_name"));
    std::string catalog = Lower(Text(t, "catalog_name"));
    if (!IsNullOrAbsent(t, "at_clause")) {
      return Refuse("refused: time travel (AT ...) is not supported; the lake's views show " +
                    std::string("history as versions"));
    }
    bool unqualified = schema.empty() && catalog.empty();
    if (unqualified && std::find(scope_.rbegin(), scope_.rend(), name) != scope_.rend()) return;
    bool in_main = (schema.empty() || schema == "main") && (catalog.empty() || catalog == "memory");
    if (in_main && views_.count(name)) return;
    std::string shown = (catalog.empty() ? "" : catalog + ".") +
                        (schema.empty() ? "" : schema + ".") + Text(t, "table_name");
    Refuse("'" + shown + "' is refused: the console reads only the lake's views (" + ViewList() +
           "), never a file, a path or DuckDB's catalog");
  }

  void TableFunction(const nlohmann::json& t, int depth) {
    auto function = t.find("function");
    if (function == t.end() || !function->is_object()) {
      return Refuse("refused: a table function the console cannot read");
    }
    std::string name = Lower(Text(*function, "function_name"));
    if (!Qualified(*function, "catalog", "system") || !Qualified(*function, "schema", "main") ||
        !Allowed().table_functions.count(name)) {
      return Refuse("the table function " + name +
                    "() is refused: the console reads only the lake's views (" + ViewList() +
                    "); of the table functions only range, generate_series and unnest are allowed");
    }
    WalkMembers(*function, depth + 1, {});
    WalkMembers(t, depth, {"function"});
  }

  // DESCRIBE and SUMMARIZE of a query, and SHOW TABLES (which lists the views).
  void Show(const nlohmann::json& s, int depth) {
    if (!IsNullOrAbsent(s, "query")) return WalkMembers(s, depth, {});
    if (Text(s, "table_name") == "\"tables\"") return;
    Refuse("refused: SHOW lists only the lake's views (SHOW TABLES); DESCRIBE a view for its " +
           std::string("columns"));
  }

  std::string ViewList() const {
    std::string list;
    for (const auto& v : views_) list += (list.empty() ? "" : ", ") + v;
    return list;
  }

  const std::set<std::string>& views_;
  std::vector<std::string> scope_;  // CTE names visible here, innermost last
  std::optional<std::string> refusal_;
};

}  // namespace

bool IsAllowedFunction(std::string_view name) { return Allowed().functions.count(name) > 0; }
bool IsAllowedTableFunction(std::string_view name) {
  return Allowed().table_functions.count(name) > 0;
}

std::optional<std::string> RefuseParsedQuery(const nlohmann::json& serialized,
                                             const std::set<std::string>& views) {
  if (!serialized.is_object()) return "sql: the query could not be parsed";
  if (serialized.value("error", false)) {
    std::string message = Text(serialized, "error_message");
    if (message.find("Only SELECT statements") != std::string::npos) {
      return std::string("sql: this statement is refused: ") + kConsoleRunsOnlyReads;
    }
    return "sql: " + (message.empty() ? std::string("the query could not be parsed") : message);
  }
  auto statements = serialized.find("statements");
  if (statements == serialized.end() || !statements->is_array() || statements->empty()) {
    return "sql: the query is empty";
  }
  if (statements->size() > 1)
    return std::string("sql: several statements are refused: ") + kConsoleRunsOnlyReads;
  const auto& statement = (*statements)[0];
  auto params = statement.find("named_param_map");
  if (params != statement.end() && !params->empty()) {
    return "sql: parameters ($1, ?) are not supported in the console";
  }
  auto node = statement.find("node");
  if (node == statement.end() || !node->is_object()) return "sql: the query could not be parsed";
  Checker checker(views);
  checker.Walk(*node, 0);
  return checker.refusal();
}

}  // namespace migsbyu::analytics

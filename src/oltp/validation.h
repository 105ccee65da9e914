// Validation of request input against an entity description (oltp/entity.h).
//
// Bodies are checked strictly, the way FastAPI reports it: every offending field gets one
// FieldError whose `field` is a location path ("body.gpa", "query.limit") and whose message is
// pydantic's ("field required", "value is not a valid integer", "extra fields not permitted", ...).
// A value that passes is turned into the text form PostgreSQL receives as a parameter, so a
// validated record can never make a statement fail on a type, range or check.
//
// Threading: pure functions, safe from any thread.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "oltp/entity.h"

namespace migsbyu::oltp {

// A validated value in the text form PostgreSQL parses ("3.50", "2004-12-10").
struct FieldValue {
  const Field* field;
  std::string text;
};
using Record = std::vector<FieldValue>;  // in the entity's field order

enum class BodyMode {
  kCreate,   // every field, keys included, is required
  kReplace,  // every non-key field is required; keys may be repeated and must equal the path's
  kPatch,    // any non-key fields; keys may be repeated and must equal the path's
};

// Checks a JSON body. `path_key` holds the key values from the URL (kReplace, kPatch), in key
// order. Returns the record's values (kCreate: every field; otherwise the non-key fields given),
// or kValidation with one FieldError per bad field.
Result<Record> ValidateBody(const Entity& entity, const nlohmann::json& body, BodyMode mode,
                            const std::vector<std::string>& path_key = {});

// Checks one JSON value against a field's rules; the error is the pydantic-style message.
Result<std::string> ValidateValue(const Field& field, const nlohmann::json& value);

// Listing options shared by every collection.
struct ListQuery {
  int64_t skip = 0;
  int64_t limit = 100;
  const Field* sort = nullptr;  // nullptr: key order
  bool descending = false;
  std::string search;  // empty: no text search
  Record equals;       // column = value filters (keys of relations)
  // Relations only: each row also carries the name of every record it refers to, under the
  // foreign key's `name` ("student_name"), null when that record does not exist.
  bool expand_names = false;
  // Whether text search looks in personal fields (Field::pii) too: false for a caller who may
  // not see them, whom matches inside them would tell what they hold.
  bool personal = true;
};

inline constexpr int64_t kMaxListLimit = 1000;

// Reads skip, limit, sort, order, q and, for relations, expand (only "names") through `query`
// (which returns a parameter's first value, if present). kValidation naming "query.<name>" for
// bad values. Entities ignore expand, as they ignore any parameter they do not know.
using QueryLookup = std::function<std::optional<std::string>(const std::string& name)>;
Result<ListQuery> ParseListQuery(const Entity& entity, const QueryLookup& query);

// "true"/"1" or "false"/"0"; absent gives `fallback`. kValidation naming "query.<name>".
Result<bool> ParseBoolQuery(const QueryLookup& query, const std::string& name, bool fallback);

}  // namespace migsbyu::oltp

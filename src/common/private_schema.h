// The PostgreSQL schema whose tables never leave the operational database.
//
// Sign-in keeps its users (with their password hashes), sessions and bearer tokens in this schema
// (oltp/migrations.cc, migration 2; auth/accounts.h). Change capture never publishes, copies or
// hands on a row of any table in it, whatever a publication says (cdc/connector.h): no credential
// may reach a change file, a Kafka topic or the lake. Keeping the rule on a schema rather than a
// list of tables means a table added to sign-in later is covered without anyone remembering to.
//
// Threading: a constant.
#pragma once

#include <string_view>

namespace migsbyu {

inline constexpr std::string_view kPrivateSchema = "migsbyu_auth";

// True for a table of the private schema, given its schema's name as PostgreSQL spells it.
inline bool IsPrivateSchema(std::string_view schema) { return schema == kPrivateSchema; }

}  // namespace migsbyu

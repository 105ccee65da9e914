// Repository: the generic create/read/list/update/delete of any entity (oltp/entity.h).
//
// One Repository per entity builds every statement from the entity's description: identifiers
// come only from the description, every value travels as a parameter. Rows come back as JSON
// objects with the entity's field names and JSON types (integers and decimals as numbers, dates
// as "YYYY-MM-DD").
//
// Deleting an entity that relations refer to fails with kConflict naming what refers to it
// ("student 'S1' has 3 enrollments") unless `cascade`, which deletes those relation rows first in
// the same transaction. The referenced row is locked while counting, so a concurrent insert of a
// referring row either waits or is seen.
//
// Every write is stamped with its actor (oltp/actor_stamp.h): a single statement carries the
// message in a WITH clause, a transaction emits it first, so capture attributes each change to
// whoever made it and a rolled-back write leaves nothing.
//
// The statements whose text never changes (insert, get by key, exists, delete) run prepared on
// the caller's connection (pg::Connection::ExecPrepared); those built from a request's filters,
// sort or changed fields run unprepared, so that no request can grow a connection's statements.
//
// Threading: a Repository is immutable and may be shared; each call uses the caller's
// connection (REQUIRES: the connection has no transaction open).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/actor.h"
#include "common/result.h"
#include "oltp/entity.h"
#include "oltp/validation.h"
#include "pg/connection.h"

namespace migsbyu::oltp {

struct Page {
  nlohmann::json items = nlohmann::json::array();
  int64_t total = 0;  // rows matching the filters and search, ignoring skip and limit
};

class Repository {
 public:
  explicit Repository(const Entity& entity);

  const Entity& entity() const { return entity_; }

  // Inserts a record validated in BodyMode::kCreate, stamped with `actor`; returns the row as
  // stored. kAlreadyExists ("Student already registered") if the key exists; for relations,
  // kValidation naming the foreign-key field whose target does not exist.
  Result<nlohmann::json> Insert(pg::Connection& conn, const Record& record,
                                const Actor& actor) const;

  // The row with this key (values in key order); kNotFound if none.
  Result<nlohmann::json> Get(pg::Connection& conn, const std::vector<std::string>& key) const;

  // One page of rows, ordered by query.sort then the key, with the total count. With
  // query.expand_names (relations), each row also holds the referents' names ("student_name":
  // "Ada Lovelace"), joined in the same statement; a name is null when its referent is missing.
  Result<Page> List(pg::Connection& conn, const ListQuery& query) const;

  // Sets the given non-key values of the row with this key, stamped with `actor`; returns the
  // updated row. An empty `changes` returns the row unchanged (and writes nothing). kNotFound if
  // none.
  Result<nlohmann::json> Update(pg::Connection& conn, const std::vector<std::string>& key,
                                const Record& changes, const Actor& actor) const;

  // Deletes the row with this key, stamped with `actor`. kNotFound if none; kConflict if
  // relations refer to it and !cascade; with cascade, returns after deleting the referring rows
  // and the row atomically (one transaction, one stamp).
  Status Delete(pg::Connection& conn, const std::vector<std::string>& key, bool cascade,
                const Actor& actor) const;

  // Whether a row with this key exists.
  Result<bool> Exists(pg::Connection& conn, const std::vector<std::string>& key) const;

  // Insert and Get in parts, for callers that run the statement themselves (the portal sends it
  // on an asynchronous connection): the fixed SQL (stamped, in one statement), its parameters
  // (the row's values, then the actor's payload), and the result (with the server's diagnostics
  // when it failed) translated exactly as Insert and Get translate it.
  const std::string& insert_sql() const { return insert_sql_; }
  // kValidation: a field missing.
  Result<pg::Params> InsertParams(const Record& record, const Actor& actor) const;
  Result<nlohmann::json> InsertResult(const Result<pg::PgResult>& result,
                                      const pg::ServerError& server, const Record& record) const;
  const std::string& select_sql() const { return select_sql_; }
  pg::Params KeyParams(const std::vector<std::string>& key) const;
  Result<nlohmann::json> GetResult(const Result<pg::PgResult>& result,
                                   const std::vector<std::string>& key) const;

 private:
  nlohmann::json RowToJson(const pg::PgResult& r, int row) const;
  std::string KeyText(const std::vector<std::string>& key) const;
  Error NotFound(const std::vector<std::string>& key) const;
  Error Translate(const Error& error, const pg::ServerError& server) const;

  const Entity& entity_;
  std::vector<const Field*> key_fields_;
  std::vector<Reference> referenced_by_;
  std::string columns_;            // "id, first_name, ..."
  std::string qualified_columns_;  // "takes.student_id, ...": unambiguous beside joined tables
  std::string names_select_;       // ", CASE WHEN n0.id IS NULL ... END, ...": one per foreign key
  std::string names_join_;         // " LEFT JOIN students n0 ON n0.id = takes.student_id ..."
  std::string key_where_;          // "id = $1" or "student_id = $1 AND ..."
  std::string insert_sql_;
  std::string select_sql_;
  std::string delete_sql_;          // inside a transaction already stamped
  std::string stamped_delete_sql_;  // alone, with its own stamp
  std::string exists_sql_;
};

}  // namespace migsbyu::oltp

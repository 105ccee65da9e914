#include "oltp/repository.h"

#include <cstdlib>

#include "oltp/actor_stamp.h"

namespace migsbyu::oltp {
namespace {

// Rolls back unless committed: every early return leaves the connection clean.
class Transaction {
 public:
  explicit Transaction(pg::Connection& conn) : conn_(conn) {}
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction() {
    if (open_) (void)conn_.Exec("ROLLBACK");
  }
  Status Begin() {
    MIGSBYU_TRY(conn_.Exec("BEGIN"));
    open_ = true;
    return OkStatus();
  }
  Status Commit() {
    open_ = false;
    MIGSBYU_TRY(conn_.Exec("COMMIT"));
    return OkStatus();
  }

 private:
  pg::Connection& conn_;
  bool open_ = false;
};

std::string Placeholder(size_t n) { return "$" + std::to_string(n); }

// A parameter read as the column's type: INSERT ... SELECT, unlike VALUES, does not take the
// parameters' types from the target columns.
std::string TypedPlaceholder(size_t n, FieldType type) {
  switch (type) {
    case FieldType::kText:
      return Placeholder(n) + "::text";
    case FieldType::kInteger:
      return Placeholder(n) + "::integer";
    case FieldType::kDecimal2:
      return Placeholder(n) + "::numeric";
    case FieldType::kDate:
      return Placeholder(n) + "::date";
  }
  return Placeholder(n);
}

std::string Plural(int64_t n, const std::string& noun, const std::string& plural) {
  return std::to_string(n) + " " + (n == 1 ? noun : plural);
}

// `text` for ILIKE: its wildcards matched literally, inside %...%.
std::string ContainsPattern(const std::string& text) {
  std::string out = "%";
  for (char ch : text) {
    if (ch == '%' || ch == '_' || ch == '\\') out += '\\';
    out += ch;
  }
  return out + "%";
}

}  // namespace

Repository::Repository(const Entity& entity)
    : entity_(entity), key_fields_(entity.KeyFields()), referenced_by_(ReferencesTo(entity)) {
  std::string placeholders;
  for (size_t i = 0; i < entity_.fields.size(); ++i) {
    columns_ += (i ? ", " : "") + entity_.fields[i].name;
    qualified_columns_ += (i ? ", " : "") + entity_.table + "." + entity_.fields[i].name;
    placeholders += (i ? ", " : "") + TypedPlaceholder(i + 1, entity_.fields[i].type);
  }
  for (size_t i = 0; i < entity_.foreign_keys.size(); ++i) {
    const ForeignKey& fk = entity_.foreign_keys[i];
    const Entity* target = FindEntityByTable(fk.table);
    const std::string alias = "n" + std::to_string(i);
    const std::string target_key = alias + "." + target->KeyFields().front()->name;
    std::string name;
    for (const auto& f : target->name_fields) name += ", " + alias + "." + f;
    // A LEFT JOIN and a CASE: a row whose referent is gone still lists, with a null name.
    names_select_ +=
        ", CASE WHEN " + target_key + " IS NULL THEN NULL ELSE concat_ws(' '" + name + ") END";
    names_join_ += " LEFT JOIN " + target->table + " " + alias + " ON " + target_key + " = " +
                   entity_.table + "." + fk.column;
  }
  for (size_t i = 0; i < key_fields_.size(); ++i) {
    key_where_ += (i ? " AND " : "") + key_fields_[i]->name + " = " + Placeholder(i + 1);
  }
  // The payload follows the row's values ($n+1). Reading the row from the CTE makes PostgreSQL
  // emit the message before it inserts.
  insert_sql_ = ActorCte(entity_.fields.size() + 1) + "INSERT INTO " + entity_.table + " (" +
                columns_ + ") SELECT " + placeholders + " FROM " + kActorCte + " RETURNING " +
                columns_;
  select_sql_ = "SELECT " + columns_ + " FROM " + entity_.table + " WHERE " + key_where_;
  delete_sql_ = "DELETE FROM " + entity_.table + " WHERE " + key_where_;
  stamped_delete_sql_ = ActorCte(key_fields_.size() + 1) + "DELETE FROM " + entity_.table +
                        " USING " + kActorCte + " WHERE " + key_where_;
  exists_sql_ = "SELECT 1 FROM " + entity_.table + " WHERE " + key_where_;
}

nlohmann::json Repository::RowToJson(const pg::PgResult& r, int row) const {
  nlohmann::json out = nlohmann::json::object();
  for (size_t i = 0; i < entity_.fields.size(); ++i) {
    const Field& f = entity_.fields[i];
    int col = static_cast<int>(i);
    if (r.IsNull(row, col)) {
      out[f.name] = nullptr;
      continue;
    }
    std::string text(r.Get(row, col));
    switch (f.type) {
      case FieldType::kInteger:
        out[f.name] = std::strtoll(text.c_str(), nullptr, 10);
        break;
      case FieldType::kDecimal2:
        out[f.name] = std::strtod(text.c_str(), nullptr);
        break;
      case FieldType::kText:
      case FieldType::kDate:
        out[f.name] = std::move(text);
        break;
    }
  }
  return out;
}

std::string Repository::KeyText(const std::vector<std::string>& key) const {
  if (key.size() == 1) return entity_.noun + " '" + key[0] + "'";
  std::string out = entity_.noun + " (";
  for (size_t i = 0; i < key.size(); ++i) out += (i ? ", '" : "'") + key[i] + "'";
  return out + ")";
}

Error Repository::NotFound(const std::vector<std::string>& key) const {
  // "Student 'S1' not found": the prototype's wording, with the key.
  return Error::NotFound(entity_.title + KeyText(key).substr(entity_.noun.size()) + " not found");
}

Error Repository::Translate(const Error& error, const pg::ServerError& server) const {
  if (error.code() == ErrorCode::kAlreadyExists) {
    return Error::AlreadyExists(entity_.title + " already registered");
  }
  // A check constraint the validation missed: name the column PostgreSQL's default name gives.
  const std::string prefix = entity_.table + "_";
  if (error.code() == ErrorCode::kValidation && server.constraint.starts_with(prefix) &&
      server.constraint.ends_with("_check")) {
    std::string column = server.constraint.substr(
        prefix.size(), server.constraint.size() - prefix.size() - std::string("_check").size());
    return Error::Validation({{"body." + column, "violates the " + column + " rule"}});
  }
  return error;
}

Result<pg::Params> Repository::InsertParams(const Record& record, const Actor& actor) const {
  pg::Params params;
  for (const auto& field : entity_.fields) {
    const FieldValue* found = nullptr;
    for (const auto& v : record) {
      if (v.field == &field) found = &v;
    }
    if (found == nullptr) {
      return Error::Validation({{"body." + field.name, "field required"}});
    }
    params.push_back(found->text);
  }
  params.push_back(EncodeActorPayload(actor));
  return params;
}

Result<nlohmann::json> Repository::InsertResult(const Result<pg::PgResult>& result,
                                                const pg::ServerError& server,
                                                const Record& record) const {
  if (result.ok()) return RowToJson(*result, 0);
  if (server.sqlstate == "23503") {
    for (const auto& fk : entity_.foreign_keys) {
      if (server.constraint != entity_.table + "_" + fk.column + "_fkey") continue;
      const Entity* target = FindEntityByTable(fk.table);
      std::string value;
      for (const auto& v : record) {
        if (v.field->name == fk.column) value = v.text;
      }
      return Error::Validation({{"body." + fk.column, (target ? target->noun : fk.table) + " '" +
                                                          value + "' does not exist"}});
    }
  }
  return Translate(result.error(), server);
}

Result<nlohmann::json> Repository::Insert(pg::Connection& conn, const Record& record,
                                          const Actor& actor) const {
  MIGSBYU_ASSIGN(auto params, InsertParams(record, actor));
  auto r = conn.ExecPrepared(insert_sql_, params);
  return InsertResult(r, conn.last_server_error(), record);
}

Result<nlohmann::json> Repository::GetResult(const Result<pg::PgResult>& result,
                                             const std::vector<std::string>& key) const {
  if (!result.ok()) return result.error();
  if (result->rows() == 0) return NotFound(key);
  return RowToJson(*result, 0);
}

Result<nlohmann::json> Repository::Get(pg::Connection& conn,
                                       const std::vector<std::string>& key) const {
  return GetResult(conn.ExecPrepared(select_sql_, KeyParams(key)), key);
}

pg::Params Repository::KeyParams(const std::vector<std::string>& key) const {
  return pg::Params(key.begin(), key.end());
}

Result<bool> Repository::Exists(pg::Connection& conn, const std::vector<std::string>& key) const {
  pg::Params params(key.begin(), key.end());
  MIGSBYU_ASSIGN(auto r, conn.ExecPrepared(exists_sql_, params));
  return r.rows() > 0;
}

Result<Page> Repository::List(pg::Connection& conn, const ListQuery& query) const {
  const bool expand = query.expand_names && !entity_.foreign_keys.empty();
  // Qualified, so that the joined tables' columns of the same name never make one ambiguous.
  auto column = [this](const Field& f) { return entity_.table + "." + f.name; };
  pg::Params params;
  std::string where;
  for (const auto& eq : query.equals) {
    params.push_back(eq.text);
    where += (where.empty() ? " WHERE " : " AND ") + column(*eq.field) + " = " +
             Placeholder(params.size());
  }
  if (!query.search.empty()) {
    params.push_back(ContainsPattern(query.search));
    std::string any;
    for (const auto& f : entity_.fields) {
      if (!f.searchable || (f.pii && !query.personal)) continue;
      any += (any.empty() ? "" : " OR ") + column(f) + " ILIKE " + Placeholder(params.size());
    }
    if (!any.empty()) where += (where.empty() ? " WHERE (" : " AND (") + any + ")";
  }
  const char* direction = query.descending ? " DESC" : " ASC";
  std::string order;
  if (query.sort != nullptr) order = column(*query.sort) + direction;
  for (const auto* k : key_fields_) order += (order.empty() ? "" : ", ") + column(*k) + direction;

  Page page;
  MIGSBYU_ASSIGN(auto count,
                 conn.ExecParams("SELECT count(*) FROM " + entity_.table + where, params));
  page.total = std::strtoll(std::string(count.Get(0, 0)).c_str(), nullptr, 10);
  params.push_back(std::to_string(query.limit));
  params.push_back(std::to_string(query.skip));
  std::string sql = "SELECT " + qualified_columns_ + (expand ? names_select_ : "") + " FROM " +
                    entity_.table + (expand ? names_join_ : "") + where + " ORDER BY " + order +
                    " LIMIT " + Placeholder(params.size() - 1) + " OFFSET " +
                    Placeholder(params.size());
  MIGSBYU_ASSIGN(auto rows, conn.ExecParams(sql, params));
  const int names_at = static_cast<int>(entity_.fields.size());
  for (int i = 0; i < rows.rows(); ++i) {
    nlohmann::json row = RowToJson(rows, i);
    for (size_t k = 0; expand && k < entity_.foreign_keys.size(); ++k) {
      const int col = names_at + static_cast<int>(k);
      row[entity_.foreign_keys[k].name] = rows.IsNull(i, col)
                                              ? nlohmann::json(nullptr)
                                              : nlohmann::json(std::string(rows.Get(i, col)));
    }
    page.items.push_back(std::move(row));
  }
  return page;
}

Result<nlohmann::json> Repository::Update(pg::Connection& conn, const std::vector<std::string>& key,
                                          const Record& changes, const Actor& actor) const {
  if (changes.empty()) return Get(conn, key);
  pg::Params params(key.begin(), key.end());
  std::string set;
  for (const auto& change : changes) {
    params.push_back(change.text);
    set += (set.empty() ? "" : ", ") + change.field->name + " = " + Placeholder(params.size());
  }
  params.push_back(EncodeActorPayload(actor));
  auto r =
      conn.ExecParams(ActorCte(params.size()) + "UPDATE " + entity_.table + " SET " + set +
                          " FROM " + kActorCte + " WHERE " + key_where_ + " RETURNING " + columns_,
                      params);
  if (!r.ok()) return Translate(r.error(), conn.last_server_error());
  if (r->rows() == 0) return NotFound(key);
  return RowToJson(*r, 0);
}

Status Repository::Delete(pg::Connection& conn, const std::vector<std::string>& key, bool cascade,
                          const Actor& actor) const {
  pg::Params params(key.begin(), key.end());
  if (referenced_by_.empty()) {
    pg::Params stamped = params;
    stamped.push_back(EncodeActorPayload(actor));
    MIGSBYU_ASSIGN(auto r, conn.ExecPrepared(stamped_delete_sql_, stamped));
    if (r.AffectedRows() == 0) return NotFound(key);
    return OkStatus();
  }
  Transaction tx(conn);
  MIGSBYU_TRY(tx.Begin());
  MIGSBYU_TRY(StampTransaction(conn, actor));
  MIGSBYU_ASSIGN(auto locked, conn.ExecParams("SELECT 1 FROM " + entity_.table + " WHERE " +
                                                  key_where_ + " FOR UPDATE",
                                              params));
  if (locked.rows() == 0) return NotFound(key);
  std::string referrers;
  for (const auto& ref : referenced_by_) {
    const std::string where =
        " FROM " + ref.relation->table + " WHERE " + ref.column->name + " = $1";
    if (cascade) {
      MIGSBYU_TRY(conn.ExecParams("DELETE" + where, {key[0]}));
      continue;
    }
    MIGSBYU_ASSIGN(auto n, conn.ExecParams("SELECT count(*)" + where, {key[0]}));
    int64_t count = std::strtoll(std::string(n.Get(0, 0)).c_str(), nullptr, 10);
    if (count > 0) {
      referrers += (referrers.empty() ? "" : " and ") +
                   Plural(count, ref.relation->noun, ref.relation->plural);
    }
  }
  if (!referrers.empty()) {
    return Error::Conflict(KeyText(key) + " has " + referrers +
                           "; delete them first or ask to cascade (?cascade=true)");
  }
  MIGSBYU_TRY(conn.ExecPrepared(delete_sql_, params));
  return tx.Commit();
}

}  // namespace migsbyu::oltp

#include "oltp/actor_stamp.h"

namespace migsbyu::oltp {
namespace {

std::string EmitMessage(size_t parameter) {
  return "SELECT pg_logical_emit_message(true, '" + std::string(kActorMessagePrefix) + "', $" +
         std::to_string(parameter) + "::text)";
}

}  // namespace

std::string ActorCte(size_t parameter) {
  return std::string("WITH ") + kActorCte + " AS MATERIALIZED (" + EmitMessage(parameter) + ") ";
}

Status StampTransaction(pg::Connection& conn, const Actor& actor) {
  static const std::string sql = EmitMessage(1);
  MIGSBYU_TRY(conn.ExecPrepared(sql, {EncodeActorPayload(actor)}));
  return OkStatus();
}

}  // namespace migsbyu::oltp

// Stamping the operational database's writes with their actor: the transactional logical
// decoding message of common/actor.h ('migsbyu.actor'), in the same transaction as the changes
// and before them, so that change capture attributes each change to whoever made it.
//
// Two forms, one for each shape of write:
//   - StampTransaction: a statement that stamps the transaction it runs in; the first statement
//     after BEGIN of a transaction of several statements (a cascading delete, generation, a
//     simulator event);
//   - ActorCte: a WITH clause that stamps the one statement it precedes, for a write that is a
//     single statement in its own implicit transaction (the portal's create, update and delete:
//     no extra round trip). The statement must read the one row of the CTE `migsbyu_actor`
//     (INSERT ... SELECT ... FROM migsbyu_actor, UPDATE ... FROM migsbyu_actor, DELETE ... USING
//     migsbyu_actor): every row it writes is then joined with that row, so PostgreSQL emits the
//     message before the first change. A statement that changes nothing may emit it or not.
// A transaction that rolls back takes its message with it: capture never sees either.
//
// Threading: pure functions, and StampTransaction uses only the caller's connection.
#pragma once

#include <string>

#include "common/actor.h"
#include "common/result.h"
#include "pg/connection.h"

namespace migsbyu::oltp {

// The name of ActorCte's CTE: what a stamped statement reads from.
inline constexpr const char* kActorCte = "migsbyu_actor";

// "WITH migsbyu_actor AS MATERIALIZED (SELECT pg_logical_emit_message(true, 'migsbyu.actor',
// $<parameter>::text)) ": its payload (EncodeActorPayload) is the statement's parameter
// `parameter` (1-based).
std::string ActorCte(size_t parameter);

// Emits the actor message in the open transaction. REQUIRES: `conn` is inside a transaction
// (BEGIN) that has changed nothing yet; otherwise the message would stamp only what follows.
Status StampTransaction(pg::Connection& conn, const Actor& actor);

}  // namespace migsbyu::oltp

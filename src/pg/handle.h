// The owners of libpq's allocations: a PGconn (closed with PQfinish), a PGresult (PQclear) and a
// buffer libpq hands out (PQfreemem, e.g. a CopyData row). Each is held by one of these from the
// moment libpq returns it, so that no path, an early return or an error, can leak it.
// pg::Connection, pg::ReplicationConnection and pg::AsyncPool hold their PGconn in a ConnHandle,
// pg::PgResult its PGresult in a ResultHandle; nothing calls PQfinish or PQclear by hand.
//
// REQUIRES: used inside src/pg only; no raw handle leaves the folder.
// Threading: plain move-only values (std::unique_ptr); one thread at a time.
#pragma once

#include <libpq-fe.h>

#include <memory>

namespace migsbyu::pg {

struct ConnCloser {
  void operator()(PGconn* conn) const noexcept { PQfinish(conn); }
};
struct ResultClearer {
  void operator()(PGresult* result) const noexcept { PQclear(result); }
};
struct BufferFreer {
  void operator()(char* buffer) const noexcept { PQfreemem(buffer); }
};

using ConnHandle = std::unique_ptr<PGconn, ConnCloser>;
using ResultHandle = std::unique_ptr<PGresult, ResultClearer>;
using BufferHandle = std::unique_ptr<char, BufferFreer>;

}  // namespace migsbyu::pg

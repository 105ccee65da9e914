// pg::Pool: a bounded pool of Connections to one server, shared by the portal's request threads.
//
// Acquire() lends a connection for the length of a Lease. A lease returned with an open
// transaction is rolled back; a broken connection is dropped and replaced on demand. When all
// `max_size` connections are lent, Acquire waits up to its timeout, then returns kUnavailable:
// the backpressure that keeps a burst of requests from opening unbounded server sessions.
// Statements prepared on a connection (Connection::ExecPrepared) stay with it from lease to lease;
// a connection that replaces a broken one starts with none.
//
// Threading: every method is thread-safe. A Lease is used by one thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "pg/connection.h"

namespace migsbyu::pg {

class Pool {
 public:
  Pool(std::string conninfo, size_t max_size);
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  class Lease {
   public:
    Lease(Pool* pool, std::unique_ptr<Connection> conn) : pool_(pool), conn_(std::move(conn)) {}
    Lease(Lease&&) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    Connection& operator*() { return *conn_; }
    Connection* operator->() { return conn_.get(); }

   private:
    Pool* pool_;
    std::unique_ptr<Connection> conn_;
  };

  Result<Lease> Acquire(std::chrono::milliseconds timeout = std::chrono::seconds(10));

  const std::string& conninfo() const { return conninfo_; }
  size_t max_size() const { return max_size_; }
  // Callers waiting in Acquire for a connection to come back.
  size_t waiting() const;

 private:
  void Return(std::unique_ptr<Connection> conn);

  const std::string conninfo_;
  const size_t max_size_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Connection>> idle_;
  size_t lent_ = 0;
  size_t waiting_ = 0;
};

}  // namespace migsbyu::pg

#include "pg/pool.h"

namespace migsbyu::pg {

Pool::Pool(std::string conninfo, size_t max_size)
    : conninfo_(std::move(conninfo)), max_size_(max_size == 0 ? 1 : max_size) {}

Pool::Lease::~Lease() {
  if (pool_ && conn_) pool_->Return(std::move(conn_));
}

Result<Pool::Lease> Pool::Acquire(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  ++waiting_;
  const bool available =
      cv_.wait_for(lock, timeout, [&] { return !idle_.empty() || lent_ < max_size_; });
  --waiting_;
  if (!available) {
    return Error::Unavailable("postgres: all " + std::to_string(max_size_) +
                              " pooled connections busy");
  }
  ++lent_;
  if (!idle_.empty()) {
    auto conn = std::move(idle_.back());
    idle_.pop_back();
    return Lease(this, std::move(conn));
  }
  lock.unlock();  // connecting takes a round trip: not under the lock
  auto opened = Connection::Open(conninfo_);
  if (!opened.ok()) {
    std::lock_guard relock(mu_);
    --lent_;
    cv_.notify_one();
    return std::move(opened).error();
  }
  return Lease(this, std::make_unique<Connection>(std::move(opened).value()));
}

size_t Pool::waiting() const {
  std::lock_guard lock(mu_);
  return waiting_;
}

void Pool::Return(std::unique_ptr<Connection> conn) {
  if (!conn->IsBroken() && conn->InTransaction()) {
    if (!conn->Exec("ROLLBACK").ok()) conn.reset();
  }
  std::lock_guard lock(mu_);
  --lent_;
  if (conn && !conn->IsBroken()) idle_.push_back(std::move(conn));
  cv_.notify_one();
}

}  // namespace migsbyu::pg

// WorkerPool: a fixed set of threads running the portal's routes that may block.
//
// The server keeps two pools, two lanes: a fast one for the ordinary routes (listings, updates,
// deletes) and static files, and a slow one for the routes that may take long (analytics on
// DuckDB, the SQL console), so that a burst of slow queries never makes the health check or the
// UI's files wait. Tasks run first come first served; the queue is not bounded here because each
// connection has at most one request in flight, so the server's connection cap bounds it.
//
// Threading: Submit is thread-safe. The destructor runs every task already submitted, then joins.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace migsbyu::portal {

class WorkerPool {
 public:
  explicit WorkerPool(size_t threads);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Runs `task` on one of the pool's threads. REQUIRES: the pool is not being destroyed.
  void Submit(std::function<void()> task);

 private:
  void Work();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool done_ = false;
  std::vector<std::jthread> threads_;
};

}  // namespace migsbyu::portal

// EventLoop: one thread's epoll set, so that one thread serves many sockets without blocking.
//
// The portal's HTTP server runs one loop per core; each loop owns its client sockets and its
// asynchronous PostgreSQL connections (pg::AsyncPool), so that a request read from a client, the
// query it sends and the response written back all happen on one thread, in one pass through the
// loop, with no hand-off between threads.
//
// A watched file descriptor gets a callback with the epoll event bits (EPOLLIN, EPOLLOUT,
// EPOLLERR, EPOLLHUP) whenever it is ready; watches are level-triggered. Tasks posted from any
// thread run on the loop's thread in the order posted. Timers run once, after their delay.
//
// Callbacks may watch, unwatch (their own descriptor too), post and start timers. A descriptor
// unwatched during a pass gets no more callbacks in that pass, even if its number is reused.
//
// Threading: Run is called by the one thread that becomes the loop's thread. Watch, Modify,
// Unwatch, RunAfter and Cancel REQUIRE the loop's thread, or no thread running the loop yet.
// Post and Stop are thread-safe.
#pragma once

#include <sys/epoll.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/unique_fd.h"

namespace migsbyu {

class EventLoop {
 public:
  using IoCallback = std::function<void(uint32_t events)>;
  using Task = std::function<void()>;
  using TimerId = uint64_t;
  using Clock = std::chrono::steady_clock;

  // Aborts if the kernel refuses an epoll set or an eventfd (out of descriptors at startup).
  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Starts watching `fd` (which the caller owns and closes after Unwatch) for `events`
  // (EPOLLIN, EPOLLOUT or both; errors and hang-ups are always reported). False if epoll refuses
  // it (errno says why).
  bool Watch(int fd, uint32_t events, IoCallback callback);
  // Changes the events watched. REQUIRES: fd is watched.
  void Modify(int fd, uint32_t events);
  // Stops watching; no callback for `fd` runs after this returns. No-op if not watched.
  void Unwatch(int fd);

  // Runs `task` on the loop's thread, after the callbacks of the current pass. From the loop's
  // own thread it costs no lock and no wake-up.
  void Post(Task task);

  // Runs `fn` once on the loop's thread after `delay`. Returns an id for Cancel.
  TimerId RunAfter(std::chrono::milliseconds delay, Task fn);
  // A timer that has run or was cancelled is ignored.
  void Cancel(TimerId id);

  // Dispatches until Stop: on return, posted tasks not yet run are dropped.
  void Run();
  // Makes Run return after its current pass. Safe from any thread, and before Run.
  void Stop();

  bool InLoopThread() const { return std::this_thread::get_id() == thread_id_.load(); }

 private:
  struct Watcher {
    int fd;
    IoCallback callback;
  };
  void RunPosted();
  void RunDueTimers();
  int TimeoutMs() const;

  UniqueFd epoll_fd_;
  UniqueFd wake_fd_;  // an eventfd: Post and Stop write it to end epoll_wait
  std::atomic<bool> stop_{false};
  std::atomic<std::thread::id> thread_id_{};

  // Watch ids, not descriptors, travel in epoll_event.data: an event for a descriptor unwatched
  // (and perhaps reused) earlier in the same pass finds no watcher and is dropped.
  uint64_t next_watch_id_ = 1;
  std::unordered_map<uint64_t, std::shared_ptr<Watcher>> watchers_;  // watch id -> watcher
  std::unordered_map<int, uint64_t> watch_ids_;                      // fd -> watch id

  std::vector<Task> local_posted_;  // posted from the loop's thread
  std::mutex posted_mu_;
  std::vector<Task> posted_;
  bool wake_pending_ = false;  // guarded by posted_mu_: one eventfd write per batch of posts

  TimerId next_timer_id_ = 1;
  std::multimap<Clock::time_point, TimerId> timer_order_;
  std::unordered_map<TimerId, Task> timers_;
};

}  // namespace migsbyu

#include "common/event_loop.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace migsbyu {

EventLoop::EventLoop()
    : epoll_fd_(::epoll_create1(EPOLL_CLOEXEC)),
      wake_fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  if (!epoll_fd_ || !wake_fd_) {
    std::fprintf(stderr, "event loop: cannot create epoll set or eventfd: %s\n",
                 std::strerror(errno));
    std::abort();
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = 0;  // watch id 0: the wake-up descriptor
  ::epoll_ctl(epoll_fd_.Get(), EPOLL_CTL_ADD, wake_fd_.Get(), &ev);
}

EventLoop::~EventLoop() = default;

bool EventLoop::Watch(int fd, uint32_t events, IoCallback callback) {
  const uint64_t id = next_watch_id_++;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = id;
  if (::epoll_ctl(epoll_fd_.Get(), EPOLL_CTL_ADD, fd, &ev) != 0) return false;
  watchers_.emplace(id, std::make_shared<Watcher>(Watcher{fd, std::move(callback)}));
  watch_ids_[fd] = id;
  return true;
}

void EventLoop::Modify(int fd, uint32_t events) {
  auto it = watch_ids_.find(fd);
  if (it == watch_ids_.end()) return;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = it->second;
  ::epoll_ctl(epoll_fd_.Get(), EPOLL_CTL_MOD, fd, &ev);
}

void EventLoop::Unwatch(int fd) {
  auto it = watch_ids_.find(fd);
  if (it == watch_ids_.end()) return;
  ::epoll_ctl(epoll_fd_.Get(), EPOLL_CTL_DEL, fd, nullptr);
  watchers_.erase(it->second);
  watch_ids_.erase(it);
}

void EventLoop::Post(Task task) {
  if (InLoopThread()) {
    local_posted_.push_back(std::move(task));
    return;
  }
  bool wake = false;
  {
    std::lock_guard lock(posted_mu_);
    posted_.push_back(std::move(task));
    wake = !wake_pending_;
    wake_pending_ = true;
  }
  if (wake) {
    uint64_t one = 1;
    (void)!::write(wake_fd_.Get(), &one, sizeof one);
  }
}

EventLoop::TimerId EventLoop::RunAfter(std::chrono::milliseconds delay, Task fn) {
  const TimerId id = next_timer_id_++;
  timers_.emplace(id, std::move(fn));
  timer_order_.emplace(Clock::now() + delay, id);
  return id;
}

void EventLoop::Cancel(TimerId id) { timers_.erase(id); }

void EventLoop::Stop() {
  stop_ = true;
  uint64_t one = 1;
  (void)!::write(wake_fd_.Get(), &one, sizeof one);
}

int EventLoop::TimeoutMs() const {
  if (timer_order_.empty()) return -1;
  auto wait =
      std::chrono::ceil<std::chrono::milliseconds>(timer_order_.begin()->first - Clock::now());
  return wait.count() < 0 ? 0 : static_cast<int>(wait.count());
}

void EventLoop::RunPosted() {
  std::vector<Task> local;
  local.swap(local_posted_);
  for (auto& task : local) task();
  std::vector<Task> tasks;
  {
    std::lock_guard lock(posted_mu_);
    tasks.swap(posted_);
    wake_pending_ = false;
  }
  for (auto& task : tasks) task();
}

void EventLoop::RunDueTimers() {
  const auto now = Clock::now();
  while (!timer_order_.empty() && timer_order_.begin()->first <= now) {
    TimerId id = timer_order_.begin()->second;
    timer_order_.erase(timer_order_.begin());
    auto it = timers_.find(id);
    if (it == timers_.end()) continue;  // cancelled
    Task fn = std::move(it->second);
    timers_.erase(it);
    fn();
  }
}

void EventLoop::Run() {
  thread_id_ = std::this_thread::get_id();
  constexpr int kMaxEvents = 256;
  epoll_event events[kMaxEvents];
  while (!stop_.load()) {
    // Tasks the last pass posted from this thread woke nobody: do not wait for them.
    int n =
        ::epoll_wait(epoll_fd_.Get(), events, kMaxEvents, local_posted_.empty() ? TimeoutMs() : 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::fprintf(stderr, "event loop: epoll_wait: %s\n", std::strerror(errno));
      std::abort();
    }
    for (int i = 0; i < n; ++i) {
      const uint64_t id = events[i].data.u64;
      if (id == 0) {
        uint64_t count;
        (void)!::read(wake_fd_.Get(), &count, sizeof count);
        continue;
      }
      auto it = watchers_.find(id);
      if (it == watchers_.end()) continue;  // unwatched earlier in this pass
      // Held for the call: the callback may unwatch itself.
      std::shared_ptr<Watcher> watcher = it->second;
      watcher->callback(events[i].events);
    }
    RunPosted();
    RunDueTimers();
  }
  thread_id_ = std::thread::id();
}

}  // namespace migsbyu

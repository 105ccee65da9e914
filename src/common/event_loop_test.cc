#include "common/event_loop.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <thread>

namespace migsbyu {
namespace {

TEST(EventLoopTest, ReadableDescriptorCallsBackUntilUnwatched) {
  EventLoop loop;
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  std::string got;
  ASSERT_TRUE(loop.Watch(fds[0], EPOLLIN, [&](uint32_t events) {
    EXPECT_TRUE(events & EPOLLIN);
    char buf[16];
    ssize_t n = ::read(fds[0], buf, sizeof buf);
    got.append(buf, static_cast<size_t>(n));
    if (got.size() >= 6) {
      loop.Unwatch(fds[0]);
      loop.Stop();
    }
  }));
  std::thread writer([&] {
    (void)!::write(fds[1], "abc", 3);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    (void)!::write(fds[1], "def", 3);
  });
  loop.Run();
  writer.join();
  EXPECT_EQ(got, "abcdef");
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST(EventLoopTest, PostedTasksRunOnTheLoopThreadInOrder) {
  EventLoop loop;
  std::vector<int> order;
  std::thread::id loop_thread;
  std::thread runner([&] {
    loop_thread = std::this_thread::get_id();
    loop.Run();
  });
  for (int i = 0; i < 100; ++i) {
    loop.Post([&, i] {
      EXPECT_TRUE(loop.InLoopThread());
      order.push_back(i);
      if (i == 99) loop.Stop();
    });
  }
  runner.join();
  ASSERT_EQ(order.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(order[i], i);
  EXPECT_FALSE(loop.InLoopThread());
}

TEST(EventLoopTest, TasksPostedFromTheLoopThreadRunWithoutAnotherEvent) {
  EventLoop loop;
  int ran = 0;
  bool timed_out = false;
  // A chain of posts from the loop's own thread: each must run in the next pass even though no
  // descriptor becomes ready and no other thread wakes the loop.
  std::function<void()> step = [&] {
    if (++ran == 100) {
      loop.Stop();
      return;
    }
    loop.Post(step);
  };
  loop.RunAfter(std::chrono::milliseconds(1), [&] { loop.Post(step); });
  loop.RunAfter(std::chrono::seconds(10), [&] {
    timed_out = true;
    loop.Stop();
  });
  loop.Run();
  EXPECT_FALSE(timed_out);
  EXPECT_EQ(ran, 100);
}

TEST(EventLoopTest, TimersRunInDeadlineOrderAndCancelledOnesNever) {
  EventLoop loop;
  std::vector<std::string> fired;
  loop.RunAfter(std::chrono::milliseconds(30), [&] {
    fired.push_back("late");
    loop.Stop();
  });
  auto cancelled = loop.RunAfter(std::chrono::milliseconds(10), [&] { fired.push_back("x"); });
  loop.RunAfter(std::chrono::milliseconds(1), [&] { fired.push_back("early"); });
  loop.Cancel(cancelled);
  loop.Run();
  EXPECT_EQ(fired, (std::vector<std::string>{"early", "late"}));
}

TEST(EventLoopTest, DescriptorUnwatchedByAnotherCallbackGetsNoStaleEvent) {
  EventLoop loop;
  int a[2], b[2];
  ASSERT_EQ(::pipe(a), 0);
  ASSERT_EQ(::pipe(b), 0);
  int calls = 0;
  // Both ready in the same pass: whichever runs first unwatches the other.
  auto first = [&](int other) {
    return [&, other](uint32_t) {
      ++calls;
      loop.Unwatch(other);
      loop.Unwatch(other == a[0] ? b[0] : a[0]);
      loop.Stop();
    };
  };
  ASSERT_TRUE(loop.Watch(a[0], EPOLLIN, first(b[0])));
  ASSERT_TRUE(loop.Watch(b[0], EPOLLIN, first(a[0])));
  (void)!::write(a[1], "x", 1);
  (void)!::write(b[1], "y", 1);
  loop.Run();
  EXPECT_EQ(calls, 1);
  for (int fd : {a[0], a[1], b[0], b[1]}) ::close(fd);
}

}  // namespace
}  // namespace migsbyu

#include "common/event_loop.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <thread>

namespace migsbyu {
namespace {

// A pipe whose ends close with the test, however it ends.
struct Pipe {
  Pipe() {
    int fds[2];
    EXPECT_EQ(::pipe(fds), 0);
    read_end.Reset(fds[0]);
    write_end.Reset(fds[1]);
  }
  UniqueFd read_end;
  UniqueFd write_end;
};

TEST(EventLoopTest, ReadableDescriptorCallsBackUntilUnwatched) {
  EventLoop loop;
  Pipe pipe;
  const int in = pipe.read_end.Get();
  std::string got;
  int calls = 0;
  ASSERT_TRUE(loop.Watch(in, EPOLLIN, [&](uint32_t events) {
    ++calls;
    EXPECT_TRUE(events & EPOLLIN);
    char buf[16];
    ssize_t n = ::read(in, buf, sizeof buf);
    ASSERT_GT(n, 0);
    got.append(buf, static_cast<size_t>(n));
    // The second write only once the first was read: it must wake the loop again.
    if (got == "abc") (void)!::write(pipe.write_end.Get(), "def", 3);
    if (got.size() >= 6) {
      loop.Unwatch(in);
      loop.Stop();
    }
  }));
  (void)!::write(pipe.write_end.Get(), "abc", 3);
  loop.Run();
  EXPECT_EQ(got, "abcdef");
  EXPECT_EQ(calls, 2);
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
  Pipe a, b;
  const int a_in = a.read_end.Get(), b_in = b.read_end.Get();
  int calls = 0;
  // Both ready in the same pass: whichever runs first unwatches the other.
  auto first = [&](int other) {
    return [&, other](uint32_t) {
      ++calls;
      loop.Unwatch(other);
      loop.Unwatch(other == a_in ? b_in : a_in);
      loop.Stop();
    };
  };
  ASSERT_TRUE(loop.Watch(a_in, EPOLLIN, first(b_in)));
  ASSERT_TRUE(loop.Watch(b_in, EPOLLIN, first(a_in)));
  (void)!::write(a.write_end.Get(), "x", 1);
  (void)!::write(b.write_end.Get(), "y", 1);
  loop.Run();
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace migsbyu

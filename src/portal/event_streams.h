// EventStreams: the event-stream routes' publishers and the count of their subscribers.
//
// Each stream route is a channel. Its publisher (Router::AddEventStream) runs on a std::jthread
// owned here, from Start until Stop. An event it publishes is framed once, for HTTP/1.1 (a chunk)
// and HTTP/1.0 (bytes until the close), and handed to `deliver`, which the server points at
// every event loop: each loop appends the frame to the queues of its own subscribers (connection
// state lives only on its loop). Nothing is delivered while a channel has no subscriber.
// Retained events (EventPublisher::PublishRetained) are kept per channel and per event name, for
// the subscribers still to come.
//
// Threading: Start, BeginStop and Join are called by the server's controlling thread; the
// publishers call their channel from their own threads; TryAddSubscriber, RemoveSubscriber,
// Retained and subscribers are called from the loops. All are thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "portal/router.h"

namespace migsbyu::portal {

// One event, framed for each kind of subscriber.
struct StreamFrames {
  std::string plain;    // HTTP/1.0: the event's bytes
  std::string chunked;  // HTTP/1.1: the same as one chunk
};
using FramesPtr = std::shared_ptr<const StreamFrames>;

class EventStreams {
 public:
  // Delivers one event of `channel` to the subscribers; must not block.
  using Deliver = std::function<void(size_t channel, FramesPtr frames)>;

  // One channel per stream route of `router`; at most `max_subscribers` over all of them.
  EventStreams(const Router& router, size_t max_subscribers);
  ~EventStreams();  // BeginStop and Join
  EventStreams(const EventStreams&) = delete;
  EventStreams& operator=(const EventStreams&) = delete;

  // The channel of `route`, or nullopt if it is not a stream route.
  std::optional<size_t> ChannelOf(const Router::Route* route) const;

  // Starts every publisher. REQUIRES: once, before any subscriber.
  void Start(Deliver deliver);
  // The publishers' stopping() turns true and their WaitFor returns.
  void BeginStop();
  // Waits for every publisher to return. REQUIRES: BeginStop.
  void Join();

  // Counts a subscriber of `channel`; false (not counted) when the cap is reached.
  bool TryAddSubscriber(size_t channel);
  void RemoveSubscriber(size_t channel);
  size_t subscribers() const { return subscribers_.load(); }
  // The retained events of `channel`, one per event name, for a new subscriber.
  std::vector<FramesPtr> Retained(size_t channel) const;

  // `event` framed as server-sent events.
  static FramesPtr Frame(std::string_view event, std::string_view data);

 private:
  class Channel;

  const size_t max_subscribers_;
  std::atomic<size_t> subscribers_{0};
  std::vector<std::unique_ptr<Channel>> channels_;
  std::unordered_map<const Router::Route*, size_t> channel_of_;
  Deliver deliver_;

  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  std::atomic<bool> stopping_{false};
};

}  // namespace migsbyu::portal

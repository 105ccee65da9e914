#include "portal/event_streams.h"

#include <map>
#include <thread>

#include "common/log.h"
#include "portal/response_writer.h"

namespace migsbyu::portal {

class EventStreams::Channel : public EventPublisher {
 public:
  Channel(EventStreams& owner, size_t index, const Router::Route& route)
      : owner_(owner), index_(index), route_(route) {}

  void Publish(std::string_view event, std::string_view data) override {
    if (subscribers_.load() == 0) return;
    owner_.deliver_(index_, Frame(event, data));
  }

  void PublishRetained(std::string_view event, std::string_view data) override {
    FramesPtr frames = Frame(event, data);
    {
      std::lock_guard lock(mu_);
      retained_[std::string(event)] = frames;
    }
    if (subscribers_.load() > 0) owner_.deliver_(index_, std::move(frames));
  }

  bool stopping() const override { return owner_.stopping_.load(); }

  bool WaitFor(std::chrono::milliseconds timeout) override {
    std::unique_lock lock(owner_.stop_mu_);
    owner_.stop_cv_.wait_for(lock, timeout, [this] { return owner_.stopping_.load(); });
    return !owner_.stopping_.load();
  }

  void Start() {
    thread_ = std::jthread([this] {
      try {
        route_.stream(*this);
      } catch (const std::exception& e) {
        MIGSBYU_LOG_ERROR("portal: the publisher of {} failed: {}", route_.pattern, e.what());
      }
      if (!stopping()) {
        MIGSBYU_LOG_WARN("portal: the publisher of {} returned before the server stopped",
                         route_.pattern);
      }
    });
  }
  void Join() {
    if (thread_.joinable()) thread_.join();
  }

  std::vector<FramesPtr> Retained() const {
    std::lock_guard lock(mu_);
    std::vector<FramesPtr> out;
    for (const auto& [name, frames] : retained_) out.push_back(frames);
    return out;
  }

  std::atomic<size_t> subscribers_{0};

 private:
  EventStreams& owner_;
  const size_t index_;
  const Router::Route& route_;
  mutable std::mutex mu_;
  std::map<std::string, FramesPtr> retained_;
  std::jthread thread_;
};

EventStreams::EventStreams(const Router& router, size_t max_subscribers)
    : max_subscribers_(max_subscribers) {
  for (const auto& route : router.routes()) {
    if (!route.stream) continue;
    channel_of_[&route] = channels_.size();
    channels_.push_back(std::make_unique<Channel>(*this, channels_.size(), route));
  }
}

EventStreams::~EventStreams() {
  BeginStop();
  Join();
}

std::optional<size_t> EventStreams::ChannelOf(const Router::Route* route) const {
  auto it = channel_of_.find(route);
  if (it == channel_of_.end()) return std::nullopt;
  return it->second;
}

void EventStreams::Start(Deliver deliver) {
  deliver_ = std::move(deliver);
  for (auto& channel : channels_) channel->Start();
}

void EventStreams::BeginStop() {
  {
    std::lock_guard lock(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
}

void EventStreams::Join() {
  for (auto& channel : channels_) channel->Join();
}

bool EventStreams::TryAddSubscriber(size_t channel) {
  size_t n = subscribers_.load();
  do {
    if (n >= max_subscribers_) return false;
  } while (!subscribers_.compare_exchange_weak(n, n + 1));
  ++channels_[channel]->subscribers_;
  return true;
}

void EventStreams::RemoveSubscriber(size_t channel) {
  --channels_[channel]->subscribers_;
  --subscribers_;
}

std::vector<FramesPtr> EventStreams::Retained(size_t channel) const {
  return channels_[channel]->Retained();
}

FramesPtr EventStreams::Frame(std::string_view event, std::string_view data) {
  auto frames = std::make_shared<StreamFrames>();
  frames->plain = SseEvent(event, data);
  frames->chunked = Chunk(frames->plain);
  return frames;
}

}  // namespace migsbyu::portal

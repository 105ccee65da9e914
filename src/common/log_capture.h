// LogCapture: for tests that check what the process logged, e.g. an error that a destructor or
// a callback can only log.
//
// While a LogCapture lives, the process-wide logger (common/log.h) writes into it instead of to
// stderr; its destructor puts the previous logger back. Text() returns every line logged so far.
//
// Threading: construct and destroy on the test's thread while no other capture lives; Text() and
// logging may run on any threads.
#pragma once

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <mutex>
#include <string>

namespace migsbyu {

class LogCapture {
 public:
  LogCapture() : previous_(spdlog::default_logger()), sink_(std::make_shared<Sink>()) {
    auto logger = std::make_shared<spdlog::logger>("capture", sink_);
    logger->set_level(spdlog::level::trace);
    spdlog::set_default_logger(std::move(logger));
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  // Every line logged since construction, each "[level] message\n".
  std::string Text() const { return sink_->Text(); }

 private:
  class Sink : public spdlog::sinks::base_sink<std::mutex> {
   public:
    std::string Text() {
      std::lock_guard lock(mutex_);
      return text_;
    }

   protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
      const auto level = spdlog::level::to_string_view(msg.level);
      text_.append("[").append(level.data(), level.size()).append("] ");
      text_.append(msg.payload.data(), msg.payload.size()).append("\n");
    }
    void flush_() override {}

   private:
    std::string text_;
  };

  std::shared_ptr<spdlog::logger> previous_;
  std::shared_ptr<Sink> sink_;
};

}  // namespace migsbyu

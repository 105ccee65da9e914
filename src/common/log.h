// Logging: spdlog, one process-wide logger writing to stderr.
//
// Use MIGSBYU_LOG_INFO("cdc: slot {} at {}", slot, lsn) and friends; fmt-style formatting.
// Thread-safe (spdlog's multi-threaded sink).
#pragma once

#include <spdlog/spdlog.h>

#include <string_view>

namespace migsbyu {

// Sets the level from a name: trace, debug, info, warn, error, off. Unknown names keep "info".
void SetLogLevel(std::string_view level);

}  // namespace migsbyu

#define MIGSBYU_LOG_DEBUG(...) SPDLOG_DEBUG(__VA_ARGS__)
#define MIGSBYU_LOG_INFO(...) spdlog::info(__VA_ARGS__)
#define MIGSBYU_LOG_WARN(...) spdlog::warn(__VA_ARGS__)
#define MIGSBYU_LOG_ERROR(...) spdlog::error(__VA_ARGS__)

// What the lake's benchmarks share: milliseconds of a steady-clock span, and Must(), which stops
// the benchmark with the error (a benchmark has nobody to return it to).
//
// Thread-safety: Must exits the process; call it from the benchmark's main thread.
#pragma once

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "common/result.h"

namespace migsbyu::bench {

using Clock = std::chrono::steady_clock;

inline double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// The program's name in error messages; each benchmark sets it first thing in main.
inline const char* program_name = "bench";

[[noreturn]] inline void Die(const Error& e) {
  std::fprintf(stderr, "%s: %s\n", program_name, e.ToString().c_str());
  std::exit(1);
}

template <typename T>
T Must(Result<T> r) {
  if (!r.ok()) Die(r.error());
  return std::move(*r);
}

inline void Must(Status s) {
  if (!s.ok()) Die(s.error());
}

}  // namespace migsbyu::bench

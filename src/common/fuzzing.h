// What the libFuzzer targets (src/*/..._fuzzer.cc, CMake's migsbyu_fuzzer) share: the check that
// ends a run on a broken property, and seeding the corpus from the test data.
//
// Seeds: the fuzzer test runs a target with MIGSBYU_FUZZ_TESTDATA (its folder of test cases) and
// MIGSBYU_FUZZ_CORPUS (the corpus folder passed to libFuzzer) set. A target declares
//   MIGSBYU_FUZZ_SEEDS(WriteSeeds)
// with `void WriteSeeds(const std::filesystem::path& testdata, migsbyu::fuzzing::Seeds& seeds)`:
// its LLVMFuzzerInitialize then calls it, when both are set, before libFuzzer reads the corpus,
// and each seeds.Add(bytes) becomes one file of the corpus. Run by hand without them, the target
// seeds nothing.
//
// Header-only: a fuzz target links only the library it fuzzes.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace migsbyu::fuzzing {

// Aborts (libFuzzer's crash, with the input saved) unless `ok`.
inline void Check(bool ok) {
  if (!ok) std::abort();
}

// Writes seeds into the corpus folder as seed-0, seed-1, ...
class Seeds {
 public:
  explicit Seeds(std::filesystem::path corpus) : corpus_(std::move(corpus)) {
    std::filesystem::create_directories(corpus_);
  }
  void Add(std::string_view bytes) {
    std::ofstream(corpus_ / ("seed-" + std::to_string(n_++)), std::ios::binary) << bytes;
  }

 private:
  std::filesystem::path corpus_;
  int n_ = 0;
};

// LLVMFuzzerInitialize's body: `write(testdata, seeds)` when both variables are set.
template <typename WriteSeeds>
int SeedCorpus(WriteSeeds&& write) {
  const char* testdata = std::getenv("MIGSBYU_FUZZ_TESTDATA");
  const char* corpus = std::getenv("MIGSBYU_FUZZ_CORPUS");
  if (testdata != nullptr && corpus != nullptr) {
    Seeds seeds(corpus);
    write(std::filesystem::path(testdata), seeds);
  }
  return 0;
}

}  // namespace migsbyu::fuzzing

// Defines the target's LLVMFuzzerInitialize, seeding the corpus with `write_seeds` (above).
#define MIGSBYU_FUZZ_SEEDS(write_seeds)                 \
  extern "C" int LLVMFuzzerInitialize(int*, char***) {  \
    return ::migsbyu::fuzzing::SeedCorpus(write_seeds); \
  }

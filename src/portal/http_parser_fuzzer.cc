// libFuzzer target for the HTTP request parser (clang++ -fsanitize=fuzzer,address,undefined).
//
// Input: one byte choosing the limits (odd: the small limits of hostile_requests.test, even: the
// defaults), then the bytes a connection received. Each request in them is parsed in turn, as a
// server drains a pipelined buffer. Beyond not crashing, the parser must keep its contract: an
// error has a status from the documented set and a printable detail; a complete request consumed
// some bytes, fits the body limit and has a path; and parsing a prefix agrees with the whole
// (a proper prefix of a complete request is incomplete, a refused prefix means a refused whole,
// with the same status).
//
// Seeds (common/fuzzing.h; testdata: src/portal/testdata): each case of hostile_requests.test,
// one seed each.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/fuzzing.h"
#include "portal/http_parser.h"
#include "portal/testdata/corpus_text.h"

namespace {

using migsbyu::portal::http::Limits;
using migsbyu::portal::http::ParseRequest;
using migsbyu::portal::http::ParseResult;
using migsbyu::portal::http::ParseStatus;
using migsbyu::portal::http::UnescapeCorpusText;

using migsbyu::fuzzing::Check;

void WriteSeeds(const std::filesystem::path& testdata, migsbyu::fuzzing::Seeds& seeds) {
  std::ifstream in(testdata / "hostile_requests.test");
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    size_t bytes = line.find_first_not_of(" \t", line.find_first_of(" \t"));
    if (bytes == std::string::npos) continue;
    seeds.Add('\x01' + UnescapeCorpusText(line.substr(bytes)));
  }
}

void CheckOne(std::string_view buffer, const Limits& limits, const ParseResult& result) {
  switch (result.status) {
    case ParseStatus::kError: {
      int s = result.error_status;
      Check(s == 400 || s == 413 || s == 414 || s == 431 || s == 501 || s == 505);
      Check(!result.error_detail.empty());
      for (char c : result.error_detail) Check(c >= 0x20 && c < 0x7f);
      break;
    }
    case ParseStatus::kComplete:
      Check(result.consumed > 0 && result.consumed <= buffer.size());
      Check(result.head_complete);
      Check(result.request.body.size() <= limits.max_body_bytes);
      Check(result.request.target.size() <= limits.max_target_bytes);
      Check(result.request.path == "*" || result.request.path.front() == '/');
      Check(result.request.path.find('\0') == std::string::npos);
      break;
    case ParseStatus::kIncomplete:
      Check(result.consumed == 0);
      Check(result.head_complete || !result.expects_continue);
      break;
  }
}

void CheckPrefix(std::string_view buffer, size_t n, const Limits& limits,
                 const ParseResult& whole) {
  if (n >= buffer.size()) return;
  ParseResult prefix = ParseRequest(buffer.substr(0, n), limits);
  CheckOne(buffer.substr(0, n), limits, prefix);
  if (whole.status == ParseStatus::kComplete && n < whole.consumed) {
    Check(prefix.status == ParseStatus::kIncomplete);
  }
  if (prefix.status == ParseStatus::kError) {
    Check(whole.status == ParseStatus::kError && whole.error_status == prefix.error_status);
  }
}

}  // namespace

MIGSBYU_FUZZ_SEEDS(WriteSeeds)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  Limits limits;
  if (data[0] & 1) {
    limits.max_head_bytes = 512;
    limits.max_target_bytes = 64;
    limits.max_body_bytes = 64;
    limits.max_headers = 8;
  }
  std::string_view buffer(reinterpret_cast<const char*>(data + 1), size - 1);
  for (int request = 0; request < 16; ++request) {
    ParseResult whole = ParseRequest(buffer, limits);
    CheckOne(buffer, limits, whole);
    ParseResult again = ParseRequest(buffer, limits);
    Check(again.status == whole.status && again.consumed == whole.consumed &&
          again.error_status == whole.error_status && again.request.body == whole.request.body);
    CheckPrefix(buffer, buffer.size() / 2, limits, whole);
    CheckPrefix(buffer, buffer.size() - 1, limits, whole);
    if (whole.status == ParseStatus::kComplete)
      CheckPrefix(buffer, whole.consumed - 1, limits, whole);
    if (whole.status != ParseStatus::kComplete) break;
    buffer.remove_prefix(whole.consumed);
  }
  return 0;
}

// libFuzzer target for the pgoutput decoder (clang++ -fsanitize=fuzzer,address,undefined).
//
// Input: a sequence of messages, each a big-endian u16 length, one flag byte (bit 0: decode as
// a spooled streamed message) and that many bytes, all decoded in order by one Decoder, so
// Relation messages feed the changes after them. Any outcome but a crash, a sanitizer report or
// a success on a message the decoder should have refused is fine: errors are expected.
//
// Seeds: when MIGSBYU_FUZZ_TESTDATA (src/cdc/testdata) and MIGSBYU_FUZZ_CORPUS (the corpus
// folder passed to libFuzzer) are set, LLVMFuzzerInitialize writes each captured .test file
// as one seed before libFuzzer reads the corpus.
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "cdc/decoder.h"

namespace {

std::string Frame(const std::string& bytes, bool streamed) {
  std::string out;
  out.push_back(static_cast<char>((bytes.size() >> 8) & 0xff));
  out.push_back(static_cast<char>(bytes.size() & 0xff));
  out.push_back(streamed ? 1 : 0);
  return out + bytes;
}

void WriteSeeds(const char* testdata, const char* corpus) {
  namespace fs = std::filesystem;
  fs::create_directories(corpus);
  int n = 0;
  for (const auto& e : fs::directory_iterator(testdata)) {
    if (e.path().extension() != ".test") continue;
    std::ifstream in(e.path());
    std::string seed;
    size_t messages = 0;
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("message ", 0) != 0) continue;
      std::istringstream fields(line.substr(8));
      std::string lsn, hex, bytes;
      fields >> lsn >> hex;
      for (size_t i = 0; i + 1 < hex.size(); i += 2) {
        bytes.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
      }
      if (bytes.size() > 0xffff) continue;
      seed += Frame(bytes, false);
      // Seeds stay small: a new one every 40 messages.
      if (++messages % 40 == 0) {
        std::ofstream(fs::path(corpus) / ("seed-" + std::to_string(n++)), std::ios::binary) << seed;
        seed.clear();
      }
    }
    if (!seed.empty()) {
      std::ofstream(fs::path(corpus) / ("seed-" + std::to_string(n++)), std::ios::binary) << seed;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* testdata = std::getenv("MIGSBYU_FUZZ_TESTDATA");
  const char* corpus = std::getenv("MIGSBYU_FUZZ_CORPUS");
  if (testdata && corpus) WriteSeeds(testdata, corpus);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace migsbyu;
  cdc::Decoder decoder;
  decoder.SetKeyResolver([](uint32_t, const std::string&, const std::string&) {
    return Result<std::vector<std::string>>(std::vector<std::string>{"id"});
  });
  size_t pos = 0;
  uint64_t lsn = 1;
  while (pos + 3 <= size) {
    size_t length = (static_cast<size_t>(data[pos]) << 8) | data[pos + 1];
    bool streamed = data[pos + 2] & 1;
    pos += 3;
    length = std::min(length, size - pos);
    std::string_view message(reinterpret_cast<const char*>(data + pos), length);
    pos += length;
    auto decoded =
        streamed ? decoder.DecodeStreamed(message, Lsn(lsn)) : decoder.Decode(message, Lsn(lsn));
    if (!decoded.ok() && decoded.error().message().find(Lsn(lsn).ToString()) == std::string::npos) {
      std::abort();  // every decoder error names the LSN
    }
    if (streamed) (void)cdc::Decoder::StreamedXid(message, Lsn(lsn));
    ++lsn;
  }
  return 0;
}

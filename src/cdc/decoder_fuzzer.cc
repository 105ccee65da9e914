// libFuzzer target for the pgoutput decoder (clang++ -fsanitize=fuzzer,address,undefined).
//
// Input: a sequence of messages, each a big-endian u16 length, one flag byte (bit 0: decode as
// a spooled streamed message) and that many bytes, all decoded in order by one Decoder, so
// Relation messages feed the changes after them. Any outcome but a crash, a sanitizer report or
// a success on a message the decoder should have refused is fine: errors are expected.
//
// Seeds (common/fuzzing.h; testdata: src/cdc/testdata): the messages of each captured .test
// file, framed as above, forty to a seed.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "cdc/decoder.h"
#include "common/fuzzing.h"

namespace {

std::string Frame(const std::string& bytes, bool streamed) {
  std::string out;
  out.push_back(static_cast<char>((bytes.size() >> 8) & 0xff));
  out.push_back(static_cast<char>(bytes.size() & 0xff));
  out.push_back(streamed ? 1 : 0);
  return out + bytes;
}

void WriteSeeds(const std::filesystem::path& testdata, migsbyu::fuzzing::Seeds& seeds) {
  for (const auto& e : std::filesystem::directory_iterator(testdata)) {
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
        seeds.Add(seed);
        seed.clear();
      }
    }
    if (!seed.empty()) seeds.Add(seed);
  }
}

}  // namespace

MIGSBYU_FUZZ_SEEDS(WriteSeeds)

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
    // Every decoder error names the LSN.
    fuzzing::Check(decoded.ok() ||
                   decoded.error().message().find(Lsn(lsn).ToString()) != std::string::npos);
    if (streamed) (void)cdc::Decoder::StreamedXid(message, Lsn(lsn));
    ++lsn;
  }
  return 0;
}

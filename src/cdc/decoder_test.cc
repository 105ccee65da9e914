// Decoder tests driven by data files: src/cdc/testdata/*.test hold pgoutput messages captured
// from a real PostgreSQL 15 server (tests/cdc/capture_pgoutput), each followed by the decoding
// expected of it. Format, one directive per line:
//   message LSN HEX     decode these bytes (received at LSN) with the file's one decoder
//   expect TEXT         the previous message decodes to TEXT (see Describe below)
//   error TEXT          the previous message fails with kCorruption whose message contains TEXT
//   # ...               comment
// A message with neither expect nor error must decode without error. Setting
// MIGSBYU_CDC_REGENERATE=1 rewrites the expect lines from the current decoder (review the diff).
#include "cdc/decoder.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace migsbyu::cdc {
namespace {

std::string Hex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

std::string Row(const events::TableSchema& t, const std::optional<events::Row>& row) {
  if (!row) return "-";
  std::string out = "(";
  for (size_t i = 0; i < row->size(); ++i) {
    if (i) out += ",";
    const auto& v = (*row)[i];
    if (v.state == events::Value::State::kNull) {
      out += "NULL";
    } else if (v.state == events::Value::State::kUnchangedToast) {
      out += "TOAST";
    } else {
      std::string text = events::ValueToText(t.columns[i].type, v);
      if (text.size() > 24) text = text.substr(0, 12) + "...[" + std::to_string(text.size()) + "]";
      out += text;
    }
  }
  return out + ")";
}

std::string Describe(const DecodedMessage& d) {
  std::ostringstream s;
  if (d.xid) s << "xid=" << d.xid << " ";
  std::visit(
      [&](const auto& m) {
        using M = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<M, BeginMessage>) {
          s << "begin xid=" << m.xid << " final_lsn=" << m.final_lsn.ToString()
            << " time=" << m.commit_time_us;
        } else if constexpr (std::is_same_v<M, CommitMessage>) {
          s << "commit commit_lsn=" << m.commit_lsn.ToString()
            << " end_lsn=" << m.end_lsn.ToString();
        } else if constexpr (std::is_same_v<M, RelationMessage>) {
          s << "relation " << m.table->schema << "." << m.table->name
            << " id=" << m.table->relation_id << " identity=" << m.replica_identity << " columns=";
          for (size_t i = 0; i < m.table->columns.size(); ++i) {
            const auto& c = m.table->columns[i];
            s << (i ? "," : "") << c.name << ":" << c.type_oid << ":" << static_cast<int>(c.type)
              << (c.key ? ":key" : "");
          }
        } else if constexpr (std::is_same_v<M, RowMessage>) {
          s << "row op=" << static_cast<char>(m.op) << " " << m.table->name
            << " before=" << Row(*m.table, m.before) << " after=" << Row(*m.table, m.after);
        } else if constexpr (std::is_same_v<M, TruncateMessage>) {
          s << "truncate";
          for (const auto& t : m.tables) s << " " << t->name;
          s << " cascade=" << m.cascade << " restart=" << m.restart_identity;
        } else if constexpr (std::is_same_v<M, StreamStartMessage>) {
          s << "stream_start xid=" << m.xid << " first=" << m.first_segment;
        } else if constexpr (std::is_same_v<M, StreamStopMessage>) {
          s << "stream_stop";
        } else if constexpr (std::is_same_v<M, StreamCommitMessage>) {
          s << "stream_commit xid=" << m.xid << " commit_lsn=" << m.commit_lsn.ToString()
            << " end_lsn=" << m.end_lsn.ToString();
        } else if constexpr (std::is_same_v<M, StreamAbortMessage>) {
          s << "stream_abort xid=" << m.xid << " subxid=" << m.subxid;
        } else if constexpr (std::is_same_v<M, TypeMessage>) {
          s << "type " << m.type_oid << " " << m.schema << "." << m.name;
        } else if constexpr (std::is_same_v<M, OriginMessage>) {
          s << "origin " << m.name;
        } else if constexpr (std::is_same_v<M, LogicalMessage>) {
          // Content bytes outside printable ASCII as \xHH, so a binary payload stays one line.
          s << "message " << (m.transactional ? "transactional" : "non-transactional")
            << " lsn=" << m.lsn.ToString() << " prefix=" << m.prefix << " content=";
          for (unsigned char c : m.content) {
            if (c >= 0x20 && c < 0x7f && c != '\\') {
              s << c;
            } else {
              char hex[5];
              std::snprintf(hex, sizeof hex, "\\x%02x", c);
              s << hex;
            }
          }
        }
      },
      d.message);
  return s.str();
}

struct Case {
  std::string lsn_text;
  std::string bytes;
  std::optional<std::string> expect;
  std::optional<std::string> error;
};

std::vector<std::string> TestFiles() {
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(MIGSBYU_CDC_TESTDATA)) {
    if (e.path().extension() == ".test") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

TEST(DecoderTest, CapturedMessagesDecodeAsTheTestDataFilesExpect) {
  bool regenerate = std::getenv("MIGSBYU_CDC_REGENERATE") != nullptr;
  auto files = TestFiles();
  ASSERT_FALSE(files.empty());
  for (const auto& path : files) {
    SCOPED_TRACE(path);
    std::ifstream in(path);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    Decoder decoder;
    std::vector<std::string> out;
    size_t checked = 0;
    for (size_t i = 0; i < lines.size(); ++i) {
      const std::string& line = lines[i];
      if (line.rfind("expect ", 0) == 0 && regenerate) continue;
      out.push_back(line);
      if (line.rfind("message ", 0) != 0) continue;
      std::istringstream fields(line.substr(8));
      std::string lsn_text, hex;
      fields >> lsn_text >> hex;
      auto lsn = Lsn::Parse(lsn_text);
      ASSERT_TRUE(lsn) << line;
      auto decoded = decoder.Decode(Hex(hex), *lsn);
      std::optional<std::string> expect, error;
      for (size_t j = i + 1; j < lines.size() && lines[j].rfind("message ", 0) != 0; ++j) {
        if (lines[j].rfind("expect ", 0) == 0) expect = lines[j].substr(7);
        if (lines[j].rfind("error ", 0) == 0) error = lines[j].substr(6);
      }
      if (error) {
        ASSERT_FALSE(decoded.ok()) << line;
        EXPECT_EQ(decoded.error().code(), ErrorCode::kCorruption);
        EXPECT_NE(decoded.error().message().find(*error), std::string::npos)
            << decoded.error().message();
        EXPECT_NE(decoded.error().message().find(lsn_text), std::string::npos)
            << "the error names the LSN: " << decoded.error().message();
        ++checked;
        continue;
      }
      ASSERT_TRUE(decoded.ok()) << line << ": " << decoded.error().ToString();
      if (regenerate) {
        out.push_back("expect " + Describe(*decoded));
      } else if (expect) {
        EXPECT_EQ(Describe(*decoded), *expect) << line;
        ++checked;
      }
    }
    if (regenerate) {
      std::ofstream rewrite(path);
      for (const auto& l : out) rewrite << l << "\n";
    } else {
      EXPECT_GT(checked, 0u) << "no expectations in " << path;
    }
  }
}

// Every strict prefix of every captured message is truncated: each must be an error naming
// the LSN, never a crash and never a success.
TEST(DecoderTest, EveryTruncatedMessageIsCorruptionNamingTheLsn) {
  for (const auto& path : TestFiles()) {
    std::ifstream in(path);
    Decoder decoder;
    size_t prefixes = 0;
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("message ", 0) != 0) continue;
      std::istringstream fields(line.substr(8));
      std::string lsn_text, hex;
      fields >> lsn_text >> hex;
      std::string bytes = Hex(hex);
      Lsn lsn = *Lsn::Parse(lsn_text);
      bool was_in_stream = decoder.in_stream();
      auto whole = decoder.Decode(bytes, lsn);
      if (!whole.ok()) continue;      // an intended error case
      if (prefixes > 2000) continue;  // the streamed files repeat the same shapes
      bool in_stream = decoder.in_stream();
      for (size_t n = 0; n < bytes.size(); ++n) {
        // Stream Start/Stop toggle the state; decode their prefixes in the state they came in.
        if (bytes[0] == 'S' || bytes[0] == 'E') continue;
        (void)was_in_stream;
        (void)in_stream;
        auto part = decoder.Decode(std::string_view(bytes).substr(0, n), lsn);
        ASSERT_FALSE(part.ok()) << path << ": prefix " << n << " of " << line;
        EXPECT_EQ(part.error().code(), ErrorCode::kCorruption);
        EXPECT_NE(part.error().message().find(lsn_text), std::string::npos);
        ++prefixes;
      }
    }
  }
}

TEST(DecoderTest, UpdateWithUnchangedToastKeepsOldValue) {
  Decoder decoder;
  // Relation 1 "public.t" (identity full): id int4 key, big text.
  std::string rel = std::string("R") + std::string("\0\0\0\1", 4) + "public" + '\0' + "t" + '\0' +
                    'f' + std::string("\0\2", 2) + '\1' + "id" + '\0' +
                    std::string("\0\0\0\x17", 4) + std::string("\xff\xff\xff\xff", 4) + '\0' +
                    "big" + '\0' + std::string("\0\0\0\x19", 4) +
                    std::string("\xff\xff\xff\xff", 4);
  ASSERT_TRUE(decoder.Decode(rel, Lsn(1)).ok());
  std::string update = std::string("U") + std::string("\0\0\0\1", 4) + "O" +
                       std::string("\0\2", 2) + "t" + std::string("\0\0\0\1", 4) + "7" + "t" +
                       std::string("\0\0\0\3", 4) + "old" + "N" + std::string("\0\2", 2) + "t" +
                       std::string("\0\0\0\1", 4) + "8" + "u";
  auto d = decoder.Decode(update, Lsn(2));
  ASSERT_TRUE(d.ok()) << d.error().ToString();
  const auto& row = std::get<RowMessage>(d->message);
  EXPECT_EQ((*row.after)[0].integer, 8);
  EXPECT_EQ((*row.after)[1].text, "old");
  EXPECT_EQ((*row.after)[1].state, events::Value::State::kPresent);
}

TEST(DecoderTest, KeyResolverNarrowsFullIdentityKeysToThePrimaryKey) {
  Decoder decoder;
  decoder.SetKeyResolver([](uint32_t, const std::string&, const std::string&) {
    return Result<std::vector<std::string>>(std::vector<std::string>{"id"});
  });
  std::string rel = std::string("R") + std::string("\0\0\0\1", 4) + "public" + '\0' + "t" + '\0' +
                    'f' + std::string("\0\2", 2) + '\1' + "id" + '\0' +
                    std::string("\0\0\0\x17", 4) + std::string("\xff\xff\xff\xff", 4) + '\1' +
                    "big" + '\0' + std::string("\0\0\0\x19", 4) +
                    std::string("\xff\xff\xff\xff", 4);
  auto d = decoder.Decode(rel, Lsn(1));
  ASSERT_TRUE(d.ok());
  auto table = decoder.FindRelation(1);
  ASSERT_TRUE(table);
  EXPECT_TRUE(table->columns[0].key);
  EXPECT_FALSE(table->columns[1].key);
}

}  // namespace
}  // namespace migsbyu::cdc

// Captures raw pgoutput messages from a slot as "message LSN HEX" lines, the input format of
// src/cdc/testdata/*.test. A developer tool for adding decoder test cases, not a test:
//   capture_pgoutput URL SLOT PUBLICATION PROTO_VERSION STREAMING(on|off) IDLE_MS [MESSAGES]
// It stops once no data message has arrived for IDLE_MS. MESSAGES (on|off, default off) asks
// pgoutput for logical decoding messages, as the connector does.
#include <cstdio>
#include <string>

#include "pg/replication.h"

int main(int argc, char** argv) {
  using namespace migsbyu;
  if (argc != 7 && argc != 8) {
    std::fprintf(stderr, "usage: %s URL SLOT PUBLICATION PROTO STREAMING IDLE_MS [MESSAGES]\n",
                 argv[0]);
    return 2;
  }
  auto conn = pg::ReplicationConnection::Open(argv[1]);
  if (!conn.ok()) {
    std::fprintf(stderr, "%s\n", conn.error().ToString().c_str());
    return 1;
  }
  std::vector<std::pair<std::string, std::string>> options = {
      {"proto_version", argv[4]}, {"publication_names", pg::QuoteIdentifier(argv[3])}};
  if (std::string(argv[5]) == "on") options.push_back({"streaming", "on"});
  if (argc == 8 && std::string(argv[7]) == "on") options.push_back({"messages", "true"});
  auto started = conn->StartLogical(argv[2], Lsn(0), options);
  if (!started.ok()) {
    std::fprintf(stderr, "%s\n", started.error().ToString().c_str());
    return 1;
  }
  std::chrono::milliseconds idle(std::stoi(argv[6]));
  for (;;) {
    auto m = conn->ReadMessage(idle);
    if (!m.ok()) {
      std::fprintf(stderr, "%s\n", m.error().ToString().c_str());
      return 1;
    }
    if (!*m) break;
    if ((*m)->kind != pg::ReplicationMessage::Kind::kXLogData) continue;
    std::printf("message %s ", (*m)->wal_start.ToString().c_str());
    for (unsigned char c : (*m)->data) std::printf("%02x", c);
    std::printf("\n");
  }
  return 0;
}

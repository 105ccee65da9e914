// ConnectionLoop's answers that go on after their head: the rest of a static file, sent piece
// by piece as the socket drains, and event streams, whose events the loop appends to each
// subscriber's bounded queue (connection_loop.h).
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/log.h"
#include "portal/connection_loop.h"
#include "portal/response_writer.h"

namespace migsbyu::portal {

void ConnectionLoop::CompleteFile(uint64_t id, StaticFile file) {
  Conn* c = Find(id);
  if (c == nullptr) return;
  const bool streamed = file.file && !c->head;
  if (streamed) {
    c->file = std::move(file.file);
    c->file_offset = file.offset;
    c->file_end = file.size;
  }
  Respond(*c, file.response, /*route_table=*/false, file.size);
}

bool ConnectionLoop::ReadFilePiece(Conn& c) {
  const size_t want =
      static_cast<size_t>(std::min<uint64_t>(c.file_end - c.file_offset, StaticFiles::kFirstChunk));
  c.out.resize(want);
  ssize_t n;
  do {
    n = ::pread(c.file.Get(), c.out.data(), want, static_cast<off_t>(c.file_offset));
  } while (n < 0 && errno == EINTR);
  if (n <= 0) {
    // The length is announced: the client can only be told by the connection's end.
    MIGSBYU_LOG_WARN("portal: a static file ended or failed at byte {} of {}: {}", c.file_offset,
                     c.file_end, n < 0 ? std::strerror(errno) : "shorter than announced");
    Close(c.id);
    return false;
  }
  c.out.resize(static_cast<size_t>(n));
  c.out_sent = 0;
  c.file_offset += static_cast<uint64_t>(n);
  if (c.file_offset >= c.file_end) c.file.Reset();
  return true;
}

void ConnectionLoop::Subscribe(Conn& c, size_t channel) {
  const ServerOptions& o = context_.options;
  if (c.head) {  // the head of a stream, and no stream
    Response head;
    head.content_type = "text/event-stream";
    return Respond(c, head);
  }
  if (!context_.streams->TryAddSubscriber(channel)) {
    const std::string detail =
        "Too many event streams open (at most " + std::to_string(o.max_event_streams) + ")";
    context_.refusals.Record(Refusal::kStreams, c.peer, detail);
    return Respond(c, ErrorResponse(503, detail));
  }
  c.stream = channel;
  c.chunked = c.minor_version >= 1;
  c.keep_alive = false;
  if (subscribers_.size() <= channel) subscribers_.resize(channel + 1);
  subscribers_[channel].push_back(c.id);
  Framing framing;
  framing.minor_version = c.minor_version;
  framing.cors_origin = c.cors_origin;
  framing.tls = c.tls != nullptr;
  if (c.out_sent == c.out.size()) c.send_progress = Clock::now();
  AppendStreamHead(framing, &c.out);
  for (const FramesPtr& f : context_.streams->Retained(channel)) {
    c.out.append(c.chunked ? f->chunked : f->plain);
  }
  Flush(c);  // not `responding`: the stream goes on once this is sent
}

void ConnectionLoop::DeliverEvent(size_t channel, const FramesPtr& frames) {
  if (channel >= subscribers_.size() || subscribers_[channel].empty()) return;
  const size_t limit = context_.options.event_stream_queue_bytes;
  const std::vector<uint64_t> ids = subscribers_[channel];  // Close edits the list
  for (uint64_t id : ids) {
    Conn* c = Find(id);
    if (c == nullptr || c->close_after) continue;
    const std::string& frame = c->chunked ? frames->chunked : frames->plain;
    const size_t queued = c->out.size() - c->out_sent;
    if (queued + frame.size() > limit) {
      context_.refusals.Record(
          Refusal::kStreamBehind, c->peer,
          "an event-stream subscriber fell " + std::to_string(queued) + " bytes behind; dropped");
      Abort(id);
      continue;
    }
    if (queued == 0) {
      c->send_progress = Clock::now();
      c->out.clear();
      c->out_sent = 0;
    } else if (c->out_sent > limit / 2) {
      c->out.erase(0, c->out_sent);  // what was sent is not kept behind the queue
      c->out_sent = 0;
    }
    c->out.append(frame);
    Flush(*c);
  }
}

void ConnectionLoop::EndStream(Conn& c) {
  if (c.chunked) c.out.append(kLastChunk);
  c.close_after = true;
  c.responding = true;  // once sent, the connection ends as after a response
  Flush(c);
}

}  // namespace migsbyu::portal

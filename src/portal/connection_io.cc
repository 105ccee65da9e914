// ConnectionLoop's reads and writes, through TLS or not, and the TLS handshake
// (connection_loop.h).
#include <sys/socket.h>

#include <cerrno>

#include "portal/connection_loop.h"

namespace migsbyu::portal {

void ConnectionLoop::Handshake(Conn& c) {
  if (!c.tls_checked) {
    // A TLS connection starts with a handshake record (content type 22): anything else is
    // plain HTTP, which gets a plain answer that says why, rather than a reset.
    unsigned char first = 0;
    const ssize_t n = ::recv(c.fd.Get(), &first, 1, MSG_PEEK);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    if (n <= 0) return Close(c.id);
    c.tls_checked = true;
    if (first != 0x16) {
      c.tls.reset();
      c.handshaking = false;
      context_.refusals.Record(Refusal::kTls, c.peer, "plain HTTP on a TLS port");
      return RefuseAndClose(c, 400, "This port speaks HTTPS only");
    }
  }
  switch (c.tls->Handshake()) {
    case TlsSession::Io::kDone:
      c.handshaking = false;
      c.tls_wants = 0;
      Watch(c);
      if (c.refusal != 0) return RefuseAndClose(c, c.refusal, c.refusal_detail);
      return Read(c);  // the first request may have come with the handshake's last flight
    case TlsSession::Io::kWantRead:
      c.tls_wants = 0;
      return Watch(c);
    case TlsSession::Io::kWantWrite:
      c.tls_wants = EPOLLOUT;
      return Watch(c);
    case TlsSession::Io::kClosed:
    case TlsSession::Io::kError:
      context_.refusals.Record(Refusal::kTls, c.peer,
                               "TLS handshake failed: " + c.tls->LastError());
      return Close(c.id);
  }
}

ssize_t ConnectionLoop::ReceiveSome(Conn& c, char* buffer, size_t capacity) {
  if (!c.tls || c.lingering) {  // lingering: what comes is dropped unread, TLS or not
    const ssize_t n = ::recv(c.fd.Get(), buffer, capacity, 0);
    if (n >= 0) return n;
    if (errno == EINTR) return ReceiveSome(c, buffer, capacity);
    return errno == EAGAIN || errno == EWOULDBLOCK ? kWait : kFailed;
  }
  size_t n = 0;
  switch (c.tls->Read(buffer, capacity, &n)) {
    case TlsSession::Io::kDone:
      return static_cast<ssize_t>(n);
    case TlsSession::Io::kWantRead:
      return kWait;
    case TlsSession::Io::kWantWrite:
      c.tls_wants |= EPOLLOUT;
      Watch(c);
      return kWait;
    case TlsSession::Io::kClosed:
      return 0;
    case TlsSession::Io::kError:
      break;
  }
  return kFailed;
}

ssize_t ConnectionLoop::SendSome(Conn& c, const char* data, size_t length) {
  if (!c.tls) {
    const ssize_t n = ::send(c.fd.Get(), data, length, MSG_NOSIGNAL);
    if (n >= 0) return n;
    if (errno == EINTR) return SendSome(c, data, length);
    return errno == EAGAIN || errno == EWOULDBLOCK ? kWait : kFailed;
  }
  size_t n = 0;
  switch (c.tls->Write(data, length, &n)) {
    case TlsSession::Io::kDone:
      return static_cast<ssize_t>(n);
    case TlsSession::Io::kWantWrite:
      return kWait;
    case TlsSession::Io::kWantRead:
      c.tls_wants |= EPOLLIN;
      Watch(c);
      return kWaitReadable;
    case TlsSession::Io::kClosed:
    case TlsSession::Io::kError:
      break;
  }
  return kFailed;
}

}  // namespace migsbyu::portal

// TLS for the portal's server: OpenSSL 3, non-blocking, on the event loops.
//
// With a certificate and a key, both listeners speak TLS only (TLS 1.2 or 1.3, OpenSSL's default
// ciphers, no renegotiation). A TlsContext holds the certificate chain and the key; each
// connection has a TlsSession over its socket. A session's operations never block: they report
// that they want the socket readable or writable (epoll is then asked for it), and the loop calls
// them again. The handshake is bounded like a request head (ServerOptions::head_timeout).
//
// Threading: a TlsContext is shared by the loops (OpenSSL's SSL_CTX is thread-safe once set up);
// a TlsSession belongs to its connection's loop.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "common/result.h"

namespace migsbyu::portal {

class TlsContext {
 public:
  // Reads a PEM certificate chain and its PEM private key. kInvalidArgument naming the file and
  // OpenSSL's reason when either cannot be read or they do not match.
  static Result<TlsContext> Load(const std::string& cert_file, const std::string& key_file);

  SSL_CTX* get() const { return ctx_.get(); }

 private:
  struct Free {
    void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
  };
  std::unique_ptr<SSL_CTX, Free> ctx_;
};

class TlsSession {
 public:
  // A server-side session over `fd` (which the caller owns, and closes after the session).
  // kUnavailable if OpenSSL cannot make one (out of memory).
  static Result<TlsSession> Accept(const TlsContext& context, int fd);

  enum class Io {
    kDone,       // done (Read, Write: *n bytes)
    kWantRead,   // call again once the socket is readable
    kWantWrite,  // call again once the socket is writable
    kClosed,     // the peer ended the session (close_notify, or the connection's end)
    kError,      // a protocol or socket error: close the connection (LastError says why)
  };

  Io Handshake();
  // Reads at most `capacity` bytes of plaintext.
  Io Read(char* buffer, size_t capacity, size_t* n);
  // Writes up to `length` bytes of plaintext; *n is how many were taken. After kWantRead or
  // kWantWrite, call again with the same bytes (the buffer may have moved).
  Io Write(const char* data, size_t length, size_t* n);
  // Plaintext already decrypted and not yet read: no epoll event announces it.
  size_t Pending() const { return static_cast<size_t>(SSL_pending(ssl_.get())); }
  // Sends close_notify if the socket takes it now; never blocks.
  void Shutdown();
  // What the last kError was, from OpenSSL's error queue.
  const std::string& LastError() const { return error_; }

 private:
  Io Outcome(int rc);

  struct Free {
    void operator()(SSL* ssl) const { SSL_free(ssl); }
  };
  std::unique_ptr<SSL, Free> ssl_;
  std::string error_;
};

}  // namespace migsbyu::portal

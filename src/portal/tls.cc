#include "portal/tls.h"

#include <openssl/err.h>

#include <cerrno>
#include <cstring>

namespace migsbyu::portal {
namespace {

// OpenSSL's error queue as one line (emptied), or `fallback` when it is empty.
std::string OpenSslErrors(const std::string& fallback) {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? fallback : out;
}

}  // namespace

Result<TlsContext> TlsContext::Load(const std::string& cert_file, const std::string& key_file) {
  ERR_clear_error();
  TlsContext out;
  out.ctx_.reset(SSL_CTX_new(TLS_server_method()));
  if (!out.ctx_) return Error::Unavailable("TLS: " + OpenSslErrors("cannot create a context"));
  SSL_CTX* ctx = out.ctx_.get();
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(
      ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
  // Writes take what the socket takes (partial), from a buffer that may move between retries.
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                            SSL_MODE_RELEASE_BUFFERS);
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1) {
    return Error::InvalidArgument("TLS certificate " + cert_file + ": " +
                                  OpenSslErrors("cannot be read"));
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return Error::InvalidArgument("TLS key " + key_file + ": " + OpenSslErrors("cannot be read"));
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return Error::InvalidArgument("TLS key " + key_file + " does not match the certificate " +
                                  cert_file + ": " + OpenSslErrors("mismatch"));
  }
  return out;
}

Result<TlsSession> TlsSession::Accept(const TlsContext& context, int fd) {
  ERR_clear_error();
  TlsSession out;
  out.ssl_.reset(SSL_new(context.get()));
  if (!out.ssl_ || SSL_set_fd(out.ssl_.get(), fd) != 1) {
    return Error::Unavailable("TLS: " + OpenSslErrors("cannot create a session"));
  }
  SSL_set_accept_state(out.ssl_.get());
  return out;
}

TlsSession::Io TlsSession::Outcome(int rc) {
  const int error = SSL_get_error(ssl_.get(), rc);
  switch (error) {
    case SSL_ERROR_NONE:
      return Io::kDone;
    case SSL_ERROR_WANT_READ:
      return Io::kWantRead;
    case SSL_ERROR_WANT_WRITE:
      return Io::kWantWrite;
    case SSL_ERROR_ZERO_RETURN:
      return Io::kClosed;
    case SSL_ERROR_SYSCALL:
      if (ERR_peek_error() == 0) {
        // The connection ended without close_notify (errno 0), or a socket error.
        if (errno == 0 || errno == ECONNRESET || errno == EPIPE) return Io::kClosed;
        error_ = std::strerror(errno);
        return Io::kError;
      }
      [[fallthrough]];
    default:
      error_ = OpenSslErrors("TLS error " + std::to_string(error));
      return Io::kError;
  }
}

TlsSession::Io TlsSession::Handshake() {
  ERR_clear_error();
  errno = 0;
  return Outcome(SSL_do_handshake(ssl_.get()));
}

TlsSession::Io TlsSession::Read(char* buffer, size_t capacity, size_t* n) {
  ERR_clear_error();
  errno = 0;
  *n = 0;
  const int rc = SSL_read_ex(ssl_.get(), buffer, capacity, n);
  return rc == 1 ? Io::kDone : Outcome(rc);
}

TlsSession::Io TlsSession::Write(const char* data, size_t length, size_t* n) {
  ERR_clear_error();
  errno = 0;
  *n = 0;
  const int rc = SSL_write_ex(ssl_.get(), data, length, n);
  return rc == 1 ? Io::kDone : Outcome(rc);
}

void TlsSession::Shutdown() {
  ERR_clear_error();
  if (SSL_is_init_finished(ssl_.get())) SSL_shutdown(ssl_.get());
  ERR_clear_error();
}

}  // namespace migsbyu::portal

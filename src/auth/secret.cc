#include "auth/secret.h"

#include <sodium.h>

#include <cstdlib>

namespace migsbyu::auth {
namespace {

constexpr size_t kSecretBytes = 32;
constexpr size_t kEncodedBytes = 43;  // unpadded base64url of 32 bytes

std::string_view Prefix(SecretKind kind) { return kind == SecretKind::kSession ? "mgs_" : "mgt_"; }

bool IsBase64UrlChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

}  // namespace

void InitSodium() {
  static const bool ready = sodium_init() >= 0;
  if (!ready) std::abort();  // no randomness: nothing of sign-in can work
}

std::string NewSecret(SecretKind kind) {
  InitSodium();
  unsigned char bytes[kSecretBytes];
  randombytes_buf(bytes, sizeof bytes);
  char text[sodium_base64_ENCODED_LEN(kSecretBytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
  sodium_bin2base64(text, sizeof text, bytes, sizeof bytes,
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  sodium_memzero(bytes, sizeof bytes);
  return std::string(Prefix(kind)) + text;
}

bool IsSecretOf(std::string_view text, SecretKind kind) {
  const auto prefix = Prefix(kind);
  if (text.size() != prefix.size() + kEncodedBytes || !text.starts_with(prefix)) return false;
  for (char c : text.substr(prefix.size())) {
    if (!IsBase64UrlChar(c)) return false;
  }
  return true;
}

std::string SecretDigest(std::string_view secret) {
  InitSodium();
  unsigned char digest[32];
  crypto_generichash(digest, sizeof digest, reinterpret_cast<const unsigned char*>(secret.data()),
                     secret.size(), nullptr, 0);
  char hex[sizeof digest * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return std::string(hex, sizeof digest * 2);
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace migsbyu::auth

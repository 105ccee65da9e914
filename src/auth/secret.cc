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

DigestBytes SecretDigestBytes(std::string_view secret) {
  InitSodium();
  DigestBytes digest;
  crypto_generichash(digest.data(), digest.size(),
                     reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), nullptr,
                     0);
  return digest;
}

std::string SecretDigest(std::string_view secret) {
  const DigestBytes digest = SecretDigestBytes(secret);
  char hex[sizeof digest * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, digest.data(), digest.size());
  return std::string(hex, sizeof digest * 2);
}

DigestBytes DigestFromHex(std::string_view hex) {
  DigestBytes out{};
  size_t written = 0;
  if (hex.size() != out.size() * 2 ||
      sodium_hex2bin(out.data(), out.size(), hex.data(), hex.size(), nullptr, &written, nullptr) !=
          0 ||
      written != out.size()) {
    out.fill(0);
  }
  return out;
}

bool ConstantTimeEquals(const DigestBytes& a, const DigestBytes& b) {
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace migsbyu::auth

// The secrets that stand for a signed-in caller: session ids (the browser's cookie) and bearer
// tokens (scripts' Authorization header).
//
// A secret is 32 bytes from libsodium's randombytes (a CSPRNG), given to its holder once as text:
// a prefix naming its kind ("mgs_" for a session, "mgt_" for a token) and the bytes in unpadded
// base64url, 47 characters in all. The database and the caches keep only its digest, BLAKE2b-256
// as 64 hex digits: someone who reads the tables (or a backup) holds no usable credential, and
// since the secrets are 256-bit random values a fast unsalted hash is enough; no password-style
// stretching is needed, so checking a token costs a microsecond, not an Argon2 run.
//
// Threading: pure functions; thread-safe.
#pragma once

#include <array>
#include <cstring>
#include <string>
#include <string_view>

namespace migsbyu::auth {

enum class SecretKind { kSession, kToken };

// Initializes libsodium (once per process; later calls return at once). Aborts if it cannot.
void InitSodium();

// A new random secret of `kind`.
std::string NewSecret(SecretKind kind);

// True if `text` has the exact form of a secret of `kind` (prefix, length, alphabet): anything
// else is refused before any lookup.
bool IsSecretOf(std::string_view text, SecretKind kind);

// The digest stored for a secret: 64 lower-case hex digits.
std::string SecretDigest(std::string_view secret);

// The same 32 bytes, raw: what the serving caches key on, made without an allocation.
using DigestBytes = std::array<unsigned char, 32>;
DigestBytes SecretDigestBytes(std::string_view secret);
// The raw bytes of a stored (hex) digest; all zero if `hex` is not 64 hex digits.
DigestBytes DigestFromHex(std::string_view hex);
// A hash-table hash of a digest: its first bytes, which are already uniformly random.
struct DigestHash {
  size_t operator()(const DigestBytes& d) const {
    size_t h;
    std::memcpy(&h, d.data(), sizeof h);
    return h;
  }
};

// Equality in time that depends only on the lengths.
bool ConstantTimeEquals(std::string_view a, std::string_view b);
bool ConstantTimeEquals(const DigestBytes& a, const DigestBytes& b);

}  // namespace migsbyu::auth

// Actor: who made a change, and through which part of MigsbyU. The audit trail's one value.
//
// Every transaction MigsbyU writes carries its actor as a transactional logical decoding message
// in the same transaction, written before the transaction's first change:
//   pg_logical_emit_message(true, 'migsbyu.actor', '<payload>')
// The payload is a small JSON object, owned here (docs/CDC.md "Who changed what"):
//   {"user": "registrar1", "origin": "portal"}
//   user    the signed-in user the portal acted for (Request::principal), or null when the
//           writer has no user: a portal without sign-in, `migsbyu generate`;
//   origin  "portal" (the REST API and POST /generate), "simulator" (the activity simulator,
//           whose user is "simulator" too), "cli" (`migsbyu generate` from a shell).
// Fields beyond these two are ignored, so that a later writer may add some.
//
// The capture side labels changes that carry no such message itself: "database" for a change
// made outside MigsbyU (psql, another application), "snapshot" for the rows of the initial copy.
// A payload never names those two.
//
// Threading: plain values and pure functions; safe from any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace migsbyu {

// The prefix of the logical decoding message that carries an actor.
inline constexpr std::string_view kActorMessagePrefix = "migsbyu.actor";

// The origins (see above).
inline constexpr std::string_view kOriginPortal = "portal";
inline constexpr std::string_view kOriginSimulator = "simulator";
inline constexpr std::string_view kOriginCli = "cli";
inline constexpr std::string_view kOriginSnapshot = "snapshot";
inline constexpr std::string_view kOriginDatabase = "database";

// The simulator's user and origin.
inline constexpr std::string_view kSimulatorUser = "simulator";

// Payload limits: a user name of up to kMaxActorUserBytes bytes, an origin of up to
// kMaxActorOriginBytes of [a-z0-9_-], a payload of up to kMaxActorPayloadBytes.
inline constexpr size_t kMaxActorUserBytes = 256;
inline constexpr size_t kMaxActorOriginBytes = 32;
inline constexpr size_t kMaxActorPayloadBytes = 4096;

struct Actor {
  std::optional<std::string> user;  // changed_by; nullopt when no user is known
  std::string origin = std::string(kOriginDatabase);

  bool operator==(const Actor&) const = default;

  // A change nobody in MigsbyU claimed: no user, origin "database".
  static Actor Database() { return {}; }
  static Actor Snapshot() { return {std::nullopt, std::string(kOriginSnapshot)}; }
  static Actor Simulator() { return {std::string(kSimulatorUser), std::string(kOriginSimulator)}; }
  // The portal acting for `user` (nullopt: no one is signed in).
  static Actor Portal(std::optional<std::string> user) {
    return {std::move(user), std::string(kOriginPortal)};
  }
  static Actor Cli() { return {std::nullopt, std::string(kOriginCli)}; }
};

// OkStatus if `actor` has the shape every actor has: an origin of 1 to kMaxActorOriginBytes of
// [a-z0-9_-], and no user or one of 1 to kMaxActorUserBytes without control characters;
// otherwise kInvalidArgument saying which. (Readers of actors from outside, such as Kafka
// messages, check them with it.)
Status CheckActor(const Actor& actor);

// The message payload of `actor`: {"user":...,"origin":...}. REQUIRES: the actor is one a
// writer may stamp (DecodeActorPayload accepts what this returns).
std::string EncodeActorPayload(const Actor& actor);

// Parses a payload. kInvalidArgument naming what is wrong: not a JSON object, a missing or
// malformed origin (or one of the capture side's, "database" and "snapshot"), a user that is
// neither a non-empty string without control characters nor null, or a value over the limits
// above.
Result<Actor> DecodeActorPayload(std::string_view payload);

}  // namespace migsbyu

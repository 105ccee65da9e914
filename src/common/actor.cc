#include "common/actor.h"

#include <cstdio>
#include <nlohmann/json.hpp>

namespace migsbyu {
namespace {

Error Invalid(const std::string& what) { return Error::InvalidArgument("actor payload: " + what); }

// `text` as a JSON string. Built by hand: the portal stamps every write, and a JSON document per
// request would cost more than the rest of the stamp.
void AppendJsonString(std::string* out, std::string_view text) {
  out->push_back('"');
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned char>(c));
      out->append(escaped);
    } else {
      out->push_back(c);
    }
  }
  out->push_back('"');
}

}  // namespace

Status CheckActor(const Actor& actor) {
  const std::string& origin = actor.origin;
  bool origin_ok = !origin.empty() && origin.size() <= kMaxActorOriginBytes;
  for (char c : origin) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) {
      origin_ok = false;
    }
  }
  if (!origin_ok) return Error::InvalidArgument("origin '" + origin.substr(0, 40) + "'");
  if (!actor.user) return OkStatus();
  const std::string& name = *actor.user;
  if (name.empty() || name.size() > kMaxActorUserBytes) {
    return Error::InvalidArgument("user of " + std::to_string(name.size()) + " bytes (1 to " +
                                  std::to_string(kMaxActorUserBytes) + ")");
  }
  // A name is shown in tables and CSV files: control characters have no place in it.
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) return Error::InvalidArgument("user holds a control character");
  }
  return OkStatus();
}

std::string EncodeActorPayload(const Actor& actor) {
  std::string payload = "{\"user\":";
  if (actor.user) {
    AppendJsonString(&payload, *actor.user);
  } else {
    payload += "null";
  }
  payload += ",\"origin\":";
  AppendJsonString(&payload, actor.origin);
  payload += '}';
  return payload;
}

Result<Actor> DecodeActorPayload(std::string_view payload) {
  auto fail = Invalid;
  if (payload.size() > kMaxActorPayloadBytes) {
    return fail(std::to_string(payload.size()) + " bytes, over " +
                std::to_string(kMaxActorPayloadBytes));
  }
  auto json = nlohmann::json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return fail("not JSON");
  if (!json.is_object()) return fail("not a JSON object");
  auto origin = json.find("origin");
  if (origin == json.end() || !origin->is_string()) return fail("no origin string");
  Actor actor;
  actor.origin = origin->get<std::string>();
  if (actor.origin == kOriginDatabase || actor.origin == kOriginSnapshot) {
    return fail("origin '" + actor.origin + "' is the capture side's own");
  }
  auto user = json.find("user");
  if (user == json.end()) return fail("no user (a string, or null)");
  if (user->is_string()) {
    actor.user = user->get<std::string>();
  } else if (!user->is_null()) {
    return fail("user is neither a string nor null");
  }
  if (Status checked = CheckActor(actor); !checked.ok()) return fail(checked.error().message());
  return actor;
}

}  // namespace migsbyu

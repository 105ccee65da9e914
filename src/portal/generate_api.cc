#include "portal/generate_api.h"

#include <random>

#include "oltp/generator.h"
#include "portal/rest_api.h"

namespace migsbyu::portal {
namespace {

using nlohmann::json;

// A numeric body field: integer or not, and its inclusive range.
struct NumberField {
  std::string name;
  bool integer;
  double minimum;
  double maximum;
  bool exclusive_minimum;
  std::string description;
};

// Reads `body` against `fields`: every field optional, unknown fields and bad values are 422.
Result<std::map<std::string, json>> ReadNumbers(const std::string& text,
                                                const std::vector<NumberField>& fields) {
  MIGSBYU_ASSIGN(auto body, ParseJsonBody(text));
  if (!body.is_object()) return Error::Validation({{"body", "value is not a valid dict"}});
  std::vector<FieldError> errors;
  std::map<std::string, json> out;
  for (const auto& [name, value] : body.items()) {
    auto it =
        std::find_if(fields.begin(), fields.end(), [&](const auto& f) { return f.name == name; });
    const std::string loc = "body." + name;
    if (it == fields.end()) {
      errors.push_back({loc, "extra fields not permitted"});
      continue;
    }
    if (!value.is_number() || (it->integer && !value.is_number_integer())) {
      errors.push_back(
          {loc, it->integer ? "value is not a valid integer" : "value is not a valid float"});
      continue;
    }
    double v = value.get<double>();
    if ((it->exclusive_minimum && v <= it->minimum) || v < it->minimum || v > it->maximum) {
      errors.push_back(
          {loc, "ensure this value is " +
                    std::string(it->exclusive_minimum ? "greater than " : "at least ") +
                    json(it->minimum).dump() + " and at most " + json(it->maximum).dump()});
      continue;
    }
    out[name] = value;
  }
  if (!errors.empty()) return Error::Validation(std::move(errors));
  return out;
}

json Schema(const std::vector<NumberField>& fields) {
  json properties = json::object();
  for (const auto& f : fields) {
    properties[f.name] = {{"type", f.integer ? "integer" : "number"},
                          {"minimum", f.minimum},
                          {"maximum", f.maximum},
                          {"description", f.description}};
    if (f.exclusive_minimum) properties[f.name]["exclusiveMinimum"] = true;
  }
  return {{"type", "object"}, {"properties", properties}, {"additionalProperties", false}};
}

constexpr double kMaxSeed = 9007199254740991.0;  // 2^53 - 1: exact in every JSON reader

const std::vector<NumberField>& GenerateFields() {
  static const std::vector<NumberField> fields = [] {
    std::vector<NumberField> f;
    for (const char* kind : {"students", "professors", "courses", "enrollments", "assignments"}) {
      f.push_back({kind, true, 0, static_cast<double>(oltp::kMaxGenerateCount), false,
                   std::string("How many ") + kind + " to insert"});
    }
    f.push_back({"seed", true, 0, kMaxSeed, false, "Seed; the same seed gives the same rows"});
    return f;
  }();
  return fields;
}

const std::vector<NumberField>& SimulationFields() {
  static const std::vector<NumberField> fields = {
      {"rate", false, 0, oltp::kMaxSimulatorRate, true, "Events per second"},
      {"duration_s", false, 0, oltp::kMaxSimulatorDuration, true, "Seconds to run"},
      {"seed", true, 0, kMaxSeed, false, "Seed; the same seed picks the same events"},
      {"max_events", true, 0, 1e12, false, "Stop after this many events (0: no limit)"}};
  return fields;
}

uint64_t RandomSeed() {
  std::random_device rd;
  return ((static_cast<uint64_t>(rd()) << 32) | rd()) & static_cast<uint64_t>(kMaxSeed);
}

json StatusJson(const oltp::SimulatorStatus& s) {
  return {{"running", s.running},
          {"events", s.events},
          {"by_kind", s.by_kind},
          {"last_error", s.last_error}};
}

json CountsJson(const oltp::GenerateCounts& c) {
  return {{"students", c.students},
          {"professors", c.professors},
          {"courses", c.courses},
          {"enrollments", c.enrollments},
          {"assignments", c.assignments}};
}

// The simulator names its options after SimulatorOptions; the API's body names differ.
Error RenameSimulatorFields(const Error& e) {
  if (e.code() != ErrorCode::kValidation) return e;
  std::vector<FieldError> fields;
  for (auto f : e.fields()) {
    if (f.field == "rate_per_second") f.field = "rate";
    if (f.field == "duration_seconds") f.field = "duration_s";
    fields.push_back({"body." + f.field, f.message});
  }
  return Error::Validation(std::move(fields));
}

}  // namespace

void RegisterGenerateApi(Router& router, pg::Pool& pool, oltp::Simulator& simulator) {
  router.AddSchema("GenerateRequest", Schema(GenerateFields()));
  router.AddSchema("SimulationRequest", Schema(SimulationFields()));
  auto body_of = [](const std::string& schema) {
    return json{
        {"required", true},
        {"content",
         {{"application/json", {{"schema", {{"$ref", "#/components/schemas/" + schema}}}}}}}};
  };
  router.Add(
      "POST", "/generate",
      [&pool](const Request& req) {
        auto numbers = ReadNumbers(req.body, GenerateFields());
        if (!numbers.ok()) return Response::FromError(numbers.error());
        auto count = [&](const char* name) -> int64_t {
          auto it = numbers->find(name);
          return it == numbers->end() ? 0 : it->second.get<int64_t>();
        };
        oltp::GenerateCounts wanted{count("students"), count("professors"), count("courses"),
                                    count("enrollments"), count("assignments")};
        uint64_t seed = numbers->count("seed") ? numbers->at("seed").get<uint64_t>() : RandomSeed();
        auto lease = pool.Acquire(std::chrono::seconds(5));
        if (!lease.ok()) return Response::FromError(lease.error());
        auto inserted = oltp::Generate(**lease, wanted, seed, PortalActor(req));
        if (!inserted.ok()) {
          const Error& e = inserted.error();
          if (e.code() != ErrorCode::kValidation) return Response::FromError(e);
          std::vector<FieldError> fields;
          for (const auto& f : e.fields()) fields.push_back({"body." + f.field, f.message});
          return Response::FromError(Error::Validation(std::move(fields)));
        }
        json out = CountsJson(*inserted);
        out["seed"] = seed;
        return Response::Json(out);
      },
      {"Insert random students, professors, courses, enrollments and assignments",
       "Data tools",
       json::array(),
       body_of("GenerateRequest"),
       {{"200", {{"description", "The counts inserted and the seed used"}}},
        {"422", {{"description", "A bad count, or enrollments without students or courses"}}}},
       Permission::kWrite});
  router.Add("POST", "/simulation/start",
             [&simulator](const Request& req) {
               auto numbers = ReadNumbers(req.body, SimulationFields());
               if (!numbers.ok()) return Response::FromError(numbers.error());
               oltp::SimulatorOptions options;
               if (numbers->count("rate"))
                 options.rate_per_second = numbers->at("rate").get<double>();
               if (numbers->count("duration_s")) {
                 options.duration_seconds = numbers->at("duration_s").get<double>();
               }
               options.seed =
                   numbers->count("seed") ? numbers->at("seed").get<uint64_t>() : RandomSeed();
               if (numbers->count("max_events"))
                 options.max_events = numbers->at("max_events").get<int64_t>();
               auto started = simulator.Start(options);
               if (!started.ok())
                 return Response::FromError(RenameSimulatorFields(started.error()));
               json out = StatusJson(simulator.GetStatus());
               out["seed"] = options.seed;
               return Response::Json(out);
             },
             {"Start the activity simulator",
              "Data tools",
              json::array(),
              body_of("SimulationRequest"),
              {{"200", {{"description", "The simulator's status"}}},
               {"409", {{"description", "A simulation is already running"}}},
               {"422", {{"description", "A bad option"}}}},
              Permission::kWrite});
  router.Add("POST", "/simulation/stop",
             [&simulator](const Request&) {
               simulator.Stop();
               return Response::Json(StatusJson(simulator.GetStatus()));
             },
             {.summary = "Stop the activity simulator (after the event in flight)",
              .tag = "Data tools",
              .parameters = nlohmann::json::array(),
              .request_body = nullptr,
              .responses = nullptr,
              .permission = Permission::kWrite});
  router.Add(
      "GET", "/simulation",
      [&simulator](const Request&) { return Response::Json(StatusJson(simulator.GetStatus())); },
      {.summary = "The activity simulator's status",
       .tag = "Data tools",
       .parameters = nlohmann::json::array(),
       .request_body = nullptr,
       .responses = nullptr,
       .permission = Permission::kRead});
}

}  // namespace migsbyu::portal

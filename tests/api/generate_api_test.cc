#include <chrono>
#include <thread>

#include "api_fixture.h"

namespace migsbyu::testing {
namespace {

using nlohmann::json;

TEST_F(ApiTest, GenerateInsertsTheCountsAsked) {
  json wanted = {{"students", 50},    {"professors", 5},   {"courses", 10},
                 {"enrollments", 80}, {"assignments", 12}, {"seed", 7}};
  auto r = Call("POST", "/generate", wanted);
  ASSERT_EQ(r.status, 200) << r.body;
  json expected = wanted;
  EXPECT_EQ(r.Json(), expected);
  EXPECT_EQ(Sql("SELECT count(*) FROM students"), "50");
  EXPECT_EQ(Sql("SELECT count(*) FROM professors"), "5");
  EXPECT_EQ(Sql("SELECT count(*) FROM courses"), "10");
  EXPECT_EQ(Sql("SELECT count(*) FROM takes"), "80");
  EXPECT_EQ(Sql("SELECT count(*) FROM teaches"), "12");
  // The generated rows read back through the API like any other.
  auto list = Call("GET", "/students/?limit=5");
  EXPECT_EQ(list.Header("X-Total-Count"), "50");
  auto seedless = Call("POST", "/generate", json{{"courses", 1}});
  ASSERT_EQ(seedless.status, 200) << seedless.body;
  EXPECT_TRUE(seedless.Json()["seed"].is_number_unsigned());
}

TEST_F(ApiTest, GenerateRejectsBadBodiesAndWritesNothing) {
  const std::string before = Checksum();
  struct Case {
    std::string body;
    int status;
  };
  for (const auto& c : std::vector<Case>{{R"({"students": -1})", 422},
                                         {R"({"students": "10"})", 422},
                                         {R"({"students": 2.5})", 422},
                                         {R"({"students": 10000000})", 422},
                                         {R"({"pupils": 1})", 422},
                                         {R"({"seed": -3})", 422},
                                         {R"({"enrollments": 5})", 422},
                                         {R"([1, 2])", 422},
                                         {R"({"students": )", 400}}) {
    auto r = Call("POST", "/generate", c.body);
    EXPECT_EQ(r.status, c.status) << c.body << ": " << r.body;
    EXPECT_TRUE(r.Json().contains("detail")) << r.body;
  }
  auto needs = Call("POST", "/generate", std::string(R"({"enrollments": 5})"));
  EXPECT_EQ(needs.Json()["detail"][0]["loc"], json({"body", "enrollments"}));
  EXPECT_EQ(Checksum(), before);
}

TEST_F(ApiTest, SimulationRunsStopsAndReportsItsStatus) {
  ASSERT_EQ(Call("POST", "/generate",
                 json{{"students", 20},
                      {"professors", 3},
                      {"courses", 5},
                      {"enrollments", 30},
                      {"assignments", 5},
                      {"seed", 1}})
                .status,
            200);
  auto idle = Call("GET", "/simulation");
  ASSERT_EQ(idle.status, 200);
  EXPECT_EQ(idle.Json()["running"], false);

  auto started = Call("POST", "/simulation/start",
                      json{{"rate", 1000}, {"duration_s", 60}, {"seed", 3}, {"max_events", 20}});
  ASSERT_EQ(started.status, 200) << started.body;
  // Poll (bounded) until the run has ended by itself after max_events.
  json status;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  do {
    status = Call("GET", "/simulation").Json();
  } while (status["running"].get<bool>() && std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(status["running"], false);
  // max_events counts attempts: committed events plus failed ones.
  EXPECT_EQ(status["events"].get<int64_t>() + status["by_kind"].value("failed", int64_t{0}), 20)
      << status.dump();
  EXPECT_GT(status["events"].get<int64_t>(), 0) << status.dump();

  auto long_run = Call("POST", "/simulation/start", json{{"rate", 5}, {"duration_s", 600}});
  ASSERT_EQ(long_run.status, 200) << long_run.body;
  auto again = Call("POST", "/simulation/start", json{{"rate", 5}, {"duration_s", 600}});
  EXPECT_EQ(again.status, 409) << again.body;
  auto stopped = Call("POST", "/simulation/stop");
  ASSERT_EQ(stopped.status, 200);
  EXPECT_EQ(stopped.Json()["running"], false);

  for (const char* bad : {R"({"rate": 0})", R"({"rate": -1})", R"({"duration_s": "long"})",
                          R"({"speed": 3})", R"({"rate": 1e9})"}) {
    auto r = Call("POST", "/simulation/start", std::string(bad));
    EXPECT_EQ(r.status, 422) << bad << ": " << r.body;
  }
}

}  // namespace
}  // namespace migsbyu::testing

#include "portal/router.h"

#include <gtest/gtest.h>

namespace migsbyu::portal {
namespace {

Response Named(const std::string& name) { return Response::Json({{"route", name}}); }

TEST(RouterTest, MatchesTrailingSlashAndParametersExactly) {
  Router router;
  router.Add("GET", "/enrollments/", [](const Request&) { return Named("list"); });
  router.Add("GET", "/enrollments/{student_id}", [](const Request&) { return Named("by"); });
  router.Add("GET", "/students/{id}/enrollments", [](const Request&) { return Named("nested"); });
  auto list = router.Find("GET", "/enrollments/");
  ASSERT_NE(list.route, nullptr);
  EXPECT_EQ(list.route->pattern, "/enrollments/");
  auto by = router.Find("GET", "/enrollments/S1");
  ASSERT_NE(by.route, nullptr);
  EXPECT_EQ(by.params.at("student_id"), "S1");
  auto nested = router.Find("GET", "/students/S 1/enrollments");
  ASSERT_NE(nested.route, nullptr);
  EXPECT_EQ(nested.params.at("id"), "S 1");
  EXPECT_EQ(router.Find("GET", "/enrollments").route, nullptr);
  EXPECT_EQ(router.Find("GET", "/students/S1/enrollments/x").route, nullptr);
}

TEST(RouterTest, LiteralSegmentsWinOverParameters) {
  Router router;
  router.Add("GET", "/x/{id}", [](const Request&) { return Named("param"); });
  router.Add("GET", "/x/special", [](const Request&) { return Named("literal"); });
  EXPECT_EQ(router.Find("GET", "/x/special").route->pattern, "/x/special");
  EXPECT_EQ(router.Find("GET", "/x/other").route->pattern, "/x/{id}");
}

TEST(RouterTest, TellsUnknownMethodFromUnknownPath) {
  Router router;
  router.Add("GET", "/a", [](const Request&) { return Named("a"); });
  auto wrong_method = router.Find("POST", "/a");
  EXPECT_EQ(wrong_method.route, nullptr);
  EXPECT_TRUE(wrong_method.path_matched);
  EXPECT_FALSE(router.Find("GET", "/b").path_matched);
  EXPECT_NE(router.Find("HEAD", "/a").route, nullptr);
}

TEST(RouterTest, ErrorsMapToStatusesAndDetail) {
  EXPECT_EQ(Response::FromError(Error::NotFound("x")).status, 404);
  EXPECT_EQ(Response::FromError(Error::AlreadyExists("x")).status, 409);
  EXPECT_EQ(Response::FromError(Error::Conflict("x")).status, 409);
  EXPECT_EQ(Response::FromError(Error::InvalidArgument("x")).status, 400);
  EXPECT_EQ(Response::FromError(Error::Unavailable("x")).status, 503);
  auto internal = Response::FromError(Error::Internal("SELECT secret FROM t"));
  EXPECT_EQ(internal.status, 500);
  EXPECT_EQ(internal.body.find("SELECT"), std::string::npos);
  auto v = Response::FromError(Error::Validation(
      {{"body.gpa", "field required"}, {"query.limit", "value is not a valid integer"}}));
  EXPECT_EQ(v.status, 422);
  auto body = nlohmann::json::parse(v.body);
  ASSERT_EQ(body["detail"].size(), 2u);
  EXPECT_EQ(body["detail"][0]["loc"], nlohmann::json({"body", "gpa"}));
  EXPECT_EQ(body["detail"][0]["type"], "value_error.missing");
  EXPECT_EQ(body["detail"][1]["loc"], nlohmann::json({"query", "limit"}));
  EXPECT_EQ(body["detail"][1]["type"], "type_error.integer");
}

TEST(RouterTest, OpenApiListsEveryRouteWithItsPathParameters) {
  Router router;
  router.Add("GET", "/a/{id}", [](const Request&) { return Named("a"); }, {"Get a", "A"});
  router.Add("DELETE", "/a/{id}", [](const Request&) { return Named("a"); });
  router.AddEventStream("/events", [](EventPublisher&) {});
  auto doc = router.OpenApi("T", "1");
  EXPECT_EQ(doc["openapi"], "3.0.3");
  EXPECT_TRUE(doc["paths"]["/a/{id}"].contains("get"));
  EXPECT_TRUE(doc["paths"]["/a/{id}"].contains("delete"));
  EXPECT_TRUE(doc["paths"]["/events"].contains("get"));
  EXPECT_EQ(doc["paths"]["/a/{id}"]["get"]["parameters"][0]["name"], "id");
  EXPECT_EQ(doc["paths"]["/a/{id}"]["get"]["summary"], "Get a");
}

TEST(RouterTest, RoutesUnderASlowLanePrefixRunOnTheSlowLaneWhenEverRegistered) {
  Router router;
  auto ok = [](const Request&) { return Named("x"); };
  router.Add("GET", "/analytics/before", ok);
  router.Add("GET", "/health", ok);
  router.UseSlowLane("/analytics/");
  router.Add("POST", "/analytics/after", ok);
  router.Add("GET", "/analyticsx", ok);
  EXPECT_EQ(router.Find("GET", "/analytics/before").route->lane, Lane::kSlow);
  EXPECT_EQ(router.Find("POST", "/analytics/after").route->lane, Lane::kSlow);
  EXPECT_EQ(router.Find("GET", "/health").route->lane, Lane::kFast);
  EXPECT_EQ(router.Find("GET", "/analyticsx").route->lane, Lane::kFast);
}

}  // namespace
}  // namespace migsbyu::portal

// Runs the corpus of hostile requests in bad_input.txt: each must get its status code with a JSON
// {"detail": ...} body that echoes no SQL, and must leave every table as it was.
//
// Format of bad_input.txt: cases separated by lines "### <name>"; the first line after it is
// "METHOD PATH", the second "STATUS [LOC]" (LOC like body.gpa: the first 422 entry's location),
// the rest is the body, verbatim (the final newline dropped). A body line may instead be a
// generator:
//   @student {json}     a valid new student (id NEW1) merge-patched with {json} (null removes)
//   @professor, @course, @enrollment, @assignment {json}   likewise
//   @repeat N TEXT      TEXT repeated N times
//   @nest N             N nested arrays: [[[...]]]
#include <fstream>
#include <sstream>

#include "api_fixture.h"

namespace migsbyu::testing {
namespace {

using nlohmann::json;

struct BadCase {
  std::string name, method, path;
  int status = 0;
  std::string loc;
  std::string body;
};

std::string Expand(const std::string& line) {
  std::istringstream in(line);
  std::string directive;
  in >> directive;
  std::string rest;
  std::getline(in, rest);
  if (!rest.empty() && rest[0] == ' ') rest.erase(0, 1);
  std::map<std::string, json> bases = {
      {"@student", ApiTest::StudentBody("NEW1")},
      {"@professor", ApiTest::ProfessorBody("NEW1")},
      {"@course", ApiTest::CourseBody("NEW1")},
      {"@enrollment", {{"student_id", "S1"}, {"course_id", "C1"}, {"semester", "Spring 2031"}}},
      {"@assignment", {{"professor_id", "P1"}, {"course_id", "C1"}, {"semester", "Spring 2031"}}}};
  if (auto it = bases.find(directive); it != bases.end()) {
    json body = it->second;
    if (!rest.empty()) body.merge_patch(json::parse(rest));
    return body.dump();
  }
  if (directive == "@repeat") {
    std::istringstream args(rest);
    size_t n = 0;
    args >> n;
    std::string text;
    std::getline(args, text);
    if (!text.empty() && text[0] == ' ') text.erase(0, 1);
    std::string out;
    out.reserve(n * text.size());
    for (size_t i = 0; i < n; ++i) out += text;
    return out;
  }
  if (directive == "@nest") {
    size_t n = std::stoul(rest);
    return std::string(n, '[') + std::string(n, ']');
  }
  return line;
}

std::vector<BadCase> LoadCorpus(const std::string& file) {
  std::ifstream in(file);
  EXPECT_TRUE(in) << "cannot read " << file;
  std::vector<BadCase> cases;
  std::string line;
  int line_in_case = -1;
  while (std::getline(in, line)) {
    if (line.starts_with("### ")) {
      cases.push_back({line.substr(4)});
      line_in_case = 0;
      continue;
    }
    if (cases.empty()) continue;  // the header comment
    BadCase& c = cases.back();
    if (line_in_case == 0) {
      std::istringstream(line) >> c.method >> c.path;
    } else if (line_in_case == 1) {
      std::istringstream status(line);
      status >> c.status;
      std::getline(status >> std::ws, c.loc);
    } else {
      if (line_in_case > 2) c.body += "\n";
      c.body += line.starts_with("@") ? Expand(line) : line;
    }
    ++line_in_case;
  }
  return cases;
}

TEST_F(ApiTest, BadInputCorpusGetsItsStatusAndChangesNothing) {
  Seed();
  auto cases = LoadCorpus(std::string(MIGSBYU_API_TEST_DATA) + "/bad_input.txt");
  ASSERT_GT(cases.size(), 50u);
  const std::string before = Checksum();
  for (const auto& c : cases) {
    SCOPED_TRACE("case '" + c.name + "': " + c.method + " " + c.path);
    auto r = Call(c.method, c.path, c.body);
    ASSERT_NE(r.status, 0) << "no response";
    EXPECT_EQ(r.status, c.status) << r.body.substr(0, 500);
    EXPECT_LT(r.status, 500);
    json body = r.Json();
    ASSERT_TRUE(body.is_object() && body.contains("detail")) << r.body.substr(0, 500);
    for (const char* sql : {"SELECT ", "INSERT ", "UPDATE ", "DELETE FROM", "WHERE "}) {
      EXPECT_EQ(r.body.find(sql), std::string::npos) << "echoes SQL: " << r.body.substr(0, 500);
    }
    if (!c.loc.empty()) {
      ASSERT_TRUE(body["detail"].is_array()) << r.body;
      std::string loc;
      for (const auto& part : body["detail"][0]["loc"])
        loc += (loc.empty() ? "" : ".") + part.get<std::string>();
      EXPECT_EQ(loc, c.loc) << r.body;
    }
    ASSERT_EQ(Checksum(), before) << "the tables changed";
  }
  // The server is still healthy afterwards.
  EXPECT_EQ(Call("GET", "/health").status, 200);
}

}  // namespace
}  // namespace migsbyu::testing

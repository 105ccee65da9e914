#include "lake/iceberg/testing.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

namespace migsbyu::iceberg::testing {
namespace {

namespace fs = std::filesystem;

template <typename T>
T MustOpen(Result<T> r) {
  if (!r.ok()) {
    ADD_FAILURE() << "duckdb: " << r.error().ToString();
    std::abort();
  }
  return std::move(r).value();
}

bool HasType(const nlohmann::json& v, const std::string& type) {
  if (type == "int") return v.is_number_integer();
  if (type == "string") return v.is_string();
  if (type == "bool") return v.is_boolean();
  if (type == "array") return v.is_array();
  if (type == "object") return v.is_object();
  ADD_FAILURE() << "unknown type " << type;
  return false;
}

}  // namespace

std::vector<SpecRule> ReadSpecRules(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in) << "testdata missing: " << path;
  std::vector<SpecRule> rules;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::stringstream words(line);
    SpecRule r;
    words >> r.object >> r.key >> r.kind >> r.type;
    rules.push_back(r);
  }
  return rules;
}

std::vector<nlohmann::json*> SpecInstances(nlohmann::json& doc, const std::string& object) {
  std::vector<nlohmann::json*> out;
  auto each = [&](const char* key) {
    if (doc.contains(key)) {
      for (auto& v : doc[key]) out.push_back(&v);
    }
  };
  if (object == "table") out.push_back(&doc);
  if (object == "schema") each("schemas");
  if (object == "partition-spec") each("partition-specs");
  if (object == "sort-order") each("sort-orders");
  if (object == "snapshot") each("snapshots");
  if (object == "ref") each("refs");
  if (object == "snapshot-log") each("snapshot-log");
  if (object == "metadata-log") each("metadata-log");
  if (object == "field" && doc.contains("schemas")) {
    for (auto& s : doc["schemas"]) {
      for (auto& f : s["fields"]) out.push_back(&f);
    }
  }
  if (object == "summary" && doc.contains("snapshots")) {
    for (auto& s : doc["snapshots"]) out.push_back(&s["summary"]);
  }
  return out;
}

int ExpectMetadataFollowsSpec(nlohmann::json doc, const std::string& rules_path) {
  int checks = 0;
  for (const SpecRule& r : ReadSpecRules(rules_path)) {
    SCOPED_TRACE(r.object + " " + r.key);
    std::vector<nlohmann::json*> instances = SpecInstances(doc, r.object);
    EXPECT_FALSE(instances.empty()) << "the metadata holds no " << r.object;
    for (const nlohmann::json* o : instances) {
      ++checks;
      if (r.kind == "forbidden") {
        EXPECT_FALSE(o->contains(r.key));
      } else if (r.kind == "required") {
        EXPECT_TRUE(o->contains(r.key));
        if (o->contains(r.key)) EXPECT_TRUE(HasType((*o)[r.key], r.type)) << (*o)[r.key].dump();
      } else {
        EXPECT_EQ(r.kind, "optional");
        if (o->contains(r.key)) EXPECT_TRUE(HasType((*o)[r.key], r.type));
      }
    }
  }
  return checks;
}

int ReadWithAvroC(const std::string& path, const std::function<void(avro_value_t*)>& check) {
  avro_file_reader_t reader;
  if (avro_file_reader(path.c_str(), &reader) != 0) {
    ADD_FAILURE() << path << ": " << avro_strerror();
    return 0;
  }
  avro_schema_t schema = avro_file_reader_get_writer_schema(reader);
  avro_value_iface_t* iface = avro_generic_class_from_schema(schema);
  avro_value_t value;
  avro_generic_value_new(iface, &value);
  int n = 0;
  while (avro_file_reader_read_value(reader, &value) == 0) {
    check(&value);
    ++n;
  }
  avro_value_decref(&value);
  avro_value_iface_decref(iface);
  avro_file_reader_close(reader);
  return n;
}

std::string RunNode(const std::string& dir, const std::string& args) {
  std::string cmd = "cd '" + dir + "' && node " + args + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  EXPECT_NE(pipe, nullptr);
  std::string output;
  char buf[4096];
  while (pipe && fgets(buf, sizeof buf, pipe)) output += buf;
  int rc = pipe ? pclose(pipe) : -1;
  EXPECT_EQ(rc, 0) << "node failed (run scripts/setup.sh for " << dir
                   << "/node_modules): " << output;
  return output;
}

ScratchDirectory::ScratchDirectory(const std::string& name)
    : path_((fs::temp_directory_path() / (name + "_" + std::to_string(getpid()))).string()) {
  fs::remove_all(path_);
  fs::create_directories(path_);
}

ScratchDirectory::~ScratchDirectory() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

DuckSession::DuckSession()
    : db(MustOpen(duck::Database::Open(":memory:", {{"threads", "1"}}))),
      conn(MustOpen(duck::Connection::Open(db))) {}

}  // namespace migsbyu::iceberg::testing

// Helpers for the iceberg library's tests (the test-only library migsbyu_iceberg_testing, used
// here and in tests/lake): a scratch directory and an in-memory DuckDB session. Not for
// production code. Thread-compatible: one test thread each.
#pragma once

#include <avro.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lake/duck.h"

namespace migsbyu::iceberg::testing {

// A fresh, empty directory under the system's temporary directory, named after `name` and the
// process id, deleted with everything in it when this object dies.
class ScratchDirectory {
 public:
  explicit ScratchDirectory(const std::string& name);
  ~ScratchDirectory();
  ScratchDirectory(const ScratchDirectory&) = delete;
  ScratchDirectory& operator=(const ScratchDirectory&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// An in-memory DuckDB with one thread (files are written in row order) and a connection on it.
// A database that does not open is a test failure (ADD_FAILURE) and aborts the test binary.
struct DuckSession {
  DuckSession();
  duck::Database db;
  duck::Connection conn;
};

// One line of testdata/metadata_v2_fields.txt: an object of the metadata, one of its keys, and
// whether the key is "required", "optional" or "forbidden", with its JSON type.
struct SpecRule {
  std::string object, key, kind, type;
};
std::vector<SpecRule> ReadSpecRules(const std::string& rules_path);
// Every instance of `object` (a SpecRule's) in a metadata document.
std::vector<nlohmann::json*> SpecInstances(nlohmann::json& doc, const std::string& object);

// Checks the metadata document `doc` against the spec's fields as listed in `rules_path`
// (testdata/metadata_v2_fields.txt): every required key present with its JSON type, optional ones
// of their type when present, forbidden ones absent, in every instance of each object. Failures
// are gtest failures naming the object and key; an object of the list that `doc` does not hold
// is one too. Returns the number of (rule, instance) checks made.
int ExpectMetadataFollowsSpec(nlohmann::json doc, const std::string& rules_path);

// Reads every record of an Avro object container file with avro-c's own datafile reader, calling
// `check` on each; returns the number of records.
int ReadWithAvroC(const std::string& path, const std::function<void(avro_value_t*)>& check);

// Runs `node <args>` in `dir` (a folder with node_modules, e.g. tests/lake) and returns what it
// printed (stdout and stderr); a non-zero exit is a test failure showing the output.
std::string RunNode(const std::string& dir, const std::string& args);

}  // namespace migsbyu::iceberg::testing

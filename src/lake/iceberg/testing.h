// Helpers for the iceberg library's tests (the test-only library migsbyu_iceberg_testing, used
// here and in tests/lake): a scratch directory and an in-memory DuckDB session. Not for
// production code. Thread-compatible: one test thread each.
#pragma once

#include <string>

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

}  // namespace migsbyu::iceberg::testing

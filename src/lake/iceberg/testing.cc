#include "lake/iceberg/testing.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

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

}  // namespace

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

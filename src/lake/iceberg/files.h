// Files of an Iceberg table on a local file system: durable writes, the exclusive link that
// commits a metadata version, file URIs, random ids.
//
// Paths in Iceberg metadata are URIs. Local files are written as "file://" + absolute path
// ("file:///var/lake/ns/t/data/x.parquet"), which Spark (Hadoop's LocalFileSystem), Trino,
// pyiceberg and DuckDB all open; the path itself is kept as is, not percent-encoded, so a table
// directory must not contain characters a URI gives a meaning ('%', '?', '#', whitespace,
// control characters, quotes, backslash): ValidateTableDirectory refuses them.
//
// Threading: pure functions on the file system; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace migsbyu::iceberg {

// "file://" + path. REQUIRES: `path` absolute.
std::string FileUri(std::string_view path);
// The local path of a "file:///p", "file:/p" or plain "/p" location; kInvalidArgument for any
// other scheme (s3://, hdfs://) or a relative path.
Result<std::string> LocalPath(std::string_view uri);
// kInvalidArgument when `dir` is not absolute or holds a character refused above.
Status ValidateTableDirectory(std::string_view dir);

// Writes `bytes` to a new file at `path` (failing with kAlreadyExists if it exists) and fsyncs
// it. The directory entry is made durable by a later SyncDirectory.
Status WriteNewFile(const std::string& path, std::string_view bytes);
Result<std::string> ReadWholeFile(const std::string& path);
// fsync of a file or directory.
Status SyncPath(const std::string& path);
// Makes `target` name the same file as `source` only if `target` does not exist yet (link(2)):
// of several processes linking to one target, exactly one succeeds; the others get
// kAlreadyExists. `source` stays; the caller removes it.
Status LinkExclusive(const std::string& source, const std::string& target);
// Replaces `path` atomically with a new file holding `bytes` (a temporary sibling, fsync,
// rename, fsync of the directory).
Status ReplaceFileAtomically(const std::string& path, std::string_view bytes);
// Removes a file; a missing file is not an error.
Status RemoveFile(const std::string& path);
// Regular files directly in `dir` (names only; none when `dir` is missing).
std::vector<std::string> ListFiles(const std::string& dir);
// Last modification time in ms since the epoch; kNotFound when missing.
Result<int64_t> ModifiedMs(const std::string& path);

// A random (version 4) UUID in its lowercase text form.
std::string NewUuid();
// A random positive 63-bit id (never 0).
int64_t RandomId();
int64_t NowMs();

}  // namespace migsbyu::iceberg

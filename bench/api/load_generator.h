// LoadGenerator: a closed-loop HTTP/1.1 load generator on one thread and one epoll set.
//
// N keep-alive connections to one server; each sends its next request as soon as the response to
// the last one is complete, until the deadline (requests in flight then finish and count). The
// point is to cost the machine as little CPU as possible, so that on a small machine the figure
// measures the server rather than the client: no thread per connection, no per-request
// allocation beyond the request text, and a response parser that knows only what a keep-alive
// client needs (the status line, Content-Length, the end of the body). Chunked responses and
// connections the server closes count as errors.
//
// Threading: Run is called from one thread and does all its work on it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace migsbyu::bench {

struct LoadResult {
  std::vector<double> latencies_us;  // one per successful request (status 200)
  int64_t errors = 0;                // other statuses, broken or closed connections
  double seconds = 0;                // from the first request to the last response
  double cpu_seconds = 0;            // this thread's user + system CPU over the run
  std::string first_error;           // what the first error was, for the log
};

class LoadGenerator {
 public:
  // Writes the complete request (request line, headers, body) that connection `connection`
  // sends as its `i`-th into `out` (cleared by the caller).
  using RequestWriter = std::function<void(int connection, int64_t i, std::string* out)>;

  LoadGenerator(std::string host, int port) : host_(std::move(host)), port_(port) {}

  // Runs `connections` clients for `duration`. A connection that cannot be opened fails the
  // whole run: the result then has no latencies, one error and first_error saying why.
  LoadResult Run(int connections, std::chrono::duration<double> duration,
                 const RequestWriter& write_request) const;

 private:
  std::string host_;
  int port_;
};

// "POST /students/ HTTP/1.1" with Host, Content-Type: application/json and Content-Length, and
// Authorization: Bearer `token` unless it is empty.
void WriteJsonRequest(const char* method, const std::string& target, const std::string& host,
                      const std::string& body, std::string* out, const std::string& token = "");

}  // namespace migsbyu::bench

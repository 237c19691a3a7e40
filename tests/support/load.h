// Bounded load for integration tests: an in-process keep-alive HTTP/1.1
// client loop (for "zero failed requests while X happens" tests), and
// wrappers that run and parse wrk and h2load.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/net.h"
#include "tests/support/process.h"

namespace gh::test {

struct LoadOptions {
  int port = 0;
  int connections = 4;  // one thread per connection
  std::string method = "GET";
  std::string target = "/";
  Headers headers;   // Host: 127.0.0.1 is added unless given
  std::string body;  // sent with Content-Length when non-empty
  // Bounds: whichever comes first. Both are required to be finite.
  std::chrono::milliseconds duration{2000};
  int64_t max_requests = 100000;  // across all connections
  std::chrono::milliseconds response_timeout{5000};
  // Reconnect after this many requests on a connection (0: only when the
  // peer closes). Mixes new connections into keep-alive load.
  int requests_per_connection = 0;
};

struct LoadResult {
  int64_t requests = 0;  // responses received
  int64_t failures = 0;  // no complete response (reset, close, timeout, garbage)
  int64_t connects = 0;  // connections opened
  int64_t connect_failures = 0;
  std::map<int, int64_t> statuses;  // status -> count
  std::chrono::microseconds max_latency{0};
  std::vector<std::string> first_errors;  // up to 10 failure descriptions
  int64_t Count(int status) const {
    auto it = statuses.find(status);
    return it == statuses.end() ? 0 : it->second;
  }
  std::string Describe() const;
};

// Runs the load to completion (bounded by duration and max_requests).
LoadResult RunHttpLoad(const LoadOptions& options);

// The same load on background threads: Start, do something (reload, drain,
// ...), then Stop() to join and collect. The destructor stops it too.
class BackgroundLoad {
 public:
  explicit BackgroundLoad(LoadOptions options);
  ~BackgroundLoad();
  BackgroundLoad(const BackgroundLoad&) = delete;
  BackgroundLoad& operator=(const BackgroundLoad&) = delete;
  // Requests answered so far (any status).
  int64_t RequestsSoFar() const;
  // Stops the workers now (in-flight requests finish) and collects.
  LoadResult Stop();
  // Waits for the bounds (duration or max_requests) and collects.
  LoadResult Wait();

 private:
  struct State;
  std::shared_ptr<State> state_;
  std::vector<std::thread> threads_;
  bool joined_ = false;
};

struct WrkResult {
  CommandResult command;
  int64_t requests = 0;
  double requests_per_sec = 0;
  int64_t non_2xx_3xx = 0;
  int64_t socket_errors = 0;  // connect + read + write + timeout
  double p50_ms = -1, p99_ms = -1;
  bool ok() const { return command.exit_code == 0 && requests > 0; }
};
// wrk -t<threads> -c<conns> -d<seconds>s --latency <url>, hard-bounded.
WrkResult RunWrk(const std::string& url, int connections, int seconds, int threads = 1,
                 const std::vector<std::string>& extra_args = {});

struct H2loadResult {
  CommandResult command;
  int64_t total = 0, succeeded = 0, failed = 0, errored = 0, timeout = 0;
  int64_t status_2xx = 0, status_3xx = 0, status_4xx = 0, status_5xx = 0;
  bool ok() const { return command.exit_code == 0 && succeeded > 0; }
};
// h2load <args...> (give -n or -D yourself), hard-bounded by timeout.
H2loadResult RunH2load(const std::vector<std::string>& args,
                       std::chrono::milliseconds timeout = std::chrono::milliseconds(60000));

}  // namespace gh::test

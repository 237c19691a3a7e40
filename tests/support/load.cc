#include "tests/support/load.h"

#include <algorithm>
#include <cstdio>
#include <mutex>
#include <optional>
#include <sstream>

namespace gh::test {

using Clock = std::chrono::steady_clock;

std::string LoadResult::Describe() const {
  std::ostringstream s;
  s << requests << " responses, " << failures << " failures, " << connects << " connects ("
    << connect_failures << " failed), max latency " << max_latency.count() << " us; statuses:";
  for (const auto& [code, n] : statuses)
    s << " " << code << "x" << n;
  for (const auto& e : first_errors)
    s << "\n  " << e;
  return s.str();
}

struct BackgroundLoad::State {
  LoadOptions options;
  Clock::time_point deadline;
  std::atomic<bool> stop{false};
  std::atomic<int64_t> budget{0};  // requests left to start
  std::atomic<int64_t> answered{0};
  std::mutex mu;
  LoadResult result;

  void Worker() {
    std::string request =
        BuildRequest(options.method, options.target, options.headers, options.body);
    LoadResult local;
    std::optional<RawClient> conn;
    int on_conn = 0;
    while (!stop.load() && Clock::now() < deadline) {
      if (budget.fetch_sub(1) <= 0) break;
      if (!conn) {
        conn = RawClient::TryConnect(options.port, std::chrono::milliseconds(2000));
        ++local.connects;
        on_conn = 0;
        if (!conn) {
          ++local.connect_failures;
          ++local.failures;
          if (local.first_errors.size() < 10) local.first_errors.push_back("connect failed");
          continue;
        }
      }
      auto start = Clock::now();
      bool sent = conn->Send(request);
      HttpResponse r;
      if (sent) {
        r = conn->ReadResponse(options.response_timeout,
                               {.head_request = options.method == "HEAD"});
      }
      auto latency = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
      if (!sent || !r.ok) {
        ++local.failures;
        if (local.first_errors.size() < 10) {
          local.first_errors.push_back(sent ? r.Describe() : "send: " + conn->LastError());
        }
        conn.reset();
        continue;
      }
      ++local.requests;
      answered.fetch_add(1);
      ++local.statuses[r.status];
      local.max_latency = std::max(local.max_latency, latency);
      ++on_conn;
      bool closing = r.peer_closed || (r.Header("connection") &&
                                       r.Header("connection")->find("close") != std::string::npos);
      if (closing ||
          (options.requests_per_connection > 0 && on_conn >= options.requests_per_connection)) {
        conn.reset();
      }
    }
    std::lock_guard<std::mutex> lock(mu);
    result.requests += local.requests;
    result.failures += local.failures;
    result.connects += local.connects;
    result.connect_failures += local.connect_failures;
    for (const auto& [k, v] : local.statuses)
      result.statuses[k] += v;
    result.max_latency = std::max(result.max_latency, local.max_latency);
    for (auto& e : local.first_errors) {
      if (result.first_errors.size() < 10) result.first_errors.push_back(std::move(e));
    }
  }
};

BackgroundLoad::BackgroundLoad(LoadOptions options) : state_(std::make_shared<State>()) {
  if (options.port <= 0) throw HarnessError("BackgroundLoad: no port");
  state_->options = std::move(options);
  state_->deadline = Clock::now() + state_->options.duration;
  state_->budget = state_->options.max_requests;
  int n = std::max(1, state_->options.connections);
  for (int i = 0; i < n; ++i) {
    auto st = state_;
    threads_.emplace_back([st] { st->Worker(); });
  }
}

BackgroundLoad::~BackgroundLoad() {
  Stop();
}

int64_t BackgroundLoad::RequestsSoFar() const {
  return state_->answered.load();
}

LoadResult BackgroundLoad::Stop() {
  state_->stop = true;
  return Wait();
}

LoadResult BackgroundLoad::Wait() {
  if (!joined_) {
    for (auto& t : threads_)
      t.join();
    joined_ = true;
  }
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->result;
}

LoadResult RunHttpLoad(const LoadOptions& options) {
  return BackgroundLoad(options).Wait();
}

namespace {

// Lines of a tool's output (no std::regex: GCC 12 warns falsely on it in
// sanitizer builds, and it is slow).
std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    size_t b = line.find_first_not_of(" \t");
    out.push_back(b == std::string::npos ? "" : line.substr(b));
  }
  return out;
}

bool StartsWith(const std::string& s, std::string_view prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

// "356.00us" | "1.23ms" | "2.00s" -> milliseconds; -1 when unparsable.
double ToMs(const std::string& v) {
  double x = 0;
  char unit[8] = {0};
  if (std::sscanf(v.c_str(), "%lf%7s", &x, unit) != 2) return -1;
  std::string_view u(unit);
  if (u == "us") return x / 1000;
  if (u == "ms") return x;
  if (u == "s") return x * 1000;
  return -1;
}

}  // namespace

WrkResult RunWrk(const std::string& url, int connections, int seconds, int threads,
                 const std::vector<std::string>& extra_args) {
  std::vector<std::string> argv = {"wrk", "-t" + std::to_string(threads),
                                   "-c" + std::to_string(connections),
                                   "-d" + std::to_string(seconds) + "s", "--latency"};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  argv.push_back(url);
  WrkResult w;
  w.command = RunCommand(argv, std::chrono::milliseconds((seconds + 30) * 1000));
  for (const std::string& line : Lines(w.command.out)) {
    long long a = 0, b = 0, c = 0, d = 0;
    double x = 0;
    char value[32] = {0};
    if (line.find(" requests in ") != std::string::npos &&
        std::sscanf(line.c_str(), "%lld", &a) == 1) {
      w.requests = a;
    } else if (std::sscanf(line.c_str(), "Requests/sec: %lf", &x) == 1) {
      w.requests_per_sec = x;
    } else if (std::sscanf(line.c_str(), "Non-2xx or 3xx responses: %lld", &a) == 1) {
      w.non_2xx_3xx = a;
    } else if (std::sscanf(line.c_str(),
                           "Socket errors: connect %lld, read %lld, write %lld, timeout %lld", &a,
                           &b, &c, &d) == 4) {
      w.socket_errors = a + b + c + d;
    } else if (StartsWith(line, "50%") && std::sscanf(line.c_str(), "50%% %31s", value) == 1) {
      w.p50_ms = ToMs(value);
    } else if (StartsWith(line, "99%") && std::sscanf(line.c_str(), "99%% %31s", value) == 1) {
      w.p99_ms = ToMs(value);
    }
  }
  return w;
}

H2loadResult RunH2load(const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
  std::vector<std::string> argv = {"h2load"};
  argv.insert(argv.end(), args.begin(), args.end());
  H2loadResult h;
  h.command = RunCommand(argv, timeout);
  for (const std::string& line : Lines(h.command.out)) {
    long long total = 0, started = 0, done = 0, ok = 0, failed = 0, errored = 0, timedout = 0;
    if (std::sscanf(line.c_str(),
                    "requests: %lld total, %lld started, %lld done, %lld succeeded, %lld failed, "
                    "%lld errored, %lld timeout",
                    &total, &started, &done, &ok, &failed, &errored, &timedout) == 7) {
      h.total = total;
      h.succeeded = ok;
      h.failed = failed;
      h.errored = errored;
      h.timeout = timedout;
    }
    long long s2 = 0, s3 = 0, s4 = 0, s5 = 0;
    if (std::sscanf(line.c_str(), "status codes: %lld 2xx, %lld 3xx, %lld 4xx, %lld 5xx", &s2, &s3,
                    &s4, &s5) == 4) {
      h.status_2xx = s2;
      h.status_3xx = s3;
      h.status_4xx = s4;
      h.status_5xx = s5;
    }
  }
  return h;
}

}  // namespace gh::test

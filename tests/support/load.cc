#include "tests/support/load.h"

#include <algorithm>
#include <mutex>
#include <optional>
#include <regex>
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

double ToMs(const std::string& v) {
  std::smatch m;
  static const std::regex kNum(R"(([0-9.]+)(us|ms|s))");
  if (!std::regex_match(v, m, kNum)) return -1;
  double x = std::stod(m[1]);
  if (m[2] == "us") return x / 1000;
  if (m[2] == "s") return x * 1000;
  return x;
}

int64_t FindInt(const std::string& text, const std::regex& re, int group = 1) {
  std::smatch m;
  if (!std::regex_search(text, m, re)) return 0;
  return std::stoll(m[group]);
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
  const std::string& out = w.command.out;
  w.requests = FindInt(out, std::regex(R"((\d+) requests in)"));
  std::smatch m;
  if (std::regex_search(out, m, std::regex(R"(Requests/sec:\s+([0-9.]+))"))) {
    w.requests_per_sec = std::stod(m[1]);
  }
  w.non_2xx_3xx = FindInt(out, std::regex(R"(Non-2xx or 3xx responses: (\d+))"));
  if (std::regex_search(
          out, m,
          std::regex(R"(Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+))"))) {
    w.socket_errors = std::stoll(m[1]) + std::stoll(m[2]) + std::stoll(m[3]) + std::stoll(m[4]);
  }
  if (std::regex_search(out, m, std::regex(R"(\n\s+50%\s+(\S+))"))) w.p50_ms = ToMs(m[1]);
  if (std::regex_search(out, m, std::regex(R"(\n\s+99%\s+(\S+))"))) w.p99_ms = ToMs(m[1]);
  return w;
}

H2loadResult RunH2load(const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
  std::vector<std::string> argv = {"h2load"};
  argv.insert(argv.end(), args.begin(), args.end());
  H2loadResult h;
  h.command = RunCommand(argv, timeout);
  const std::string& out = h.command.out;
  std::smatch m;
  if (std::regex_search(out, m,
                        std::regex(R"(requests: (\d+) total, (\d+) started, (\d+) done, (\d+) )"
                                   R"(succeeded, (\d+) failed, (\d+) errored, (\d+) timeout)"))) {
    h.total = std::stoll(m[1]);
    h.succeeded = std::stoll(m[4]);
    h.failed = std::stoll(m[5]);
    h.errored = std::stoll(m[6]);
    h.timeout = std::stoll(m[7]);
  }
  if (std::regex_search(
          out, m, std::regex(R"(status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx)"))) {
    h.status_2xx = std::stoll(m[1]);
    h.status_3xx = std::stoll(m[2]);
    h.status_4xx = std::stoll(m[3]);
    h.status_5xx = std::stoll(m[4]);
  }
  return h;
}

}  // namespace gh::test

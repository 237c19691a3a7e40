#include "tests/support/upstream.h"

#include <chrono>
#include <thread>

#include "tests/support/data.h"
#include "tests/support/net.h"

namespace gh::test {

UpstreamProcess UpstreamProcess::Start(UpstreamOptions options) {
  std::vector<std::string> argv = {Python(),
                                   UpstreamPy(),
                                   "--host",
                                   "127.0.0.1",
                                   "--port",
                                   std::to_string(options.port),
                                   "--control-port",
                                   "0",
                                   "--mode",
                                   options.mode,
                                   "--name",
                                   options.name,
                                   "--exit-with-parent"};
  if (options.tls) {
    argv.insert(argv.end(), {"--tls", "--cert", options.cert, "--key", options.key});
  }
  if (!options.ca.empty()) argv.insert(argv.end(), {"--ca", options.ca});
  if (options.require_client_cert) argv.push_back("--require-client-cert");
  if (options.verbose) argv.push_back("--verbose");
  argv.insert(argv.end(), options.extra_args.begin(), options.extra_args.end());

  UpstreamProcess up;
  up.options_ = options;
  up.process_ = Process::Spawn(argv);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (true) {
    std::string out = up.process_.ReadStdout();
    auto nl = out.find('\n');
    if (nl != std::string::npos) {
      Json j = ParseJson(std::string_view(out).substr(0, nl));
      up.port_ = j.at("port").get<int>();
      up.control_port_ = j.value("control_port", up.port_);
      return up;
    }
    if (!up.process_.Running()) {
      throw HarnessError("upstream.py exited (" +
                         DescribeWaitStatus(up.process_.ExitStatus().value_or(-1)) +
                         ") before listening: " + up.process_.ReadStderr());
    }
    if (std::chrono::steady_clock::now() > deadline) {
      throw HarnessError("upstream.py did not print its port within 10 s: " +
                         up.process_.ReadStderr());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

std::string UpstreamProcess::Url(std::string_view path) const {
  return std::string(options_.tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_) +
         std::string(path);
}

UpstreamStats UpstreamProcess::Stats() const {
  RawClient c(control_port_);
  c.Send(BuildRequest("GET", "/__stats", {{"Connection", "close"}}));
  HttpResponse r = c.ReadResponse(milliseconds(5000));
  if (!r.ok || r.status != 200) throw HarnessError("GET /__stats failed: " + r.Describe());
  Json j = ParseJson(r.body);
  UpstreamStats s;
  s.accepts = j.value("accepts", int64_t{0});
  s.requests = j.value("requests", int64_t{0});
  s.open_connections = j.value("open_connections", int64_t{0});
  s.bad_requests = j.value("bad_requests", int64_t{0});
  s.websockets = j.value("websockets", int64_t{0});
  return s;
}

void UpstreamProcess::ResetStats() const {
  RawClient c(control_port_);
  c.Send(BuildRequest("POST", "/__reset_stats", {{"Connection", "close"}}));
  HttpResponse r = c.ReadResponse(milliseconds(5000));
  if (!r.ok || r.status != 200) throw HarnessError("POST /__reset_stats failed: " + r.Describe());
}

}  // namespace gh::test

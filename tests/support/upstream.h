// UpstreamProcess: the steerable test upstream (tests/support/upstream.py)
// as a child process. See the top of upstream.py for the request headers that
// steer it (status, delays, sizes, chunking, trailers, resets, close, ...).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/process.h"

namespace gh::test {

struct UpstreamOptions {
  // "http1" (HTTP/1.1 only) or "h2c" (prior-knowledge h2c + HTTP/1.1 on one
  // port; with tls: ALPN h2 and http/1.1).
  std::string mode = "http1";
  std::string name = "upstream";  // echoed as server_name, x-upstream-name
  int port = 0;                   // 0: the upstream picks one
  bool tls = false;
  std::string cert, key;  // server certificate and key (PEM files)
  std::string ca;         // client CA bundle: verify client certs when set
  bool require_client_cert = false;
  bool verbose = false;  // log connections to the process's stderr
  std::vector<std::string> extra_args;
};

struct UpstreamStats {
  int64_t accepts = 0;           // TCP accepts (control connections excluded)
  int64_t requests = 0;          // requests served (control requests excluded)
  int64_t open_connections = 0;  // currently open
  int64_t bad_requests = 0;      // requests answered 400 (malformed)
  int64_t websockets = 0;        // WebSocket upgrades accepted
};

class UpstreamProcess {
 public:
  // Starts /usr/bin/python3 upstream.py and waits (up to 10 s) for its port
  // line. Throws HarnessError with the process's stderr on failure.
  static UpstreamProcess Start(UpstreamOptions options = {});

  int Port() const { return port_; }
  // A plain HTTP/1.1 listener for /__stats, open in every mode (also TLS).
  int ControlPort() const { return control_port_; }
  const std::string& Name() const { return options_.name; }
  // "http://127.0.0.1:<port><path>" (https:// with tls).
  std::string Url(std::string_view path = "/") const;

  // GET /__stats on the control port. Throws HarnessError on failure.
  UpstreamStats Stats() const;
  // POST /__reset_stats on the control port.
  void ResetStats() const;

  int64_t Rss() const { return process_.Rss(); }
  Process& process() { return process_; }
  // SIGTERM, wait up to 5 s, return the wait status.
  int Stop() { return process_.Terminate(); }

 private:
  UpstreamOptions options_;
  Process process_;
  int port_ = 0;
  int control_port_ = 0;
};

}  // namespace gh::test

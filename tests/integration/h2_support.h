// Shared by the HTTP/2 and gRPC integration tests: the raw HTTP/2 client
// (tests/support/h2_client.py) and the gRPC peer (tests/support/grpc_peer.py),
// both run with /usr/bin/python3 and answering one JSON object.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "tests/support/harness.h"

namespace gh::test {

inline std::string SupportScript(const std::string& name) {
  const std::string upstream = UpstreamPy();
  const size_t slash = upstream.rfind('/');
  return (slash == std::string::npos ? std::string(".") : upstream.substr(0, slash)) + "/" + name;
}

// Runs a support script and parses its JSON answer; throws with the output
// when it did not produce one.
inline Json RunScript(const std::string& script, const std::vector<std::string>& args,
                      milliseconds timeout = milliseconds(60000)) {
  std::vector<std::string> argv = {Python(), SupportScript(script)};
  argv.insert(argv.end(), args.begin(), args.end());
  CommandResult r = RunCommand(argv, timeout);
  if (r.exit_code != 0 || r.out.empty()) throw HarnessError(script + " failed: " + r.Describe());
  return ParseJson(r.out);
}

inline Json H2Client(const std::vector<std::string>& args,
                     milliseconds timeout = milliseconds(60000)) {
  return RunScript("h2_client.py", args, timeout);
}

inline Json GrpcCall(const std::vector<std::string>& args,
                     milliseconds timeout = milliseconds(60000)) {
  std::vector<std::string> full = {"client"};
  full.insert(full.end(), args.begin(), args.end());
  return RunScript("grpc_peer.py", full, timeout);
}

// A python3-grpcio server (test.Echo) on a run-time port.
class GrpcServer {
 public:
  GrpcServer() {
    process_ = Process::Spawn({Python(), SupportScript("grpc_peer.py"), "server"});
    if (!process_.WaitForStdout("\"port\"", milliseconds(15000))) {
      throw HarnessError("grpc server did not start: " + process_.ReadStderr());
    }
    port_ = ParseJson(process_.ReadStdout())["port"].get<int>();
  }
  int Port() const { return port_; }
  Process& process() { return process_; }

 private:
  Process process_;
  int port_ = 0;
};

// A response header from an h2_client.py result ([[name, value], ...]).
inline std::optional<std::string> JsonHeader(const Json& fields, std::string_view name) {
  if (!fields.is_array()) return std::nullopt;
  for (const auto& pair : fields) {
    if (pair.at(0).get<std::string>() == name) return pair.at(1).get<std::string>();
  }
  return std::nullopt;
}

}  // namespace gh::test

// GatehouseProcess: the real gatehouse binary ($GATEHOUSE_BIN) run on a
// TOML config written into its own temp dir.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tests/support/process.h"

namespace gh::test {

struct GatehouseOptions {
  // Ports that must accept connections before Start() returns (usually the
  // gateway servers' port numbers you put in the config).
  std::vector<int> wait_ports;
  std::chrono::milliseconds start_timeout{10000};
  // Appended after `run -c <config>`.
  std::vector<std::string> extra_args;
  // "NAME=VALUE" environment overrides.
  std::vector<std::string> env;
  // Extra files written next to the config before start: {name, content}.
  std::vector<std::pair<std::string, std::string>> files;
  // When the config has no [admin] table, append one on a free port so
  // parallel runs never fight over 127.0.0.1:15000. AdminPort() tells it.
  bool add_admin = true;
  // Also wait for the admin port (only when add_admin put it there).
  bool wait_admin = false;
};

class GatehouseProcess {
 public:
  // Writes toml to <dir>/gatehouse.toml, runs `$GATEHOUSE_BIN run -c <file>`,
  // waits for wait_ports. Throws HarnessError (with the gateway's stderr) if
  // it exits first or the ports don't open in time.
  static GatehouseProcess Start(std::string_view toml, GatehouseOptions options = {});

  pid_t Pid() const { return process_.Pid(); }
  Process& process() { return process_; }
  bool Running() { return process_.Running(); }
  bool Signal(int sig) { return process_.Signal(sig); }
  std::optional<int> WaitExit(std::chrono::milliseconds timeout) {
    return process_.WaitExit(timeout);
  }
  // SIGTERM (graceful drain), wait, SIGKILL after grace. Returns wait status.
  int Stop(std::chrono::milliseconds grace = std::chrono::milliseconds(10000)) {
    return process_.Terminate(grace);
  }

  // stdout (the access log when access_log = "stdout") and stderr.
  std::string ReadStdout() const { return process_.ReadStdout(); }
  std::string ReadStderr() const { return process_.ReadStderr(); }
  // Non-empty stdout lines.
  std::vector<std::string> AccessLogLines() const;
  // Waits until stdout has at least n non-empty lines.
  bool WaitForAccessLogLines(size_t n, std::chrono::milliseconds timeout);

  // Rewrites the config file in place (for reload tests; then Signal(SIGHUP)).
  void WriteConfig(std::string_view toml);
  const std::string& ConfigPath() const { return config_path_; }
  const TempDir& dir() const { return dir_; }
  int AdminPort() const { return admin_port_; }  // 0 when the config set its own

  // VmRSS in bytes, -1 once exited.
  int64_t Rss() const { return process_.Rss(); }

 private:
  TempDir dir_;
  std::string config_path_;
  int admin_port_ = 0;
  Process process_;
};

}  // namespace gh::test

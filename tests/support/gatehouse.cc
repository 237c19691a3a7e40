#include "tests/support/gatehouse.h"

#include <sstream>
#include <thread>

#include "tests/support/net.h"

namespace gh::test {
namespace {

// True when a line of the TOML text opens the [admin] table.
bool HasAdminTable(const std::string& toml) {
  std::istringstream in(toml);
  std::string line;
  while (std::getline(in, line)) {
    size_t b = line.find_first_not_of(" \t");
    if (b == std::string::npos || line.compare(b, 7, "[admin]") != 0) continue;
    size_t after = line.find_first_not_of(" \t", b + 7);
    if (after == std::string::npos || line[after] == '#') return true;
  }
  return false;
}

// Appends an [admin] table on *admin_port (picking a free port when it is 0)
// unless the config has its own.
std::string WithAdmin(std::string_view toml, int* admin_port) {
  std::string text(toml);
  if (HasAdminTable(text)) return text;
  if (*admin_port == 0) *admin_port = FreePort();
  text += "\n[admin]\naddress = \"127.0.0.1:" + std::to_string(*admin_port) + "\"\n";
  return text;
}

}  // namespace

GatehouseProcess GatehouseProcess::Start(std::string_view toml, GatehouseOptions options) {
  GatehouseProcess gw;
  gw.config_path_ = gw.dir_.File("gatehouse.toml");
  std::string text = options.add_admin ? WithAdmin(toml, &gw.admin_port_) : std::string(toml);
  WriteFile(gw.config_path_, text);
  for (const auto& [name, content] : options.files)
    WriteFile(gw.dir_.File(name), content);

  std::vector<std::string> argv = {GatehouseBin(), "run", "-c", gw.config_path_};
  argv.insert(argv.end(), options.extra_args.begin(), options.extra_args.end());
  ProcessOptions po;
  po.env = options.env;
  po.output_dir = gw.dir_.path();
  gw.process_ = Process::Spawn(argv, po);

  std::vector<int> ports = options.wait_ports;
  if (options.wait_admin && gw.admin_port_ != 0) ports.push_back(gw.admin_port_);
  auto deadline = std::chrono::steady_clock::now() + options.start_timeout;
  for (int port : ports) {
    while (true) {
      if (!gw.process_.Running()) {
        throw HarnessError("gatehouse exited (" +
                           DescribeWaitStatus(gw.process_.ExitStatus().value_or(-1)) +
                           ") before port " + std::to_string(port) + " accepted. stderr:\n" +
                           gw.process_.ReadStderr() + "\nconfig:\n" + text);
      }
      if (WaitForPort(port, milliseconds(50))) break;
      if (std::chrono::steady_clock::now() > deadline) {
        throw HarnessError("gatehouse did not accept on port " + std::to_string(port) + " within " +
                           std::to_string(options.start_timeout.count()) + " ms. stderr:\n" +
                           gw.process_.ReadStderr());
      }
    }
  }
  return gw;
}

std::vector<std::string> GatehouseProcess::AccessLogLines() const {
  std::vector<std::string> lines;
  std::istringstream in(ReadStdout());
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

bool GatehouseProcess::WaitForAccessLogLines(size_t n, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (AccessLogLines().size() < n) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

void GatehouseProcess::WriteConfig(std::string_view toml) {
  // Write then rename, so a watcher never reads a half-written file.
  std::string tmp = config_path_ + ".tmp";
  WriteFile(tmp, admin_port_ != 0 ? WithAdmin(toml, &admin_port_) : std::string(toml));
  if (std::rename(tmp.c_str(), config_path_.c_str()) != 0) {
    throw HarnessError("rename " + tmp + " -> " + config_path_);
  }
}

}  // namespace gh::test

// Composition root: CLI (run, check, explain, ca, version). The only place
// that knows every layer: it wires the config compiler (control/) into the
// runtime (gateway/) and, later, the admin API on the main loop.
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>

#include "base/log.h"
#include "control/cli.h"
#include "control/compile.h"
#include "control/config_source.h"
#include "control/default_config.h"
#include "control/tls_builder.h"
#include "gateway/server.h"
#include "gateway/timer_queue.h"
#include "tls/ca.h"

namespace {

constexpr const char* kUsage =
    "usage: gatehouse <command> [options]\n"
    "\n"
    "commands:\n"
    "  run [-c FILE|DIR]        run the gateway (no -c: the embedded default config)\n"
    "  check [-c FILE|DIR]      validate a config, print every error, exit 0/1\n"
    "  check --diff OLD NEW     show hosts, routes and clusters added/removed/changed\n"
    "  explain -c PATH --request 'METHOD URL' [-H 'name: value']... [--json]\n"
    "                           show which route a request takes, and why\n"
    "  ca init|issue ...        the mesh CA: create a root, issue X.509-SVIDs\n"
    "  version                  print the version\n";

// Certificate files are re-read this often; changed ones serve new
// handshakes without a restart. Session-ticket keys rotate hourly.
constexpr uint64_t kCertificateRefreshMs = 2000;
constexpr uint64_t kTicketRotationMs = 3600 * 1000;

// Reads and compiles the config at `path` (empty: the embedded default),
// then builds its TLS contexts.
gh::Result<gh::gateway::LoadedConfig> LoadConfig(const std::string& path,
                                                 gh::control::TlsBuilder& tls) {
  std::vector<gh::control::SourceFile> files;
  if (path.empty()) {
    files.push_back(gh::control::DefaultConfigSource());
  } else {
    gh::Result<std::vector<gh::control::SourceFile>> read = gh::control::ReadConfigSource(path);
    if (!read.ok()) return read.error();
    files = std::move(*read);
  }
  gh::control::CompileResult compiled = gh::control::Compile(files);
  std::string errors;
  std::vector<std::string> warnings;
  for (const gh::control::Diagnostic& d : compiled.diagnostics) {
    if (d.severity == gh::control::Severity::kError) {
      errors.append(d.ToString()).push_back('\n');
    } else {
      warnings.push_back(d.ToString());
    }
  }
  if (!compiled.ok()) {
    errors.append(std::to_string(compiled.errors) + " error(s)");
    return gh::MakeError(errors);
  }
  gh::Result<std::shared_ptr<const gh::gateway::TlsState>> contexts = tls.Build(compiled.config);
  if (!contexts.ok()) return gh::MakeError("TLS: " + contexts.error().message);
  gh::gateway::LoadedConfig loaded;
  loaded.config = compiled.config;
  loaded.tls = *contexts;
  loaded.hash = compiled.content_hash;
  loaded.warnings = std::move(warnings);
  return loaded;
}

int Run(int argc, char** argv) {
  std::string path;
  for (int i = 0; i < argc; ++i) {
    if ((std::strcmp(argv[i], "-c") == 0 || std::strcmp(argv[i], "--config") == 0) &&
        i + 1 < argc) {
      path = argv[++i];
    } else {
      std::fprintf(stderr, "gatehouse run: unknown option '%s'\n%s", argv[i], kUsage);
      return 2;
    }
  }
  gh::control::TlsBuilder tls(gh::tls::DiskFileReader(), {});
  gh::gateway::Server server([&] { return LoadConfig(path, tls); });
  gh::Status started = server.Start();
  if (!started.ok()) {
    std::fprintf(stderr, "gatehouse: cannot start:\n%s\n", started.error().message.c_str());
    return 1;
  }
  // Rotated certificate files and mesh SVID renewals reach new handshakes
  // through a fresh snapshot; live connections keep their sessions.
  std::unique_ptr<gh::gateway::Timer> refresh;
  refresh = std::make_unique<gh::gateway::Timer>(server.dispatcher().timers(), [&] {
    std::vector<std::string> problems;
    if (auto fresh = tls.Refresh(&problems)) {
      GH_LOG(kTls, kInfo, "certificates changed: publishing new TLS contexts");
      server.PublishTls(*fresh);
    }
    for (const std::string& problem : problems) {
      GH_LOG(kTls, kError, "certificate reload kept the previous one: " << problem);
    }
    refresh->Arm(kCertificateRefreshMs);
  });
  refresh->Arm(kCertificateRefreshMs);
  std::unique_ptr<gh::gateway::Timer> rotate_tickets;
  rotate_tickets = std::make_unique<gh::gateway::Timer>(server.dispatcher().timers(), [&] {
    tls.RotateTicketKeys();
    rotate_tickets->Arm(kTicketRotationMs);
  });
  rotate_tickets->Arm(kTicketRotationMs);
  GH_LOG(kMain, kInfo,
         "gatehouse " << GATEHOUSE_VERSION << " started with "
                      << (path.empty() ? std::string("the embedded default config") : path));
  return server.Run();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const std::string command = argv[1];
  if (command == "version" || command == "--version") {
    std::printf("gatehouse %s\n", GATEHOUSE_VERSION);
    return 0;
  }
  if (command == "run") return Run(argc - 2, argv + 2);
  if (command == "ca") return gh::tls::RunCaCommand(argc - 1, argv + 1, std::cout, std::cerr);
  if (command == "check") return gh::control::RunCheck(argc - 1, argv + 1, std::cout, std::cerr);
  if (command == "explain") {
    return gh::control::RunExplain(argc - 1, argv + 1, std::cout, std::cerr);
  }
  if (command == "help" || command == "--help" || command == "-h") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  std::fprintf(stderr, "gatehouse: unknown command '%s'\n%s", command.c_str(), kUsage);
  return 2;
}

// The admin side of a running gateway, started by the composition root
// (gateway/main.cc) with one call: the admin HTTP server on `[admin]
// address`, systemd notifications and watchdog, the config file watcher
// (`[proxy] watch_config`), and the main loop's lag probe. Everything runs
// on the server's main loop and closes when the server stops.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "admin/api.h"
#include "base/result.h"
#include "control/tls_builder.h"
#include "gateway/server.h"

namespace gh::admin {

struct Options {
  // The config path given with -c ("" : the embedded default config).
  std::string config_path;
  // Compiles the config without publishing it (POST /reload?dry_run=1).
  gateway::ConfigLoader load;
  // The TLS contexts' builder: /certs lists the certificates it has loaded
  // (and the mesh SVID). Null: the certificate files the running config
  // names, read on request.
  control::TlsBuilder* tls = nullptr;
};

class Runtime;

// Call after Server::Start and before Server::Run. Fails when the admin
// address cannot be bound. Keep the result alive until Run returns.
Result<std::unique_ptr<Runtime>> Start(gateway::Server& server, Options options);

class Runtime {
 public:
  ~Runtime();
  uint16_t admin_port() const;

 private:
  friend Result<std::unique_ptr<Runtime>> Start(gateway::Server& server, Options options);
  struct Impl;
  explicit Runtime(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace gh::admin

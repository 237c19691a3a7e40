#include "admin/admin.h"

#include <unistd.h>

#include <fstream>
#include <sstream>

#include "admin/admin_server.h"
#include "admin/systemd.h"
#include "base/log.h"
#include "base/strings.h"
#include "control/compile.h"
#include "control/config_source.h"
#include "control/config_watcher.h"
#include "control/diff.h"
#include "gateway/loop_lag.h"

namespace gh::admin {
namespace {

const char* StateName(gateway::Server::State state) {
  switch (state) {
    case gateway::Server::State::kInitializing:
      return "INITIALIZING";
    case gateway::Server::State::kLive:
      return "LIVE";
    case gateway::Server::State::kDraining:
      return "DRAINING";
    case gateway::Server::State::kStopped:
      return "STOPPED";
  }
  return "UNKNOWN";
}

Result<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return MakeError("cannot read " + path);
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) return MakeError("error reading " + path);
  return buf.str();
}

}  // namespace

// The Backend over the real server, plus what the admin side owns.
struct Runtime::Impl final : Backend {
  Impl(gateway::Server& s, Options o)
      : server(s), options(std::move(o)), api(*this), admin(s.dispatcher(), api) {}

  // ---- Backend ----
  ServerInfo Info() const override {
    ServerInfo info;
    info.version = GATEHOUSE_VERSION;
    info.state = StateName(server.state());
    info.ready = server.ready();
    info.uptime_seconds = server.uptime_seconds();
    info.workers = server.worker_count();
    info.pid = static_cast<int64_t>(::getpid());
    info.admin_address = admin.address();
    info.config_path = options.config_path;
    info.desired_version = server.desired_version();
    info.applied_versions = server.applied_versions();
    if (gateway::SnapshotPtr current = server.current()) {
      info.config_hash = current->hash;
      info.watch_config = current->config->proxy.watch_config;
    }
    info.last_reload_error = server.last_reload_error();
    info.reloads = server.reloads();
    info.reload_failures = server.reload_failures();
    info.dns_successes = server.dns_successes();
    info.dns_failures = server.dns_failures();
    info.publish_latency_ms = server.publish_latency_ms();
    info.last_publish_latency_ms = server.last_publish_latency_ms();
    info.main_loop_lag = main_lag;
    return info;
  }

  std::shared_ptr<const routing::Config> Config() const override {
    gateway::SnapshotPtr current = server.current();
    return current != nullptr ? current->config : nullptr;
  }

  std::map<std::string, uint16_t> ListenerPorts() const override { return server.listener_ports(); }

  std::map<std::string, std::string> KnownClusterNamespaces() override {
    if (std::shared_ptr<const routing::Config> config = Config()) {
      for (const routing::Cluster& c : config->clusters)
        namespaces[c.name] = c.service_namespace;
    }
    return namespaces;
  }

  void CollectStats(std::function<void(std::vector<gateway::WorkerStats>)> done) override {
    server.CollectWorkerStats(std::move(done));
  }

  Result<uint64_t> Reload() override { return server.Reload(); }

  Result<std::vector<control::ConfigChange>> DryRun() override {
    if (!options.load) return MakeError("dry run unavailable");
    Result<gateway::LoadedConfig> candidate = options.load();
    if (!candidate.ok()) return candidate.error();
    std::shared_ptr<const routing::Config> running = Config();
    if (running == nullptr) return MakeError("no running config");
    return control::DiffConfigs(*running, *candidate->config);
  }

  void Drain() override { server.BeginDrain(); }
  void Quit() override { server.Quit(); }

  std::vector<CertificateEntry> Certificates() override {
    std::shared_ptr<const routing::Config> config = Config();
    if (options.tls == nullptr) {
      return config != nullptr ? ConfigCertificates(*config, ReadWholeFile)
                               : std::vector<CertificateEntry>{};
    }
    // What the TLS contexts actually loaded, with the role the config gives
    // each file.
    const std::vector<CertificateEntry> refs =
        config != nullptr ? CertificateReferences(*config) : std::vector<CertificateEntry>{};
    std::vector<CertificateEntry> out;
    for (const tls::CertStore::Entry& loaded : options.tls->store().Inventory()) {
      bool matched = false;
      for (const CertificateEntry& ref : refs) {
        if (ref.path != loaded.path) continue;
        CertificateEntry e = ref;
        e.chain = {loaded.info};
        out.push_back(std::move(e));
        matched = true;
      }
      if (!matched) out.push_back({loaded.path, "loaded", "", {loaded.info}, ""});
    }
    if (const tls::MeshIdentity* mesh = options.tls->mesh_identity();
        mesh != nullptr && mesh->svid != nullptr) {
      out.push_back(
          {"(mesh SVID)", "mesh", "[mesh] " + mesh->trust_domain, {mesh->svid->info()}, ""});
    }
    return out;
  }

  std::optional<Result<std::string>> AdminToken() override {
    std::shared_ptr<const routing::Config> config = Config();
    if (config == nullptr || config->admin.token_file.empty()) return std::nullopt;
    Result<std::string> content = ReadWholeFile(config->admin.token_file);
    if (!content.ok()) return Result<std::string>(content.error());
    std::string token(TrimOws(*content));
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r'))
      token.pop_back();
    token = std::string(TrimOws(token));
    if (token.empty())
      return Result<std::string>(MakeError(config->admin.token_file + " is empty"));
    return Result<std::string>(std::move(token));
  }

  // ---- config watching ----
  void OnConfigFilesChanged() {
    gateway::SnapshotPtr current = server.current();
    if (current == nullptr || !current->config->proxy.watch_config) return;
    if (server.state() != gateway::Server::State::kLive) return;
    Result<std::vector<control::SourceFile>> files = control::ReadConfigSource(options.config_path);
    if (!files.ok()) {
      // Mid-write or briefly missing: the next event retries.
      GH_LOG(kConfig, kWarn, "config watch: " << files.error().message);
      return;
    }
    const std::string hash = control::ContentHash(*files);
    if (hash == current->hash || hash == last_watched_hash) return;  // nothing new
    last_watched_hash = hash;
    GH_LOG(kConfig, kInfo, "config watch: " << options.config_path << " changed; reloading");
    Result<uint64_t> result = server.Reload();
    (void)result;  // logged and counted by the server
  }

  void Close() {
    admin.Close();
    notifier.reset();
    if (watcher) watcher->Close();
    lag_probe.reset();
  }

  gateway::Server& server;
  Options options;
  Api api;
  AdminServer admin;
  gateway::LoopLag main_lag;
  std::unique_ptr<gateway::LoopLagProbe> lag_probe;
  std::unique_ptr<SystemdNotifier> notifier;
  std::unique_ptr<control::ConfigWatcher> watcher;
  std::map<std::string, std::string> namespaces;
  std::string last_watched_hash;
};

Runtime::Runtime(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Runtime::~Runtime() {
  if (impl_ != nullptr) impl_->Close();
}

uint16_t Runtime::admin_port() const {
  return impl_->admin.port();
}

Result<std::unique_ptr<Runtime>> Start(gateway::Server& server, Options options) {
  gateway::SnapshotPtr current = server.current();
  if (current == nullptr) return MakeError("admin: the server has no config yet");
  auto impl = std::make_unique<Runtime::Impl>(server, std::move(options));
  const std::string& address = current->config->admin.address;
  Status listening = impl->admin.Listen(address);
  if (!listening.ok()) return listening.error();
  GH_LOG(kAdmin, kInfo, "admin listening on " << impl->admin.address());

  impl->lag_probe = std::make_unique<gateway::LoopLagProbe>(server.dispatcher(), impl->main_lag);
  impl->lag_probe->Start();
  impl->notifier = std::make_unique<SystemdNotifier>(server);
  impl->notifier->Start();
  if (!impl->options.config_path.empty()) {
    Runtime::Impl* raw = impl.get();
    impl->watcher = std::make_unique<control::ConfigWatcher>(
        server.dispatcher(), impl->options.config_path, [raw] { raw->OnConfigFilesChanged(); });
    // Always armed (cheap); whether a change reloads follows the running
    // config's watch_config, so a reload can turn it on or off.
    Status watching = impl->watcher->Start();
    if (!watching.ok()) {
      GH_LOG(kConfig, kWarn, watching.error().message);
    } else if (current->config->proxy.watch_config) {
      GH_LOG(kConfig, kInfo,
             "watch_config: reloading when " << impl->options.config_path << " changes");
    }
  } else if (current->config->proxy.watch_config) {
    GH_LOG(kConfig, kWarn, "watch_config ignored: running the embedded default config");
  }
  Runtime::Impl* raw = impl.get();
  server.OnStop([raw] { raw->Close(); });
  return std::unique_ptr<Runtime>(new Runtime(std::move(impl)));
}

}  // namespace gh::admin

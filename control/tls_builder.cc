#include "control/tls_builder.h"

#include "tls/ca.h"
#include "tls/client_context.h"
#include "tls/server_context.h"
#include "tls/spiffe.h"

namespace gh::control {
namespace {

bool Terminates(routing::ListenerKind kind) {
  return kind == routing::ListenerKind::kHttps || kind == routing::ListenerKind::kTlsTerminated;
}

}  // namespace

TlsBuilder::TlsBuilder(tls::FileReader reader, Options options)
    : store_(reader),
      reader_(std::move(reader)),
      options_(std::move(options)),
      random_(EntropySeed()) {}

Status TlsBuilder::EnsureMeshIdentity(const routing::MeshSettings& mesh, bool force) {
  if (!mesh.enabled) {
    mesh_.reset();
    next_renewal_.reset();
    return Status::Ok();
  }
  if (mesh.ca_dir.empty()) return MakeError("[mesh] enabled needs ca_dir (gatehouse ca init)");
  if (mesh_.has_value() && !force && mesh_->trust_domain == mesh.trust_domain) return Status::Ok();
  Result<std::string> cert = reader_(mesh.ca_dir + "/root-cert.pem");
  if (!cert.ok()) return cert.error();
  Result<std::string> key = reader_(mesh.ca_dir + "/root-key.pem");
  if (!key.ok()) return key.error();
  Result<std::shared_ptr<const tls::CertifiedKey>> ca =
      tls::CertifiedKey::FromPem(*cert, *key, mesh.ca_dir);
  if (!ca.ok()) return MakeError("mesh CA in " + mesh.ca_dir + ": " + ca.error().message);
  Result<tls::SpiffeId> id =
      tls::MakeSpiffeId(mesh.trust_domain, mesh.namespace_name, mesh.service_account);
  if (!id.ok()) return id.error();
  const auto ttl = std::chrono::duration_cast<std::chrono::seconds>(mesh.certificate_ttl);
  Result<tls::MeshIdentity> identity = tls::IssueMeshIdentity(**ca, *id, ttl, tls::NowSeconds());
  if (!identity.ok()) return MakeError("mesh identity: " + identity.error().message);
  mesh_ca_ = *ca;
  mesh_ = std::move(*identity);
  // Half of the lifetime from now (the certificate itself is backdated a
  // little for clock skew, which must not pull the renewal forward).
  next_renewal_ = tls::NextRenewalTime(tls::NowSeconds(), mesh_->svid->info().not_after, random_);
  return Status::Ok();
}

Result<std::shared_ptr<const gateway::TlsState>> TlsBuilder::Build(
    const std::shared_ptr<const routing::Config>& config) {
  if (Status mesh = EnsureMeshIdentity(config->mesh, false); !mesh.ok()) return mesh.error();
  Result<std::shared_ptr<const gateway::TlsState>> state = BuildFrom(*config);
  if (state.ok()) last_config_ = config;
  return state;
}

Result<std::shared_ptr<const gateway::TlsState>> TlsBuilder::BuildFrom(
    const routing::Config& config) {
  auto state = std::make_shared<gateway::TlsState>();
  std::string errors;
  const tls::MeshIdentity* mesh = mesh_identity();

  for (const routing::Listener& listener : config.listeners) {
    if (!Terminates(listener.kind)) continue;
    if (ticket_keys_ == nullptr) {
      Result<std::shared_ptr<tls::TicketKeySet>> keys = tls::TicketKeySet::Create();
      if (!keys.ok()) return keys.error();
      ticket_keys_ = *keys;
    }
    std::vector<tls::ServerSpec> specs;
    for (const routing::Server& server : listener.servers) {
      specs.push_back({server.name, server.hosts, server.tls.value_or(routing::ServerTls{})});
    }
    tls::ListenerTlsOptions options;
    options.alpn = listener.kind == routing::ListenerKind::kHttps ? options_.http_alpn
                                                                  : std::vector<std::string>{};
    options.default_server = config.proxy.tls_reject_unknown_sni
                                 ? std::nullopt
                                 : std::optional<uint32_t>(listener.default_server);
    options.ticket_keys = ticket_keys_;
    Result<std::shared_ptr<const tls::ServerContext>> context =
        tls::ServerContext::Build(std::move(specs), options, store_, mesh);
    if (!context.ok()) {
      errors += "listener " + listener.name + ": " + context.error().message + "\n";
      continue;
    }
    state->listeners[listener.name] = *context;
  }

  state->clusters.resize(config.clusters.size());
  for (size_t i = 0; i < config.clusters.size(); ++i) {
    const routing::Cluster& cluster = config.clusters[i];
    if (cluster.tls.mode == routing::UpstreamTlsMode::kDisable) continue;
    tls::ClientOptions options;
    // An h2 cluster talks HTTP/2 only if the origin agrees through ALPN.
    options.alpn = cluster.protocol == routing::UpstreamProtocol::kH2
                       ? std::vector<std::string>{"h2"}
                       : std::vector<std::string>{"http/1.1"};
    if (cluster.tls.mode == routing::UpstreamTlsMode::kIstioMutual) {
      for (const routing::Endpoint& endpoint : cluster.endpoints) {
        if (endpoint.service_account.empty()) continue;
        Result<tls::SpiffeId> id = tls::MakeSpiffeId(
            config.mesh.trust_domain, cluster.service_namespace, endpoint.service_account);
        if (id.ok()) options.expected_identities.push_back(id->ToString());
      }
      for (const std::string& san : cluster.subject_alt_names) {
        options.expected_identities.push_back(san);
      }
    }
    Result<std::shared_ptr<const tls::ClientContext>> context =
        tls::ClientContext::Build(cluster.tls, options, store_, mesh);
    if (!context.ok()) {
      errors += "cluster " + cluster.name + ": " + context.error().message + "\n";
      continue;
    }
    state->clusters[i] = *context;
  }
  if (!errors.empty()) {
    errors.pop_back();
    return MakeError(errors);
  }
  return std::shared_ptr<const gateway::TlsState>(std::move(state));
}

std::optional<std::shared_ptr<const gateway::TlsState>> TlsBuilder::Refresh(
    std::vector<std::string>* problems) {
  if (last_config_ == nullptr) return std::nullopt;
  bool changed = false;
  const tls::CertStore::ReloadReport report = store_.Reload();
  for (const std::string& error : report.errors)
    problems->push_back(error);
  if (!report.changed.empty()) changed = true;
  if (next_renewal_.has_value() && tls::NowSeconds() >= *next_renewal_) {
    Status renewed = EnsureMeshIdentity(last_config_->mesh, true);
    if (!renewed.ok()) {
      problems->push_back("mesh SVID renewal: " + renewed.error().message);
    } else {
      changed = true;
    }
  }
  if (!changed) return std::nullopt;
  Result<std::shared_ptr<const gateway::TlsState>> state = BuildFrom(*last_config_);
  if (!state.ok()) {
    problems->push_back(state.error().message);
    return std::nullopt;
  }
  return *state;
}

void TlsBuilder::RotateTicketKeys() {
  if (ticket_keys_ != nullptr) {
    Status rotated = ticket_keys_->RotateRandom();
    (void)rotated;
  }
}

}  // namespace gh::control

// Builds the TLS half of a snapshot on the main thread: server contexts for
// terminating listeners, client contexts for clusters that originate TLS,
// and the gateway's own mesh identity (an SVID from the embedded CA, renewed
// at half its lifetime). It owns the certificate store, so the same object
// notices changed certificate files and rebuilds the contexts.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/random.h"
#include "base/result.h"
#include "gateway/snapshot.h"
#include "routing/model.h"
#include "tls/cert_store.h"
#include "tls/ticket_keys.h"

namespace gh::control {

class TlsBuilder {
 public:
  struct Options {
    // ALPN for HTTPS listeners, in preference order.
    std::vector<std::string> http_alpn = {"h2", "http/1.1"};
  };

  TlsBuilder(tls::FileReader reader, Options options);

  // Every context `config` needs; null when nothing in it uses TLS. All
  // errors at once, one per line.
  Result<std::shared_ptr<const gateway::TlsState>> Build(
      const std::shared_ptr<const routing::Config>& config);

  // Re-reads the certificate files in use (and renews the mesh SVID when
  // due). Returns new contexts for the last built config when anything
  // changed, nullopt otherwise. Broken new files keep the old certificates
  // and are reported through `problems`.
  std::optional<std::shared_ptr<const gateway::TlsState>> Refresh(
      std::vector<std::string>* problems);

  // Rotates the session-ticket key (the previous one still decrypts).
  void RotateTicketKeys();

  tls::CertStore& store() { return store_; }
  const tls::MeshIdentity* mesh_identity() const { return mesh_.has_value() ? &*mesh_ : nullptr; }
  // When the mesh SVID should be renewed next (nullopt: no mesh identity).
  std::optional<tls::UnixSeconds> next_renewal() const { return next_renewal_; }

 private:
  Status EnsureMeshIdentity(const routing::MeshSettings& mesh, bool force);
  Result<std::shared_ptr<const gateway::TlsState>> BuildFrom(const routing::Config& config);

  tls::CertStore store_;
  tls::FileReader reader_;
  Options options_;
  std::shared_ptr<tls::TicketKeySet> ticket_keys_;
  std::optional<tls::MeshIdentity> mesh_;
  std::optional<tls::UnixSeconds> next_renewal_;
  std::shared_ptr<const tls::CertifiedKey> mesh_ca_;
  std::shared_ptr<const routing::Config> last_config_;
  FastRandom random_;
};

}  // namespace gh::control

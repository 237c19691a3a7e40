// One immutable configuration version as the data plane sees it. Built on the
// main thread (control/), posted to every worker as shared_ptr<const>, pinned
// by each stream for its whole life.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <map>
#include <vector>

#include "routing/model.h"
#include "tls/client_context.h"
#include "tls/server_context.h"

namespace gh::gateway {

// TLS contexts built from one config (certificate files read, SSL_CTX made)
// on the main thread; immutable and shared by every worker.
struct TlsState {
  // Terminating listeners (HTTPS, TLS-terminated), by listener name. Server
  // i of the context is Server i of the listener.
  std::map<std::string, std::shared_ptr<const tls::ServerContext>> listeners;
  // Upstream TLS origination per cluster, indexed like config->clusters;
  // null for plaintext clusters.
  std::vector<std::shared_ptr<const tls::ClientContext>> clusters;
};

struct Snapshot {
  uint64_t version = 0;
  std::string hash;  // content hash of the source config
  std::shared_ptr<const routing::Config> config;
  std::shared_ptr<const TlsState> tls;  // never null once published

  std::shared_ptr<const tls::ServerContext> ListenerTls(const std::string& name) const {
    auto it = tls->listeners.find(name);
    return it == tls->listeners.end() ? nullptr : it->second;
  }
  std::shared_ptr<const tls::ClientContext> ClusterTls(uint32_t cluster) const {
    return cluster < tls->clusters.size() ? tls->clusters[cluster] : nullptr;
  }
};

using SnapshotPtr = std::shared_ptr<const Snapshot>;

}  // namespace gh::gateway

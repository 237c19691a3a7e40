// One immutable configuration version as the data plane sees it. Built on the
// main thread (control/), posted to every worker as shared_ptr<const>, pinned
// by each stream for its whole life.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "routing/model.h"

namespace gh::gateway {

struct Snapshot {
  uint64_t version = 0;
  std::string hash;  // content hash of the source config
  std::shared_ptr<const routing::Config> config;
  // Opaque per-listener TLS state (tls/), keyed like config->listeners.
  std::shared_ptr<const void> tls;
};

using SnapshotPtr = std::shared_ptr<const Snapshot>;

}  // namespace gh::gateway

#include "routing/server_select.h"

#include "base/strings.h"
#include "routing/host.h"

namespace gh::routing {
namespace {

// 3: exact, 2: wildcard (plus suffix length in `len`), 1: "*", 0: none.
int Specificity(const Server& server, std::string_view host, size_t& len) {
  int best = 0;
  len = 0;
  for (const std::string& pattern : server.hosts) {
    if (!HostMatches(pattern, host)) continue;
    if (pattern == "*") {
      best = std::max(best, 1);
    } else if (IsWildcardHost(pattern)) {
      if (best < 2 || (best == 2 && pattern.size() > len)) {
        best = 2;
        len = pattern.size();
      }
    } else {
      best = 3;
    }
  }
  return best;
}

}  // namespace

const Server* SelectServerBySni(const Listener& listener, std::string_view sni) {
  if (listener.servers.empty()) return nullptr;
  const Server* fallback =
      &listener.servers[std::min<size_t>(listener.default_server, listener.servers.size() - 1)];
  if (sni.empty()) return fallback;
  const std::string host = AsciiLowered(sni);
  const Server* best = nullptr;
  int best_rank = 0;
  size_t best_len = 0;
  for (const Server& server : listener.servers) {
    size_t len = 0;
    const int rank = Specificity(server, host, len);
    if (rank > best_rank || (rank == best_rank && rank == 2 && len > best_len)) {
      best = &server;
      best_rank = rank;
      best_len = len;
    }
  }
  return best != nullptr ? best : fallback;
}

bool ServerCoversHost(const Server& server, std::string_view host) {
  const std::string lowered = AsciiLowered(StripPort(host));
  size_t len = 0;
  return Specificity(server, lowered, len) > 0;
}

bool OtherServerCovers(const Listener& listener, const Server* current, std::string_view host) {
  const std::string lowered = AsciiLowered(StripPort(host));
  size_t current_len = 0;
  const int current_rank = current ? Specificity(*current, lowered, current_len) : 0;
  for (const Server& server : listener.servers) {
    if (&server == current) continue;
    size_t len = 0;
    const int rank = Specificity(server, lowered, len);
    if (rank == 0) continue;
    // Another server is a better (more specific) owner of this host: the
    // request was coalesced onto the wrong connection.
    if (rank > current_rank || (rank == 2 && current_rank == 2 && len > current_len)) return true;
  }
  return false;
}

}  // namespace gh::routing

// Listener -> server selection for the data plane. Pure.
#pragma once

#include <string_view>

#include "routing/model.h"

namespace gh::routing {

// Which server of a TLS listener answers a ClientHello with `sni`: an exact
// host beats the longest wildcard suffix, which beats "*"; no SNI, or an SNI
// no server claims, gets Listener::default_server. Never null for a listener
// with servers.
const Server* SelectServerBySni(const Listener& listener, std::string_view sni);

// Does `server` claim `host` (port ignored, case-insensitive)?
bool ServerCoversHost(const Server& server, std::string_view host);

// For 421 Misdirected Request (Gateway API "misdirected requests"): true
// when another server of the same listener owns `host` more specifically than
// `current` (the server the connection's SNI selected) does - including when
// `current` does not cover it at all. HTTP/2 connection coalescing onto a
// wildcard certificate is the typical cause.
bool OtherServerCovers(const Listener& listener, const Server* current, std::string_view host);

}  // namespace gh::routing

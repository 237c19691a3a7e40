// What the api*.cc files share: the JSON spellings of routing values and the
// handlers that answer later (stats) or decide more than one status (reload).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>

#include "admin/api.h"

namespace gh::admin::api_internal {

// api_json_values.cc
const char* Name(routing::AccessLogFormat f);
const char* Name(routing::DnsLookupFamily f);
const char* Name(routing::ListenerKind k);
const char* Name(routing::ServerProtocol p);
const char* Name(routing::ServerTlsMode m);
const char* Name(routing::UpstreamTlsMode m);
const char* Name(routing::LbPolicy p);
const char* Name(routing::UpstreamProtocol p);
const char* Name(routing::Resolution r);
int64_t Ms(routing::Millis ms);
// uint32 "unlimited" sentinels print as null.
nlohmann::json Limit(uint64_t value, uint64_t unlimited);

// api_stats.cc
void HandleStats(Backend& backend, const Request& request, Reply reply, bool prometheus);
// api_reload.cc
void HandleReload(Backend& backend, const Request& request, Reply reply);

}  // namespace gh::admin::api_internal

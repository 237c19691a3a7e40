// What the decode_*.cc files share: the kind decoders that decode.cc
// dispatches to and the value decoders several kinds use. Not a public API.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/strings.h"
#include "control/resources.h"
#include "control/toml_reader.h"
#include "routing/host.h"

namespace gh::control::decode_internal {

using routing::Millis;
using routing::StringMatcher;

// ---------------------------------------------- kinds (decode.cc calls) ---

// decode_settings.cc
void DecodeProxy(Obj o, routing::ProxySettings& p);
void DecodeAdmin(Obj o, routing::AdminSettings& a);
void DecodeMesh(Obj o, routing::MeshSettings& m);

// decode_gateway.cc, decode_virtual_service.cc, decode_service_entry.cc,
// decode_destination_rule.cc
void DecodeGateway(Obj o, std::vector<GatewaySpec>& out);
void DecodeVirtualService(Obj o, std::vector<VirtualServiceSpec>& out);
void DecodeServiceEntry(Obj o, std::vector<ServiceEntrySpec>& out);
void DecodeDestinationRule(Obj o, std::vector<DestinationRuleSpec>& out);

// ------------------------------------ shared values (decode_values.cc) ---

std::string Quoted(std::string_view s);

// name + namespace, renaming the path to kind["name"].
bool DecodeMeta(Obj& o, std::string_view kind, std::string& name, std::string& ns);

// StringMatch: exactly one of exact / prefix / regex. `{}` means present when
// `allow_present`. Returns null on error (already reported).
std::shared_ptr<const StringMatcher> DecodeStringMatch(Obj o, bool allow_present,
                                                       bool allow_empty_prefix,
                                                       bool ignore_case = false);

// headers = { request = { set, add, remove }, response = { ... } }
void DecodeHeaders(Obj o, routing::HeaderOps& req, routing::HeaderOps& resp,
                   std::optional<std::string>& authority);

std::optional<double> DecodePercent(Obj& o, std::string_view key);
DestinationSpec DecodeDestination(Obj o);
RouteDestinationSpec DecodeRouteDestination(Obj o, bool http);
PortSpec DecodePort(Obj o, bool gateway);

// ---------------- http route blocks (decode_route_policies.cc) ---

routing::RedirectAction DecodeRedirect(Obj o);
routing::DirectResponseAction DecodeDirectResponse(Obj o);
routing::RetryPolicy DecodeRetries(Obj o);
routing::Fault DecodeFault(Obj o);
routing::CorsPolicy DecodeCors(Obj o);

}  // namespace gh::control::decode_internal

// Listeners: gateway servers grouped by bind address and port, checked for
// clashes between them, each with its route tables.
#include <map>

#include "control/compile_internal.h"

namespace gh::control::compile_internal {
namespace {

// Which kind of listener a server makes, or nullopt on error (reported).
std::optional<routing::ListenerKind> ServerKind(const ServerSpec& s, DiagnosticSink& sink) {
  const std::string& p = s.port.protocol;
  using K = routing::ListenerKind;
  using M = routing::ServerTlsMode;
  if (p.empty()) return std::nullopt;
  if (p == "HTTP" || p == "HTTP2" || p == "GRPC" || p == "GRPC-WEB") {
    if (s.tls) {
      sink.Error(s.where, "plain " + p +
                              " servers may only carry tls.https_redirect; use "
                              "protocol HTTPS to terminate TLS");
      return std::nullopt;
    }
    return K::kHttp;
  }
  if (s.https_redirect)
    sink.Warning(s.where, "tls.https_redirect only applies to plain HTTP servers");
  if (p == "HTTPS" || p == "TLS") {
    if (!s.tls) {
      sink.Error(s.where, p + " servers need a \"tls\" block");
      return std::nullopt;
    }
    if (s.tls->mode == M::kPassthrough) return K::kTlsPassthrough;
    if (s.tls->mode == M::kAutoPassthrough) return std::nullopt;
    return p == "HTTPS" ? K::kHttps : K::kTlsTerminated;
  }
  // TCP, MONGO, REDIS, MYSQL: opaque TCP.
  if (s.tls) {
    sink.Error(s.where, "a " + p + " server cannot have a \"tls\" block; use protocol TLS");
    return std::nullopt;
  }
  return K::kTcp;
}

const char* KindName(routing::ListenerKind k) {
  switch (k) {
    case routing::ListenerKind::kHttp:
      return "plain HTTP";
    case routing::ListenerKind::kHttps:
      return "HTTPS (terminated)";
    case routing::ListenerKind::kTlsTerminated:
      return "TLS (terminated, TCP routes)";
    case routing::ListenerKind::kTlsPassthrough:
      return "TLS passthrough";
    case routing::ListenerKind::kTcp:
      return "TCP";
  }
  return "";
}

routing::ServerProtocol ToServerProtocol(const std::string& p) {
  using P = routing::ServerProtocol;
  if (p == "HTTP") return P::kHttp;
  if (p == "HTTPS") return P::kHttps;
  if (p == "HTTP2") return P::kHttp2;
  if (p == "GRPC") return P::kGrpc;
  if (p == "GRPC-WEB") return P::kGrpcWeb;
  if (p == "TLS") return P::kTls;
  return P::kTcp;
}

}  // namespace

void Compiler::BuildListeners(routing::Config& out) {
  // Group servers by (bind, port) in file order.
  std::vector<std::pair<std::string, std::vector<ServerRef>>> groups;
  std::map<std::string, size_t> group_index;
  for (const GatewaySpec& g : r_.gateways) {
    const std::string key = g.ns + "/" + g.name;
    std::map<std::string, const ServerSpec*> port_names;
    for (const ServerSpec& s : g.servers) {
      if (!s.port.name.empty()) {
        auto [it, inserted] = port_names.emplace(s.port.name, &s);
        if (!inserted && !(it->second->port.number == s.port.number && it->second->bind == s.bind &&
                           s.port.protocol == "HTTP" && it->second->port.protocol == "HTTP"))
          sink_.Error(s.port.where,
                      "duplicate port name " + Quoted(s.port.name) + " in gateway " + Quoted(key));
      }
      const auto kind = ServerKind(s, sink_);
      if (!kind) continue;
      if (s.port.number == 0) {
        sink_.Error(s.port.where, "port number 0 is only allowed for unix sockets");
        continue;
      }
      const std::string bind = s.bind.empty() ? "0.0.0.0" : s.bind;
      const std::string lkey = bind + "_" + std::to_string(s.port.number);
      auto [it, inserted] = group_index.emplace(lkey, groups.size());
      if (inserted) groups.push_back({lkey, {}});
      groups[it->second].second.push_back({&g, &s, key, *kind});
    }
  }
  for (auto& [lkey, refs] : groups) {
    routing::Listener l;
    l.name = lkey;
    l.bind = refs[0].server->bind.empty() ? "0.0.0.0" : refs[0].server->bind;
    l.port = static_cast<uint16_t>(refs[0].server->port.number);
    l.kind = refs[0].kind;
    bool ok = true;
    for (const ServerRef& r : refs) {
      if (r.kind != l.kind) {
        sink_.Error(r.server->where, "protocol clash on " + l.bind + ":" + std::to_string(l.port) +
                                         ": this " + "server is " + KindName(r.kind) +
                                         " but gateway " + Quoted(refs[0].gateway_key) +
                                         " already serves " + KindName(l.kind) + " there");
        ok = false;
      }
    }
    // Duplicate hosts and port names across the servers of one listener.
    std::map<std::string, const ServerRef*> hosts;
    std::map<std::string, const ServerRef*> names;
    for (const ServerRef& r : refs) {
      for (const ServerHost& h : r.server->hosts) {
        auto [it, inserted] = hosts.emplace(h.host, &r);
        if (!inserted && it->second->server != r.server) {
          sink_.Error(h.where, "host " + Quoted(h.host) + " on " + l.bind + ":" +
                                   std::to_string(l.port) +
                                   " is already claimed by a server of gateway " +
                                   Quoted(it->second->gateway_key) + " (" +
                                   Loc(it->second->server->where) + ")");
          ok = false;
        } else if (!inserted) {
          sink_.Error(h.where, "duplicate host " + Quoted(h.host) + " in one server");
          ok = false;
        }
      }
      if (l.kind != routing::ListenerKind::kHttp && l.kind != routing::ListenerKind::kTcp &&
          !r.server->port.name.empty()) {
        auto [it, inserted] = names.emplace(r.server->port.name, &r);
        if (!inserted && it->second->gateway != r.gateway) {
          sink_.Error(r.server->port.where, "duplicate port name " + Quoted(r.server->port.name) +
                                                " on " + l.bind + ":" + std::to_string(l.port) +
                                                ": gateway " + Quoted(it->second->gateway_key) +
                                                " uses it too");
          ok = false;
        }
      }
    }
    // Default server and route order.
    int explicit_default = -1;
    int star = -1;
    for (size_t i = 0; i < refs.size(); ++i) {
      const ServerSpec& s = *refs[i].server;
      if (s.default_server) {
        if (explicit_default >= 0) {
          sink_.Error(s.where, "two default servers on " + l.bind + ":" + std::to_string(l.port));
          ok = false;
        }
        explicit_default = static_cast<int>(i);
      }
      for (const ServerHost& h : s.hosts) {
        if (h.host == "*" && star < 0) star = static_cast<int>(i);
      }
      if (s.route_order != refs[0].server->route_order && l.kind == routing::ListenerKind::kHttp) {
        sink_.Error(s.where, "servers sharing plain-HTTP port " + std::to_string(l.port) +
                                 " disagree on route_order");
        ok = false;
      }
    }
    if (!ok) continue;
    l.default_server = static_cast<uint32_t>(explicit_default >= 0 ? explicit_default
                                             : star >= 0           ? star
                                                                   : 0);
    std::vector<const ServerRef*> all;
    for (const ServerRef& r : refs)
      all.push_back(&r);
    std::shared_ptr<const routing::HttpRouteTable> shared;
    if (l.kind == routing::ListenerKind::kHttp)
      shared = BuildHttpTable(all, l.port, refs[0].server->route_order);
    if (l.kind == routing::ListenerKind::kTcp || l.kind == routing::ListenerKind::kTlsTerminated)
      l.tcp_routes = BuildTcpTable(all, l.port, false);
    if (l.kind == routing::ListenerKind::kTlsPassthrough)
      l.tcp_routes = BuildTcpTable(all, l.port, true);
    for (size_t i = 0; i < refs.size(); ++i) {
      const ServerRef& r = refs[i];
      routing::Server s;
      s.gateway = r.gateway_key;
      s.name = r.server->name.empty()
                   ? r.gateway_key + "/" + std::to_string(r.server - r.gateway->servers.data())
                   : r.server->name;
      s.port_name = r.server->port.name;
      s.protocol = ToServerProtocol(r.server->port.protocol);
      for (const ServerHost& h : r.server->hosts)
        s.hosts.push_back(h.host);
      s.tls = r.server->tls;
      s.https_redirect = r.server->https_redirect;
      if (l.kind == routing::ListenerKind::kHttp) s.http_routes = shared;
      if (l.kind == routing::ListenerKind::kHttps)
        s.http_routes = BuildHttpTable({&r}, l.port, r.server->route_order);
      l.servers.push_back(std::move(s));
    }
    out.listeners.push_back(std::move(l));
  }
  for (const CompiledVs& c : vss_) {
    if (!bound_vs_.contains(c.order) && !c.gateways.empty())
      sink_.Warning(c.spec->where, "virtual service " + Quoted(c.spec->name) +
                                       " matches no host of its gateways' servers and "
                                       "serves nothing");
  }
}

}  // namespace gh::control::compile_internal

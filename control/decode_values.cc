// The value decoders every resource kind shares: name + namespace, string
// matches, header operations, destinations, ports.
#include <algorithm>
#include <cctype>
#include <set>

#include "control/decode_internal.h"

namespace gh::control::decode_internal {
namespace {

bool IsValidHeaderName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                    c == '.' || c == '!' || c == '#' || c == '$' || c == '%' || c == '&' ||
                    c == '\'' || c == '*' || c == '+' || c == '^' || c == '`' || c == '|' ||
                    c == '~';
    if (!ok) return false;
  }
  return true;
}

// headers = { request = { set, add, remove }, response = { ... } }
void DecodeHeaderOps(Obj o, routing::HeaderOps& ops, std::optional<std::string>* authority,
                     bool request) {
  auto read_map = [&](std::string_view key, std::vector<http::Header>& out) {
    auto m = o.StringMap(key);
    for (auto& [name, value] : m) {
      std::string lower = AsciiLowered(name);
      const Where w = o.At(key);
      if (request && (lower == ":authority" || lower == "host") && authority != nullptr) {
        // Istio: set beats add for the authority rewrite.
        if (key == "set" || !authority->has_value()) *authority = value;
        continue;
      }
      if (lower.starts_with(':') || lower == "host") {
        o.sink().Error(w, "header " + Quoted(name) + " cannot be modified" +
                              (request ? "" : " in a response"));
        continue;
      }
      if (!IsValidHeaderName(lower)) {
        o.sink().Error(w, "invalid header name " + Quoted(name));
        continue;
      }
      if (value.find_first_of("\r\n") != std::string::npos ||
          value.find('\0') != std::string::npos) {
        o.sink().Error(w, "header value for " + Quoted(name) + " contains CR, LF or NUL");
        continue;
      }
      out.push_back({std::move(lower), std::move(value)});
    }
    std::sort(out.begin(), out.end(),
              [](const http::Header& a, const http::Header& b) { return a.name < b.name; });
  };
  read_map("set", ops.set);
  read_map("add", ops.add);
  std::vector<Where> where;
  for (std::string& name : o.Strings("remove", &where)) {
    std::string lower = AsciiLowered(name);
    if (lower.starts_with(':') || lower == "host") {
      o.sink().Error(o.At("remove"), "header " + Quoted(name) + " cannot be removed");
      continue;
    }
    ops.remove.push_back(std::move(lower));
  }
  std::sort(ops.remove.begin(), ops.remove.end());
  o.Finish();
}

const std::set<std::string_view> kProtocols = {"HTTP",  "HTTPS", "GRPC",  "GRPC-WEB", "HTTP2",
                                               "MONGO", "REDIS", "MYSQL", "TCP",      "TLS"};

}  // namespace

std::string Quoted(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

bool DecodeMeta(Obj& o, std::string_view kind, std::string& name, std::string& ns) {
  const auto n = o.Str("name", true);
  if (auto v = o.Str("namespace")) ns = *v;
  if (ns.empty()) ns = "default";
  if (!n) return false;
  if (n->empty()) {
    o.sink().Error(o.At("name"), "\"name\" must not be empty");
    return false;
  }
  name = *n;
  o.Rename(std::string(kind) + "[" + Quoted(name) + "]");
  return true;
}

std::shared_ptr<const StringMatcher> DecodeStringMatch(Obj o, bool allow_present,
                                                       bool allow_empty_prefix, bool ignore_case) {
  const auto exact = o.Str("exact");
  const auto prefix = o.Str("prefix");
  const auto regex = o.Str("regex");
  o.Finish();
  routing::MatcherCache& cache = o.cache();
  const int count = (exact ? 1 : 0) + (prefix ? 1 : 0) + (regex ? 1 : 0);
  if (count == 0) {
    if (allow_present) return cache.Present();
    o.sink().Error(o.where(), "a string match needs one of \"exact\", \"prefix\" or \"regex\"");
    return nullptr;
  }
  if (count > 1) {
    o.sink().Error(o.where(),
                   "a string match takes only one of \"exact\", \"prefix\" or \"regex\"");
    return nullptr;
  }
  if (exact) return cache.Exact(*exact, ignore_case);
  if (prefix) {
    if (prefix->empty() && !allow_empty_prefix) {
      o.sink().Error(o.At("prefix"), "\"prefix\" must not be empty");
      return nullptr;
    }
    return cache.Prefix(*prefix, ignore_case);
  }
  if (regex->empty()) {
    o.sink().Error(o.At("regex"), "\"regex\" must not be empty");
    return nullptr;
  }
  // Istio: a header regex of "*" means "present".
  if (allow_present && *regex == "*") return cache.Present();
  auto compiled = cache.Regex(*regex);
  if (!compiled) {
    o.sink().Error(o.At("regex"), compiled.error().message);
    return nullptr;
  }
  return *compiled;
}

void DecodeHeaders(Obj o, routing::HeaderOps& req, routing::HeaderOps& resp,
                   std::optional<std::string>& authority) {
  if (auto r = o.Table("request")) DecodeHeaderOps(std::move(*r), req, &authority, true);
  if (auto r = o.Table("response")) DecodeHeaderOps(std::move(*r), resp, nullptr, false);
  o.Finish();
}

std::optional<double> DecodePercent(Obj& o, std::string_view key) {
  auto t = o.Table(key);
  if (!t) return std::nullopt;
  auto v = t->Number("value", 0, 100);
  t->Finish();
  return v ? v : std::optional<double>(0.0);
}

DestinationSpec DecodeDestination(Obj o) {
  DestinationSpec d;
  d.where = o.position();
  if (auto h = o.Str("host", true)) d.host = AsciiLowered(*h);
  if (auto s = o.Str("subset")) d.subset = *s;
  if (auto p = o.Table("port")) {
    if (auto n = p->Int("number", 1, 65535, true)) d.port = static_cast<uint32_t>(*n);
    p->Finish();
  }
  if (!d.host.empty()) {
    const std::string why = routing::ValidateHostPattern(d.host, true);
    if (!why.empty()) o.sink().Error(o.At("host"), why);
  }
  o.Finish();
  return d;
}

RouteDestinationSpec DecodeRouteDestination(Obj o, bool http) {
  RouteDestinationSpec r;
  if (auto d = o.Table("destination", true)) r.destination = DecodeDestination(std::move(*d));
  if (auto w = o.Int("weight", 0, 1'000'000)) r.weight = static_cast<uint32_t>(*w);
  if (http) {
    if (auto h = o.Table("headers")) {
      r.request_headers = std::make_unique<routing::HeaderOps>();
      r.response_headers = std::make_unique<routing::HeaderOps>();
      DecodeHeaders(std::move(*h), *r.request_headers, *r.response_headers, r.authority);
    }
  }
  o.Finish();
  return r;
}

PortSpec DecodePort(Obj o, bool gateway) {
  PortSpec p;
  p.where = o.where();
  if (auto n = o.Int("number", gateway ? 0 : 1, 65535, true)) p.number = static_cast<uint32_t>(*n);
  if (auto pr = o.Str("protocol", true)) {
    p.protocol = *pr;
    const std::string upper = [&] {
      std::string u = *pr;
      for (char& c : u)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      return u;
    }();
    if (!kProtocols.contains(p.protocol)) {
      std::string msg = "invalid protocol " + Quoted(*pr) +
                        ": expected one of HTTP, HTTPS, GRPC, GRPC-WEB, HTTP2, TCP, TLS, MONGO, "
                        "REDIS, MYSQL";
      if (kProtocols.contains(upper)) msg += " (did you mean " + Quoted(upper) + "?)";
      o.sink().Error(o.At("protocol"), msg);
      p.protocol.clear();
    }
  }
  if (auto n = o.Str("name", gateway)) p.name = *n;
  if (gateway) {
    o.Unsupported("target_port", "Istio rejects target_port on a gateway port");
  } else if (auto t = o.Int("target_port", 1, 65535)) {
    p.target_port = static_cast<uint32_t>(*t);
  }
  o.Finish();
  return p;
}

}  // namespace gh::control::decode_internal

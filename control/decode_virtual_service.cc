// [[virtual_service]]: hosts, gateways and its http / tcp / tls rules with
// their matches (an http route's action and policy blocks are in
// decode_route_policies.cc).
#include <re2/re2.h>

#include <set>

#include "control/decode_internal.h"

namespace gh::control::decode_internal {
namespace {

HttpMatchSpec DecodeHttpMatch(Obj o) {
  HttpMatchSpec m;
  m.where = o.position();
  const size_t errors_before = o.sink().error_count();
  if (auto n = o.Str("name")) m.name = *n;
  const bool ignore_case = o.Bool("ignore_uri_case").value_or(false);
  if (auto u = o.Table("uri")) {
    m.match.uri = DecodeStringMatch(std::move(*u), false, true, ignore_case);
    if (ignore_case && m.match.uri && m.match.uri->kind() == StringMatcher::Kind::kRegex)
      o.sink().Warning(o.At("ignore_uri_case"),
                       "\"ignore_uri_case\" does not apply to regex; use (?i) in the regex");
  }
  if (auto t = o.Table("scheme")) m.match.scheme = DecodeStringMatch(std::move(*t), false, false);
  if (auto t = o.Table("method")) m.match.method = DecodeStringMatch(std::move(*t), false, false);
  if (auto t = o.Table("authority"))
    m.match.authority = DecodeStringMatch(std::move(*t), false, false);
  auto read_headers = [&](std::string_view key, bool negate) {
    for (auto& [name, sub] : o.TableMap(key)) {
      const Where w = sub.where();
      if (name != AsciiLowered(name)) {
        o.sink().Error(w, "header names must be lowercase: " + Quoted(name));
        sub.Finish();
        continue;
      }
      if (name == "uri" || name == "scheme" || name == "method" || name == "authority") {
        o.sink().Warning(
            w, "header key " + Quoted(name) + " is ignored (Istio); use the match's own field");
        sub.Known("exact");
        sub.Known("prefix");
        sub.Known("regex");
        sub.Finish();
        continue;
      }
      if (name.starts_with("@request.auth.claims")) {
        o.sink().Error(w, "JWT claim matches are not supported yet");
        sub.Finish();
        continue;
      }
      auto matcher = DecodeStringMatch(std::move(sub), true, false);
      if (matcher) m.match.headers.push_back({name, std::move(matcher), negate});
    }
  };
  read_headers("headers", false);
  read_headers("without_headers", true);
  for (auto& [name, sub] : o.TableMap("query_params")) {
    auto matcher = DecodeStringMatch(std::move(sub), true, false);
    if (matcher) m.match.query_params.push_back({name, std::move(matcher)});
  }
  if (auto p = o.Int("port", 1, 65535)) m.port = static_cast<uint32_t>(*p);
  m.gateways = o.Strings("gateways");
  o.Unsupported("source_labels", "Gatehouse has no client workloads");
  o.Unsupported("source_namespace", "Gatehouse has no client workloads");
  o.IgnoreWithWarning("stat_prefix", "per-route stats prefixes are not implemented");
  o.Finish();
  // A match whose condition did not decode must not degrade into a broader
  // one (and must not produce follow-up warnings such as shadowing).
  m.invalid = o.sink().error_count() != errors_before;
  return m;
}

HttpRouteSpec DecodeHttpRoute(Obj o) {
  HttpRouteSpec r;
  r.where = o.position();
  if (auto n = o.Str("name")) r.name = *n;
  auto matches = o.Tables("match");
  r.matches.reserve(matches.size());
  for (Obj& m : matches)
    r.matches.push_back(DecodeHttpMatch(std::move(m)));
  auto route = o.Tables("route");
  r.route.reserve(route.size());
  for (Obj& d : route)
    r.route.push_back(DecodeRouteDestination(std::move(d), true));
  if (auto t = o.Table("redirect"))
    r.redirect = std::make_unique<routing::RedirectAction>(DecodeRedirect(std::move(*t)));
  if (auto t = o.Table("direct_response")) r.direct_response = DecodeDirectResponse(std::move(*t));
  o.Unsupported("delegate", "write the delegate's routes into this virtual service");
  bool has_rewrite = false;
  if (auto t = o.Table("rewrite")) {
    has_rewrite = true;
    r.rewrite = std::make_unique<routing::Rewrite>();
    if (auto v = t->Str("uri")) r.rewrite->uri = *v;
    if (auto v = t->Str("authority")) r.rewrite->authority = AsciiLowered(*v);
    if (auto rr = t->Table("uri_regex_rewrite")) {
      const auto match = rr->Str("match", true);
      const auto sub = rr->Str("rewrite", true);
      if (match) {
        RE2::Options options;
        options.set_log_errors(false);
        auto re = std::make_shared<RE2>(*match, options);
        if (!re->ok())
          rr->sink().Error(rr->At("match"), "invalid regex: " + re->error());
        else if (re->ProgramSize() > routing::kMaxRegexProgramSize)
          rr->sink().Error(rr->At("match"), "regex program is too large");
        else {
          std::string why;
          if (sub && !re->CheckRewriteString(*sub, &why))
            rr->sink().Error(rr->At("rewrite"), "invalid rewrite: " + why);
          r.rewrite->uri_regex = std::move(re);
        }
      }
      if (sub) r.rewrite->uri_regex_substitution = *sub;
      rr->Finish();
    }
    if (r.rewrite->uri && r.rewrite->uri_regex)
      t->sink().Error(t->where(), "rewrite takes \"uri\" or \"uri_regex_rewrite\", not both");
    t->Finish();
  }
  if (auto t = o.Table("headers")) {
    r.request_headers = std::make_unique<routing::HeaderOps>();
    r.response_headers = std::make_unique<routing::HeaderOps>();
    DecodeHeaders(std::move(*t), *r.request_headers, *r.response_headers, r.header_authority);
  }
  if (auto t = o.Duration("timeout", Millis(1))) r.timeout = *t;
  if (auto t = o.Table("retries"))
    r.retries = std::make_unique<routing::RetryPolicy>(DecodeRetries(std::move(*t)));
  if (auto t = o.Table("fault"))
    r.fault = std::make_shared<const routing::Fault>(DecodeFault(std::move(*t)));
  if (auto t = o.Table("mirror")) {
    MirrorSpec m;
    m.where = t->position();
    m.destination = DecodeDestination(std::move(*t));
    if (auto p = DecodePercent(o, "mirror_percentage")) m.percent = *p;
    if (auto p = o.Int("mirror_percent", 0, 100)) {
      o.sink().Warning(o.At("mirror_percent"),
                       "\"mirror_percent\" is deprecated; use mirror_percentage.value");
      if (!o.Has("mirror_percentage")) m.percent = static_cast<double>(*p);
    }
    r.mirrors.push_back(std::move(m));
  } else if (o.Has("mirror_percentage")) {
    o.Known("mirror_percentage");
    o.sink().Error(o.At("mirror_percentage"), "\"mirror_percentage\" needs \"mirror\"");
  }
  for (Obj& t : o.Tables("mirrors")) {
    if (o.Has("mirror")) {
      o.sink().Error(o.At("mirrors"), "\"mirror\" and \"mirrors\" cannot be combined");
      t.Known("destination");
      t.Known("percentage");
      t.Finish();
      break;
    }
    r.mirrors_list = true;
    MirrorSpec m;
    m.where = t.position();
    if (auto d = t.Table("destination", true)) m.destination = DecodeDestination(std::move(*d));
    if (auto p = DecodePercent(t, "percentage")) m.percent = *p;
    t.Finish();
    r.mirrors.push_back(std::move(m));
  }
  if (auto t = o.Table("cors_policy"))
    r.cors = std::make_shared<const routing::CorsPolicy>(DecodeCors(std::move(*t)));
  // Gatehouse extension: per-route request body cap (0: the [proxy] default).
  if (auto v = o.Int("max_request_body_bytes", 0, INT64_MAX))
    r.max_request_body_bytes = static_cast<uint64_t>(*v);

  // Exactly one action.
  const int actions = (r.route.empty() ? 0 : 1) + (r.redirect ? 1 : 0) +
                      (r.direct_response ? 1 : 0) + (o.Has("delegate") ? 1 : 0);
  if (actions == 0)
    o.sink().Error(o.where(),
                   "an http route needs one of \"route\", \"redirect\" or \"direct_response\"");
  else if (actions > 1)
    o.sink().Error(o.where(),
                   "an http route takes only one of \"route\", \"redirect\", "
                   "\"direct_response\" and \"delegate\"");
  if ((r.redirect || r.direct_response) && has_rewrite)
    o.sink().Error(o.At("rewrite"),
                   "\"rewrite\" cannot be combined with redirect or "
                   "direct_response");
  if ((r.redirect || r.direct_response) && r.fault)
    o.sink().Error(o.At("fault"), "\"fault\" cannot be combined with redirect or direct_response");
  if ((r.redirect || r.direct_response) && !r.mirrors.empty())
    o.sink().Error(o.where(), "mirrors need a \"route\" action");
  if (r.rewrite && r.rewrite->authority && r.header_authority)
    o.sink().Error(o.where(),
                   "the authority is rewritten twice: in rewrite.authority and in a "
                   ":authority/host header");
  o.Finish();
  return r;
}

L4RouteSpec DecodeL4Route(Obj o, bool tls) {
  L4RouteSpec r;
  r.where = o.where();
  for (Obj& m : o.Tables("match", tls)) {
    L4MatchSpec s;
    s.where = m.where();
    std::vector<Where> where;
    const auto subnets = m.Strings("destination_subnets", &where);
    for (size_t i = 0; i < subnets.size(); ++i) {
      if (auto c = routing::ParseCidr(subnets[i]))
        s.destination_subnets.push_back(*c);
      else
        m.sink().Error(where[i], "invalid subnet " + Quoted(subnets[i]));
    }
    if (auto p = m.Int("port", 1, 65535)) s.port = static_cast<uint32_t>(*p);
    s.gateways = m.Strings("gateways");
    m.Unsupported("source_labels", "Gatehouse has no client workloads");
    m.Unsupported("source_namespace", "Gatehouse has no client workloads");
    if (tls) {
      std::vector<Where> sw;
      for (const std::string& h : m.Strings("sni_hosts", &sw))
        s.sni_hosts.push_back(AsciiLowered(h));
      if (s.sni_hosts.empty()) m.sink().Error(m.At("sni_hosts"), "tls matches need \"sni_hosts\"");
      for (size_t i = 0; i < s.sni_hosts.size(); ++i) {
        if (routing::ParseIp(s.sni_hosts[i])) {
          m.sink().Warning(sw[i], "an IP address in sni_hosts never matches an SNI");
          continue;
        }
        const std::string why = routing::ValidateHostPattern(s.sni_hosts[i], true);
        if (!why.empty()) m.sink().Error(sw[i], why);
      }
    } else {
      m.Unsupported("sni_hosts", "sni_hosts belongs to tls rules");
    }
    m.Finish();
    r.matches.push_back(std::move(s));
  }
  for (Obj& d : o.Tables("route", true))
    r.route.push_back(DecodeRouteDestination(std::move(d), false));
  o.Finish();
  return r;
}

}  // namespace

void DecodeVirtualService(Obj o, std::vector<VirtualServiceSpec>& out) {
  VirtualServiceSpec v;
  v.where = o.where();
  if (!DecodeMeta(o, "virtual_service", v.name, v.ns)) {
    for (const char* k : {"hosts", "gateways", "http", "tcp", "tls", "export_to"})
      o.Known(k);
    o.Finish();
    return;
  }
  v.where = o.where();  // with the name-based path
  const auto hosts = o.Strings("hosts", &v.host_where);
  std::set<std::string> seen;
  for (size_t i = 0; i < hosts.size(); ++i) {
    std::string h = AsciiLowered(hosts[i]);
    std::string why = routing::ValidateHostPattern(h, true);
    if (why.empty() && !seen.insert(h).second) why = "duplicate host " + Quoted(h);
    if (!why.empty()) {
      o.sink().Error(v.host_where[i], why);
      continue;
    }
    v.hosts.push_back(std::move(h));
  }
  // Keep host_where aligned with the accepted hosts.
  if (v.hosts.size() != v.host_where.size()) {
    std::vector<Where> kept;
    size_t j = 0;
    for (size_t i = 0; i < hosts.size() && j < v.hosts.size(); ++i) {
      if (AsciiLowered(hosts[i]) == v.hosts[j]) {
        kept.push_back(v.host_where[i]);
        ++j;
      }
    }
    v.host_where = std::move(kept);
  }
  if (hosts.empty()) o.sink().Error(o.At("hosts"), "a virtual service needs at least one host");
  v.gateways = o.Strings("gateways", &v.gateway_where);
  auto http = o.Tables("http");
  v.http.reserve(http.size());
  for (Obj& r : http)
    v.http.push_back(DecodeHttpRoute(std::move(r)));
  for (Obj& r : o.Tables("tcp"))
    v.tcp.push_back(DecodeL4Route(std::move(r), false));
  for (Obj& r : o.Tables("tls"))
    v.tls.push_back(DecodeL4Route(std::move(r), true));
  if (!o.Has("http") && !o.Has("tcp") && !o.Has("tls"))
    o.sink().Error(o.where(), "a virtual service needs \"http\", \"tcp\" or \"tls\" rules");
  o.IgnoreWithWarning("export_to", "Gatehouse has no namespaces to export to");
  o.Finish();
  out.push_back(std::move(v));
}

}  // namespace gh::control::decode_internal

// [[service_entry]]: hosts, addresses, ports and endpoints.
#include <set>

#include "control/decode_internal.h"

namespace gh::control::decode_internal {

void DecodeServiceEntry(Obj o, std::vector<ServiceEntrySpec>& out) {
  ServiceEntrySpec s;
  s.where = o.where();
  if (!DecodeMeta(o, "service_entry", s.name, s.ns)) {
    for (const char* k : {"hosts", "addresses", "ports", "location", "resolution", "endpoints",
                          "subject_alt_names", "export_to", "workload_selector"})
      o.Known(k);
    o.Finish();
    return;
  }
  s.where = o.where();  // with the name-based path
  const auto hosts = o.Strings("hosts", &s.host_where);
  if (hosts.empty()) o.sink().Error(o.At("hosts"), "a service entry needs at least one host");
  if (hosts.size() > 256) o.sink().Error(o.At("hosts"), "at most 256 hosts are allowed");
  for (size_t i = 0; i < hosts.size(); ++i) {
    std::string h = AsciiLowered(hosts[i]);
    if (h == "*") {
      o.sink().Error(s.host_where[i], "a service entry host cannot be \"*\"");
    } else if (const std::string why = routing::ValidateHostPattern(h, true); !why.empty()) {
      o.sink().Error(s.host_where[i], why);
    }
    s.hosts.push_back(std::move(h));
  }
  s.addresses = o.Strings("addresses");
  for (const std::string& a : s.addresses) {
    if (!routing::ParseCidr(a)) o.sink().Error(o.At("addresses"), "invalid address " + Quoted(a));
  }
  std::set<uint32_t> numbers;
  std::set<std::string> names;
  for (Obj& p : o.Tables("ports")) {
    const Where w = p.where();
    PortSpec port = DecodePort(std::move(p), false);
    if (port.number != 0 && !numbers.insert(port.number).second)
      o.sink().Error(w, "duplicate port number " + std::to_string(port.number));
    if (!port.name.empty() && !names.insert(port.name).second)
      o.sink().Error(w, "duplicate port name " + Quoted(port.name));
    s.ports.push_back(std::move(port));
  }
  if (s.ports.empty()) o.sink().Error(o.At("ports"), "a service entry needs at least one port");
  if (auto l = o.Enum<bool>("location", {{"MESH_EXTERNAL", false}, {"MESH_INTERNAL", true}}))
    s.mesh_internal = *l;
  using R = routing::Resolution;
  if (auto r = o.Enum<R>("resolution", {{"NONE", R::kNone},
                                        {"STATIC", R::kStatic},
                                        {"DNS", R::kDns},
                                        {"DNS_ROUND_ROBIN", R::kDnsRoundRobin},
                                        {"DYNAMIC_DNS", R::kNone}})) {
    if (*o.Str("resolution") == "DYNAMIC_DNS")
      o.sink().Error(o.At("resolution"), "DYNAMIC_DNS is not supported yet");
    s.resolution = *r;
  }
  for (Obj& e : o.Tables("endpoints")) {
    SeEndpointSpec ep;
    ep.where = e.where();
    if (auto a = e.Str("address", true)) ep.address = *a;
    e.Known("ports");
    if (const toml::node* n = e.table().get("ports"); n && !n->as_table()) {
      e.sink().Error(e.At("ports"), "endpoint \"ports\" must be a table of name = number");
    } else if (n != nullptr) {
      for (auto&& [k, v] : *n->as_table()) {
        if (const auto* i = v.as_integer(); i && i->get() >= 1 && i->get() <= 65535)
          ep.ports.emplace(std::string(k.str()), static_cast<uint32_t>(i->get()));
        else
          e.sink().Error(e.Locate(v, e.PathOf("ports") + "." + std::string(k.str())),
                         "endpoint ports map port names to numbers 1-65535");
      }
    }
    ep.labels = e.StringMap("labels");
    if (auto w = e.Int("weight", 0, UINT32_MAX))
      ep.weight = *w == 0 ? 1 : static_cast<uint32_t>(*w);
    if (auto sa = e.Str("service_account")) ep.service_account = *sa;
    e.IgnoreWithWarning("network", "Gatehouse has a single network");
    e.IgnoreWithWarning("locality", "Gatehouse has no locality load balancing");
    e.Finish();
    s.endpoints.push_back(std::move(ep));
  }
  if (s.endpoints.size() > 4096) o.sink().Error(o.At("endpoints"), "at most 4096 endpoints");
  s.subject_alt_names = o.Strings("subject_alt_names");
  o.IgnoreWithWarning("export_to", "Gatehouse has no namespaces to export to");
  o.Unsupported("workload_selector", "list endpoints explicitly");
  o.Finish();
  out.push_back(std::move(s));
}

}  // namespace gh::control::decode_internal

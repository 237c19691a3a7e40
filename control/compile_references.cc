// Cross-resource names and references: duplicate names, the host -> service
// entry and host -> destination rule indexes, and resolving a route's
// destination or a virtual service's gateway to what it names.
#include <algorithm>
#include <map>

#include "control/compile_internal.h"
#include "routing/host.h"

namespace gh::control::compile_internal {

void Compiler::CheckDuplicateNames() {
  auto check = [&](const auto& list, const char* kind) {
    std::map<std::string, const Where*> seen;
    for (const auto& item : list) {
      const std::string key = item.ns + "/" + item.name;
      auto [it, inserted] = seen.emplace(key, &item.where);
      if (!inserted) {
        sink_.Error(item.where, std::string("duplicate ") + kind + " " + Quoted(key) +
                                    " (first defined at " + Loc(*it->second) + ")");
      }
    }
  };
  check(r_.gateways, "gateway");
  check(r_.virtual_services, "virtual_service");
  check(r_.service_entries, "service_entry");
  check(r_.destination_rules, "destination_rule");
}

std::string Compiler::Loc(const Where& w) {
  return sink_.file_name(w.file) + ":" + std::to_string(w.line) + ":" + std::to_string(w.column);
}

void Compiler::BuildServices() {
  for (const ServiceEntrySpec& se : r_.service_entries) {
    for (size_t i = 0; i < se.hosts.size(); ++i) {
      auto [it, inserted] = services_.emplace(se.hosts[i], ServiceRef{&se});
      if (!inserted) {
        sink_.Error(i < se.host_where.size() ? se.host_where[i] : se.where,
                    "host " + Quoted(se.hosts[i]) + " is already defined by service_entry " +
                        Quoted(it->second.se->ns + "/" + it->second.se->name));
      }
    }
  }
}

void Compiler::BuildRules() {
  for (const DestinationRuleSpec& dr : r_.destination_rules) {
    if (dr.host.empty()) continue;
    auto [it, inserted] = rules_.emplace(dr.host, &dr);
    if (!inserted) {
      sink_.Error(dr.where, "host " + Quoted(dr.host) + " already has destination_rule " +
                                Quoted(it->second->ns + "/" + it->second->name) +
                                "; merge them into one");
      continue;
    }
    bool covers = false;
    for (const auto& [host, ref] : services_) {
      if (host == dr.host || routing::HostMatches(dr.host, host)) covers = true;
    }
    if (!covers)
      sink_.Warning(dr.where, "destination_rule host " + Quoted(dr.host) +
                                  " matches no service_entry host and has no effect");
  }
}

// The most specific destination rule for a service host.
const DestinationRuleSpec* Compiler::RuleFor(const std::string& host) const {
  if (auto it = rules_.find(host); it != rules_.end()) return it->second;
  const DestinationRuleSpec* best = nullptr;
  for (const auto& [pattern, dr] : rules_) {
    if (routing::IsWildcardHost(pattern) && routing::HostMatches(pattern, host) &&
        (best == nullptr || pattern.size() > best->host.size()))
      best = dr;
  }
  return best;
}

// Resolves a destination to a cluster index; reports what is wrong at
// `path` (the IR keeps only positions).
std::optional<uint32_t> Compiler::ResolveDestination(const DestinationSpec& spec,
                                                     const std::string& path) {
  if (spec.host.empty()) return std::nullopt;
  DestinationSpec d_with_path = spec;
  d_with_path.where.path = path;
  const DestinationSpec& d = d_with_path;
  auto svc = services_.find(d.host);
  if (svc == services_.end()) {
    std::vector<std::string> known;
    for (const auto& [h, ref] : services_)
      known.push_back(h);
    std::string msg = "no service_entry defines host " + Quoted(d.host);
    const std::string s = Suggest(d.host, known);
    if (!s.empty()) msg += "; did you mean " + Quoted(s) + "?";
    sink_.Error(d.where, msg);
    return std::nullopt;
  }
  const ServiceEntrySpec& se = *svc->second.se;
  uint32_t port = 0;
  if (d.port) {
    port = *d.port;
    const bool known = std::any_of(se.ports.begin(), se.ports.end(),
                                   [&](const PortSpec& p) { return p.number == port; });
    if (!known) {
      sink_.Error(d.where, "service_entry " + Quoted(se.name) + " has no port " +
                               std::to_string(port) + " for host " + Quoted(d.host));
      return std::nullopt;
    }
  } else if (se.ports.size() == 1) {
    port = se.ports[0].number;
  } else {
    sink_.Error(d.where,
                "host " + Quoted(d.host) + " has several ports: set destination.port.number");
    return std::nullopt;
  }
  if (!d.subset.empty()) {
    const DestinationRuleSpec* dr = RuleFor(d.host);
    const bool known =
        dr != nullptr && std::any_of(dr->subsets.begin(), dr->subsets.end(),
                                     [&](const SubsetSpec& s) { return s.name == d.subset; });
    if (!known) {
      sink_.Error(d.where, "no destination_rule defines subset " + Quoted(d.subset) + " for host " +
                               Quoted(d.host));
      return std::nullopt;
    }
  }
  auto it = cluster_index_.find(ClusterName(port, d.subset, d.host));
  if (it == cluster_index_.end()) return std::nullopt;
  return it->second;
}

void Compiler::IndexGateways() {
  for (size_t i = 0; i < r_.gateways.size(); ++i)
    gateway_index_.emplace(r_.gateways[i].ns + "/" + r_.gateways[i].name, i);
}

// "name" (in `ns`) or "ns/name" -> "ns/name"; "" for mesh; nullopt unknown.
std::optional<std::string> Compiler::ResolveGateway(const std::string& ref, const std::string& ns,
                                                    const Where& where) {
  if (ref == "mesh") {
    sink_.Warning(where,
                  "gateway \"mesh\" (sidecars) does not apply to Gatehouse and is "
                  "ignored");
    return std::string();
  }
  const std::string key = ref.find('/') == std::string::npos ? ns + "/" + ref : ref;
  if (gateway_index_.contains(key)) return key;
  std::vector<std::string> known;
  for (const auto& [k, i] : gateway_index_) {
    known.push_back(k);
    known.push_back(r_.gateways[i].name);
  }
  std::string msg = "virtual service is bound to unknown gateway " + Quoted(ref);
  const std::string s = Suggest(ref, known);
  if (!s.empty()) msg += "; did you mean " + Quoted(s) + "?";
  sink_.Error(where, msg);
  return std::nullopt;
}

}  // namespace gh::control::compile_internal

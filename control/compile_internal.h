// What the compile_*.cc files share: the Compiler, whose phases are split
// across them by what they build, and a few helpers. Not a public API.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/strings.h"
#include "control/compile.h"
#include "control/resources.h"
#include "control/toml_reader.h"
#include "routing/http_route_table.h"
#include "routing/tcp_route_table.h"

namespace gh::control::compile_internal {

std::string Quoted(std::string_view s);  // compile.cc

// 64-bit FNV-1a (compile.cc): the content hash and cluster fingerprints.
uint64_t Fnv(uint64_t h, std::string_view data);
constexpr uint64_t kFnvBasis = 14695981039346656037ULL;

// "outbound|port|subset|host" (compile_clusters.cc).
std::string ClusterName(uint32_t port, std::string_view subset, std::string_view host);

// ------------------------------------------------------------ compiler ---

class Compiler {
 public:
  // Takes the resources by reference and releases per-route IR once it is
  // compiled, so the IR and the compiled tables are not both held in full.
  Compiler(Resources& r, DiagnosticSink& sink) : r_(r), sink_(sink) {}

  void Run(routing::Config& out);  // compile.cc: the phases in order

 private:
  struct ServiceRef {
    const ServiceEntrySpec* se = nullptr;
  };
  // What later phases read of a match entry, kept so the rule's IR (about
  // 600 bytes a route) can be freed as soon as the rule is compiled.
  // A position without a key path (12 bytes instead of Where's 48).
  struct Pos {
    uint32_t file = 0, line = 0, column = 0;
    static Pos Of(const Where& w) { return {w.file, w.line, w.column}; }
    Where At(std::string path) const {
      Where w;
      w.file = file;
      w.line = line;
      w.column = column;
      w.path = std::move(path);
      return w;
    }
  };
  struct MatchRef {
    std::vector<std::string> gateways;
    Pos pos;
    uint32_t port = 0;
    bool has_port = false;
    bool present = false;  // false: a rule without match entries
  };
  struct CompiledHttpRule {
    std::vector<routing::RouteEntry> entries;  // one per match (or one catch-all)
    std::vector<MatchRef> matches;             // parallel
    Pos pos;                                   // the rule's
  };
  struct CompiledVs {
    const VirtualServiceSpec* spec = nullptr;
    size_t order = 0;
    std::vector<CompiledHttpRule> http;
    std::vector<std::vector<std::shared_ptr<const routing::TcpRoute>>> tcp, tls;  // per rule
    std::vector<std::string> gateways;  // resolved "ns/name"
  };
  struct ServerRef {
    const GatewaySpec* gateway;
    const ServerSpec* server;
    std::string gateway_key;
    routing::ListenerKind kind;
  };
  struct VhostBuild {
    std::string name;
    bool https_redirect = false;
    std::vector<routing::RouteEntry> routes;
    std::vector<std::string> owners;  // "vs:<order>" appended once per VS
  };

  // compile_references.cc
  void CheckDuplicateNames();
  std::string Loc(const Where& w);
  void BuildServices();
  void BuildRules();
  const DestinationRuleSpec* RuleFor(const std::string& host) const;
  std::optional<uint32_t> ResolveDestination(const DestinationSpec& spec, const std::string& path);
  void IndexGateways();
  std::optional<std::string> ResolveGateway(const std::string& ref, const std::string& ns,
                                            const Where& where);

  // compile_clusters.cc
  void BuildClusters(routing::Config& out);
  void CheckEndpoints(const ServiceEntrySpec& se);
  void AddCluster(routing::Config& out, const ServiceEntrySpec& se, const std::string& host,
                  const PortSpec& port, const DestinationRuleSpec* dr, const SubsetSpec* subset);

  // compile_virtual_services.cc
  std::vector<routing::Destination> CompileDestinations(
      const std::vector<RouteDestinationSpec>& route, const Where& where, uint64_t& total);
  routing::RetryPolicy DefaultRetries();
  static std::string RulePath(const VirtualServiceSpec& vs, uint32_t index);
  CompiledHttpRule CompileHttpRule(const VirtualServiceSpec& vs, HttpRouteSpec& rule,
                                   uint32_t index);
  std::vector<std::shared_ptr<const routing::TcpRoute>> CompileL4Rule(const VirtualServiceSpec& vs,
                                                                      const L4RouteSpec& rule,
                                                                      uint32_t index, bool tls);
  void CompileVirtualServices();

  // compile_route_tables.cc
  bool MatchGatewayAllows(const std::vector<std::string>& gateways, const std::string& ns,
                          const std::string& key);
  std::vector<std::string> Intersections(const VirtualServiceSpec& vs, const ServerSpec& server);
  std::shared_ptr<const routing::Route> HttpsRedirectRoute(const std::string& gateway);
  void DropShadowed(VhostBuild& vh);
  Where RouteWhere(const routing::Route& route);
  std::shared_ptr<const routing::HttpRouteTable> BuildHttpTable(
      const std::vector<const ServerRef*>& servers, uint16_t port, RouteOrder order);
  std::shared_ptr<const routing::TcpRouteTable> BuildTcpTable(
      const std::vector<const ServerRef*>& servers, uint16_t port, bool tls);

  // compile_listeners.cc
  void BuildListeners(routing::Config& out);

  Resources& r_;
  DiagnosticSink& sink_;
  std::map<std::string, ServiceRef> services_;
  std::map<std::string, const DestinationRuleSpec*> rules_;
  std::unordered_map<std::string, uint32_t> cluster_index_;
  std::map<std::string, size_t> gateway_index_;
  std::vector<CompiledVs> vss_;
  std::set<size_t> bound_vs_;
  std::set<std::string> shadow_reported_;
};

}  // namespace gh::control::compile_internal

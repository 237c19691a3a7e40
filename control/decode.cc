// TOML -> typed resources (control/resources.h): local validation only.
// The entry points; each resource kind is decoded in its own decode_*.cc.
#include "control/decode_internal.h"

namespace gh::control {

using decode_internal::DecodeAdmin;
using decode_internal::DecodeDestinationRule;
using decode_internal::DecodeGateway;
using decode_internal::DecodeMesh;
using decode_internal::DecodeProxy;
using decode_internal::DecodeServiceEntry;
using decode_internal::DecodeVirtualService;

namespace {

// One resource kind of a file's root (or of a piece of one), in file order.
void DecodeKind(Obj& top, std::string_view kind, Resources& out) {
  if (kind == "gateway") {
    for (Obj& o : top.Tables("gateway"))
      DecodeGateway(std::move(o), out.gateways);
  } else if (kind == "virtual_service") {
    for (Obj& o : top.Tables("virtual_service"))
      DecodeVirtualService(std::move(o), out.virtual_services);
  } else if (kind == "service_entry") {
    for (Obj& o : top.Tables("service_entry"))
      DecodeServiceEntry(std::move(o), out.service_entries);
  } else if (kind == "destination_rule") {
    for (Obj& o : top.Tables("destination_rule"))
      DecodeDestinationRule(std::move(o), out.destination_rules);
  }
}

}  // namespace

void DecodeFile(const toml::table& root, uint32_t file, Resources& out,
                std::map<std::string, Where>& seen_process, DiagnosticSink& sink,
                routing::MatcherCache& cache, const std::function<void(std::string_view)>& more) {
  Obj top(root, file, sink, cache);
  auto process = [&](const char* key, auto&& decode) {
    if (!top.Has(key)) return;
    const Where w = top.At(key);
    if (auto [it, inserted] = seen_process.emplace(key, w); !inserted) {
      sink.Error(w, std::string("[") + key + "] is already set in " +
                        sink.file_name(it->second.file) + ":" + std::to_string(it->second.line));
      top.Known(key);
      return;
    }
    if (auto t = top.Table(key)) decode(std::move(*t));
  };
  process("proxy", [&](Obj o) { DecodeProxy(std::move(o), out.proxy); });
  process("admin", [&](Obj o) { DecodeAdmin(std::move(o), out.admin); });
  process("mesh", [&](Obj o) { DecodeMesh(std::move(o), out.mesh); });
  for (std::string_view kind : kSplitKinds) {
    DecodeKind(top, kind, out);
    if (more) more(kind);
  }
  for (const char* kind :
       {"authorization_policy", "peer_authentication", "request_authentication", "sidecar",
        "envoy_filter", "telemetry", "workload_entry", "workload_group"}) {
    top.Unsupported(kind, "this resource kind is not implemented in Gatehouse");
  }
  top.Finish();
}

void DecodePiece(const toml::table& root, std::string_view kind, uint32_t file,
                 uint32_t line_offset, size_t index_base, Resources& out, DiagnosticSink& sink,
                 routing::MatcherCache& cache) {
  Obj top(root, file, sink, cache, line_offset, index_base);
  DecodeKind(top, kind, out);
  top.Finish();
}

}  // namespace gh::control

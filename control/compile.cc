// The entry points: decoding every file (whole or in pieces), then the
// Compiler's phases in order; each phase is in its own compile_*.cc.
#include "control/compile.h"

#include <cstdio>
#include <map>

#include "control/compile_internal.h"
#include "control/toml_split.h"

namespace gh::control {
namespace compile_internal {

std::string Quoted(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

uint64_t Fnv(uint64_t h, std::string_view data) {
  for (unsigned char c : data) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

void Compiler::Run(routing::Config& out) {
  out.proxy = r_.proxy;
  out.admin = r_.admin;
  out.mesh = r_.mesh;
  CheckDuplicateNames();
  BuildServices();
  BuildRules();
  BuildClusters(out);
  IndexGateways();
  CompileVirtualServices();
  BuildListeners(out);
}

}  // namespace compile_internal

using compile_internal::Compiler;
using compile_internal::Fnv;
using compile_internal::kFnvBasis;

namespace {

std::string Hex(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

std::string ContentHash(const std::vector<SourceFile>& files) {
  uint64_t h = kFnvBasis;
  for (const SourceFile& f : files) {
    h = Fnv(h, f.name);
    h = Fnv(h, std::string_view("\0", 1));
    h = Fnv(h, f.content);
    h = Fnv(h, std::string_view("\0", 1));
  }
  return Hex(h);
}

namespace {

// Decodes a split file piece by piece (each piece's tree is freed before the
// next is parsed), in the order DecodeFile would decode the whole file. False
// when a piece does not parse or the head defines a split kind itself: then
// everything it decoded is undone and the caller parses the file whole, so
// syntax errors are reported exactly as before.
bool DecodeSplit(const SourceFile& f, uint32_t file, const TomlSplit& split, Resources& resources,
                 std::map<std::string, Where>& seen_process, DiagnosticSink& sink,
                 routing::MatcherCache& cache) {
  toml::table head;
  try {
    head = toml::parse(split.head, f.name);
  } catch (const toml::parse_error&) {
    return false;
  }
  for (const TomlPiece& p : split.pieces) {
    if (head.contains(p.kind)) return false;
  }
  const size_t gateways = resources.gateways.size();
  const size_t virtual_services = resources.virtual_services.size();
  const size_t service_entries = resources.service_entries.size();
  const size_t destination_rules = resources.destination_rules.size();
  const size_t diagnostics = sink.diagnostics().size();
  const routing::ProxySettings proxy = resources.proxy;
  const routing::AdminSettings admin = resources.admin;
  const routing::MeshSettings mesh = resources.mesh;
  const std::map<std::string, Where> seen = seen_process;
  bool failed = false;
  DecodeFile(head, file, resources, seen_process, sink, cache, [&](std::string_view kind) {
    for (const TomlPiece& p : split.pieces) {
      if (failed) return;
      if (p.kind != kind) continue;
      toml::table root;
      try {
        root = toml::parse(p.text, f.name);
      } catch (const toml::parse_error&) {
        failed = true;
        return;
      }
      DecodePiece(root, kind, file, p.line_offset, p.index_base, resources, sink, cache);
    }
  });
  if (!failed) return true;
  auto truncate = [](auto& list, size_t size) {
    list.erase(list.begin() + static_cast<std::ptrdiff_t>(size), list.end());
  };
  truncate(resources.gateways, gateways);
  truncate(resources.virtual_services, virtual_services);
  truncate(resources.service_entries, service_entries);
  truncate(resources.destination_rules, destination_rules);
  sink.Truncate(diagnostics);
  resources.proxy = proxy;
  resources.admin = admin;
  resources.mesh = mesh;
  seen_process = seen;
  return false;
}

}  // namespace

CompileResult Compile(const std::vector<SourceFile>& files) {
  return Compile(files, CompileOptions{});
}

CompileResult Compile(const std::vector<SourceFile>& files, const CompileOptions& options) {
  CompileResult result;
  result.content_hash = ContentHash(files);
  std::vector<std::string> names;
  for (const SourceFile& f : files)
    names.push_back(f.name);
  DiagnosticSink sink(names);
  Resources resources;
  std::map<std::string, Where> seen_process;
  routing::MatcherCache cache;
  const std::vector<std::string_view> kinds(std::begin(kSplitKinds), std::end(kSplitKinds));
  for (uint32_t i = 0; i < files.size(); ++i) {
    if (options.piece_bytes > 0 && files[i].content.size() / 2 >= options.piece_bytes) {
      const auto split = SplitToml(files[i].content, options.piece_bytes, kinds);
      if (split && DecodeSplit(files[i], i, *split, resources, seen_process, sink, cache)) continue;
    }
    toml::table root;
    try {
      root = toml::parse(files[i].content, files[i].name);
    } catch (const toml::parse_error& e) {
      Where w;
      w.file = i;
      w.line = e.source().begin.line;
      w.column = e.source().begin.column;
      sink.Error(w, "TOML syntax: " + std::string(e.description()));
      continue;
    }
    DecodeFile(root, i, resources, seen_process, sink, cache);
  }
  auto config = std::make_shared<routing::Config>();
  // Cross-resource checks run even after local errors so that every mistake
  // is reported at once; the config is only published when clean.
  Compiler compiler(resources, sink);
  compiler.Run(*config);
  config->version = result.content_hash;
  result.errors = sink.error_count();
  result.diagnostics = std::move(sink.diagnostics());
  result.warnings = result.diagnostics.size() - result.errors;
  if (result.errors == 0) result.config = std::move(config);
  return result;
}

}  // namespace gh::control

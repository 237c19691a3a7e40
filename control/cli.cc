#include "control/cli.h"

#include <set>
#include <string>
#include <vector>

#include "base/strings.h"
#include "control/compile.h"
#include "control/config_source.h"
#include "control/default_config.h"
#include "control/diff.h"
#include "control/explain.h"
#include "routing/http_route_table.h"
#include "routing/tcp_route_table.h"

namespace gh::control {
namespace {

// Loads and compiles PATH (or the default config), printing diagnostics.
CompileResult Load(const std::string& path, std::ostream& err, bool& io_error) {
  io_error = false;
  std::vector<SourceFile> files;
  if (path.empty()) {
    files.push_back(DefaultConfigSource());
  } else {
    auto read = ReadConfigSource(path);
    if (!read) {
      err << "gatehouse: " << read.error().message << "\n";
      io_error = true;
      return {};
    }
    files = std::move(*read);
  }
  CompileResult result = Compile(files);
  for (const Diagnostic& d : result.diagnostics)
    err << d.ToString() << "\n";
  return result;
}

size_t CountRoutes(const routing::Config& config);

}  // namespace

int RunCheck(int argc, char** argv, std::ostream& out, std::ostream& err) {
  std::string path;
  std::vector<std::string> diff;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if ((a == "-c" || a == "--config") && i + 1 < argc) {
      path = argv[++i];
    } else if (a == "--diff" && i + 2 < argc) {
      diff = {argv[i + 1], argv[i + 2]};
      i += 2;
    } else {
      err << "usage: gatehouse check [-c PATH] | check --diff OLD NEW\n";
      return 2;
    }
  }
  if (!diff.empty()) {
    bool io = false;
    const CompileResult before = Load(diff[0], err, io);
    if (io) return 1;
    const CompileResult after = Load(diff[1], err, io);
    if (io) return 1;
    if (!before.ok() || !after.ok()) {
      err << "gatehouse: cannot diff: " << (before.ok() ? diff[1] : diff[0]) << " has errors\n";
      return 1;
    }
    const auto changes = DiffConfigs(*before.config, *after.config);
    for (const ConfigChange& c : changes)
      out << c.ToString() << "\n";
    out << changes.size() << " change" << (changes.size() == 1 ? "" : "s") << "\n";
    return 0;
  }
  bool io = false;
  const CompileResult result = Load(path, err, io);
  if (io) return 1;
  const std::string name = path.empty() ? "<default config>" : path;
  if (!result.ok()) {
    err << "gatehouse: configuration " << name << " has " << result.errors << " error"
        << (result.errors == 1 ? "" : "s") << " and " << result.warnings << " warning"
        << (result.warnings == 1 ? "" : "s") << "; test failed\n";
    return 1;
  }
  out << "gatehouse: configuration " << name << " is ok (version " << result.content_hash << ": "
      << result.config->listeners.size() << " listeners, " << CountRoutes(*result.config)
      << " routes, " << result.config->clusters.size() << " clusters, " << result.warnings
      << " warnings)\n";
  return 0;
}

int RunExplain(int argc, char** argv, std::ostream& out, std::ostream& err) {
  std::string path;
  ExplainRequest req;
  bool json = false, have_request = false;
  auto usage = [&] {
    err << "usage: gatehouse explain [-c PATH] --request 'METHOD URL' [-H 'name: value']... "
           "[--sni NAME] [--source-ip IP] [--port N] [--json]\n";
    return 2;
  };
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if ((a == "-c" || a == "--config") && has_value) {
      path = argv[++i];
    } else if (a == "--request" && has_value) {
      const std::string r = argv[++i];
      const size_t sp = r.find(' ');
      if (sp == std::string::npos) {
        req.url = r;
      } else {
        req.method = r.substr(0, sp);
        req.url = std::string(TrimOws(r.substr(sp + 1)));
      }
      have_request = true;
    } else if ((a == "-H" || a == "--header") && has_value) {
      const std::string h = argv[++i];
      const size_t colon = h.find(':');
      if (colon == std::string::npos || colon == 0) return usage();
      req.headers.Add(AsciiLowered(TrimOws(h.substr(0, colon))),
                      std::string(TrimOws(h.substr(colon + 1))));
    } else if (a == "--sni" && has_value) {
      req.sni = argv[++i];
    } else if (a == "--source-ip" && has_value) {
      req.source_ip = argv[++i];
    } else if (a == "--destination-ip" && has_value) {
      req.destination_ip = argv[++i];
    } else if (a == "--port" && has_value) {
      const auto p = ParseUint(argv[++i], 65535);
      if (!p) return usage();
      req.port = static_cast<uint16_t>(*p);
    } else if (a == "--json") {
      json = true;
    } else {
      return usage();
    }
  }
  if (!have_request) return usage();
  bool io = false;
  const CompileResult result = Load(path, err, io);
  if (io) return 1;
  if (!result.ok()) {
    err << "gatehouse: configuration has errors; nothing to explain\n";
    return 1;
  }
  const ExplainResult r = Explain(*result.config, req);
  if (json)
    out << ExplainJson(r).dump(2) << "\n";
  else
    out << ExplainText(r);
  return r.outcome == "invalid_request" ? 2 : 0;
}

namespace {

size_t CountRoutes(const routing::Config& config) {
  size_t n = 0;
  std::set<const routing::HttpRouteTable*> seen;
  for (const routing::Listener& l : config.listeners) {
    if (l.tcp_routes) n += l.tcp_routes->tcp_routes().size() + l.tcp_routes->tls_routes().size();
    for (const routing::Server& s : l.servers) {
      if (!s.http_routes || !seen.insert(s.http_routes.get()).second) continue;
      if (const auto* t =
              dynamic_cast<const routing::CompiledHttpRouteTable*>(s.http_routes.get())) {
        for (const auto& vh : t->virtual_hosts())
          n += vh.routes.size();
      }
    }
  }
  return n;
}

}  // namespace

}  // namespace gh::control

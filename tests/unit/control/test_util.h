// Helpers for control/ tests: compile inline TOML and look at the result.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "control/compile.h"
#include "control/explain.h"

namespace gh::control::testing {

inline CompileResult CompileText(const std::string& toml, const std::string& name = "test.toml") {
  return Compile({SourceFile{name, toml}});
}

inline std::string AllDiagnostics(const CompileResult& r) {
  std::string out;
  for (const Diagnostic& d : r.diagnostics)
    out += d.ToString() + "\n";
  return out;
}

// Compiles and asserts there is no error; returns the config.
inline std::shared_ptr<const routing::Config> MustCompile(const std::string& toml) {
  CompileResult r = CompileText(toml);
  EXPECT_TRUE(r.ok()) << AllDiagnostics(r);
  return r.config;
}

inline bool HasDiagnostic(const CompileResult& r, const std::string& needle) {
  for (const Diagnostic& d : r.diagnostics) {
    if (d.ToString().find(needle) != std::string::npos) return true;
  }
  return false;
}

inline ExplainResult Ask(const routing::Config& c, const std::string& request,
                         std::initializer_list<std::pair<std::string, std::string>> headers = {}) {
  ExplainRequest req;
  const size_t sp = request.find(' ');
  req.method = request.substr(0, sp);
  req.url = request.substr(sp + 1);
  for (const auto& [k, v] : headers)
    req.headers.Add(k, v);
  return Explain(c, req);
}

// The issue's example configuration.
inline const char* kExample = R"(
[proxy]
workers = 1
access_log = "off"

[[gateway]]
name = "edge"
[[gateway.servers]]
port = { number = 8080, name = "http", protocol = "HTTP" }
hosts = ["*"]

[[service_entry]]
name = "origin"
hosts = ["origin.internal"]
ports = [{ number = 80, name = "http", protocol = "HTTP" }]
resolution = "STATIC"
endpoints = [{ address = "127.0.0.1", ports = { http = 9000 } }]

[[virtual_service]]
name = "edge-routes"
hosts = ["*"]
gateways = ["edge"]
[[virtual_service.http]]
match = [{ uri = { prefix = "/" } }]
route = [{ destination = { host = "origin.internal", port = { number = 80 } } }]
)";

}  // namespace gh::control::testing

// libFuzzer target for the config loader + compiler: arbitrary bytes as a
// TOML file must produce diagnostics or a config, never a crash, a hang or a
// leak. A compiled config is then explained and diffed against itself, and
// the path normaliser is fed the same bytes.
#include <cstddef>
#include <cstdint>
#include <string>

#include "control/compile.h"
#include "control/diff.h"
#include "control/explain.h"
#include "routing/path_normalizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 256 * 1024) return 0;
  const std::string text(reinterpret_cast<const char*>(data), size);
  const gh::control::CompileResult r = gh::control::Compile({{"fuzz.toml", text}});
  for (const auto& d : r.diagnostics)
    (void)d.ToString();
  if (r.ok()) {
    for (const char* url : {"http://a.example.com/api/x?q=1", "https://b.example.com/",
                            "http://127.0.0.1:8080/demo/", "https://x.y.example.com:8443/a/../b"}) {
      gh::control::ExplainRequest req;
      req.url = url;
      req.headers.Add("x-user", "fuzz");
      const auto e = gh::control::Explain(*r.config, req);
      (void)gh::control::ExplainText(e);
      (void)gh::control::ExplainJson(e).dump();
    }
    (void)gh::control::DiffConfigs(*r.config, *r.config);
  }
  gh::routing::PathNormalization options;
  (void)gh::routing::NormalizePath(text, options);
  options.escaped_slashes = gh::routing::EscapedSlashes::kUnescapeAndForward;
  (void)gh::routing::NormalizePath("/" + text, options);
  return 0;
}

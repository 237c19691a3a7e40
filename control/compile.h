// The pure configuration compiler: TOML sources in, every diagnostic and (when
// there is no error) an immutable routing::Config out. No file I/O: callers
// pass names and contents (control/config_source.h reads them from disk).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "control/diagnostics.h"
#include "routing/model.h"

namespace gh::control {

struct SourceFile {
  std::string name;     // shown in diagnostics, e.g. "conf.d/10-edge.toml"
  std::string content;  // TOML text
};

struct CompileResult {
  std::vector<Diagnostic> diagnostics;            // errors and warnings, in source order per phase
  std::shared_ptr<const routing::Config> config;  // null when there is an error
  std::string content_hash;                       // hex, over names and contents
  size_t errors = 0;
  size_t warnings = 0;
  bool ok() const { return config != nullptr; }
};

struct CompileOptions {
  // A file larger than twice this is parsed, decoded and freed in pieces of
  // about this size, split at top-level `[[kind]]` headers where that cannot
  // change the result (control/toml_split.h), so only one small TOML tree is
  // held at a time. 0: always parse files whole. The result is the same
  // either way (tests compile with 1, splitting at every resource).
  size_t piece_bytes = 64 * 1024;
};

// Files merge in the order given (config_source sorts a directory by name);
// that order replaces Istio's creation time wherever order matters.
CompileResult Compile(const std::vector<SourceFile>& files);
CompileResult Compile(const std::vector<SourceFile>& files, const CompileOptions& options);

// 64-bit FNV-1a over every name and content, as 16 hex digits.
std::string ContentHash(const std::vector<SourceFile>& files);

}  // namespace gh::control

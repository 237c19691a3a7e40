// Config diagnostics: every error and warning with file, line, column and
// the key path, rendered like a compiler: `file:line:col: error: msg (at k.p)`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace gh::control {

enum class Severity : uint8_t { kError, kWarning };

struct Diagnostic {
  Severity severity = Severity::kError;
  std::string file;
  uint32_t line = 0;  // 1-based; 0 when unknown
  uint32_t column = 0;
  std::string message;
  std::string key_path;  // "virtual_service[\"edge\"].http[0].route[0]"
  std::string ToString() const;
};

// A place in the sources: which file, where, and the key path.
struct Where {
  uint32_t file = 0;  // index into the compiled file list
  uint32_t line = 0, column = 0;
  std::string path;
};

class DiagnosticSink {
 public:
  explicit DiagnosticSink(std::vector<std::string> file_names) : files_(std::move(file_names)) {}
  void Error(const Where& where, std::string message);
  void Warning(const Where& where, std::string message);
  size_t error_count() const { return errors_; }
  std::vector<Diagnostic>& diagnostics() { return diagnostics_; }
  // Drops every diagnostic after the first `count` (undoing a failed attempt).
  void Truncate(size_t count);
  const std::string& file_name(uint32_t index) const { return files_[index]; }

 private:
  void Add(Severity severity, const Where& where, std::string message);
  std::vector<std::string> files_;
  std::vector<Diagnostic> diagnostics_;
  size_t errors_ = 0;
};

}  // namespace gh::control

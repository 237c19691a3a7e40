#include "control/diagnostics.h"

namespace gh::control {

std::string Diagnostic::ToString() const {
  std::string out = file;
  if (line > 0) {
    out.push_back(':');
    out.append(std::to_string(line));
    out.push_back(':');
    out.append(std::to_string(column));
  }
  out += severity == Severity::kError ? ": error: " : ": warning: ";
  out += message;
  if (!key_path.empty()) out += " (at " + key_path + ")";
  return out;
}

void DiagnosticSink::Error(const Where& where, std::string message) {
  Add(Severity::kError, where, std::move(message));
  ++errors_;
}

void DiagnosticSink::Warning(const Where& where, std::string message) {
  Add(Severity::kWarning, where, std::move(message));
}

void DiagnosticSink::Truncate(size_t count) {
  while (diagnostics_.size() > count) {
    if (diagnostics_.back().severity == Severity::kError) --errors_;
    diagnostics_.pop_back();
  }
}

void DiagnosticSink::Add(Severity severity, const Where& where, std::string message) {
  Diagnostic d;
  d.severity = severity;
  d.file = where.file < files_.size() ? files_[where.file] : std::string("<config>");
  d.line = where.line;
  d.column = where.column;
  d.message = std::move(message);
  d.key_path = where.path;
  diagnostics_.push_back(std::move(d));
}

}  // namespace gh::control

#include "control/config_source.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace gh::control {
namespace {

Result<std::string> ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return MakeError("cannot read " + path.string());
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) return MakeError("error reading " + path.string());
  return buf.str();
}

}  // namespace

Result<std::vector<SourceFile>> ReadConfigSource(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (ec || !fs::exists(status)) return MakeError(path + ": no such file or directory");
  std::vector<SourceFile> files;
  if (fs::is_directory(status)) {
    std::vector<fs::path> names;
    for (const auto& entry : fs::directory_iterator(path, ec)) {
      if (entry.path().extension() == ".toml" && entry.is_regular_file()) {
        names.push_back(entry.path());
      }
    }
    if (ec) return MakeError(path + ": " + ec.message());
    std::sort(names.begin(), names.end(),
              [](const fs::path& a, const fs::path& b) { return a.filename() < b.filename(); });
    if (names.empty()) return MakeError(path + ": directory has no *.toml files");
    for (const fs::path& p : names) {
      auto content = ReadFile(p);
      if (!content) return content.error();
      files.push_back({p.string(), std::move(*content)});
    }
    return files;
  }
  auto content = ReadFile(path);
  if (!content) return content.error();
  files.push_back({path, std::move(*content)});
  return files;
}

}  // namespace gh::control

#include "routing/path_normalizer.h"

#include <vector>

namespace gh::routing {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

// %2F / %5C (any case) -> '/' / '\'; returns whether any was found.
bool HasEscapedSlash(std::string_view p) {
  for (size_t i = 0; i + 2 < p.size(); ++i) {
    if (p[i] != '%') continue;
    const char a = p[i + 1], b = static_cast<char>(p[i + 2] | 0x20);
    if ((a == '2' && b == 'f') || (a == '5' && b == 'c')) return true;
  }
  return false;
}

std::string UnescapeSlashes(std::string_view p) {
  std::string out;
  out.reserve(p.size());
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] == '%' && i + 2 < p.size()) {
      const char a = p[i + 1], b = static_cast<char>(p[i + 2] | 0x20);
      if (a == '2' && b == 'f') {
        out.push_back('/');
        i += 2;
        continue;
      }
      if (a == '5' && b == 'c') {
        out.push_back('\\');
        i += 2;
        continue;
      }
    }
    out.push_back(p[i]);
  }
  return out;
}

// Decodes %XX of unreserved characters, upper-cases the hex of the others.
// False on malformed escapes.
bool DecodeUnreserved(std::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return false;
    const int hi = HexValue(in[i + 1]), lo = HexValue(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    const auto c = static_cast<unsigned char>(hi * 16 + lo);
    if (IsUnreserved(c)) {
      out.push_back(static_cast<char>(c));
    } else {
      static constexpr char kHex[] = "0123456789ABCDEF";
      out.push_back('%');
      out.push_back(kHex[hi]);
      out.push_back(kHex[lo]);
    }
    i += 2;
  }
  return true;
}

// RFC 3986 §5.2.4 over '/'-separated segments; keeps empty segments.
std::string RemoveDotSegments(std::string_view path) {
  std::vector<std::string_view> out;
  bool trailing_slash = false;
  size_t pos = 1;  // path starts with '/'
  while (true) {
    const size_t slash = path.find('/', pos);
    const std::string_view seg =
        path.substr(pos, slash == std::string_view::npos ? std::string_view::npos : slash - pos);
    const bool last = slash == std::string_view::npos;
    if (seg == ".") {
      trailing_slash = last;
    } else if (seg == "..") {
      if (!out.empty()) out.pop_back();
      trailing_slash = last;
    } else {
      out.push_back(seg);
      trailing_slash = false;
    }
    if (last) break;
    pos = slash + 1;
  }
  std::string result;
  result.reserve(path.size());
  for (std::string_view seg : out) {
    result.push_back('/');
    result.append(seg);
  }
  if (trailing_slash || result.empty()) result.push_back('/');
  return result;
}

std::string MergeSlashes(std::string_view path) {
  std::string out;
  out.reserve(path.size());
  for (char c : path) {
    if (c == '/' && !out.empty() && out.back() == '/') continue;
    out.push_back(c);
  }
  return out;
}

// No step below can change a path without '%' (escapes), '\\', "//" or a
// segment starting with '.': such a path is returned as it is.
bool IsAlreadyNormal(std::string_view path) {
  for (size_t i = 0; i < path.size(); ++i) {
    const char c = path[i];
    if (c == '%' || c == '\\') return false;
    if (c == '/' && i + 1 < path.size() && (path[i + 1] == '/' || path[i + 1] == '.')) return false;
  }
  return true;
}

}  // namespace

NormalizedPath NormalizePath(std::string_view target, const PathNormalization& options) {
  NormalizedPath result;
  if (target == "*") {
    result.path.assign(1, '*');
    return result;
  }
  if (target.empty() || target.front() != '/') {
    result.verdict = NormalizedPath::Verdict::kReject;
    result.reason = "path does not start with '/'";
    return result;
  }
  const size_t hash = target.find('#');
  if (hash != std::string_view::npos) target = target.substr(0, hash);
  const size_t q = target.find('?');
  const std::string_view raw_path = target.substr(0, q);
  const std::string_view query =
      q == std::string_view::npos ? std::string_view() : target.substr(q);

  if (IsAlreadyNormal(raw_path)) {  // the common case: nothing to rewrite
    result.path.assign(target);
    return result;
  }
  std::string path(raw_path);
  bool unescaped = false;
  if (HasEscapedSlash(path)) {
    switch (options.escaped_slashes) {
      case EscapedSlashes::kKeep:
        break;
      case EscapedSlashes::kReject:
        result.verdict = NormalizedPath::Verdict::kReject;
        result.reason = "escaped slash (%2F or %5C) in path";
        return result;
      case EscapedSlashes::kUnescapeAndRedirect:
      case EscapedSlashes::kUnescapeAndForward:
        path = UnescapeSlashes(path);
        unescaped = true;
        break;
    }
  }
  if (options.normalize) {
    std::string decoded;
    if (!DecodeUnreserved(path, decoded)) {
      result.verdict = NormalizedPath::Verdict::kReject;
      result.reason = "invalid percent-encoding in path";
      return result;
    }
    for (char& c : decoded) {
      if (c == '\\') c = '/';
    }
    path = RemoveDotSegments(decoded);
  }
  if (options.merge_slashes) path = MergeSlashes(path);
  result.path = std::move(path);
  result.path.append(query);
  if (unescaped && options.escaped_slashes == EscapedSlashes::kUnescapeAndRedirect)
    result.verdict = NormalizedPath::Verdict::kRedirect;
  return result;
}

}  // namespace gh::routing

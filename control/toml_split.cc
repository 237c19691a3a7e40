#include "control/toml_split.h"

#include <algorithm>
#include <map>
#include <string>

namespace gh::control {
namespace {

bool IsBareKeyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

bool IsBlank(char c) {
  return c == ' ' || c == '\t';
}

// A header line at `i` (the '['): its first key segment, whether it is a
// bare `[[segment]]`, and whether it could be read at all.
struct Header {
  bool ok = false;
  bool array_of_tables = false;  // `[[seg]]` with no dotted part
  std::string_view first;
};

Header ReadHeader(std::string_view text, size_t i) {
  Header h;
  const bool twice = i + 1 < text.size() && text[i + 1] == '[';
  size_t k = i + (twice ? 2 : 1);
  while (k < text.size() && IsBlank(text[k]))
    ++k;
  const size_t begin = k;
  while (k < text.size() && IsBareKeyChar(text[k]))
    ++k;
  h.first = text.substr(begin, k - begin);
  while (k < text.size() && IsBlank(text[k]))
    ++k;
  if (h.first.empty() || k >= text.size() || (text[k] != '.' && text[k] != ']')) return h;
  h.ok = true;
  h.array_of_tables = twice && text[k] == ']' && k + 1 < text.size() && text[k + 1] == ']';
  return h;
}

// Skips a string starting at `i` (a quote); returns the index after it, the
// index of the newline ending an unterminated one-line string, or npos when a
// multi-line string never ends.
size_t SkipString(std::string_view text, size_t i) {
  const char q = text[i];
  const bool basic = q == '"';
  if (text.substr(i, 3) == std::string_view(basic ? "\"\"\"" : "'''")) {
    for (size_t k = i + 3; k < text.size();) {
      if (basic && text[k] == '\\') {
        k += 2;
      } else if (text[k] == q) {
        size_t run = 0;
        while (k < text.size() && text[k] == q) {
          ++k;
          ++run;
        }
        if (run >= 3) return k;
      } else {
        ++k;
      }
    }
    return std::string_view::npos;
  }
  for (size_t k = i + 1; k < text.size(); ++k) {
    if (text[k] == '\n') return k;
    if (basic && text[k] == '\\') {
      if (k + 1 < text.size() && text[k + 1] == '\n') return k + 1;
      ++k;
    } else if (text[k] == q) {
      return k + 1;
    }
  }
  return text.size();
}

struct Boundary {
  size_t pos;
  std::string_view kind;
};

}  // namespace

std::optional<TomlSplit> SplitToml(std::string_view text, size_t piece_bytes,
                                   const std::vector<std::string_view>& kinds) {
  std::vector<Boundary> boundaries;
  std::string_view current;  // kind of the piece being scanned; empty in the head
  int depth = 0;             // [ and { nesting outside strings and comments
  bool line_start = true;
  for (size_t i = 0; i < text.size();) {
    if (line_start) {
      line_start = false;
      size_t j = i;
      while (j < text.size() && IsBlank(text[j]))
        ++j;
      if (depth == 0 && j < text.size() && text[j] == '[') {
        const Header h = ReadHeader(text, j);
        const bool split = h.ok && h.array_of_tables &&
                           std::find(kinds.begin(), kinds.end(), h.first) != kinds.end();
        if (split) {
          boundaries.push_back({i, h.first});
          current = h.first;
        } else if (!current.empty() && (!h.ok || h.array_of_tables || h.first != current)) {
          return std::nullopt;  // a header outside the current kind
        }
      }
      i = j;
      continue;
    }
    const char c = text[i];
    switch (c) {
      case '\n':
        line_start = true;
        ++i;
        break;
      case '#':
        while (i < text.size() && text[i] != '\n')
          ++i;
        break;
      case '"':
      case '\'':
        i = SkipString(text, i);
        if (i == std::string_view::npos) return std::nullopt;
        break;
      case '[':
      case '{':
        ++depth;
        ++i;
        break;
      case ']':
      case '}':
        if (--depth < 0) return std::nullopt;
        ++i;
        break;
      default:
        ++i;
        break;
    }
  }
  if (depth != 0 || boundaries.empty()) return std::nullopt;

  TomlSplit out;
  out.head = text.substr(0, boundaries[0].pos);
  std::map<std::string_view, size_t> elements;  // per kind, in earlier pieces
  size_t counted = 0;                           // newlines counted up to `counted_pos`
  size_t counted_pos = 0;
  for (size_t b = 0; b < boundaries.size();) {
    const Boundary& first = boundaries[b];
    size_t e = b + 1;
    while (e < boundaries.size() && boundaries[e].kind == first.kind &&
           boundaries[e].pos - first.pos < piece_bytes)
      ++e;
    const size_t end = e < boundaries.size() ? boundaries[e].pos : text.size();
    counted += static_cast<size_t>(
        std::count(text.begin() + static_cast<std::ptrdiff_t>(counted_pos),
                   text.begin() + static_cast<std::ptrdiff_t>(first.pos), '\n'));
    counted_pos = first.pos;
    TomlPiece piece;
    piece.text = text.substr(first.pos, end - first.pos);
    piece.kind = first.kind;
    piece.line_offset = static_cast<uint32_t>(counted);
    size_t& seen = elements[first.kind];
    piece.index_base = seen;
    seen += e - b;
    out.pieces.push_back(piece);
    b = e;
  }
  return out;
}

}  // namespace gh::control
